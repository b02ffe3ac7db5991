"""A human review step's callback step, checked against the sagemaker SDK's ``CallbackStep``.

The same small pipeline (a review, a condition on its outcome, two fail steps) is built with
the SDK 3.x (``sagemaker.mlops.workflow``; offline, as in ``test_sagemaker_sdk_oracle``) and
compiled by us. The SDK writes the step's ``Arguments`` from the inputs it is given, so it is
given the arguments our compiler derives from the spec, each value as the SDK object that
writes it (a parameter, an execution variable, a ``Join``); what is checked is that the step's
form (type, queue, output parameters, how conditions read the outcome) and every argument's
expression are the SDK's, and that every argument is a string, a number, a boolean or a
pipeline expression (what a callback step's arguments may be).
"""

from __future__ import annotations

import json
import os
from typing import Any
from unittest import mock

import pytest

from mlpipes_constructs.sagemaker.compiler import compile_pipeline_definition
from mlpipes_constructs.spec import (
    Comparison,
    ComparisonOperator,
    ConditionStep,
    FailStep,
    HumanReviewStep,
    Join,
    Parameter,
    ParameterRef,
    ParameterType,
    Pipeline,
    ReviewOutcome,
)

pytestmark = pytest.mark.integration

REGION = "us-east-1"
BUCKET = "oracle-bucket"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/reviews"
FLOW = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/model-review"


def spec() -> Pipeline:
    return Pipeline(
        name="reviewed",
        parameters=(
            Parameter(name="FlowDefinitionArn", type=ParameterType.STRING, default=FLOW),
            Parameter(name="Threshold", type=ParameterType.FLOAT, default=0.7),
        ),
        steps=(
            HumanReviewStep(
                name="Review",
                description="People decide",
                flow_definition_arn=ParameterRef("FlowDefinitionArn"),
                report=Join(("s3://", BUCKET, "/reports/", ParameterRef("FlowDefinitionArn"))),
                metrics={"threshold": ParameterRef("Threshold"), "fixed": 0.5},
                inputs={"model_name": "reviewed-model", "urgent": True},
            ),
            ConditionStep(
                name="Check",
                condition=Comparison(
                    ReviewOutcome("Review"), ComparisonOperator.NOT_EQUAL, ReviewOutcome.APPROVED
                ),
                if_steps=("Rejected",),
                else_steps=("Approved",),
            ),
            FailStep(name="Rejected", error_message="rejected"),
            FailStep(name="Approved", error_message="approved (a fail step to end the run)"),
        ),
    )


def ours() -> dict[str, Any]:
    return compile_pipeline_definition(
        spec(),
        role_arn="arn:aws:iam::123456789012:role/job",
        artifact_root=f"s3://{BUCKET}/reviewed",
        code_locations={},
        callback_queue_url=QUEUE_URL,
    )


def sdk(arguments: dict[str, Any]) -> dict[str, Any]:
    """The SDK's definition, its callback step given ``arguments`` as SDK objects."""
    import boto3
    from moto import mock_aws

    environment = {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "SAGEMAKER_VALIDATE_ROLE": "false",
    }
    with mock.patch.dict(os.environ, environment), mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        from sagemaker.core.workflow.conditions import ConditionEquals, ConditionNot
        from sagemaker.core.workflow.execution_variables import ExecutionVariables
        from sagemaker.core.workflow.functions import Join as SdkJoin
        from sagemaker.core.workflow.parameters import ParameterFloat, ParameterString
        from sagemaker.core.workflow.pipeline_context import PipelineSession
        from sagemaker.mlops.workflow import ConditionStep as SdkConditionStep
        from sagemaker.mlops.workflow import FailStep as SdkFailStep
        from sagemaker.mlops.workflow import Pipeline as SdkPipeline
        from sagemaker.mlops.workflow.callback_step import (
            CallbackOutput,
            CallbackOutputTypeEnum,
            CallbackStep,
        )

        session = PipelineSession(
            boto_session=boto3.Session(region_name=REGION),
            default_bucket=BUCKET,
            sagemaker_config={
                "SchemaVersion": "1.0",
                "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
            },
        )
        flow = ParameterString(name="FlowDefinitionArn", default_value=FLOW)
        threshold = ParameterFloat(name="Threshold", default_value=0.7)
        objects = {
            "flow_definition_arn": flow,
            "execution_arn": ExecutionVariables.PIPELINE_EXECUTION_ARN,
            "task_pipeline_execution": ExecutionVariables.PIPELINE_EXECUTION_ID,
            "metric_0": threshold,
            "task_report_uri": SdkJoin(on="", values=["s3://", BUCKET, "/reports/", flow]),
        }
        inputs = {key: objects.get(key, value) for key, value in arguments.items()}
        outcome = CallbackOutput(output_name="outcome", output_type=CallbackOutputTypeEnum.String)
        review = CallbackStep(
            name="Review",
            description="People decide",
            sqs_queue_url=QUEUE_URL,
            inputs=inputs,
            outputs=[outcome],
        )
        check = SdkConditionStep(
            name="Check",
            conditions=[
                ConditionNot(
                    expression=ConditionEquals(
                        left=review.properties.Outputs["outcome"], right="Approved"
                    )
                )
            ],
            if_steps=[SdkFailStep(name="Rejected", error_message="rejected")],
            else_steps=[
                SdkFailStep(name="Approved", error_message="approved (a fail step to end the run)")
            ],
        )
        pipeline = SdkPipeline(
            name="reviewed",
            parameters=[flow, threshold],
            steps=[review, check],
            sagemaker_session=session,
        )
        definition: dict[str, Any] = json.loads(pipeline.definition())
        return definition


@pytest.fixture(scope="module")
def definitions() -> tuple[dict[str, Any], dict[str, Any]]:
    compiled = ours()
    review = compiled["Steps"][0]
    return sdk(review["Arguments"]), compiled


def _steps(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["Name"]: step for step in definition["Steps"]}


def test_the_review_is_the_sdks_callback_step(
    definitions: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    theirs, ours_ = definitions
    assert _steps(ours_)["Review"] == _steps(theirs)["Review"]
    assert _steps(ours_)["Review"]["Type"] == "Callback"
    assert _steps(ours_)["Review"]["SqsQueueUrl"] == QUEUE_URL
    assert _steps(ours_)["Review"]["OutputParameters"] == [
        {"OutputName": "outcome", "OutputType": "String"}
    ]


def test_conditions_read_the_outcome_as_the_sdk_does(
    definitions: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    theirs, ours_ = definitions
    assert _steps(ours_)["Check"]["Arguments"] == _steps(theirs)["Check"]["Arguments"]
    assert ours_["Parameters"] == theirs["Parameters"]


def test_every_argument_is_a_primitive_or_a_pipeline_expression(
    definitions: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    _, ours_ = definitions
    for key, value in _steps(ours_)["Review"]["Arguments"].items():
        assert isinstance(value, str | int | float | bool) or (
            isinstance(value, dict) and set(value) <= {"Get", "Std:Join"}
        ), key
