"""The compiler: the reference pipeline as ASL, and errors for specs it cannot express."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn

from mlpipes_constructs.compile import CompileError
from mlpipes_constructs.compile.job_code import CODE_DIRECTORY, processing_entrypoint
from mlpipes_constructs.errors import PropsValidationError
from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.spec import (
    Comparison,
    ComparisonOperator,
    ConditionStep,
    FailStep,
    MetricDefinition,
    ParameterRef,
    Pipeline,
    TrainingMetric,
    TrainingStep,
    local_code_paths,
)
from mlpipes_constructs.stepfunctions import RETRY_ERRORS, compile_state_machine, naming
from tests.asl import all_states, definition_of, transition_problems
from tests.conftest import TEST_ENV

BUCKET = "artifacts"
REPORT_KEY = "Evaluate/output/evaluation/evaluation.json"
PREFIX = "pipelines/ref/"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234"


def _compile(pipeline: Pipeline, **kwargs: Any) -> tuple[cdk.Stack, Any]:
    stack = cdk.Stack(cdk.App(), "Compiled", env=TEST_ENV)
    role = iam.Role.from_role_arn(
        stack, "Role", "arn:aws:iam::123456789012:role/job", mutable=False
    )
    compiled = compile_state_machine(
        stack,
        pipeline,
        job_role=role,
        artifact_bucket=s3.Bucket.from_bucket_name(stack, "Bucket", BUCKET),
        artifact_prefix=kwargs.pop("artifact_prefix", PREFIX),
        code_locations=kwargs.pop(
            "code_locations", {code: "s3://code/scripts.zip" for code in local_code_paths(pipeline)}
        ),
        **kwargs,
    )
    return stack, compiled


@pytest.fixture(scope="module")
def compiled() -> tuple[dict[str, Any], Any, dict[str, Any]]:
    pipeline = reference_pipeline(input_data_uri=f"s3://{BUCKET}/data/")
    stack, result = _compile(
        pipeline,
        kms_key=kms.Key.from_key_arn(cdk.Stack(cdk.App(), "K", env=TEST_ENV), "K", KEY_ARN),
    )
    machine = sfn.StateMachine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(result.definition)
    )
    template = cdk.assertions.Template.from_stack(stack).to_json()
    policy = next(r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy")[
        "Properties"
    ]["PolicyDocument"]
    assert machine is not None
    return definition_of(template, {"AWS::Partition": "aws"}), result, policy


@pytest.fixture(scope="module")
def states(compiled: tuple[dict[str, Any], Any, dict[str, Any]]) -> dict[str, Any]:
    """Every state, including those in Parallel branches."""
    return dict(all_states(compiled[0]))


def test_definition_is_well_formed(compiled: tuple[dict[str, Any], Any, dict[str, Any]]) -> None:
    definition = compiled[0]
    assert definition["StartAt"] == "Pipeline.Defaults"
    assert list(transition_problems(definition)) == []


def test_parameters_default_then_execution_input_wins(states: dict[str, Any]) -> None:
    defaults = states["Pipeline.Defaults"]["Parameters"]
    assert defaults["defaults"]["AccuracyThreshold"] == 0.7
    assert defaults["overrides.$"] == "$"
    initialize = states["Pipeline.Initialize"]["Parameters"]
    assert initialize["parameters.$"] == "States.JsonMerge($.defaults, $.overrides, false)"
    assert initialize["run"]["token.$"] == naming.run_token_expression()
    assert initialize["run"]["root.$"] == (
        f"States.Format('s3://{BUCKET}/{PREFIX}{{}}', $$.Execution.Name)"
    )


def test_the_input_is_checked_against_each_parameter_type(states: dict[str, Any]) -> None:
    rules = {choice["Next"]: choice["Not"] for choice in states["Pipeline.CheckInput"]["Choices"]}
    assert rules["Pipeline.BadInput.AccuracyThreshold"] == {
        "Variable": "$.parameters.AccuracyThreshold",
        "IsNumeric": True,
    }
    assert rules["Pipeline.BadInput.InputDataUri"] == {
        "Variable": "$.parameters.InputDataUri",
        "IsString": True,
    }
    assert states["Pipeline.BadInput.AccuracyThreshold"]["Next"] == "Pipeline.Failed"


def test_steps_run_in_order_with_the_gate_before_the_branches(states: dict[str, Any]) -> None:
    assert states["Pipeline.Initialize"]["Next"] == "Pipeline.CheckInput"
    assert states["Pipeline.CheckInput"]["Default"] == "Preprocess"
    assert states["Preprocess"]["Next"] == "Train"
    assert states["Train"]["Next"] == "Evaluate"
    assert states["Evaluate"]["Next"] == "CheckAccuracy.Load.Evaluate.EvaluationReport"
    assert states["CheckAccuracy.Load.Evaluate.EvaluationReport"]["Next"] == "CheckAccuracy"
    choice = states["CheckAccuracy"]
    assert choice["Choices"] == [
        {
            "Variable": "$.properties.Evaluate.EvaluationReport.document.metrics.accuracy.value",
            "NumericGreaterThanEqualsPath": "$.parameters.AccuracyThreshold",
            "Next": "Parallel.RegisterModel.CreateModel",
        }
    ]
    assert choice["Default"] == "AccuracyTooLow"


def test_condition_reads_the_report_with_the_sdk_and_no_lambda(states: dict[str, Any]) -> None:
    load = states["CheckAccuracy.Load.Evaluate.EvaluationReport"]
    assert load["Resource"] == "arn:aws:states:::aws-sdk:s3:getObject"
    assert load["Parameters"] == {
        "Bucket": BUCKET,
        "Key.$": f"States.Format('{PREFIX}{{}}/{REPORT_KEY}', $.run.name)",
    }
    assert load["ResultSelector"] == {"document.$": "States.StringToJson($.Body)"}
    assert all("lambda" not in str(state.get("Resource", "")) for state in states.values())


def test_fail_step_formats_the_spec_message(states: dict[str, Any]) -> None:
    fail = states["AccuracyTooLow"]
    assert fail["Type"] == "Fail"
    assert fail["Error"] == "AccuracyTooLow"
    assert fail["CausePath"] == (
        "States.Format('Model accuracy {} is below the threshold {}.', "
        "$.properties.Evaluate.EvaluationReport.document.metrics.accuracy.value, "
        "$.parameters.AccuracyThreshold)"
    )


def test_processing_job_runs_the_uploaded_code_and_writes_under_the_run(
    states: dict[str, Any],
) -> None:
    task = states["Preprocess"]
    assert task["Resource"] == "arn:aws:states:::sagemaker:createProcessingJob.sync"
    request = task["Parameters"]
    slug = naming.slug(naming.default_prefix("mlpipes-review-classifier"), "Preprocess")
    assert request["ProcessingJobName.$"] == naming.name_expression(slug)
    assert request["AppSpecification"]["ContainerEntrypoint"] == processing_entrypoint(
        "preprocess.py"
    )
    # As on SageMaker Pipelines: the spec's inputs in order, then the code.
    code = request["ProcessingInputs"][-1]
    assert code["InputName"] == "code"
    assert code["S3Input"]["S3Uri"] == "s3://code/scripts.zip"
    assert code["S3Input"]["LocalPath"] == CODE_DIRECTORY
    assert request["ProcessingInputs"][0]["S3Input"]["S3Uri.$"] == "$.parameters.InputDataUri"
    train = request["ProcessingOutputConfig"]["Outputs"][0]
    assert train["S3Output"]["S3Uri.$"] == "States.Format('{}/Preprocess/output/train', $.run.root)"
    assert request["ProcessingOutputConfig"]["KmsKeyId"] == KEY_ARN
    assert request["ProcessingResources"]["ClusterConfig"]["InstanceType.$"] == (
        "$.parameters.ProcessingInstanceType"
    )


def test_model_artifacts_are_found_from_the_training_job_name(states: dict[str, Any]) -> None:
    train_slug = naming.slug(naming.default_prefix("mlpipes-review-classifier"), "Train")
    inputs = states["Evaluate"]["Parameters"]["ProcessingInputs"]
    (model,) = [item["S3Input"]["S3Uri.$"] for item in inputs if item["InputName"] == "model"]
    assert model == (
        "States.Format('{}/{}/output/model.tar.gz', "
        "States.Format('{}/Train', $.run.root), "
        f"States.Format('{train_slug}-{{}}', $.run.token))"
    )
    hyperparameters = states["Train"]["Parameters"]["HyperParameters"]
    assert hyperparameters["num_round"] == "60"


def test_register_model_uses_the_sdk_integration(states: dict[str, Any]) -> None:
    register = states["RegisterModel"]
    assert register["Resource"] == "arn:aws:states:::aws-sdk:sagemaker:createModelPackage"
    assert register["Parameters"]["ModelApprovalStatus.$"] == "$.parameters.ModelApprovalStatus"


def test_every_task_retries_service_errors_and_ends_in_the_fail_state(
    compiled: tuple[dict[str, Any], Any, dict[str, Any]], states: dict[str, Any]
) -> None:
    tasks = {name: state for name, state in states.items() if state["Type"] == "Task"}
    assert len(tasks) == 7
    for name, task in tasks.items():
        retry = task["Retry"][0]
        assert retry["BackoffRate"] == 2 and retry["JitterStrategy"] == "FULL", name
        assert task["Catch"] == [
            {
                "ErrorEquals": ["States.ALL"],
                "ResultPath": "$.error",
                "Next": task["Catch"][0]["Next"],
            }
        ]
        handler = states[task["Catch"][0]["Next"]]
        assert "$.error.Cause" in handler["Parameters"]["Cause.$"]
        # In a Parallel branch, the branch's own Fail state: it fails the execution the same way.
        fail = states[handler["Next"]]
        assert (fail["Type"], fail["Error"], fail["CausePath"]) == (
            "Fail",
            "PipelineStepFailed",
            "$.Cause",
        ), name
        assert (handler["Next"] == "Pipeline.Failed") == (name in compiled[0]["States"]), name
    assert tasks["Train"]["Retry"][0]["ErrorEquals"] == list(RETRY_ERRORS)
    assert states["Pipeline.Failed"]["CausePath"] == "$.Cause"


def test_role_may_read_reports_only_in_the_pipeline_folder(
    compiled: tuple[dict[str, Any], Any, dict[str, Any]],
) -> None:
    policy = compiled[2]
    read = next(s for s in policy["Statement"] if s["Action"] == "s3:GetObject")
    assert read["Resource"] == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":s3:::{BUCKET}/{PREFIX}*"]]
    }
    assert {"Action": "kms:Decrypt", "Effect": "Allow", "Resource": KEY_ARN} in policy["Statement"]


def test_request_response_compiles_without_sync(compiled: Any) -> None:
    pipeline = reference_pipeline(input_data_uri=f"s3://{BUCKET}/data/")
    _, result = _compile(pipeline, integration_pattern=sfn.IntegrationPattern.REQUEST_RESPONSE)
    processing = result.step_states["Preprocess"]
    assert processing.integration_pattern == sfn.IntegrationPattern.REQUEST_RESPONSE


def _with_steps(*steps: Any) -> Pipeline:
    base = reference_pipeline(input_data_uri=f"s3://{BUCKET}/data/")
    metric = MetricDefinition(name="validation:auc", regex="auc=([0-9.]+)")
    own = tuple(
        replace(step, metric_definitions=(metric,)) if isinstance(step, TrainingStep) else step
        for step in base.steps
    )
    return Pipeline(
        name=base.name,
        steps=(*own, *steps),
        parameters=base.parameters,
        base_directory=base.base_directory,
    )


def test_training_metric_conditions_are_rejected_with_the_alternative() -> None:
    gate = ConditionStep(
        name="CheckAuc",
        condition=Comparison(
            TrainingMetric("Train", "validation:auc"),
            ComparisonOperator.GREATER_THAN,
            ParameterRef("AccuracyThreshold"),
        ),
        else_steps=("AucTooLow",),
    )
    pipeline = _with_steps(gate, FailStep(name="AucTooLow", error_message="low"))
    with pytest.raises(CompileError, match=r"TrainingMetric is not supported.*JsonValue"):
        _compile(pipeline)


def test_a_code_directory_without_a_location_is_a_compile_error() -> None:
    pipeline = reference_pipeline(input_data_uri=f"s3://{BUCKET}/data/")
    with pytest.raises(CompileError, match="code_locations has no S3 location for code 'scripts'"):
        _compile(pipeline, code_locations={})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"artifact_prefix": "/abs/"}, "artifact_prefix '/abs/' must be empty or a folder"),
        ({"artifact_prefix": "no-slash"}, "artifact_prefix 'no-slash'"),
        ({"job_name_prefix": "way-too-long-prefix-x"}, "job_name_prefix 'way-too-long-prefix-x'"),
    ],
)
def test_bad_arguments_fail_with_a_clear_error(kwargs: dict[str, Any], message: str) -> None:
    pipeline = reference_pipeline(input_data_uri=f"s3://{BUCKET}/data/")
    with pytest.raises(PropsValidationError, match=message):
        _compile(pipeline, **kwargs)
