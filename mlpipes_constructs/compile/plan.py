"""The order an orchestrator runs a pipeline's steps in: stages of concurrent chains.

A condition step and its two branches form one unit; every other step is a unit of its own.
Units are arranged into a sequence of stages: where two or more groups of units are
independent of each other (no step of one depends on a step of another), the groups become the
branches of a :class:`Parallel`, in declaration order. A group whose units all run before or
after one unit is split there, so a chain stays a plain sequence. Fail steps run last in their
sequence, since they end the execution.

At a condition, the choice runs the steps of the branch it takes (and what depends on them);
steps that depend on the condition step only run after either branch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mlpipes_constructs.compile.errors import CompileError
from mlpipes_constructs.spec import ConditionStep, FailStep, Pipeline, Step
from mlpipes_constructs.spec.graph import step_dependencies, topological_order


@dataclass(frozen=True)
class Branch:
    """A condition step and the plans of its two branches."""

    step: ConditionStep
    if_plan: tuple[Item, ...]
    else_plan: tuple[Item, ...]


@dataclass(frozen=True)
class Parallel:
    """Plans that run concurrently: no step of one depends on a step of another."""

    branches: tuple[tuple[Item, ...], ...]


Item = Step | Branch | Parallel


class PlanError(CompileError):
    """The pipeline's steps cannot be arranged as stages of sequences, choices and parallels."""


def plan(pipeline: Pipeline) -> tuple[Item, ...]:
    """The steps of ``pipeline`` arranged into stages of sequences, choices and parallels."""
    dependencies = step_dependencies(pipeline)
    ancestors = _ancestors(dependencies)
    return _plan(list(topological_order(pipeline)), ancestors)


def first_step(item: Item) -> Step:
    """The spec step an item starts with (a Parallel's: its first branch's)."""
    if isinstance(item, Branch):
        return item.step
    if isinstance(item, Parallel):
        return first_step(item.branches[0][0])
    return item


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


@dataclass(frozen=True)
class _Unit:
    """A step, or a condition step with its branches: what the stages arrange."""

    item: Step | Branch
    members: frozenset[str]
    upstream: frozenset[str]

    def after(self, other: _Unit) -> bool:
        return bool(self.upstream & other.members)


def _plan(steps: list[Step], ancestors: Mapping[str, frozenset[str]]) -> tuple[Item, ...]:
    units: list[_Unit] = []
    fails: list[FailStep] = []
    remaining = list(steps)
    while remaining:
        step = remaining.pop(0)
        if isinstance(step, FailStep):
            fails.append(step)
            continue
        members = {step.name}
        item: Step | Branch = step
        if isinstance(step, ConditionStep):
            if_steps, else_steps = _split(step, remaining, ancestors)
            members |= {s.name for s in (*if_steps, *else_steps)}
            remaining = [s for s in remaining if s.name not in members]
            item = Branch(step, _plan(if_steps, ancestors), _plan(else_steps, ancestors))
        upstream = frozenset().union(*(ancestors[name] for name in members)) - members
        units.append(_Unit(item, frozenset(members), upstream))
    return (*_stages(units), *fails)


def _stages(units: list[_Unit]) -> tuple[Item, ...]:
    """``units`` (in a valid order) as a sequence; independent groups become a Parallel."""
    if not units:
        return ()
    groups = _independent_groups(units)
    if len(groups) > 1:
        return (Parallel(tuple(_stages(group) for group in groups)),)
    for unit in units:
        before = [other for other in units if unit.after(other)]
        after = [other for other in units if other.after(unit)]
        if len(before) + len(after) == len(units) - 1:
            return (*_stages(before), unit.item, *_stages(after))
    # No unit splits the group (say A -> C <- B -> D): run the units that wait for none of
    # the others together, then the rest.
    ready = [unit for unit in units if not any(unit.after(other) for other in units)]
    if not ready:
        names = sorted(name for unit in units for name in unit.members)
        raise PlanError(f"steps {names} wait for each other through condition branches")
    rest = [unit for unit in units if unit not in ready]
    return (Parallel(tuple((unit.item,) for unit in ready)), *_stages(rest))


def _independent_groups(units: list[_Unit]) -> list[list[_Unit]]:
    """The connected groups of ``units``, each in the given order, ordered by first unit."""
    group_of = list(range(len(units)))

    def root(index: int) -> int:
        while group_of[index] != index:
            index = group_of[index]
        return index

    for i, unit in enumerate(units):
        for j, other in enumerate(units[:i]):
            if unit.after(other) or other.after(unit):
                group_of[root(i)] = root(j)
    groups: dict[int, list[_Unit]] = {}
    for index, unit in enumerate(units):
        groups.setdefault(root(index), []).append(unit)
    return sorted(groups.values(), key=lambda group: units.index(group[0]))


def _split(
    condition: ConditionStep, steps: list[Step], ancestors: Mapping[str, frozenset[str]]
) -> tuple[list[Step], list[Step]]:
    """The steps of ``steps`` in the condition's if and else branches (with their dependents)."""
    if_steps: list[Step] = []
    else_steps: list[Step] = []
    after: set[str] = set()
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
            after.add(step.name)
    for step in (*if_steps, *else_steps):
        late = sorted(ancestors[step.name] & after)
        if late:
            raise PlanError(
                f"step '{step.name}' in a branch of '{condition.name}' depends on "
                f"{late}, which run after both branches"
            )
    return if_steps, else_steps
