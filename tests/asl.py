"""Reading a synthesized state machine definition back as plain ASL (test helper)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any


def resolve_tokens(node: Any, values: Mapping[str, str]) -> str:
    """Flatten a synthesized ``DefinitionString`` into text.

    ``Fn::Join`` parts are concatenated; ``Ref`` / ``Fn::GetAtt`` / other intrinsics become the
    value ``values`` gives for their logical id (``Ref`` of ``AWS::Partition`` etc. included), or
    a placeholder that keeps the JSON valid.
    """
    if isinstance(node, str):
        return node
    if isinstance(node, dict):
        if "Fn::Join" in node:
            separator, parts = node["Fn::Join"]
            return str(separator).join(resolve_tokens(part, values) for part in parts)
        if "Ref" in node:
            return values.get(node["Ref"], f"ref-{node['Ref']}".lower())
        if "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return values.get(f"{resource}.{attribute}", f"getatt-{resource}".lower())
        return values.get("*", "imported-value")
    raise TypeError(f"unexpected node {node!r}")


def definition_of(
    template: Mapping[str, Any], values: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The ASL of the (only) state machine in a synthesized template."""
    machines = [
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::StepFunctions::StateMachine"
    ]
    assert len(machines) == 1, machines
    text = resolve_tokens(machines[0]["Properties"]["DefinitionString"], values or {})
    definition: dict[str, Any] = json.loads(text)
    return definition


def transition_problems(definition: Mapping[str, Any], where: str = "$") -> Iterator[str]:
    """Every ``StartAt``/``Next``/``Default``/Choice/Catch target that names no state."""
    states = definition.get("States", {})
    if definition.get("StartAt") not in states:
        yield f"{where}: StartAt {definition.get('StartAt')!r} is not a state"
    for name, state in states.items():
        targets = [state.get("Next"), state.get("Default")]
        targets += [choice.get("Next") for choice in state.get("Choices", [])]
        targets += [catch.get("Next") for catch in state.get("Catch", [])]
        for target in targets:
            if target is not None and target not in states:
                yield f"{where}.{name}: transition to unknown state {target!r}"
        if state["Type"] not in ("Choice", "Succeed", "Fail") and not (
            "Next" in state or state.get("End") is True
        ):
            yield f"{where}.{name}: neither Next nor End"
        for index, branch in enumerate(state.get("Branches", [])):
            yield from transition_problems(branch, f"{where}.{name}.Branches[{index}]")
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from transition_problems(processor, f"{where}.{name}.ItemProcessor")


def all_states(definition: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state of a definition with its name, including those in Parallel branches."""
    for name, state in definition.get("States", {}).items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from all_states(branch)
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from all_states(processor)
