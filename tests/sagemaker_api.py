"""Check a SageMaker API request against botocore's service model (offline).

Used on compiled definitions: values that are filled in at run time (Step Functions ``.$``
fields, SageMaker Pipelines ``{"Get": ...}`` expressions) are skipped, and so are required
members the caller names in ``runtime_fields`` (e.g. a job name the orchestrator sets).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ServiceModel, Shape

_EXPRESSION_KEYS = ("Get", "Std:Join", "Std:JsonGet")
#: Operations of the A2I runtime, which has a service model of its own.
A2I_RUNTIME_OPERATIONS = frozenset({"StartHumanLoop", "DescribeHumanLoop", "StopHumanLoop"})


@cache
def service_model(service: str = "sagemaker") -> ServiceModel:
    """botocore's service model of ``service``: SageMaker by default."""
    return botocore.session.get_session().get_service_model(service)


def _operation_service(operation_name: str) -> str:
    return "sagemaker-a2i-runtime" if operation_name in A2I_RUNTIME_OPERATIONS else "sagemaker"


def check_request(
    operation_name: str, request: dict[str, Any], *, runtime_fields: Iterable[str] = ()
) -> list[str]:
    """Problems of ``request`` for ``operation_name`` (e.g. ``CreateTrainingJob``, or an A2I
    runtime operation such as ``StartHumanLoop``).

    Checks member names, required members (top level: except ``runtime_fields``), list
    lengths, string lengths, enums and scalar types. Keys ending in ``.$`` and run-time
    expressions are accepted as they are, whatever the member's type.
    """
    service = service_model(_operation_service(operation_name))
    shape = service.operation_model(operation_name).input_shape
    problems: list[str] = []
    _check(shape, request, operation_name, problems, frozenset(runtime_fields))
    return problems


def _is_runtime(value: object) -> bool:
    if isinstance(value, str):
        # An Airflow template: the operator renders it when the task runs.
        return "{{" in value
    return isinstance(value, dict) and any(key in value for key in _EXPRESSION_KEYS)


def _check(
    shape: Shape, value: Any, path: str, problems: list[str], skip: frozenset[str] = frozenset()
) -> None:
    if _is_runtime(value):
        return
    kind = shape.type_name
    if kind == "structure":
        _check_structure(shape, value, path, problems, skip)
    elif kind == "list":
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list, got {value!r}")
            return
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and len(value) < low:
            problems.append(f"{path}: {len(value)} items, at least {low} required")
        if high is not None and len(value) > high:
            problems.append(f"{path}: {len(value)} items, at most {high} allowed")
        for index, item in enumerate(value):
            _check(shape.member, item, f"{path}[{index}]", problems)
    elif kind == "map":
        if not isinstance(value, dict):
            problems.append(f"{path}: expected an object, got {value!r}")
            return
        for key, item in value.items():
            if not key.endswith(".$"):
                _check(shape.value, item, f"{path}.{key}", problems)
    elif kind == "string":
        _check_string(shape, value, path, problems)
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{path}: expected an integer, got {value!r}")
    elif kind in ("float", "double"):
        if not isinstance(value, int | float) or isinstance(value, bool):
            problems.append(f"{path}: expected a number, got {value!r}")
    elif kind == "boolean" and not isinstance(value, bool):
        problems.append(f"{path}: expected a boolean, got {value!r}")


def _check_structure(
    shape: Shape, value: Any, path: str, problems: list[str], skip: frozenset[str]
) -> None:
    if not isinstance(value, dict):
        problems.append(f"{path}: expected an object, got {value!r}")
        return
    members = shape.members
    given = set()
    for key, item in value.items():
        name = key.removesuffix(".$")
        given.add(name)
        if name not in members:
            problems.append(f"{path}.{name}: not a member of {shape.name}")
        elif not key.endswith(".$"):
            _check(members[name], item, f"{path}.{name}", problems)
    for name in shape.required_members:
        if name not in given and name not in skip:
            problems.append(f"{path}.{name}: required, missing")


def _check_string(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, str):
        problems.append(f"{path}: expected a string, got {value!r}")
        return
    enum = shape.enum
    if enum and value not in enum:
        problems.append(f"{path}: {value!r} is not one of {sorted(enum)}")
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and len(value) < low:
        problems.append(f"{path}: {len(value)} characters, at least {low} required")
    if high is not None and len(value) > high:
        problems.append(f"{path}: {len(value)} characters, at most {high} allowed")
