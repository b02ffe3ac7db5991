"""A human review step on every orchestrator: the loop's name, its task input, its decision.

Every compiler starts the human loop with the same ``StartHumanLoop`` request
(:func:`start_human_loop_request`) and turns the loop's end into the step's outcome by the same
rule (:func:`review_outcome`), which the run-time code of each orchestrator (the SageMaker
Pipelines callback handler, the Step Functions states, the Airflow sensor, the KFP component)
follows; the contract tests hold each of them to this function on the same loops.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from mlpipes_constructs.compile.naming import slug
from mlpipes_constructs.compile.renderer import Request, RequestValue, ValueRenderer
from mlpipes_constructs.spec import HumanReviewStep, ReviewOutcome

#: HumanLoopName: at most 63 lowercase letters, digits and hyphens.
MAX_HUMAN_LOOP_NAME_LENGTH = 63
#: The part unique to one execution of the step: a UUID's length (Step Functions writes
#: ``States.UUID()``; the others the first 36 hex digits of a SHA-256).
HUMAN_LOOP_UNIQUE_LENGTH = 36
#: ``<prefix>-<unique>`` fits 63 characters with a prefix of at most 26.
MAX_HUMAN_LOOP_PREFIX_LENGTH = MAX_HUMAN_LOOP_NAME_LENGTH - HUMAN_LOOP_UNIQUE_LENGTH - 1
#: Where a loop stands, by ``HumanLoopStatus``.
IN_PROGRESS_STATUSES = frozenset({"InProgress", "Stopping"})
TERMINAL_STATUSES = frozenset({"Completed", "Failed", "Stopped"})
#: When no timeout is set, the orchestrators that poll stop after the longest a loop can live
#: (A2I's 10-day task lifetime) and an hour.
DEFAULT_WAIT_SECONDS = 864_000 + 3_600


class HumanReviewFailedError(RuntimeError):
    """The human loop ended without a decision: it failed, was stopped or expired."""


def human_loop_prefix(job_prefix: str, step_name: str) -> str:
    """The start of every human loop name of a step: ``<job prefix>-<step>``, lowercase,
    shortened to 26 characters. IAM grants name the loops by it."""
    return slug(job_prefix, step_name, MAX_HUMAN_LOOP_PREFIX_LENGTH).rstrip("-")


def human_loop_name(prefix: str, unique: str) -> str:
    """``<prefix>-<first 36 hex digits of sha256(unique)>``: one name per execution and try.

    ``unique`` is what tells executions apart, e.g. the run id, the step and the try number.
    """
    digest = hashlib.sha256(unique.encode("utf-8")).hexdigest()
    return f"{prefix}-{digest[:HUMAN_LOOP_UNIQUE_LENGTH]}"


def wait_seconds(step: HumanReviewStep) -> int:
    """How long an orchestrator that polls waits for the decision."""
    return step.timeout_seconds if step.timeout_seconds is not None else DEFAULT_WAIT_SECONDS


def review_task_input(
    step: HumanReviewStep, value: ValueRenderer, execution_id: RequestValue
) -> Request:
    """The ``task.input`` of the review, before it is written as JSON text.

    Args:
        step: the review step.
        value: the orchestrator's renderer, for the references among the inputs.
        execution_id: the orchestrator's expression for its execution id.
    """
    task: Request = {"pipeline_execution": execution_id, "step": step.name}
    if step.report is not None:
        task["report_uri"] = value.value(step.report)
    task["metrics"] = [[name, value.value(metric)] for name, metric in step.metrics.items()]
    for name, item in step.inputs.items():
        task[name] = value.value(item)
    return task


def start_human_loop_request(
    step: HumanReviewStep, value: ValueRenderer, name: RequestValue, input_content: RequestValue
) -> Request:
    """``StartHumanLoop``: the loop ``name``, the flow definition, and the task input as JSON
    text (``input_content``: the orchestrator's expression for
    :func:`review_task_input` written as a string)."""
    return {
        "HumanLoopName": name,
        "FlowDefinitionArn": value.value(step.flow_definition_arn),
        "HumanLoopInput": {"InputContent": input_content},
    }


def is_checked(answer: object) -> bool:
    """Whether a form field's answer means yes: ``true``, ``{"on": true}`` (a checked box or
    radio button), or the text ``true``/``on``/``yes``."""
    if isinstance(answer, Mapping):
        return answer.get("on") is True
    if isinstance(answer, str):
        return answer.strip().lower() in {"true", "on", "yes"}
    return answer is True


def review_outcome(
    describe: Mapping[str, Any], output: Mapping[str, Any] | None, approve_field: str
) -> str:
    """The outcome of a human loop that has ended.

    Args:
        describe: the ``DescribeHumanLoop`` response.
        output: the loop's ``output.json`` (for a completed loop).
        approve_field: the answer field that means approval.

    Returns:
        ``ReviewOutcome.APPROVED`` when every reviewer checked ``approve_field``, else
        ``ReviewOutcome.REJECTED``.

    Raises:
        HumanReviewFailedError: the loop failed, expired or was stopped, or completed without
            answers.
        ValueError: the loop has not ended.
    """
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
    return ReviewOutcome.APPROVED if approved else ReviewOutcome.REJECTED
