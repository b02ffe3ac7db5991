"""The S3 trigger of a SageMaker pipeline, executed by moto's Step Functions interpreter.

The state machine comes from a synthesized stack (its ``DefinitionString`` flattened to plain
ASL) and runs in moto with the executor on; its AWS SDK task calls moto's SageMaker, where a
pipeline with the trigger's String parameter exists. The execution input is an S3
``Object Created`` event shaped like the ones S3 sends to EventBridge, which is what the
trigger rule hands the state machine.

moto's ``StartPipelineExecution`` records the ``ClientRequestToken`` but does not enforce it
(every call starts a new execution); the idempotency test applies the token as SageMaker
documents it, and the throttling test names SDK errors as Step Functions does.
"""

from __future__ import annotations

import inspect
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from moto import mock_aws
from moto.core.exceptions import JsonRESTError
from moto.sagemaker.models import sagemaker_backends
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk,
)

from mlpipes_constructs.sagemaker import SageMakerPipeline
from tests.asl import definition_of

pytestmark = pytest.mark.integration


class ThrottlingError(JsonRESTError):
    """SageMaker's answer to a throttled call."""

    def __init__(self) -> None:
        super().__init__("ThrottlingException", "Rate exceeded")


ACCOUNT = "123456789012"
REGION = "us-east-1"
BUCKET = "mlpipes-trigger-test"
PIPELINE = "review-features"
PARAMETER = "InputDataUri"
PREFIX = "data/incoming/"
JOB_ROLE = f"arn:aws:iam::{ACCOUNT}:role/mlpipes-job-role"
PIPELINE_DEFINITION: dict[str, Any] = {
    "Version": "2020-12-01",
    "Parameters": [
        {"Name": PARAMETER, "Type": "String", "DefaultValue": f"s3://{BUCKET}/data/"},
        {"Name": "Threshold", "Type": "Float", "DefaultValue": 0.5},
    ],
    "Steps": [{"Name": "Stop", "Type": "Fail", "Arguments": {"ErrorMessage": "not run here"}}],
}


@pytest.fixture(scope="module")
def trigger_definition() -> dict[str, Any]:
    """The trigger state machine's ASL, from a stack with a bucket and a triggered pipeline."""
    app = cdk.App()
    stack = cdk.Stack(app, "Trigger", env=cdk.Environment(account=ACCOUNT, region=REGION))
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    bucket = s3.Bucket(stack, "Artifacts", bucket_name=BUCKET, encryption_key=key, enforce_ssl=True)
    SageMakerPipeline(
        stack,
        "Pipeline",
        pipeline=PIPELINE_DEFINITION,
        pipeline_name=PIPELINE,
        job_role=iam.Role.from_role_arn(stack, "JobRole", JOB_ROLE, mutable=False),
        artifact_bucket=bucket,
        encryption_key=key,
        trigger_prefix=PREFIX,
        trigger_parameter=PARAMETER,
    )
    template = app.synth().get_stack_by_name("Trigger").template
    return definition_of(template, {"AWS::Partition": "aws"})


@pytest.fixture
def aws(trigger_definition: dict[str, Any]) -> Iterator[dict[str, Any]]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        clients: dict[str, Any] = {
            name: boto3.client(name, region_name=REGION) for name in ("sagemaker", "stepfunctions")
        }
        clients["arn"] = clients["stepfunctions"].create_state_machine(
            name=f"{PIPELINE}-trigger",
            definition=json.dumps(trigger_definition),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/trigger",
        )["stateMachineArn"]
        yield clients


def _create_pipeline(aws: dict[str, Any]) -> None:
    aws["sagemaker"].create_pipeline(
        PipelineName=PIPELINE,
        PipelineDefinition=json.dumps(PIPELINE_DEFINITION),
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/pipeline",
    )


def _object_created(key: str) -> dict[str, Any]:
    """An S3 ``Object Created`` event as EventBridge delivers it (the documented shape)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": "2024-06-01T08:30:00Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{BUCKET}"],
        "detail": {
            "version": "0",
            "bucket": {"name": BUCKET},
            "object": {
                "key": key,
                "size": 5120,
                "etag": "b1946ac92492d2347c6235b4d2611184",
                "sequencer": "00617F08299329D189",
            },
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": ACCOUNT,
            "source-ip-address": "10.0.0.1",
            "reason": "PutObject",
        },
    }


def _run(aws: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    functions = aws["stepfunctions"]
    # EventBridge names each execution it starts uniquely.
    execution = functions.start_execution(
        stateMachineArn=aws["arn"], name=str(uuid.uuid4()), input=json.dumps(event)
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        description: dict[str, Any] = functions.describe_execution(
            executionArn=execution["executionArn"]
        )
        if description["status"] != "RUNNING":
            return description
        time.sleep(0.05)
    raise AssertionError("the trigger execution did not finish")


def test_definition_is_one_sdk_task_that_starts_this_pipeline(
    trigger_definition: dict[str, Any],
) -> None:
    (state,) = trigger_definition["States"].values()
    assert state["Resource"] == "arn:aws:states:::aws-sdk:sagemaker:startPipelineExecution"
    assert state["Parameters"]["PipelineName"] == PIPELINE


def test_new_object_starts_an_execution_with_its_s3_uri(aws: dict[str, Any]) -> None:
    _create_pipeline(aws)
    key = f"{PREFIX}2024-06-01/reviews.csv"
    event = _object_created(key)

    result = _run(aws, event)

    assert result["status"] == "SUCCEEDED", result
    sagemaker = aws["sagemaker"]
    (summary,) = sagemaker.list_pipeline_executions(PipelineName=PIPELINE)[
        "PipelineExecutionSummaries"
    ]
    execution_arn = summary["PipelineExecutionArn"]
    assert json.loads(result["output"]) == {"PipelineExecutionArn": execution_arn}
    parameters = sagemaker.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=execution_arn
    )["PipelineParameters"]
    assert parameters == [{"Name": PARAMETER, "Value": f"s3://{BUCKET}/{key}"}]
    description = sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
    assert description["PipelineArn"].endswith(f":pipeline/{PIPELINE}")
    assert description["PipelineExecutionDescription"] == (
        f"Started by the new object s3://{BUCKET}/{key} (EventBridge event {event['id']})"
    )
    # moto keeps the token without acting on it; in AWS it makes a redelivered event a no-op.
    recorded = sagemaker_backends[ACCOUNT][REGION].pipelines[PIPELINE].pipeline_executions
    assert recorded[execution_arn].client_request_token == event["id"]


def test_each_new_object_gets_its_own_execution(aws: dict[str, Any]) -> None:
    _create_pipeline(aws)
    keys = [f"{PREFIX}a.csv", f"{PREFIX}nested/folder/b.csv"]
    for key in keys:
        assert _run(aws, _object_created(key))["status"] == "SUCCEEDED"

    sagemaker = aws["sagemaker"]
    summaries = sagemaker.list_pipeline_executions(PipelineName=PIPELINE)[
        "PipelineExecutionSummaries"
    ]
    values = sorted(
        parameter["Value"]
        for summary in summaries
        for parameter in sagemaker.list_pipeline_parameters_for_execution(
            PipelineExecutionArn=summary["PipelineExecutionArn"]
        )["PipelineParameters"]
    )
    assert values == sorted(f"s3://{BUCKET}/{key}" for key in keys)


def test_execution_fails_when_sagemaker_refuses_the_call(aws: dict[str, Any]) -> None:
    # No pipeline of that name: SageMaker answers with an error, which fails the execution
    # (and, deployed, publishes it through the trigger's failure rule).
    result = _run(aws, _object_created(f"{PREFIX}orphan.csv"))

    assert result["status"] == "FAILED"
    history = aws["stepfunctions"].get_execution_history(executionArn=result["executionArn"])
    failures = [
        event["taskFailedEventDetails"]
        for event in history["events"]
        if "taskFailedEventDetails" in event
    ]
    assert [(failure["resourceType"], failure["resource"]) for failure in failures] == [
        ("aws-sdk:sagemaker", "startPipelineExecution")
    ]
    assert f"Could not find pipeline with PipelineName {PIPELINE}" in failures[0]["cause"]
    assert aws["sagemaker"].list_pipelines()["PipelineSummaries"] == []


@pytest.fixture
def sagemaker_error_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """Name SDK errors as Step Functions does (``SageMaker.…``); moto writes ``sagemaker.…``."""
    errors = dict(state_task_service_aws_sdk._SERVICE_ERROR_NAMES)
    errors["sagemaker"] = "SageMaker"
    monkeypatch.setattr(state_task_service_aws_sdk, "_SERVICE_ERROR_NAMES", errors)


@pytest.fixture
def idempotent_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """``ClientRequestToken`` as SageMaker documents it: a repeated token starts nothing new and
    returns the execution the first call started (moto records the token only)."""
    backend_class = type(sagemaker_backends[ACCOUNT][REGION])
    original = backend_class.start_pipeline_execution
    started: dict[str, dict[str, str]] = {}

    signature = inspect.signature(original)

    def start(self: Any, *args: Any, **kwargs: Any) -> dict[str, str]:
        token = signature.bind(self, *args, **kwargs).arguments.get("client_request_token")
        if token in started:
            return started[token]
        result: dict[str, str] = original(self, *args, **kwargs)
        if token:
            started[token] = result
        return result

    monkeypatch.setattr(backend_class, "start_pipeline_execution", start)


@pytest.mark.usefixtures("sagemaker_error_names")
def test_throttled_start_is_retried(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    _create_pipeline(aws)
    backend_class = type(sagemaker_backends[ACCOUNT][REGION])
    original = backend_class.start_pipeline_execution
    calls: list[str] = []

    signature = inspect.signature(original)

    def throttled_once(self: Any, *args: Any, **kwargs: Any) -> dict[str, str]:
        calls.append(signature.bind(self, *args, **kwargs).arguments["client_request_token"])
        if len(calls) == 1:
            raise ThrottlingError()
        result: dict[str, str] = original(self, *args, **kwargs)
        return result

    monkeypatch.setattr(backend_class, "start_pipeline_execution", throttled_once)

    result = _run(aws, _object_created(f"{PREFIX}throttled.csv"))

    assert result["status"] == "SUCCEEDED", result
    assert len(calls) == 2 and calls[0] == calls[1]
    (summary,) = aws["sagemaker"].list_pipeline_executions(PipelineName=PIPELINE)[
        "PipelineExecutionSummaries"
    ]
    assert json.loads(result["output"]) == {"PipelineExecutionArn": summary["PipelineExecutionArn"]}


@pytest.mark.usefixtures("idempotent_starts")
def test_event_delivered_again_while_the_pipeline_runs_starts_nothing_new(
    aws: dict[str, Any],
) -> None:
    _create_pipeline(aws)
    event = _object_created(f"{PREFIX}twice.csv")

    first = _run(aws, event)
    # The execution it started is still running when EventBridge delivers the event again
    # (moto's executions finish at once).
    executions = sagemaker_backends[ACCOUNT][REGION].pipelines[PIPELINE].pipeline_executions
    (execution,) = executions.values()
    execution.pipeline_execution_status = "Executing"
    second = _run(aws, event)

    assert first["status"] == second["status"] == "SUCCEEDED"
    assert json.loads(first["output"]) == json.loads(second["output"])
    assert (
        len(
            aws["sagemaker"].list_pipeline_executions(PipelineName=PIPELINE)[
                "PipelineExecutionSummaries"
            ]
        )
        == 1
    )
