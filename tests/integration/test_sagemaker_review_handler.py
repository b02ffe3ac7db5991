"""The SageMaker pipeline's review handler against moto's S3 and botocore Stubbers of the
SageMaker and A2I runtime APIs (real service models: every request is checked against them).

The handler's clients are made where it makes them (its ``client`` cache): S3 is moto's,
``sagemaker`` and ``sagemaker-a2i-runtime`` are real clients with a Stubber attached.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from mlpipes_constructs.compile.human_review import human_loop_name, human_loop_prefix
from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.sagemaker.compiler import compile_pipeline_definition
from mlpipes_constructs.spec import local_code_paths
from tests.contract.compilers import review_handler

pytestmark = pytest.mark.integration

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKET = "artifacts-bucket"
OUTPUT_BUCKET = "a2i-output"
RECORD_PREFIX = "pipelines/mlpipes-review-classifier/human-loops/"
FLOW = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:flow-definition/model-review"
TOKEN = "Ab3dE6gH9k"
EXECUTION = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/mlpipes-review-classifier/execution/x1"
PREFIX = human_loop_prefix("mlpipes-review-classifier", "Review")
LOOP = human_loop_name(PREFIX, TOKEN)


def _arguments() -> dict[str, Any]:
    """The Review step's callback arguments as SageMaker resolves them: the compiled ones,
    with each expression replaced by the text it has at run time."""
    pipeline = reference_pipeline(
        REGION, input_data_uri=f"s3://{BUCKET}/data/", human_review_flow_definition_arn=FLOW
    )
    definition = compile_pipeline_definition(
        pipeline,
        role_arn="arn:aws:iam::123456789012:role/job",
        artifact_root=f"s3://{BUCKET}/pipelines/mlpipes-review-classifier",
        code_locations={code: f"s3://{BUCKET}/code.zip" for code in local_code_paths(pipeline)},
        callback_queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/q",
    )
    [step] = [s for s in _walk(definition["Steps"]) if s["Name"] == "Review"]
    resolved = {
        "flow_definition_arn": FLOW,
        "execution_arn": EXECUTION,
        "task_pipeline_execution": "x1",
        "task_report_uri": f"s3://{BUCKET}/x1/evaluation.json",
        "task_model_artifacts": f"s3://{BUCKET}/x1/model.tar.gz",
        "metric_4": "0.7",
        **{f"metric_{index}": "0.91" for index in range(4)},
    }
    arguments = dict(step["Arguments"])
    for key, value in arguments.items():
        if isinstance(value, dict):
            arguments[key] = resolved[key]
    return arguments


def _walk(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for step in steps:
        yield step
        if step["Type"] == "Condition":
            yield from _walk(step["Arguments"]["IfSteps"])
            yield from _walk(step["Arguments"]["ElseSteps"])


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The handler module with moto's S3 and stubbed SageMaker and A2I runtime clients."""
    monkeypatch.setenv("RECORD_BUCKET", BUCKET)
    monkeypatch.setenv("RECORD_PREFIX", RECORD_PREFIX)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        handler = review_handler()
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (BUCKET, OUTPUT_BUCKET):
            s3.create_bucket(Bucket=bucket)
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        a2i = boto3.client("sagemaker-a2i-runtime", region_name=REGION)
        stubs = {"sagemaker": Stubber(sagemaker), "a2i": Stubber(a2i)}
        handler._clients.update({"s3": s3, "sagemaker": sagemaker, "sagemaker-a2i-runtime": a2i})
        with stubs["sagemaker"], stubs["a2i"]:
            yield {"handler": handler, "s3": s3, **stubs}
        for stub in stubs.values():
            stub.assert_no_pending_responses()


def _message(status: str = "Executing") -> dict[str, Any]:
    body = {
        "token": TOKEN,
        "pipelineExecutionArn": EXECUTION,
        "status": status,
        "arguments": _arguments(),
    }
    return {"Records": [{"messageId": "m-1", "body": json.dumps(body)}]}


def _status_change(status: str) -> dict[str, Any]:
    return {
        "source": "aws.sagemaker",
        "detail-type": "SageMaker A2I HumanLoop Status Change",
        "detail": {
            "humanLoopName": LOOP,
            "humanLoopStatus": status,
            "humanLoopArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:human-loop/{LOOP}",
            "flowDefinitionArn": FLOW,
        },
    }


def _describe(status: str, **fields: Any) -> dict[str, Any]:
    return {
        "CreationTime": datetime.datetime(2026, 12, 2, tzinfo=datetime.UTC),
        "HumanLoopStatus": status,
        "HumanLoopName": LOOP,
        "HumanLoopArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:human-loop/{LOOP}",
        "FlowDefinitionArn": FLOW,
        **fields,
    }


def _started(aws: dict[str, Any]) -> None:
    """Run the SQS message through the handler with StartHumanLoop answering."""
    aws["a2i"].add_response(
        "start_human_loop",
        {"HumanLoopArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:human-loop/{LOOP}"},
    )
    assert aws["handler"].handler(_message(), None) == {"batchItemFailures": []}


def _completed(aws: dict[str, Any], answers: list[dict[str, Any]]) -> None:
    key = f"a2i/model-review/2026/12/02/07/00/00/{LOOP}/output.json"
    aws["s3"].put_object(
        Bucket=OUTPUT_BUCKET,
        Key=key,
        Body=json.dumps({"humanAnswers": [{"answerContent": a} for a in answers]}),
    )
    aws["a2i"].add_response(
        "describe_human_loop",
        _describe("Completed", HumanLoopOutput={"OutputS3Uri": f"s3://{OUTPUT_BUCKET}/{key}"}),
        {"HumanLoopName": LOOP},
    )


def test_a_callback_message_starts_the_loop_with_the_task_input(aws: dict[str, Any]) -> None:
    captured: dict[str, Any] = {}

    def keep(params: dict[str, Any], **_: Any) -> None:
        captured.update(params)

    aws["handler"]._clients["sagemaker-a2i-runtime"].meta.events.register(
        "provide-client-params.sagemaker-a2i-runtime.StartHumanLoop", keep
    )
    _started(aws)

    assert captured["HumanLoopName"] == LOOP
    assert len(LOOP) == 63
    assert captured["FlowDefinitionArn"] == FLOW
    task = json.loads(captured["HumanLoopInput"]["InputContent"])
    assert task == {
        "pipeline_execution": "x1",
        "step": "Review",
        "report_uri": f"s3://{BUCKET}/x1/evaluation.json",
        "model_name": "mlpipes-review-classifier",
        "model_artifacts": f"s3://{BUCKET}/x1/model.tar.gz",
        "metrics": [
            ["accuracy", 0.91],
            ["precision", 0.91],
            ["recall", 0.91],
            ["f1", 0.91],
            ["accuracy threshold", 0.7],
        ],
    }
    record = aws["s3"].get_object(Bucket=BUCKET, Key=f"{RECORD_PREFIX}{LOOP}.json")
    assert json.loads(record["Body"].read())["callback_token"] == TOKEN


def test_a_message_delivered_again_finds_the_loop_started(aws: dict[str, Any]) -> None:
    _started(aws)
    aws["a2i"].add_client_error(
        "start_human_loop", "ConflictException", "loop exists", http_status_code=409
    )
    assert aws["handler"].handler(_message(), None) == {"batchItemFailures": []}


def test_throttled_start_is_left_for_sqs_to_deliver_again(aws: dict[str, Any]) -> None:
    aws["a2i"].add_client_error(
        "start_human_loop", "ThrottlingException", "Rate exceeded", http_status_code=400
    )
    assert aws["handler"].handler(_message(), None) == {
        "batchItemFailures": [{"itemIdentifier": "m-1"}]
    }


def test_a_start_that_cannot_succeed_fails_the_step_at_once(aws: dict[str, Any]) -> None:
    aws["a2i"].add_client_error(
        "start_human_loop", "ResourceNotFoundException", "no such flow definition", 404
    )
    aws["sagemaker"].add_response(
        "send_pipeline_execution_step_failure",
        {"PipelineExecutionArn": EXECUTION},
        {
            "CallbackToken": TOKEN,
            "FailureReason": ANY,
            "ClientRequestToken": ANY,
        },
    )
    assert aws["handler"].handler(_message(), None) == {"batchItemFailures": []}


def test_completed_and_approved_sends_the_outcome(aws: dict[str, Any]) -> None:
    _started(aws)
    _completed(aws, [{"approve": {"on": True}}, {"approve": "Yes"}])
    aws["sagemaker"].add_response(
        "send_pipeline_execution_step_success",
        {"PipelineExecutionArn": EXECUTION},
        {
            "CallbackToken": TOKEN,
            "OutputParameters": [{"Name": "outcome", "Value": "Approved"}],
            "ClientRequestToken": ANY,
        },
    )
    aws["handler"].handler(_status_change("Completed"), None)


def test_completed_and_rejected_sends_the_outcome(aws: dict[str, Any]) -> None:
    _started(aws)
    _completed(aws, [{"approve": {"on": True}}, {"approve": {"on": False}}])
    aws["sagemaker"].add_response(
        "send_pipeline_execution_step_success",
        {"PipelineExecutionArn": EXECUTION},
        {
            "CallbackToken": TOKEN,
            "OutputParameters": [{"Name": "outcome", "Value": "Rejected"}],
            "ClientRequestToken": ANY,
        },
    )
    aws["handler"].handler(_status_change("Completed"), None)


@pytest.mark.parametrize(
    ("describe", "reason"),
    [
        (_describe("Stopped"), f"human loop {LOOP} ended Stopped without a decision"),
        (
            _describe("Failed", FailureCode="Expired", FailureReason="Task expired"),
            f"human loop {LOOP} expired before a reviewer answered",
        ),
        (
            _describe("Failed", FailureReason="Template rendering failed"),
            f"human loop {LOOP} failed: Template rendering failed",
        ),
    ],
    ids=["stopped", "expired", "failed"],
)
def test_a_loop_without_a_decision_fails_the_step_with_the_reason(
    aws: dict[str, Any], describe: dict[str, Any], reason: str
) -> None:
    _started(aws)
    aws["a2i"].add_response("describe_human_loop", describe, {"HumanLoopName": LOOP})
    aws["sagemaker"].add_response(
        "send_pipeline_execution_step_failure",
        {"PipelineExecutionArn": EXECUTION},
        {"CallbackToken": TOKEN, "FailureReason": reason, "ClientRequestToken": ANY},
    )
    aws["handler"].handler(_status_change(describe["HumanLoopStatus"]), None)


def test_throttled_callback_is_raised_for_eventbridge_to_retry(aws: dict[str, Any]) -> None:
    _started(aws)
    _completed(aws, [{"approve": True}])
    aws["sagemaker"].add_client_error(
        "send_pipeline_execution_step_success", "ThrottlingException", "Rate exceeded"
    )
    with pytest.raises(aws["handler"].ClientError, match="ThrottlingException"):
        aws["handler"].handler(_status_change("Completed"), None)


def test_a_loop_this_handler_did_not_start_is_ignored(aws: dict[str, Any]) -> None:
    # No record, no A2I or SageMaker call (the Stubbers have no responses queued).
    aws["handler"].handler(_status_change("Completed"), None)


def test_a_stopping_execution_stops_its_loop(aws: dict[str, Any]) -> None:
    aws["a2i"].add_response("stop_human_loop", {}, {"HumanLoopName": LOOP})
    assert aws["handler"].handler(_message("Stopping"), None) == {"batchItemFailures": []}


def test_the_handler_is_one_module_on_the_lambda_runtime(aws: dict[str, Any]) -> None:
    module: ModuleType = aws["handler"]
    # Only the standard library and the runtime's boto3/botocore: nothing of this package.
    source = Path(module.__file__ or "").read_text(encoding="utf-8")
    assert "import mlpipes_constructs" not in source and "from mlpipes_constructs" not in source
