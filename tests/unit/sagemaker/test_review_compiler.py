"""A human review step in a compiled SageMaker pipeline definition: a callback step."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from mlpipes_constructs.compile import CompileError
from mlpipes_constructs.compile.human_review import human_loop_prefix
from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.sagemaker.compiler import ORCHESTRATOR, compile_pipeline_definition
from mlpipes_constructs.spec import (
    FailStep,
    HumanReviewStep,
    Join,
    Pipeline,
    ReviewOutcome,
    local_code_paths,
)

FLOW = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/model-review"
QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/reviews"
SPEC = reference_pipeline(input_data_uri="s3://b/data/", human_review_flow_definition_arn=FLOW)


def _compile(pipeline: Pipeline, **options: Any) -> dict[str, Any]:
    return compile_pipeline_definition(
        pipeline,
        role_arn="arn:aws:iam::123456789012:role/job",
        artifact_root="s3://b/p",
        code_locations={code: "s3://b/code.zip" for code in local_code_paths(pipeline)},
        **options,
    )


def _steps(steps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for step in steps:
        found[step["Name"]] = step
        if step["Type"] == "Condition":
            found.update(_steps(step["Arguments"]["IfSteps"] + step["Arguments"]["ElseSteps"]))
    return found


def _replace_review(**changes: Any) -> Pipeline:
    steps = tuple(
        dataclasses.replace(s, **changes) if isinstance(s, HumanReviewStep) else s
        for s in SPEC.steps
    )
    return Pipeline(
        name=SPEC.name, steps=steps, parameters=SPEC.parameters, base_directory=SPEC.base_directory
    )


def test_the_review_is_a_callback_step_with_the_outcome_output() -> None:
    review = _steps(_compile(SPEC, callback_queue_url=QUEUE)["Steps"])["Review"]
    assert review["Type"] == "Callback"
    assert review["SqsQueueUrl"] == QUEUE
    assert review["OutputParameters"] == [{"OutputName": "outcome", "OutputType": "String"}]
    arguments = review["Arguments"]
    assert arguments["flow_definition_arn"] == {"Get": "Parameters.HumanReviewFlowDefinitionArn"}
    assert arguments["execution_arn"] == {"Get": "Execution.PipelineExecutionArn"}
    assert arguments["task_pipeline_execution"] == {"Get": "Execution.PipelineExecutionId"}
    assert arguments["human_loop_prefix"] == human_loop_prefix(SPEC.name, "Review")
    assert arguments["approve_field"] == "approve"
    names = json.loads(arguments["metric_names"])
    assert names == ["accuracy", "precision", "recall", "f1", "accuracy threshold"]
    assert arguments[f"metric_{names.index('accuracy threshold')}"] == {
        "Get": "Parameters.AccuracyThreshold"
    }


def test_conditions_and_joins_read_the_outcome_parameter() -> None:
    message = Join(("The review said ", ReviewOutcome("Review")))
    steps = tuple(
        FailStep(name="ReviewRejected", error_message=message) if s.name == "ReviewRejected" else s
        for s in SPEC.steps
    )
    pipeline = Pipeline(
        name=SPEC.name, steps=steps, parameters=SPEC.parameters, base_directory=SPEC.base_directory
    )
    compiled = _steps(_compile(pipeline, callback_queue_url=QUEUE)["Steps"])
    outcome = {"Get": "Steps.Review.OutputParameters['outcome']"}
    assert compiled["CheckReview"]["Arguments"]["Conditions"] == [
        {"Type": "Equals", "LeftValue": outcome, "RightValue": "Approved"}
    ]
    assert compiled["ReviewRejected"]["Arguments"]["ErrorMessage"] == {
        "Std:Join": {"On": "", "Values": ["The review said ", outcome]}
    }


def test_review_steps_need_the_callback_queue() -> None:
    with pytest.raises(CompileError, match=r"callback_queue_url is required.*'Review'") as raised:
        _compile(SPEC)
    assert (raised.value.field, raised.value.orchestrator) == ("callback_queue_url", ORCHESTRATOR)


def test_a_review_timeout_is_refused_naming_the_step_and_field() -> None:
    with pytest.raises(CompileError, match="task lifetime") as raised:
        _compile(_replace_review(timeout_seconds=3600), callback_queue_url=QUEUE)
    assert (raised.value.step, raised.value.field) == ("Review", "timeout_seconds")
    assert raised.value.orchestrator == ORCHESTRATOR


def test_the_reference_pipeline_without_a_review_compiles_as_before() -> None:
    plain = reference_pipeline(input_data_uri="s3://b/data/")
    definition = _compile(plain)
    assert "Callback" not in {step["Type"] for step in _steps(definition["Steps"]).values()}
    # A queue given for a pipeline without reviews changes nothing.
    assert _compile(plain, callback_queue_url=QUEUE) == definition
