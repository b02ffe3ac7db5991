"""The SageMaker task states CDK lacks: state JSON, IAM statements, integration patterns."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn

from mlpipes_constructs.errors import PropsValidationError
from mlpipes_constructs.stepfunctions import (
    SageMakerCreateHyperParameterTuningJob,
    SageMakerCreateProcessingJob,
    SageMakerRunPipelineExecution,
    SageMakerStartPipelineExecution,
)
from tests.conftest import TEST_ENV

ROLE_ARN = "arn:aws:iam::123456789012:role/job"
PROCESSING_REQUEST = {
    "AppSpecification": {"ImageUri": "image"},
    "ProcessingResources": {
        "ClusterConfig": {"InstanceCount": 1, "InstanceType.$": "$.type", "VolumeSizeInGB": 30}
    },
}
TUNING_REQUEST = {
    "HyperParameterTuningJobConfig": {"Strategy": "Bayesian"},
    "TrainingJobDefinition": {"AlgorithmSpecification": {"TrainingImage": "image"}},
}


@pytest.fixture
def stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Tasks", env=TEST_ENV)


@pytest.fixture
def role(stack: cdk.Stack) -> iam.IRole:
    return iam.Role.from_role_arn(stack, "Role", ROLE_ARN, mutable=False)


def statements(stack: cdk.Stack, task: Any) -> list[dict[str, Any]]:
    return [stack.resolve(statement.to_statement_json()) for statement in task.policy_statements]


def arn(resource: str) -> dict[str, Any]:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, resource]]}


def test_processing_task_renders_a_sync_task_with_the_job_name_and_role(
    stack: cdk.Stack, role: iam.IRole
) -> None:
    task = SageMakerCreateProcessingJob(
        stack,
        "Process",
        processing_job_name="States.Format('prep-{}', $.token)",
        job_name_prefix="prep-",
        role=role,
        request=PROCESSING_REQUEST,
    )
    state = stack.resolve(task.to_state_json())

    assert state["Type"] == "Task"
    assert state["Resource"] == arn(":states:::sagemaker:createProcessingJob.sync")
    assert state["Parameters"]["ProcessingJobName.$"] == "States.Format('prep-{}', $.token)"
    assert state["Parameters"]["RoleArn"] == ROLE_ARN
    assert state["Parameters"]["ProcessingResources"] == PROCESSING_REQUEST["ProcessingResources"]


def test_processing_task_grants_sync_permissions_on_its_prefix_only(
    stack: cdk.Stack, role: iam.IRole
) -> None:
    task = SageMakerCreateProcessingJob(
        stack,
        "Process",
        processing_job_name="Prep-1",
        job_name_prefix="Prep-",
        role=role,
        request=PROCESSING_REQUEST,
    )
    assert statements(stack, task) == [
        {
            "Action": [
                "sagemaker:CreateProcessingJob",
                "sagemaker:ListTags",
                "sagemaker:DescribeProcessingJob",
                "sagemaker:StopProcessingJob",
            ],
            "Effect": "Allow",
            "Resource": arn(":sagemaker:us-east-1:123456789012:processing-job/prep-*"),
        },
        {
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            "Effect": "Allow",
            "Resource": ROLE_ARN,
        },
        {
            "Action": ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            "Effect": "Allow",
            "Resource": arn(
                ":events:us-east-1:123456789012:rule/"
                "StepFunctionsGetEventsForSageMakerProcessingJobsRule"
            ),
        },
    ]


def test_request_response_processing_task_needs_no_sync_permissions(
    stack: cdk.Stack, role: iam.IRole
) -> None:
    task = SageMakerCreateProcessingJob(
        stack,
        "Process",
        processing_job_name="prep-1",
        job_name_prefix="prep-",
        role=role,
        request=PROCESSING_REQUEST,
        integration_pattern=sfn.IntegrationPattern.REQUEST_RESPONSE,
    )
    state = stack.resolve(task.to_state_json())
    assert state["Resource"] == arn(":states:::sagemaker:createProcessingJob")
    granted = statements(stack, task)
    assert granted[0]["Action"] == ["sagemaker:CreateProcessingJob", "sagemaker:ListTags"]
    assert all("events:PutRule" not in str(s["Action"]) for s in granted)


def test_tuning_task_sets_the_role_in_the_training_definition_and_grants_tuning_jobs(
    stack: cdk.Stack, role: iam.IRole
) -> None:
    task = SageMakerCreateHyperParameterTuningJob(
        stack,
        "Tune",
        tuning_job_name="$.name",
        job_name_prefix="tune-",
        role=role,
        request=TUNING_REQUEST,
    )
    state = stack.resolve(task.to_state_json())
    assert state["Resource"] == arn(":states:::sagemaker:createHyperParameterTuningJob.sync")
    assert state["Parameters"]["HyperParameterTuningJobName.$"] == "$.name"
    assert state["Parameters"]["TrainingJobDefinition"]["RoleArn"] == ROLE_ARN
    granted = statements(stack, task)
    assert granted[0]["Action"] == [
        "sagemaker:CreateHyperParameterTuningJob",
        "sagemaker:ListTags",
        "sagemaker:DescribeHyperParameterTuningJob",
        "sagemaker:StopHyperParameterTuningJob",
        "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
    ]
    assert granted[0]["Resource"] == arn(
        ":sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/tune-*"
    )
    assert granted[1]["Resource"] == arn(
        ":events:us-east-1:123456789012:rule/StepFunctionsGetEventsForSageMakerTuningJobsRule"
    )
    assert granted[2]["Action"] == "iam:PassRole"


def test_start_pipeline_execution_is_an_sdk_call_scoped_to_the_pipeline(stack: cdk.Stack) -> None:
    task = SageMakerStartPipelineExecution(
        stack,
        "Start",
        pipeline_name="review-pipeline",
        pipeline_parameters={"Threshold": 0.8, "Input": "$.input"},
    )
    state = stack.resolve(task.to_state_json())
    assert state["Resource"] == arn(":states:::aws-sdk:sagemaker:startPipelineExecution")
    assert state["Parameters"]["PipelineParameters"] == [
        {"Name": "Threshold", "Value": "0.8"},
        {"Name": "Input", "Value.$": "$.input"},
    ]
    assert statements(stack, task) == [
        {
            "Action": "sagemaker:StartPipelineExecution",
            "Effect": "Allow",
            "Resource": arn(":sagemaker:us-east-1:123456789012:pipeline/review-pipeline"),
        }
    ]


def test_run_pipeline_execution_polls_until_the_execution_ends(stack: cdk.Stack) -> None:
    fragment = SageMakerRunPipelineExecution(stack, "Run", pipeline_name="review-pipeline")
    machine = sfn.StateMachine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(fragment)
    )
    definition = stack.resolve(machine.node.default_child.definition_string)  # type: ignore[union-attr]
    text = "".join(p if isinstance(p, str) else "aws" for p in definition["Fn::Join"][1])
    import json

    states = json.loads(text)["States"]
    check = states["Run-Check"]
    assert check["Default"] == "Run-Wait"
    assert {c["Next"] for c in check["Choices"]} == {"Run-Done", "Run-Failed"}
    assert states["Run-Wait"]["Next"] == "Run-Describe"
    assert states["Run-Describe"]["Next"] == "Run-Check"
    assert states["Run-Failed"]["CausePath"] == "States.JsonToString($.pipelineExecution)"
    assert fragment.policy_statements[1].actions == ["sagemaker:DescribePipelineExecution"]


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (
            SageMakerCreateProcessingJob,
            {"integration_pattern": sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN},
            "integration_pattern WAIT_FOR_TASK_TOKEN .* is not supported",
        ),
        (SageMakerCreateProcessingJob, {"job_name_prefix": "bad_prefix"}, "job_name_prefix"),
        (
            SageMakerCreateProcessingJob,
            {"request": {**PROCESSING_REQUEST, "RoleArn": "x"}},
            "must not set 'RoleArn'",
        ),
        (SageMakerCreateProcessingJob, {"request": {}}, "must set 'AppSpecification'"),
    ],
)
def test_bad_processing_props_fail_with_a_clear_error(
    stack: cdk.Stack, role: iam.IRole, cls: type, kwargs: dict[str, Any], message: str
) -> None:
    props: dict[str, Any] = {
        "processing_job_name": "prep-1",
        "job_name_prefix": "prep-",
        "role": role,
        "request": PROCESSING_REQUEST,
        **kwargs,
    }
    with pytest.raises(PropsValidationError, match=message):
        cls(stack, "Task", **props)


def test_start_pipeline_execution_rejects_sync_with_the_alternative(stack: cdk.Stack) -> None:
    with pytest.raises(PropsValidationError, match="use SageMakerRunPipelineExecution"):
        SageMakerStartPipelineExecution(
            stack, "Start", pipeline_name="p", integration_pattern=sfn.IntegrationPattern.RUN_JOB
        )


def test_tuning_task_rejects_a_role_in_the_request(stack: cdk.Stack, role: iam.IRole) -> None:
    request = {**TUNING_REQUEST, "TrainingJobDefinition": {"RoleArn": "x"}}
    with pytest.raises(PropsValidationError, match=r"TrainingJobDefinition\.RoleArn"):
        SageMakerCreateHyperParameterTuningJob(
            stack, "Tune", tuning_job_name="t-1", job_name_prefix="t-", role=role, request=request
        )
