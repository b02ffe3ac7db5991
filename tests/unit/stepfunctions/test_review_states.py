"""The states of a human review step, read back from the synthesized ASL."""

from __future__ import annotations

import dataclasses
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn

from mlpipes_constructs.compile.human_review import (
    DEFAULT_WAIT_SECONDS,
    human_loop_prefix,
    is_checked,
)
from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.spec import HumanReviewStep, Pipeline, local_code_paths
from mlpipes_constructs.stepfunctions import compile_state_machine
from mlpipes_constructs.stepfunctions._review_states import (
    A2I_RETRY_ERRORS,
    MAX_POLLS,
    WHITESPACE,
    YES_WORDS,
    max_polls,
    spellings,
)
from tests.asl import all_states, definition_of, transition_problems
from tests.conftest import TEST_ENV

FLOW = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/model-review"
SPEC = reference_pipeline(
    input_data_uri="s3://artifacts/data/", human_review_flow_definition_arn=FLOW
)


def _with_review(**changes: Any) -> Pipeline:
    steps = tuple(
        dataclasses.replace(step, **changes) if isinstance(step, HumanReviewStep) else step
        for step in SPEC.steps
    )
    return Pipeline(
        name=SPEC.name, steps=steps, parameters=SPEC.parameters, base_directory=SPEC.base_directory
    )


def _asl(pipeline: Pipeline) -> tuple[dict[str, Any], str]:
    stack = cdk.Stack(cdk.App(), "Review", env=TEST_ENV)
    compiled = compile_state_machine(
        stack,
        pipeline,
        job_role=iam.Role.from_role_arn(
            stack, "Role", "arn:aws:iam::123456789012:role/job", mutable=False
        ),
        artifact_bucket=s3.Bucket.from_bucket_name(stack, "Bucket", "artifacts"),
        artifact_prefix="pipelines/ref/",
        code_locations={code: "s3://code/scripts.zip" for code in local_code_paths(pipeline)},
    )
    sfn.StateMachine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(compiled.definition)
    )
    template = cdk.assertions.Template.from_stack(stack).to_json()
    return definition_of(template, {"AWS::Partition": "aws"}), compiled.job_name_prefix


@pytest.fixture(scope="module")
def compiled() -> tuple[dict[str, dict[str, Any]], str]:
    definition, prefix = _asl(SPEC)
    assert list(transition_problems(definition)) == []
    return dict(all_states(definition)), prefix


def test_the_loop_is_named_with_the_step_prefix_and_a_uuid(
    compiled: tuple[dict[str, dict[str, Any]], str],
) -> None:
    states, job_prefix = compiled
    prefix = human_loop_prefix(job_prefix, "Review")
    assert states["Review"]["Parameters"]["name.$"] == (
        f"States.Format('{{}}-{{}}', '{prefix}', States.UUID())"
    )
    # <= 26 + "-" + a 36-character UUID: A2I's 63.
    assert len(prefix) <= 26


def test_start_sends_the_core_request_with_the_task_input_as_json_text(
    compiled: tuple[dict[str, dict[str, Any]], str],
) -> None:
    states, _ = compiled
    start = states["Review.Start"]
    assert start["Resource"] == "arn:aws:states:::aws-sdk:sagemakera2iruntime:startHumanLoop"
    assert start["Parameters"] == {
        "HumanLoopName.$": "$.review.name",
        "FlowDefinitionArn.$": "$.parameters.HumanReviewFlowDefinitionArn",
        "HumanLoopInput": {"InputContent.$": "States.JsonToString($.review.input)"},
    }
    task = states["Review"]["Parameters"]["input"]
    assert task["step"] == "Review"
    assert task["metrics.$"].startswith("States.Array(States.Array('accuracy', $.properties.")
    assert "States.Array('accuracy threshold', $.parameters.AccuracyThreshold)" in task["metrics.$"]


@pytest.mark.parametrize("state", ["Review.Start", "Review.Describe", "Review.Stop"])
def test_a2i_calls_retry_throttling_and_fail_the_step_otherwise(
    compiled: tuple[dict[str, dict[str, Any]], str], state: str
) -> None:
    states, _ = compiled
    (retry,) = states[state]["Retry"]
    assert retry["ErrorEquals"] == list(A2I_RETRY_ERRORS)
    assert retry["MaxAttempts"] == 5 and retry["JitterStrategy"] == "FULL"
    assert states[state]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Review.Failed"}
    ]


def test_the_default_wait_is_polled_within_the_execution_history_limit(
    compiled: tuple[dict[str, dict[str, Any]], str],
) -> None:
    states, _ = compiled
    # 60 seconds for 10 days and an hour would be 14,460 polls, some 160,000 history events.
    assert states["Review.Wait"]["Seconds"] == -(-DEFAULT_WAIT_SECONDS // MAX_POLLS) == 579
    status = states["Review.Status"]["Choices"]
    (stop,) = [choice for choice in status if choice["Next"] == "Review.Stop"]
    assert {"Variable": "$.review.poll.count", "NumericGreaterThanEquals": 1_499} in stop["And"]
    assert max_polls(SPEC.step("Review")) * 11 < 25_000  # type: ignore[arg-type]
    assert states["Review.Stop"]["Next"] == "Review.TimedOut"


def test_a_timeout_sets_the_number_of_polls() -> None:
    definition, _ = _asl(_with_review(timeout_seconds=600, poll_interval_seconds=30))
    states = dict(all_states(definition))
    assert states["Review.Wait"]["Seconds"] == 30
    (stop,) = [c for c in states["Review.Status"]["Choices"] if c["Next"] == "Review.Stop"]
    assert {"Variable": "$.review.poll.count", "NumericGreaterThanEquals": 20} in stop["And"]
    assert "within 600 seconds" in states["Review.TimedOut"]["Parameters"]["Cause.$"]


def test_the_outcome_is_kept_where_references_read_it(
    compiled: tuple[dict[str, dict[str, Any]], str],
) -> None:
    states, _ = compiled
    assert states["Review.Approved"]["Result"] == {"Outcome": "Approved"}
    assert states["Review.Rejected"]["Result"] == {"Outcome": "Rejected"}
    assert states["Review.Approved"]["ResultPath"] == "$.steps.Review"
    (choice,) = states["CheckReview"]["Choices"]
    assert choice == {
        "Variable": "$.steps.Review.Outcome",
        "StringEquals": "Approved",
        "Next": "Parallel.RegisterModel.CreateModel",
    }


def test_text_answers_are_compared_with_every_spelling_of_yes() -> None:
    words = [spelling for yes in YES_WORDS for spelling in spellings(yes)]
    assert len(words) == len(set(words)) == 2**4 + 2**2 + 2**3
    # Exactly the words is_checked takes (after strip and lower).
    assert all(is_checked(word) for word in words)
    assert all(is_checked(f"{WHITESPACE}{word}{WHITESPACE}") for word in words)


def test_the_reference_pipeline_without_a_review_has_no_review_states() -> None:
    plain = reference_pipeline(input_data_uri="s3://artifacts/data/")
    definition, _ = _asl(plain)
    names = {name for name, _ in all_states(definition)}
    assert not any(name.startswith("Review") for name in names)
    assert not any(
        "sagemakera2iruntime" in state.get("Resource", "") for _, state in all_states(definition)
    )
