"""The step graph: references, dependencies and a deterministic execution order."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import fields, is_dataclass
from typing import TYPE_CHECKING

from mlpipes_constructs.spec.references import (
    JsonValue,
    ModelArtifacts,
    ModelName,
    ParameterRef,
    Reference,
    ReviewOutcome,
    StepOutput,
    TrainingMetric,
)
from mlpipes_constructs.spec.steps import ConditionStep, Step

if TYPE_CHECKING:
    from mlpipes_constructs.spec.pipeline import Pipeline

_REFERENCE_TYPES = (
    ParameterRef,
    StepOutput,
    ModelArtifacts,
    JsonValue,
    TrainingMetric,
    ModelName,
    ReviewOutcome,
)


def references(step: Step) -> Iterator[tuple[str, Reference]]:
    """Every reference in a step's fields, with its field path (e.g. ``inputs[1].source``)."""
    yield from _references_in(step, "")


def _references_in(value: object, path: str) -> Iterator[tuple[str, Reference]]:
    if isinstance(value, _REFERENCE_TYPES):
        yield path, value
    elif is_dataclass(value) and not isinstance(value, type):
        for field in fields(value):
            child_path = f"{path}.{field.name}" if path else field.name
            yield from _references_in(getattr(value, field.name), child_path)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _references_in(item, f"{path}['{key}']")
    elif isinstance(value, tuple):
        for index, item in enumerate(value):
            yield from _references_in(item, f"{path}[{index}]")


def direct_dependencies(step: Step, branch_owners: Mapping[str, str]) -> tuple[str, ...]:
    """Names of the steps ``step`` waits for, in order of first mention, without duplicates.

    A step depends on the steps it refers to, the steps in its ``depends_on`` and, when it is in
    a condition branch, the condition step (``branch_owners`` maps branch steps to theirs).
    """
    names = [ref.step for _, ref in references(step) if not isinstance(ref, ParameterRef)]
    names.extend(step.depends_on)
    if step.name in branch_owners:
        names.append(branch_owners[step.name])
    return tuple(dict.fromkeys(names))


def branch_owners(steps: Sequence[Step]) -> dict[str, str]:
    """Map each step named in a condition branch to the condition step (first one wins)."""
    owners: dict[str, str] = {}
    for step in steps:
        if isinstance(step, ConditionStep):
            for name in (*step.if_steps, *step.else_steps):
                owners.setdefault(name, step.name)
    return owners


def dependency_map(steps: Sequence[Step]) -> dict[str, tuple[str, ...]]:
    """Each step's direct dependencies, keyed by step name in declaration order."""
    owners = branch_owners(steps)
    return {step.name: direct_dependencies(step, owners) for step in steps}


def step_dependencies(pipeline: Pipeline) -> dict[str, tuple[str, ...]]:
    """Each step's direct dependencies: referenced steps, ``depends_on`` and its condition.

    Keys are in declaration order; each tuple lists names in order of first mention.
    """
    return dependency_map(pipeline.steps)


def find_cycle(dependencies: Mapping[str, Sequence[str]]) -> tuple[str, ...] | None:
    """A dependency cycle as step names, first name repeated last (``A -> B -> A``), or None.

    Names that are not keys of ``dependencies`` are ignored.
    """
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> tuple[str, ...] | None:
        if name in visiting:
            cycle_start = visiting.index(name)
            return (*visiting[cycle_start:], name)
        if name in done or name not in dependencies:
            return None
        visiting.append(name)
        for dependency in dependencies[name]:
            cycle = visit(dependency)
            if cycle:
                return cycle
        visiting.pop()
        done.add(name)
        return None

    for name in dependencies:
        cycle = visit(name)
        if cycle:
            return cycle
    return None


def topological_order(pipeline: Pipeline) -> tuple[Step, ...]:
    """The steps in an order that runs every step after its dependencies.

    Deterministic: among the steps that could run next, the one declared first comes first.
    """
    dependencies = step_dependencies(pipeline)
    placed: set[str] = set()
    pending = list(pipeline.steps)
    order: list[Step] = []
    while pending:
        step = next(s for s in pending if placed.issuperset(dependencies[s.name]))
        order.append(step)
        placed.add(step.name)
        pending.remove(step)
    return tuple(order)
