"""The rules of a human review step and of the decision conditions read, with their messages."""

from __future__ import annotations

import pytest

from mlpipes_constructs.spec import (
    Comparison,
    ComparisonOperator,
    ConditionStep,
    FailStep,
    Not,
    Parameter,
    ParameterRef,
    Pipeline,
    ReviewOutcome,
)
from tests.unit.spec.spec_builders import (
    problems_of,
    valid_parameters,
    valid_pipeline,
    valid_steps,
    with_step,
)

REVIEW = "of step 'Review'"


def _with_decision(condition: object) -> list[object]:
    steps = [step for step in valid_steps()]
    steps.append(
        ConditionStep(
            name="CheckReview",
            condition=condition,  # type: ignore[arg-type]
            if_steps=("Approved",),
        )
    )
    steps.append(FailStep(name="Approved", error_message="approved"))
    return steps


def test_a_condition_reads_the_decision_and_depends_on_the_review() -> None:
    decision = Comparison(ReviewOutcome("Review"), ComparisonOperator.EQUAL, "Approved")
    steps = _with_decision(decision)

    pipeline = Pipeline(name="p", steps=steps, parameters=valid_parameters())  # type: ignore[arg-type]

    assert "Review" in pipeline_dependencies(pipeline)["CheckReview"]
    assert Pipeline.from_json(pipeline.to_json()) == pipeline


def pipeline_dependencies(pipeline: Pipeline) -> dict[str, tuple[str, ...]]:
    from mlpipes_constructs.spec import step_dependencies

    return step_dependencies(pipeline)


@pytest.mark.parametrize(
    ("condition", "shown"),
    [
        (
            Comparison(ReviewOutcome("Review"), ComparisonOperator.EQUAL, "approved"),
            "== 'approved'",
        ),
        (
            Not(Comparison(ReviewOutcome("Review"), ComparisonOperator.GREATER_THAN, "Approved")),
            "> 'Approved'",
        ),
        (
            Comparison("Rejected", ComparisonOperator.LESS_THAN, ReviewOutcome("Review")),
            "< 'Rejected'",
        ),
    ],
)
def test_a_decision_is_compared_for_equality_with_one_of_the_two_outcomes(
    condition: object, shown: str
) -> None:
    problems = problems_of(steps=_with_decision(condition))  # type: ignore[arg-type]

    assert len(problems) == 1
    assert f"compares a ReviewOutcome with {shown}" in problems[0]
    assert "of step 'CheckReview'" in problems[0]
    assert "'Approved' or 'Rejected'" in problems[0]


def test_the_decision_of_a_step_that_is_not_a_review_is_refused() -> None:
    decision = Comparison(ReviewOutcome("Prep"), ComparisonOperator.EQUAL, "Approved")

    assert problems_of(steps=_with_decision(decision)) == [  # type: ignore[arg-type]
        "condition.left of step 'CheckReview' refers to the decision of step 'Prep', which is "
        "a processing step; expected a human_review step"
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"flow_definition_arn": "arn:aws:sagemaker:us-east-1:123456789012:workteam/x"},
            "flow_definition_arn 'arn:aws:sagemaker:us-east-1:123456789012:workteam/x' "
            f"{REVIEW} is not a flow definition ARN such as "
            "'arn:aws:sagemaker:us-east-1:123456789012:flow-definition/model-review'",
        ),
        (
            {"flow_definition_arn": ParameterRef("Threshold")},
            f"flow_definition_arn {REVIEW} refers to parameter 'Threshold' of type Float; "
            "expected String",
        ),
        (
            {"report": "not-s3"},
            f"report 'not-s3' {REVIEW} is not an S3 URI such as 's3://bucket/prefix'",
        ),
        (
            {"inputs": {"metrics": "x"}},
            f"inputs {REVIEW} uses the reserved name 'metrics'; task.input already has "
            "pipeline_execution, step, report_uri, metrics",
        ),
        (
            {"inputs": {"model name": "x"}},
            f"inputs {REVIEW} has the name 'model name'; use 1 to 64 letters, digits and "
            "underscores, starting with a letter or underscore",
        ),
        ({"metrics": {"": 1}}, f"metrics {REVIEW} has the name ''; use 1 to 256 characters"),
        (
            {"approve_field": "approve me"},
            f"approve_field 'approve me' {REVIEW} must be 1 to 128 letters, digits, underscores "
            "and hyphens: the name of a field of the task UI's form",
        ),
        (
            {"timeout_seconds": 59, "poll_interval_seconds": 30},
            f"timeout_seconds {REVIEW} must be from 60 to 864000 seconds, got 59",
        ),
        (
            {"poll_interval_seconds": 5},
            f"poll_interval_seconds {REVIEW} must be from 10 to 3600 seconds, got 5",
        ),
        (
            {"timeout_seconds": 600, "poll_interval_seconds": 900},
            f"poll_interval_seconds 900 {REVIEW} is longer than timeout_seconds 600",
        ),
    ],
)
def test_each_field_of_a_review_is_checked(changes: dict[str, object], message: str) -> None:
    assert problems_of(steps=with_step("Review", **changes)) == [message]


def test_the_report_must_be_a_file_of_an_output() -> None:
    from mlpipes_constructs.spec import StepOutput

    problems = problems_of(steps=with_step("Review", report=StepOutput("Prep", "report")))

    assert problems == [f"report {REVIEW} must name a file: set the path of its StepOutput"]


def test_a_flow_definition_given_as_a_string_parameter_is_accepted() -> None:
    parameters = [*valid_parameters(), Parameter.string("Flow", "arn-given-at-deploy-time")]
    steps = with_step("Review", flow_definition_arn=ParameterRef("Flow"))

    pipeline = Pipeline(name="p", steps=steps, parameters=parameters)

    assert pipeline.steps[-1].flow_definition_arn == ParameterRef("Flow")  # type: ignore[attr-defined]
    assert valid_pipeline().steps[-1].kind == "human_review"
