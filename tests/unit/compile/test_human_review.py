"""The compile core's human review: loop names, task input, the request and the decision."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mlpipes_constructs.compile.human_review import (
    DEFAULT_WAIT_SECONDS,
    MAX_HUMAN_LOOP_NAME_LENGTH,
    HumanReviewFailedError,
    human_loop_name,
    human_loop_prefix,
    is_checked,
    review_outcome,
    review_task_input,
    start_human_loop_request,
    wait_seconds,
)
from mlpipes_constructs.spec import (
    HumanReviewStep,
    JsonValue,
    ModelArtifacts,
    ParameterRef,
    ProcessingStep,
    ReviewOutcome,
    StepOutput,
)
from tests.sagemaker_api import check_request

#: HumanLoopName (botocore's sagemaker-a2i-runtime model).
HUMAN_LOOP_NAME = re.compile(r"^[a-z0-9](-*[a-z0-9])*$")
ARN = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/review"


class _Renderer:
    """Writes references as ``<kind:step>``, as an orchestrator would write an expression."""

    def value(self, value: object) -> Any:
        step = getattr(value, "step", getattr(value, "name", None))
        kind = getattr(value, "kind", None)
        return f"<{kind}:{step}>" if kind else value

    def text(self, value: object) -> Any:
        return str(self.value(value))

    def location(self, destination: object | None, *default_keys: str) -> Any:
        return destination

    def code_location(self, step: ProcessingStep) -> Any:
        return "s3://code"


def _review(**changes: Any) -> HumanReviewStep:
    fields: dict[str, Any] = {
        "name": "Review",
        "flow_definition_arn": ARN,
        "report": StepOutput("Evaluate", "evaluation", "evaluation.json"),
        "metrics": {"accuracy": JsonValue("Evaluate", "Report", "metrics.accuracy.value")},
        "inputs": {"model": ModelArtifacts("Train"), "team": "fraud"},
    }
    fields.update(changes)
    return HumanReviewStep(**fields)


@pytest.mark.parametrize(
    ("job_prefix", "step"),
    [("mlpipes-review-cl", "Review"), ("p", "AVeryLongStepNameThatGoesOnAndOnForSure")],
)
def test_every_loop_name_is_a_valid_human_loop_name_of_63_characters_at_most(
    job_prefix: str, step: str
) -> None:
    prefix = human_loop_prefix(job_prefix, step)
    name = human_loop_name(prefix, "run-1/Review/1")

    assert len(prefix) <= 26
    assert name.startswith(f"{prefix}-")
    assert len(name) <= MAX_HUMAN_LOOP_NAME_LENGTH
    assert HUMAN_LOOP_NAME.match(name)


def test_each_execution_and_try_gets_its_own_loop_name() -> None:
    prefix = human_loop_prefix("p", "Review")
    names = {
        human_loop_name(prefix, f"run-{run}/Review/{attempt}")
        for run in range(50)
        for attempt in (1, 2)
    }

    assert len(names) == 100


def test_a_step_waits_for_its_timeout_or_the_longest_a_loop_lives() -> None:
    assert wait_seconds(_review(timeout_seconds=600)) == 600
    assert wait_seconds(_review()) == DEFAULT_WAIT_SECONDS == 864_000 + 3_600


def test_the_task_input_holds_what_the_reviewer_sees_rendered_by_the_orchestrator() -> None:
    task = review_task_input(_review(), _Renderer(), "<execution>")

    assert task == {
        "pipeline_execution": "<execution>",
        "step": "Review",
        "report_uri": "<step_output:Evaluate>",
        "metrics": [["accuracy", "<json_value:Evaluate>"]],
        "model": "<model_artifacts:Train>",
        "team": "fraud",
    }


def test_a_review_without_a_report_sends_no_report_uri() -> None:
    task = review_task_input(_review(report=None, metrics={}, inputs={}), _Renderer(), "x")

    assert task == {"pipeline_execution": "x", "step": "Review", "metrics": []}


def test_the_start_request_matches_the_a2i_runtime_api() -> None:
    prefix = human_loop_prefix("p", "Review")
    request = start_human_loop_request(
        _review(), _Renderer(), human_loop_name(prefix, "r"), '{"step": "Review"}'
    )

    assert check_request("StartHumanLoop", request) == []
    assert request["FlowDefinitionArn"] == ARN


def test_a_flow_definition_parameter_is_rendered() -> None:
    request = start_human_loop_request(
        _review(flow_definition_arn=ParameterRef("Flow")), _Renderer(), "n", "{}"
    )

    assert request["FlowDefinitionArn"] == "<parameter:Flow>"


@pytest.mark.parametrize(
    ("answer", "checked"),
    [
        ({"on": True}, True),
        ({"on": False}, False),
        (True, True),
        (False, False),
        ("true", True),
        (" On ", True),
        ("no", False),
        (None, False),
        (1, False),
    ],
)
def test_what_counts_as_a_checked_field(answer: object, checked: bool) -> None:
    assert is_checked(answer) is checked


def _completed(*answers: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    describe = {"HumanLoopName": "loop", "HumanLoopStatus": "Completed"}
    output = {"humanAnswers": [{"answerContent": answer} for answer in answers]}
    return describe, output


def test_every_reviewer_approving_is_approval() -> None:
    describe, output = _completed({"approve": {"on": True}}, {"approve": {"on": True}})

    assert review_outcome(describe, output, "approve") == ReviewOutcome.APPROVED


@pytest.mark.parametrize(
    "answers",
    [
        ({"approve": {"on": False}, "reject": {"on": True}},),
        ({"approve": {"on": True}}, {"reject": {"on": True}}),
        ({"comment": "looks fine"},),
    ],
)
def test_any_reviewer_not_approving_is_rejection(answers: tuple[dict[str, Any], ...]) -> None:
    describe, output = _completed(*answers)

    assert review_outcome(describe, output, "approve") == ReviewOutcome.REJECTED


def test_the_approve_field_is_the_one_the_step_names() -> None:
    describe, output = _completed({"ship_it": True})

    assert review_outcome(describe, output, "ship_it") == ReviewOutcome.APPROVED
    assert review_outcome(describe, output, "approve") == ReviewOutcome.REJECTED


@pytest.mark.parametrize(
    ("describe", "message"),
    [
        (
            {"HumanLoopStatus": "Failed", "FailureCode": "Expired", "FailureReason": "x"},
            "human loop loop expired before a reviewer answered",
        ),
        (
            {"HumanLoopStatus": "Failed", "FailureReason": "InputContent is invalid"},
            "human loop loop failed: InputContent is invalid",
        ),
        ({"HumanLoopStatus": "Stopped"}, "human loop loop ended Stopped without a decision"),
        ({"HumanLoopStatus": "Completed"}, "human loop loop completed without answers"),
    ],
)
def test_a_loop_that_ends_without_a_decision_fails_the_step(
    describe: dict[str, Any], message: str
) -> None:
    with pytest.raises(HumanReviewFailedError) as raised:
        review_outcome({"HumanLoopName": "loop", **describe}, None, "approve")

    assert str(raised.value) == message


@pytest.mark.parametrize("status", ["InProgress", "Stopping"])
def test_a_loop_that_has_not_ended_has_no_outcome_yet(status: str) -> None:
    with pytest.raises(ValueError, match=f"has not ended: it is {status}"):
        review_outcome({"HumanLoopName": "loop", "HumanLoopStatus": status}, None, "approve")
