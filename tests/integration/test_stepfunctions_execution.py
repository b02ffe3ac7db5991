"""The compiled reference state machine, executed by moto's Step Functions interpreter.

moto runs request-response SageMaker tasks (it forwards them to its SageMaker emulator) but not
``.sync`` ones, so this harness, and only it, compiles the reference pipeline with
``integration_pattern=REQUEST_RESPONSE``: jobs are created and "finish" at once, without
writing outputs. The harness therefore writes the evaluation report itself, at the key the
state machine reads (``<prefix><execution name>/Evaluate/output/evaluation/evaluation.json``, known
from the execution name), before it starts the execution.

One moto gap is bridged here: its AWS SDK integration hands ``s3:getObject``'s ``Body`` on as a
stream object, where Step Functions returns the text; :func:`_sdk_bodies_as_text` reads the
stream into text the way the service does, so ``States.StringToJson($.Body)`` sees a string.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from botocore.response import StreamingBody
from moto import mock_aws
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk,
)

from mlpipes_constructs.compile.naming import is_sagemaker_name
from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.spec import local_code_paths
from mlpipes_constructs.stepfunctions import compile_state_machine
from tests.asl import definition_of

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"
REGION = "us-east-1"
BUCKET = "mlpipes-sfn-execution-test"
PREFIX = "pipelines/review-classifier/"
JOB_ROLE = f"arn:aws:iam::{ACCOUNT}:role/mlpipes-job-role"
GROUP = "mlpipes-review-classifier"
#: The Parallel state that registers the model while the transform branch runs.
PARALLEL = "Parallel.RegisterModel.CreateModel"


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    """The reference pipeline's ASL, request-response, with concrete names for moto."""
    app = cdk.App()
    stack = cdk.Stack(app, "Execution", env=cdk.Environment(account=ACCOUNT, region=REGION))
    pipeline = reference_pipeline(REGION, input_data_uri=f"s3://{BUCKET}/data/reviews/")
    compiled = compile_state_machine(
        stack,
        pipeline,
        job_role=iam.Role.from_role_arn(stack, "JobRole", JOB_ROLE, mutable=False),
        artifact_bucket=s3.Bucket.from_bucket_name(stack, "Artifacts", BUCKET),
        artifact_prefix=PREFIX,
        code_locations={
            code: f"s3://{BUCKET}/code/scripts.zip" for code in local_code_paths(pipeline)
        },
        integration_pattern=sfn.IntegrationPattern.REQUEST_RESPONSE,
    )
    sfn.StateMachine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(compiled.definition)
    )
    template = app.synth().get_stack_by_name("Execution").template
    return definition_of(template, {"AWS::Partition": "aws"})


@pytest.fixture
def _sdk_bodies_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    service = state_task_service_aws_sdk.StateTaskServiceAwsSdk
    original = service._eval_service_task

    def read_bodies(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        original(self, env, *args, **kwargs)
        response = env.stack[-1]
        if isinstance(response, dict):
            for key, value in list(response.items()):
                if isinstance(value, StreamingBody):
                    response[key] = value.read().decode("utf-8")

    monkeypatch.setattr(service, "_eval_service_task", read_bodies)


@contextmanager
def _emulated_aws(definition: dict[str, Any], *, registry: bool) -> Iterator[dict[str, Any]]:
    """Clients of an emulated account with the bucket, the machine and maybe the registry."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        clients = {
            name: boto3.client(name, region_name=REGION)
            for name in ("s3", "sagemaker", "stepfunctions")
        }
        clients["s3"].create_bucket(Bucket=BUCKET)
        if registry:
            clients["sagemaker"].create_model_package_group(ModelPackageGroupName=GROUP)
        clients["arn"] = clients["stepfunctions"].create_state_machine(
            name="review-classifier",
            definition=json.dumps(definition),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/state-machine",
        )["stateMachineArn"]
        yield clients


@pytest.fixture
def aws(_sdk_bodies_as_text: None, definition: dict[str, Any]) -> Iterator[dict[str, Any]]:
    with _emulated_aws(definition, registry=True) as clients:
        yield clients


@pytest.fixture
def aws_without_registry(
    _sdk_bodies_as_text: None, definition: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """No model package group, so ``CreateModelPackage`` fails."""
    with _emulated_aws(definition, registry=False) as clients:
        yield clients


def _run(
    aws: dict[str, Any], name: str, accuracy: float, overrides: dict[str, Any]
) -> dict[str, Any]:
    """Write the report the Evaluate job would write, run an execution, wait for its end."""
    aws["s3"].put_object(
        Bucket=BUCKET,
        Key=f"{PREFIX}{name}/Evaluate/output/evaluation/evaluation.json",
        Body=json.dumps({"metrics": {"accuracy": {"value": accuracy}}}),
    )
    functions = aws["stepfunctions"]
    execution = functions.start_execution(
        stateMachineArn=aws["arn"], name=name, input=json.dumps(overrides)
    )["executionArn"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        description = functions.describe_execution(executionArn=execution)
        if description["status"] != "RUNNING":
            events = functions.get_execution_history(executionArn=execution)["events"]
            return {"description": description, "events": events}
        time.sleep(0.1)
    raise AssertionError(f"execution {name} did not finish")


def _entered(events: list[dict[str, Any]]) -> list[str]:
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in events
        if "stateEnteredEventDetails" in event
    ]


def test_accurate_model_is_registered_and_scores_the_test_split(aws: dict[str, Any]) -> None:
    result = _run(aws, "happy-" + "a" * 74, accuracy=0.91, overrides={})

    assert result["description"]["status"] == "SUCCEEDED"
    entered = _entered(result["events"])
    assert entered.index(PARALLEL) < entered.index("RegisterModel")
    assert entered.index(PARALLEL) < entered.index("CreateModel") < entered.index("BatchTransform")
    assert "AccuracyTooLow" not in entered
    # Both branches ran ...
    transform = aws["sagemaker"].list_transform_jobs()["TransformJobSummaries"]
    assert len(transform) == 1
    packages = aws["sagemaker"].list_model_packages(ModelPackageGroupName=GROUP)
    assert len(packages["ModelPackageSummaryList"]) == 1
    # ... and the register branch's result survived the merge into the shared state.
    output = json.loads(result["description"]["output"])
    assert set(output) == {"parameters", "run", "steps", "properties"}
    registered = packages["ModelPackageSummaryList"][0]["ModelPackageArn"]
    assert output["steps"]["RegisterModel"]["ModelPackageArn"] == registered
    assert output["parameters"]["AccuracyThreshold"] == 0.7


def test_a_failed_branch_fails_the_execution_with_the_step_cause(
    aws_without_registry: dict[str, Any],
) -> None:
    result = _run(aws_without_registry, "no-registry", accuracy=0.91, overrides={})

    description = result["description"]
    assert description["status"] == "FAILED"
    assert description["error"] == "PipelineStepFailed"
    assert description["cause"].startswith("Step RegisterModel failed with ")
    assert "Model Package Group does not exist" in description["cause"]
    entered = _entered(result["events"])
    assert f"{PARALLEL}.Branch0.Failed" in entered
    assert f"{PARALLEL}.Merge" not in entered


def test_low_accuracy_fails_with_the_spec_message(aws: dict[str, Any]) -> None:
    result = _run(aws, "low-accuracy", accuracy=0.5, overrides={"AccuracyThreshold": 0.8})

    description = result["description"]
    assert description["status"] == "FAILED"
    assert description["error"] == "AccuracyTooLow"
    assert description["cause"] == "Model accuracy 0.5 is below the threshold 0.8."
    assert "BatchTransform" not in _entered(result["events"])


def test_an_execution_input_overrides_a_parameter_default(aws: dict[str, Any]) -> None:
    # 0.75 passes the default threshold (0.7) but not the overridden one.
    assert _run(aws, "default-threshold", 0.75, {})["description"]["status"] == "SUCCEEDED"
    overridden = _run(aws, "raised-threshold", 0.75, {"AccuracyThreshold": 0.76})
    assert overridden["description"]["status"] == "FAILED"


def test_an_input_of_the_wrong_type_fails_at_once_naming_the_parameter(
    aws: dict[str, Any],
) -> None:
    run = _run(aws, "string-threshold", 0.9, {"AccuracyThreshold": "0.8"})
    assert run["description"]["status"] == "FAILED"
    assert "Preprocess" not in _entered(run["events"])
    failed = next(e for e in run["events"] if e["type"] == "ExecutionFailed")
    assert failed["executionFailedEventDetails"]["cause"] == (
        'Parameter AccuracyThreshold must be a number, got "0.8"'
    )


def test_long_execution_names_get_short_unique_job_names(aws: dict[str, Any]) -> None:
    shared = "nightly-retraining-of-the-review-classifier-"
    names = [shared.ljust(72, "x") + "-run-001", shared.ljust(72, "x") + "-run-002"]
    assert all(len(name) == 80 for name in names)
    for name in names:
        assert _run(aws, name, 0.9, {})["description"]["status"] == "SUCCEEDED"

    jobs = [
        job["ProcessingJobName"]
        for job in aws["sagemaker"].list_processing_jobs()["ProcessingJobSummaries"]
    ]
    assert len(jobs) == 4 and len(set(jobs)) == 4
    for job in jobs:
        assert is_sagemaker_name(job), job
    preprocess = sorted(job for job in jobs if "-preprocess-" in job)
    assert preprocess[0] != preprocess[1]
