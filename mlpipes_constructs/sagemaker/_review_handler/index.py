"""Human review handler of a SageMaker pipeline: runs the A2I loops of its callback steps.

Runs in AWS Lambda on the Python runtime's own boto3. It is invoked two ways:

* by the callback queue (SQS records). SageMaker Pipelines sends, for each review step that
  starts, ``{"token": <callback token>, "pipelineExecutionArn": ..., "status": "Executing",
  "arguments": {...}}`` with the arguments the compiler wrote (``_review_step``). The handler
  names the loop ``human_loop_name(<human_loop_prefix>, <token>)``, keeps the token under
  ``RECORD_PREFIX`` in ``RECORD_BUCKET`` (a loop's end carries no token), and starts the loop
  with the compile core's ``StartHumanLoop`` request. A message that comes again (SQS delivers
  at least once) finds the loop started and does nothing. ``"status": "Stopping"`` (the
  execution is being stopped) stops the loop.
* by EventBridge, with "SageMaker A2I HumanLoop Status Change" events of this pipeline's
  loops. A loop that ended is described; the outcome follows ``review_outcome`` of
  ``mlpipes_constructs.compile.human_review`` exactly (copied here: this function has only its
  own module; the contract tests hold the copy to the original), and the step is completed with
  ``SendPipelineExecutionStepSuccess`` (``outcome``: ``Approved`` or ``Rejected``) or failed with
  ``SendPipelineExecutionStepFailure`` and the loop's reason.

Throttling and service errors are raised, so the record (or event) is tried again; an error
that a retry cannot fix (an unknown flow definition, for instance) fails the step at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.exceptions import ClientError

LOGGER = logging.getLogger()
LOGGER.setLevel(logging.INFO)

STATUS_CHANGE = "SageMaker A2I HumanLoop Status Change"
OUTCOME_OUTPUT = "outcome"
APPROVED = "Approved"
REJECTED = "Rejected"
#: The part of a loop name unique to one execution of a step.
HUMAN_LOOP_UNIQUE_LENGTH = 36
IN_PROGRESS_STATUSES = frozenset({"InProgress", "Stopping"})
TERMINAL_STATUSES = frozenset({"Completed", "Failed", "Stopped"})
#: SendPipelineExecutionStepFailure takes at most 256 characters of reason.
MAX_FAILURE_REASON = 256
#: Errors a retry of the same request may fix.
RETRIABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ServiceUnavailable",
        "InternalServerException",
        "InternalFailure",
        "ServiceQuotaExceededException",
        "SlowDown",
    }
)
_S3_URI = re.compile(r"s3://([^/]+)/(.+)")
_clients: dict[str, Any] = {}


class HumanReviewFailedError(RuntimeError):
    """The human loop ended without a decision: it failed, was stopped or expired."""


def client(service: str) -> Any:
    """One boto3 client per service for the life of the function instance."""
    if service not in _clients:
        _clients[service] = boto3.client(service)
    return _clients[service]


# --- The compile core's rules, copied --------------------------------------------------------


def human_loop_name(prefix: str, unique: str) -> str:
    """``<prefix>-<first 36 hex digits of sha256(unique)>``."""
    digest = hashlib.sha256(unique.encode("utf-8")).hexdigest()
    return f"{prefix}-{digest[:HUMAN_LOOP_UNIQUE_LENGTH]}"


def is_checked(answer: object) -> bool:
    """``true``, ``{"on": true}``, or the text ``true``/``on``/``yes``."""
    if isinstance(answer, Mapping):
        return answer.get("on") is True
    if isinstance(answer, str):
        return answer.strip().lower() in {"true", "on", "yes"}
    return answer is True


def review_outcome(
    describe: Mapping[str, Any], output: Mapping[str, Any] | None, approve_field: str
) -> str:
    """``Approved`` when every reviewer checked ``approve_field``, else ``Rejected``."""
    status = describe.get("HumanLoopStatus")
    name = describe.get("HumanLoopName", "?")
    if status in IN_PROGRESS_STATUSES:
        raise ValueError(f"human loop {name} has not ended: it is {status}")
    if status == "Failed":
        if describe.get("FailureCode") == "Expired":
            raise HumanReviewFailedError(f"human loop {name} expired before a reviewer answered")
        reason = describe.get("FailureReason") or describe.get("FailureCode") or "no reason given"
        raise HumanReviewFailedError(f"human loop {name} failed: {reason}")
    if status != "Completed":
        raise HumanReviewFailedError(f"human loop {name} ended {status} without a decision")
    answers = (output or {}).get("humanAnswers") or []
    if not answers:
        raise HumanReviewFailedError(f"human loop {name} completed without answers")
    approved = all(
        is_checked((answer.get("answerContent") or {}).get(approve_field)) for answer in answers
    )
    return APPROVED if approved else REJECTED


# --- The callback message ----------------------------------------------------------------------


def task_input(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The review's ``task.input`` from the callback arguments (``_review_step``'s inverse)."""
    task: dict[str, Any] = {}
    for key, value in arguments.items():
        if key.startswith("task_"):
            task[key.removeprefix("task_")] = value
    names = json.loads(arguments.get("metric_names") or "[]")
    task["metrics"] = [
        [name, _number(arguments.get(f"metric_{index}"))] for index, name in enumerate(names)
    ]
    return task


def _number(value: Any) -> Any:
    """A metric as a number when SageMaker sent its text (the other orchestrators send it as a
    JSON number)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def start_request(message: Mapping[str, Any]) -> dict[str, Any]:
    """The ``StartHumanLoop`` request of a callback message."""
    arguments = message["arguments"]
    return {
        "HumanLoopName": human_loop_name(arguments["human_loop_prefix"], message["token"]),
        "FlowDefinitionArn": arguments["flow_definition_arn"],
        "HumanLoopInput": {"InputContent": json.dumps(task_input(arguments))},
    }


def record_key(loop_name: str) -> str:
    """Where the handler keeps what a loop's end needs: its callback token."""
    return f"{os.environ['RECORD_PREFIX']}{loop_name}.json"


def on_message(message: Mapping[str, Any]) -> None:
    """Start the loop of a callback message (or stop it, when the execution stops)."""
    request = start_request(message)
    name = request["HumanLoopName"]
    if message.get("status") == "Stopping":
        try:
            client("sagemaker-a2i-runtime").stop_human_loop(HumanLoopName=name)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        return
    record = {
        "callback_token": message["token"],
        "approve_field": message["arguments"]["approve_field"],
        "execution_arn": message.get("pipelineExecutionArn"),
    }
    client("s3").put_object(
        Bucket=os.environ["RECORD_BUCKET"],
        Key=record_key(name),
        Body=json.dumps(record).encode("utf-8"),
        ContentType="application/json",
    )
    try:
        client("sagemaker-a2i-runtime").start_human_loop(**request)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code == "ConflictException":
            LOGGER.info("human loop %s was started already", name)
            return
        if code in RETRIABLE_CODES:
            raise
        fail_step(message["token"], f"could not start human loop {name}: {error}")
        return
    LOGGER.info("started human loop %s", name)


# --- The loop's end ---------------------------------------------------------------------------


def on_status_change(detail: Mapping[str, Any]) -> None:
    """Complete the callback step of a loop that ended."""
    name = detail["humanLoopName"]
    if detail.get("humanLoopStatus") not in TERMINAL_STATUSES:
        return
    try:
        body = client("s3").get_object(Bucket=os.environ["RECORD_BUCKET"], Key=record_key(name))
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            LOGGER.warning("human loop %s was not started by this handler", name)
            return
        raise
    record = json.loads(body["Body"].read())
    describe = client("sagemaker-a2i-runtime").describe_human_loop(HumanLoopName=name)
    output = None
    if describe.get("HumanLoopStatus") == "Completed":
        output = read_output(describe["HumanLoopOutput"]["OutputS3Uri"])
    try:
        outcome = review_outcome(describe, output, record["approve_field"])
    except HumanReviewFailedError as error:
        fail_step(record["callback_token"], str(error))
        return
    client("sagemaker").send_pipeline_execution_step_success(
        CallbackToken=record["callback_token"],
        OutputParameters=[{"Name": OUTCOME_OUTPUT, "Value": outcome}],
        ClientRequestToken=_request_token(name, outcome),
    )
    LOGGER.info("human loop %s: %s", name, outcome)


def read_output(uri: str) -> dict[str, Any]:
    """The loop's ``output.json``."""
    match = _S3_URI.fullmatch(uri)
    if match is None:
        raise ValueError(f"human loop output {uri!r} is not an s3:// URI")
    body = client("s3").get_object(Bucket=match.group(1), Key=match.group(2))["Body"].read()
    document: dict[str, Any] = json.loads(body)
    return document


def fail_step(token: str, reason: str) -> None:
    """Fail the callback step with ``reason``."""
    LOGGER.warning("failing the review step: %s", reason)
    client("sagemaker").send_pipeline_execution_step_failure(
        CallbackToken=token,
        FailureReason=reason[:MAX_FAILURE_REASON],
        ClientRequestToken=_request_token(token, reason),
    )


def _request_token(*parts: str) -> str:
    """The same ClientRequestToken when the same answer is sent again (32-128 characters)."""
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


# --- Entry point --------------------------------------------------------------------------------


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """SQS records (with partial batch failures) or one EventBridge event."""
    if "Records" in event:
        failures = []
        for record in event["Records"]:
            try:
                on_message(json.loads(record["body"]))
            except Exception:
                LOGGER.exception("callback message %s failed", record.get("messageId"))
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}
    if event.get("detail-type") == STATUS_CHANGE:
        on_status_change(event["detail"])
        return {}
    raise ValueError(f"unexpected event: {json.dumps(event)[:500]}")
