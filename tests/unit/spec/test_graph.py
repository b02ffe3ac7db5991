"""Dependencies derived from references, and the order the compilers share."""

from __future__ import annotations

from mlpipes_constructs.spec import (
    Comparison,
    ComparisonOperator,
    ConditionStep,
    FailStep,
    Pipeline,
    ProcessingInput,
    ProcessingOutput,
    ProcessingStep,
    StepOutput,
    find_cycle,
    references,
    step_dependencies,
    topological_order,
)
from tests.unit.spec.spec_builders import IMAGE, valid_pipeline


def _processing(name: str, *, depends_on: tuple[str, ...] = (), reads: str | None = None):
    inputs = (
        [
            ProcessingInput(
                name="data", source=StepOutput(reads, "out"), destination="/opt/ml/processing/in"
            )
        ]
        if reads
        else []
    )
    return ProcessingStep(
        name=name,
        image_uri=IMAGE,
        code="code",
        entry_point="run.py",
        instance_type="ml.t3.medium",
        inputs=inputs,
        outputs=[ProcessingOutput(name="out", source="/opt/ml/processing/out")],
        depends_on=depends_on,
    )


def test_dependencies_follow_references_depends_on_and_condition_branches():
    assert step_dependencies(valid_pipeline()) == {
        "Prep": (),
        "Train": ("Prep",),
        "Tune": ("Prep",),
        "Gate": ("Prep", "Train"),
        "Register": ("Tune", "Prep", "Gate"),
        "CreateModel": ("Train", "Gate"),
        "Transform": ("CreateModel",),
        "Endpoint": ("CreateModel",),
        "Fail": ("Prep", "Gate"),
        "Review": ("Prep", "Train"),
    }


def test_explicit_depends_on_adds_to_referenced_steps_without_duplicates():
    pipeline = Pipeline(
        name="p",
        steps=[
            _processing("A"),
            _processing("B"),
            _processing("C", reads="A", depends_on=("B", "A")),
        ],
    )

    assert step_dependencies(pipeline)["C"] == ("A", "B")


def test_references_are_listed_with_their_field_paths():
    gate = valid_pipeline().step("Gate")

    assert [(path, type(ref).__name__) for path, ref in references(gate)] == [
        ("condition.conditions[0].left", "JsonValue"),
        ("condition.conditions[0].right", "ParameterRef"),
        ("condition.conditions[1].condition.left", "TrainingMetric"),
    ]


def test_topological_order_breaks_ties_by_declaration_order():
    pipeline = Pipeline(
        name="p",
        steps=[
            _processing("Late", reads="Middle"),
            _processing("Second"),
            _processing("Middle", reads="First"),
            _processing("First"),
        ],
    )

    assert [step.name for step in topological_order(pipeline)] == [
        "Second",
        "First",
        "Middle",
        "Late",
    ]


def test_topological_order_of_the_full_pipeline_places_branches_after_their_condition():
    order = [step.name for step in topological_order(valid_pipeline())]

    assert order == [
        "Prep",
        "Train",
        "Tune",
        "Gate",
        "Register",
        "CreateModel",
        "Transform",
        "Endpoint",
        "Fail",
        "Review",
    ]


def test_a_branch_step_declared_before_its_condition_still_runs_after_it():
    pipeline = Pipeline(
        name="p",
        steps=[
            FailStep(name="Stop", error_message="stopped"),
            ConditionStep(
                name="Check",
                condition=Comparison(1, ComparisonOperator.EQUAL, 1),
                else_steps=["Stop"],
            ),
        ],
    )

    assert [step.name for step in topological_order(pipeline)] == ["Check", "Stop"]
    assert step_dependencies(pipeline) == {"Stop": ("Check",), "Check": ()}


def test_find_cycle_names_the_cycle_or_returns_none():
    assert find_cycle({"A": ["B"], "B": ["C"], "C": ["A"]}) == ("A", "B", "C", "A")
    assert find_cycle({"A": ["B"], "B": ["C"], "C": ["B"]}) == ("B", "C", "B")
    assert find_cycle({"A": ["B", "Unknown"], "B": []}) is None
