"""The order a state machine runs a pipeline's steps in: a sequence with choice points.

Steps run one at a time in the spec's topological order. At a condition step, the steps that
do not depend on it run first; then the choice runs the steps of the branch it takes (and
what depends on them) and, after either branch, the steps that depend on the condition step
only. Fail steps run last in their sequence, since they end the execution.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mlpipes_constructs.spec import ConditionStep, FailStep, Pipeline, Step
from mlpipes_constructs.spec.graph import step_dependencies, topological_order


@dataclass(frozen=True)
class Branch:
    """A condition step and the plans of its two branches."""

    step: ConditionStep
    if_plan: tuple[Item, ...]
    else_plan: tuple[Item, ...]


Item = Step | Branch


class PlanError(ValueError):
    """The pipeline's steps cannot be arranged as one state machine."""


def plan(pipeline: Pipeline) -> tuple[Item, ...]:
    """The steps of ``pipeline`` arranged into a sequence with choice points."""
    dependencies = step_dependencies(pipeline)
    ancestors = _ancestors(dependencies)
    return _plan(list(topological_order(pipeline)), ancestors)


def _ancestors(dependencies: Mapping[str, Sequence[str]]) -> dict[str, frozenset[str]]:
    result: dict[str, frozenset[str]] = {}

    def visit(name: str) -> frozenset[str]:
        if name not in result:
            found: set[str] = set()
            for dependency in dependencies.get(name, ()):
                found.add(dependency)
                found |= visit(dependency)
            result[name] = frozenset(found)
        return result[name]

    for name in dependencies:
        visit(name)
    return result


def _plan(steps: list[Step], ancestors: Mapping[str, frozenset[str]]) -> tuple[Item, ...]:
    items: list[Item] = []
    remaining = list(steps)
    while remaining:
        step = remaining.pop(0)
        if not isinstance(step, ConditionStep):
            items.append(step)
            continue
        before, if_steps, else_steps, after = _split(step, remaining, ancestors)
        items.extend(_plan(before, ancestors))
        items.append(Branch(step, _plan(if_steps, ancestors), _plan(else_steps, ancestors)))
        items.extend(_plan(after, ancestors))
        break
    fails = [item for item in items if isinstance(item, FailStep)]
    return (*(item for item in items if not isinstance(item, FailStep)), *fails)


def _split(
    condition: ConditionStep, steps: list[Step], ancestors: Mapping[str, frozenset[str]]
) -> tuple[list[Step], list[Step], list[Step], list[Step]]:
    before: list[Step] = []
    if_steps: list[Step] = []
    else_steps: list[Step] = []
    after: list[Step] = []
    for step in steps:
        upstream = ancestors[step.name] | {step.name}
        in_if = bool(upstream & set(condition.if_steps))
        in_else = bool(upstream & set(condition.else_steps))
        if in_if and in_else:
            raise PlanError(
                f"step '{step.name}' depends on both branches of condition step "
                f"'{condition.name}', so it can never run"
            )
        if in_if:
            if_steps.append(step)
        elif in_else:
            else_steps.append(step)
        elif condition.name in ancestors[step.name]:
            after.append(step)
        else:
            before.append(step)
    after_names = {step.name for step in after}
    for step in (*if_steps, *else_steps):
        late = sorted(ancestors[step.name] & after_names)
        if late:
            raise PlanError(
                f"step '{step.name}' in a branch of '{condition.name}' depends on "
                f"{late}, which run after both branches"
            )
    return before, if_steps, else_steps, after
