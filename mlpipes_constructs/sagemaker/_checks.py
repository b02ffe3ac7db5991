"""Synth-time checks shared by the SageMaker constructs: names, schedules, definition dicts."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.compile.naming import is_sagemaker_name
from mlpipes_constructs.spec import is_instance_type, suggest_instance_type

#: Most names SageMaker accepts for a pipeline (``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$``).
PIPELINE_NAME_MAX = 256
#: Model package groups, endpoints, feature groups and models: 63 characters, like pipelines.
RESOURCE_NAME_MAX = 63
FEATURE_GROUP_NAME_MAX = 64


def check_name(problems: Problems, prop: str, value: str | None, max_length: int) -> None:
    """A SageMaker resource name: letters, digits and hyphens, no leading or trailing hyphen."""
    if value is None or is_unresolved(value):
        return
    if not is_sagemaker_name(value, max_length):
        problems.add(
            f"{prop} '{value}' is not a valid SageMaker name: use 1-{max_length} letters, "
            "digits and hyphens, starting and ending with a letter or digit"
        )


def check_instance_type(problems: Problems, prop: str, value: str) -> None:
    if is_unresolved(value) or is_instance_type(value):
        return
    problems.add(
        f"{prop} '{value}' is not a SageMaker instance type; expected e.g. "
        f"'{suggest_instance_type(value)}'"
    )


# --- Definition dicts ------------------------------------------------------------------------


def iter_steps(steps: Any) -> Iterator[Mapping[str, Any]]:
    """Every step of a definition, including the steps nested in condition branches."""
    if not isinstance(steps, list):
        return
    for step in steps:
        if not isinstance(step, Mapping):
            continue
        yield step
        arguments = step.get("Arguments")
        if step.get("Type") == "Condition" and isinstance(arguments, Mapping):
            yield from iter_steps(arguments.get("IfSteps"))
            yield from iter_steps(arguments.get("ElseSteps"))


def definition_problems(definition: Mapping[str, Any]) -> list[str]:
    """Structural problems of a pipeline definition dict that SageMaker would reject later.

    Checks the step list, unique step names, literal instance types, and that every
    ``Std:JsonGet`` names a property file its processing step declares.
    """
    steps = definition.get("Steps")
    if not isinstance(steps, list) or not steps:
        return ["definition must have a non-empty 'Steps' list"]
    problems: list[str] = []
    property_files: dict[str, set[str]] = {}
    seen: set[str] = set()
    for index, step in enumerate(iter_steps(steps)):
        name, step_type = step.get("Name"), step.get("Type")
        if not isinstance(name, str) or not isinstance(step_type, str):
            problems.append(f"definition step #{index} needs a string 'Name' and 'Type'")
            continue
        if name in seen:
            problems.append(f"definition has more than one step named '{name}'")
        seen.add(name)
        files = step.get("PropertyFiles") or []
        property_files[name] = {
            file["PropertyFileName"]
            for file in files
            if isinstance(file, Mapping) and isinstance(file.get("PropertyFileName"), str)
        }
        for path, instance_type in _instance_types(step.get("Arguments"), f"Steps.{name}"):
            if not is_instance_type(instance_type):
                problems.append(
                    f"definition {path} '{instance_type}' is not a SageMaker instance type; "
                    f"expected e.g. '{suggest_instance_type(instance_type)}'"
                )
    for step_name, file_name in _json_get_references(definition):
        if step_name not in property_files:
            problems.append(
                f"definition reads property file '{file_name}' of step '{step_name}' "
                "(Std:JsonGet), but there is no such step"
            )
        elif file_name not in property_files[step_name]:
            declared = ", ".join(sorted(property_files[step_name])) or "none"
            problems.append(
                f"definition reads property file '{file_name}' of step '{step_name}' "
                f"(Std:JsonGet), but that step declares no such PropertyFiles entry "
                f"(declared: {declared})"
            )
    return problems


def _instance_types(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "InstanceType" and isinstance(value, str) and not is_unresolved(value):
                yield f"{path}.{key}", value
            else:
                yield from _instance_types(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _instance_types(item, f"{path}[{index}]")


_PROPERTY_FILE_GET = re.compile(r"Steps\.(?P<step>[^.]+)\.PropertyFiles\.(?P<file>.+)")


def _json_get_references(node: Any) -> Iterator[tuple[str, str]]:
    """(step, property file) pairs of every ``Std:JsonGet`` in the definition."""
    if isinstance(node, Mapping):
        json_get = node.get("Std:JsonGet")
        if isinstance(json_get, Mapping):
            reference = json_get.get("PropertyFile")
            if isinstance(reference, Mapping) and isinstance(reference.get("Get"), str):
                match = _PROPERTY_FILE_GET.fullmatch(reference["Get"])
                if match:
                    yield match.group("step"), match.group("file")
        for value in node.values():
            yield from _json_get_references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _json_get_references(item)
