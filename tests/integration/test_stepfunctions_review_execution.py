"""The compiled human review states, executed by moto's Step Functions interpreter with a
fake A2I runtime (see :mod:`tests.stepfunctions_a2i`): approved leads to the register branch,
rejected to ``ReviewRejected``, a stopped, expired or failed loop fails the run with A2I's
reason."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest

from mlpipes_constructs.compile.human_review import human_loop_prefix

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.stepfunctions_a2i"]


# --- Tests --------------------------------------------------------------------------------------


def test_approved_review_registers_the_model(
    harness: ModuleType, a2i_aws: dict[str, Any], a2i_waits: list[int]
) -> None:
    a2i = harness.FakeA2iRuntime(
        a2i_aws["s3"],
        {
            "HumanLoopStatus": "Completed",
            "answers": [{"approve": {"on": True}}, {"approve": " Yes "}],
        },
    )
    result = harness.run(a2i_aws, a2i, "approved")

    assert result["description"]["status"] == "SUCCEEDED", result["description"]
    states = harness.entered(result["events"])
    assert states.index("Review.Approved") < states.index("RegisterModel")
    assert "ReviewRejected" not in states
    assert a2i.problems == []
    # One loop, named <prefix>-<uuid> (63 characters), started with the task input.
    loop = harness.only_loop(a2i)
    prefix = human_loop_prefix(harness.JOB_PREFIX, "Review")
    assert loop.name.startswith(f"{prefix}-") and len(loop.name) == len(prefix) + 37
    assert loop.flow_definition_arn == harness.FLOW_DEFINITION
    assert loop.input_content["step"] == "Review"
    assert loop.input_content["report_uri"] == (
        f"s3://{harness.BUCKET}/{harness.PREFIX}approved/Evaluate/output/evaluation/evaluation.json"
    )
    assert loop.input_content["metrics"][0] == ["accuracy", 0.91]
    assert loop.input_content["metrics"][-1] == ["accuracy threshold", 0.7]
    # Polled every poll_interval_seconds until the loop ended (in progress once, then done).
    assert loop.describes == 2
    # The default wait is polled every 579 seconds, within the execution history limit.
    assert a2i_waits.count(579) == 2
    output = json.loads(result["description"]["output"])
    assert output["steps"]["Review"] == {"Outcome": "Approved"}
    assert set(output) == {"parameters", "run", "steps", "properties"}


def test_rejected_review_ends_in_review_rejected(
    harness: ModuleType, a2i_aws: dict[str, Any]
) -> None:
    # The second reviewer did not check the box: one "no" rejects.
    a2i = harness.FakeA2iRuntime(
        a2i_aws["s3"],
        {
            "HumanLoopStatus": "Completed",
            "answers": [{"approve": True}, {"approve": {"on": False}}],
        },
    )
    result = harness.run(a2i_aws, a2i, "rejected")

    description = result["description"]
    assert description["status"] == "FAILED"
    assert description["error"] == "ReviewRejected"
    states = harness.entered(result["events"])
    assert "Review.Rejected" in states and "RegisterModel" not in states


def test_stopped_loop_fails_the_execution_with_the_reason(
    harness: ModuleType, a2i_aws: dict[str, Any]
) -> None:
    a2i = harness.FakeA2iRuntime(a2i_aws["s3"], {"HumanLoopStatus": "Stopped"})
    result = harness.run(a2i_aws, a2i, "stopped")

    description = result["description"]
    assert description["status"] == "FAILED"
    assert description["error"] == "PipelineStepFailed"
    name = harness.only_loop(a2i).name
    assert description["cause"] == (
        f"Step Review failed: human loop {name} ended Stopped without a decision"
    )
    assert "RegisterModel" not in harness.entered(result["events"])


def test_expired_loop_fails_the_execution_saying_it_expired(
    harness: ModuleType, a2i_aws: dict[str, Any]
) -> None:
    a2i = harness.FakeA2iRuntime(
        a2i_aws["s3"],
        {"HumanLoopStatus": "Failed", "FailureCode": "Expired", "FailureReason": "Task expired"},
    )
    result = harness.run(a2i_aws, a2i, "expired")

    description = result["description"]
    assert description["status"] == "FAILED"
    name = harness.only_loop(a2i).name
    assert description["cause"] == (
        f"Step Review failed: human loop {name} expired before a reviewer answered"
    )


def test_failed_loop_fails_the_execution_with_a2i_reason(
    harness: ModuleType, a2i_aws: dict[str, Any]
) -> None:
    a2i = harness.FakeA2iRuntime(
        a2i_aws["s3"],
        {"HumanLoopStatus": "Failed", "FailureReason": "Worker task template invalid"},
    )
    result = harness.run(a2i_aws, a2i, "failed")

    name = harness.only_loop(a2i).name
    assert result["description"]["cause"] == (
        f"Step Review failed: human loop {name} failed: Worker task template invalid"
    )


def test_completed_loop_without_answers_fails(harness: ModuleType, a2i_aws: dict[str, Any]) -> None:
    a2i = harness.FakeA2iRuntime(a2i_aws["s3"], {"HumanLoopStatus": "Completed", "answers": []})
    result = harness.run(a2i_aws, a2i, "no-answers")

    name = harness.only_loop(a2i).name
    assert result["description"]["cause"] == (
        f"Step Review failed: human loop {name} completed without answers"
    )
