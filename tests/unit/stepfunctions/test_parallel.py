"""Independent steps run concurrently, as the branches of a Parallel state."""

from __future__ import annotations

import copy
import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_stepfunctions as sfn

from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.spec import (
    Comparison,
    ComparisonOperator,
    ConditionStep,
    FailStep,
    Parameter,
    ParameterRef,
    Pipeline,
    ProcessingStep,
)
from tests.asl import all_states, definition_of, transition_problems
from tests.unit.stepfunctions.test_compiler import BUCKET, _compile

REFERENCE_PARALLEL = "Parallel.RegisterModel.CreateModel"


def _definition(pipeline: Pipeline) -> dict[str, Any]:
    stack, compiled = _compile(pipeline)
    sfn.StateMachine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(compiled.definition)
    )
    template = cdk.assertions.Template.from_stack(stack).to_json()
    definition = definition_of(template, {"AWS::Partition": "aws"})
    assert list(transition_problems(definition)) == []
    return definition


def _job(name: str, *after: str) -> ProcessingStep:
    return ProcessingStep(
        name=name,
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/job:1",
        code="scripts",
        entry_point="run.py",
        instance_type="ml.m5.large",
        depends_on=after,
    )


def _dag(*steps: ProcessingStep) -> dict[str, Any]:
    return _definition(Pipeline(name="dag", steps=steps))


def _chain(states: dict[str, Any], start: str) -> list[str]:
    """State names from ``start`` along ``Next``, leaving out the steps' failure handlers."""
    names = [start]
    while "Next" in states[names[-1]]:
        names.append(states[names[-1]]["Next"])
    return names


def _parallels(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: state for name, state in all_states(definition) if state["Type"] == "Parallel"}


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    return _definition(reference_pipeline(input_data_uri=f"s3://{BUCKET}/data/"))


def test_reference_registers_while_it_transforms(reference: dict[str, Any]) -> None:
    states = reference["States"]
    assert list(_parallels(reference)) == [REFERENCE_PARALLEL]
    assert states["CheckAccuracy"]["Choices"][0]["Next"] == REFERENCE_PARALLEL
    branches = states[REFERENCE_PARALLEL]["Branches"]
    assert [_chain(branch["States"], branch["StartAt"]) for branch in branches] == [
        ["RegisterModel"],
        ["CreateModel", "BatchTransform"],
    ]
    assert _chain(states, REFERENCE_PARALLEL) == [
        REFERENCE_PARALLEL,
        f"{REFERENCE_PARALLEL}.Merge",
        "CheckAccuracy.Join",
    ]


def test_branch_results_are_merged_into_the_shared_state(reference: dict[str, Any]) -> None:
    states = reference["States"]
    parallel = states[REFERENCE_PARALLEL]
    # Each branch's whole output, by name: the input is kept beside it.
    assert parallel["ResultSelector"] == {"branch0.$": "$[0]", "branch1.$": "$[1]"}
    assert parallel["ResultPath"] == "$.branches"
    assert states[f"{REFERENCE_PARALLEL}.Merge"]["Parameters"] == {
        "parameters.$": "$.parameters",
        "run.$": "$.run",
        "steps.$": "States.JsonMerge($.branches.branch0.steps, $.branches.branch1.steps, false)",
        "properties.$": "$.properties",
    }


def test_a_failing_branch_step_ends_in_its_branch_fail_state(reference: dict[str, Any]) -> None:
    register = reference["States"][REFERENCE_PARALLEL]["Branches"][0]["States"]
    handler = register[register["RegisterModel"]["Catch"][0]["Next"]]
    assert handler["Parameters"]["Cause.$"].startswith("States.Format('Step RegisterModel failed")
    assert register[handler["Next"]] == {
        "Type": "Fail",
        "Comment": "Ends the branch, and so the execution, with the failed step's cause",
        "Error": "PipelineStepFailed",
        "CausePath": "$.Cause",
    }
    assert "Catch" not in reference["States"][REFERENCE_PARALLEL]


def test_a_linear_chain_has_no_parallel() -> None:
    definition = _dag(_job("A"), _job("B", "A"), _job("C", "B"))

    assert _parallels(definition) == {}
    assert _chain(definition["States"], "A") == ["A", "B", "C"]


def test_a_diamond_runs_its_middle_steps_together() -> None:
    definition = _dag(_job("A"), _job("B", "A"), _job("C", "A"), _job("D", "B", "C"))

    states = definition["States"]
    assert _chain(states, "A") == ["A", "Parallel.B.C", "Parallel.B.C.Merge", "D"]
    branches = states["Parallel.B.C"]["Branches"]
    assert [_chain(branch["States"], branch["StartAt"]) for branch in branches] == [["B"], ["C"]]
    merge = states["Parallel.B.C.Merge"]["Parameters"]["steps.$"]
    assert merge == "States.JsonMerge($.branches.branch0.steps, $.branches.branch1.steps, false)"


def test_branches_follow_declaration_order_and_merge_in_halves() -> None:
    definition = _dag(_job("Z"), _job("Y"), _job("X"))

    parallel = definition["States"]["Parallel.Z.Y.X"]
    assert [branch["StartAt"] for branch in parallel["Branches"]] == ["Z", "Y", "X"]
    assert definition["States"]["Parallel.Z.Y.X.Merge"]["Parameters"]["steps.$"] == (
        "States.JsonMerge($.branches.branch0.steps, States.JsonMerge($.branches.branch1.steps, "
        "$.branches.branch2.steps, false), false)"
    )


def test_without_a_single_split_point_ready_steps_run_in_waves() -> None:
    # C waits for A and B, D for B only: no one step runs before or after all the others.
    definition = _dag(_job("A"), _job("B"), _job("C", "A", "B"), _job("D", "B"))

    states = definition["States"]
    assert _chain(states, "Parallel.A.B") == [
        "Parallel.A.B",
        "Parallel.A.B.Merge",
        "Parallel.C.D",
        "Parallel.C.D.Merge",
    ]
    assert [b["StartAt"] for b in states["Parallel.C.D"]["Branches"]] == ["C", "D"]


def test_compiling_twice_gives_the_same_definition() -> None:
    steps = (_job("A"), _job("B", "A"), _job("C", "A"), _job("D", "B", "C"), _job("E"))
    first, second = _dag(*steps), _dag(*steps)

    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert list(_parallels(first)) == ["Parallel.A.E", "Parallel.B.C"]


def test_a_condition_runs_beside_an_independent_step() -> None:
    gate = ConditionStep(
        name="Gate",
        condition=Comparison(ParameterRef("Threshold"), ComparisonOperator.GREATER_THAN, 0.5),
        if_steps=("B",),
        else_steps=("Stop",),
        depends_on=("A",),
    )
    pipeline = Pipeline(
        name="gated",
        parameters=(Parameter.float("Threshold", 0.7),),
        steps=(_job("A"), gate, _job("B"), FailStep(name="Stop", error_message="low"), _job("X")),
    )
    states = _definition(pipeline)["States"]

    branches = states["Parallel.A.X"]["Branches"]
    assert [_chain(branch["States"], branch["StartAt"]) for branch in branches] == [
        ["A", "Gate"],
        ["X"],
    ]
    choice = branches[0]["States"]["Gate"]
    assert (choice["Choices"][0]["Next"], choice["Default"]) == ("B", "Stop")
    assert branches[0]["States"]["Stop"]["Type"] == "Fail"


def test_branch_states_cannot_lead_outside_their_branch(reference: dict[str, Any]) -> None:
    broken = copy.deepcopy(reference)
    register = broken["States"][REFERENCE_PARALLEL]["Branches"][0]["States"]["RegisterModel"]
    register["Catch"][0]["Next"] = "Pipeline.Failed"

    assert list(transition_problems(broken)) == [
        f"$.{REFERENCE_PARALLEL}.Branches[0].RegisterModel: "
        "transition to unknown state 'Pipeline.Failed'"
    ]


def test_a_branch_that_always_fails_ends_the_parallel_without_a_merge() -> None:
    gate = ConditionStep(
        name="Gate",
        condition=Comparison(ParameterRef("Threshold"), ComparisonOperator.GREATER_THAN, 0.5),
        if_steps=("High",),
        else_steps=("Low",),
        depends_on=("A",),
    )
    pipeline = Pipeline(
        name="doomed",
        parameters=(Parameter.float("Threshold", 0.7),),
        steps=(
            _job("A"),
            gate,
            FailStep(name="High", error_message="high"),
            FailStep(name="Low", error_message="low"),
            _job("X"),
        ),
    )
    states = _definition(pipeline)["States"]

    assert states["Parallel.A.X"]["End"] is True
    assert "Parallel.A.X.Merge" not in states
