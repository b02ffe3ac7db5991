"""Schedules and their execution input, checked the same way on every pipeline construct."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from aws_cdk import aws_events as events

from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.spec import Pipeline

_RATE = re.compile(r"rate\((?P<value>\S+) (?P<unit>\S+)\)")
_CRON = re.compile(r"cron\((?P<fields>[^()]*)\)")
_RATE_UNITS = {"minute", "hour", "day"}
#: cron field -> (name, numeric range, names allowed instead of numbers)
_CRON_FIELDS: tuple[tuple[str, tuple[int, int]], ...] = (
    ("minutes", (0, 59)),
    ("hours", (0, 23)),
    ("day-of-month", (1, 31)),
    ("month", (1, 12)),
    ("day-of-week", (1, 7)),
    ("year", (1970, 2199)),
)
_MONTHS = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
_DAYS = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}


def schedule_problems(expression: str) -> list[str]:
    """Why an EventBridge rule would reject ``expression``; empty when it is valid.

    EventBridge rules take ``rate(value unit)`` and six-field ``cron(...)`` expressions
    (``at(...)`` is for EventBridge Scheduler only).
    """
    if is_unresolved(expression):
        return []
    rate = _RATE.fullmatch(expression)
    if rate:
        return _rate_problems(expression, rate.group("value"), rate.group("unit"))
    cron = _CRON.fullmatch(expression)
    if cron:
        return _cron_problems(expression, cron.group("fields").split())
    return [
        f"schedule '{expression}' is not an EventBridge schedule expression; expected "
        "'rate(<value> <unit>)' such as 'rate(1 day)' or 'cron(<6 fields>)' such as "
        "'cron(0 3 * * ? *)'"
    ]


def _rate_problems(expression: str, value: str, unit: str) -> list[str]:
    if not value.isdigit() or int(value) < 1:
        return [f"schedule '{expression}': the rate value '{value}' must be a positive integer"]
    singular = unit.rstrip("s") if unit.endswith("s") else unit
    if singular not in _RATE_UNITS:
        return [
            f"schedule '{expression}': the rate unit '{unit}' must be minute(s), hour(s) or day(s)"
        ]
    expected = singular if int(value) == 1 else f"{singular}s"
    if unit != expected:
        return [f"schedule '{expression}': use '{value} {expected}' (EventBridge is strict)"]
    return []


def _cron_problems(expression: str, fields: list[str]) -> list[str]:
    if len(fields) != len(_CRON_FIELDS):
        return [
            f"schedule '{expression}' has {len(fields)} cron fields; EventBridge needs 6: "
            "minutes hours day-of-month month day-of-week year"
        ]
    problems = [
        f"schedule '{expression}': invalid {name} field '{value}' (expected values from "
        f"{low} to {high}, with '*', ',', '-' and '/' as EventBridge allows)"
        for value, (name, (low, high)) in zip(fields, _CRON_FIELDS, strict=True)
        if not all(_cron_item_ok(item, name, low, high) for item in value.split(","))
    ]
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        problems.append(
            f"schedule '{expression}': exactly one of day-of-month ('{day_of_month}') and "
            f"day-of-week ('{day_of_week}') must be '?'"
        )
    return problems


def _cron_item_ok(item: str, name: str, low: int, high: int) -> bool:
    if item == "?":
        return name in {"day-of-month", "day-of-week"}
    if name == "day-of-month" and (item in {"L", "LW"} or re.fullmatch(r"\d{1,2}W", item)):
        return item[0] == "L" or low <= int(item[:-1]) <= high
    if name == "day-of-week" and re.fullmatch(r"\d(L|#[1-5])", item):
        return low <= int(item[0]) <= high
    base, _, step = item.partition("/")
    if step and (not step.isdigit() or int(step) < 1):
        return False
    if base == "*":
        return True
    names = _MONTHS if name == "month" else _DAYS if name == "day-of-week" else set()
    bounds = base.split("-")
    if len(bounds) > 2:
        return False
    return all(
        bound.upper() in names or (bound.isdigit() and low <= int(bound) <= high)
        for bound in bounds
    )


def resolve_schedule(
    problems: Problems, schedule: str | events.Schedule | None, *, prop: str = "schedule"
) -> events.Schedule | None:
    """``schedule`` as an ``events.Schedule``; an expression string is checked first."""
    if schedule is None:
        return None
    if isinstance(schedule, str):
        found = schedule_problems(schedule)
        for problem in found:
            problems.add(problem if prop == "schedule" else problem.replace("schedule", prop, 1))
        return None if found else events.Schedule.expression(schedule)
    if not isinstance(schedule, events.Schedule):
        problems.add(
            f"{prop} {schedule!r} is neither an events.Schedule nor a schedule expression "
            "string such as 'rate(1 day)'"
        )
        return None
    for problem in schedule_problems(schedule.expression_string):
        problems.add(problem)
    return schedule


#: JSON types a value of each parameter type may have in ``schedule_input``.
_PARAMETER_VALUE_TYPES: Mapping[str, tuple[type, ...]] = {
    "String": (str,),
    "Integer": (int,),
    "Float": (int, float),
    "Boolean": (bool,),
}


def spec_parameter_types(pipeline: Pipeline) -> dict[str, str]:
    """Parameter name -> type (``String``, ``Integer``, ``Float`` or ``Boolean``) of a spec."""
    return {parameter.name: parameter.type.value for parameter in pipeline.parameters}


def schedule_input_problems(
    parameter_types: Mapping[str, str],
    schedule_input: Mapping[str, Any],
    *,
    prop: str = "schedule_input",
) -> list[str]:
    """Why ``schedule_input`` does not fit the pipeline's parameters (names and types).

    A value must have its parameter's type: a string for ``String``, a whole number for
    ``Integer`` (not a bool), a number for ``Float`` and a bool for ``Boolean``.
    """
    problems: list[str] = []
    for name, value in schedule_input.items():
        if name not in parameter_types:
            problems.append(
                f"{prop} names unknown parameter '{name}' (parameters: "
                f"{', '.join(sorted(parameter_types)) or 'none'})"
            )
            continue
        if is_unresolved(value):
            continue
        kind = parameter_types[name]
        allowed = _PARAMETER_VALUE_TYPES.get(kind, (str, int, float, bool))
        wrong_bool = isinstance(value, bool) and bool not in allowed
        if wrong_bool or not isinstance(value, allowed):
            problems.append(
                f"{prop} '{name}' is {json.dumps(value) if _is_json(value) else repr(value)} "
                f"({type(value).__name__}); parameter '{name}' is {kind}, so give a "
                f"{_expected(kind)}"
            )
    return problems


def _expected(kind: str) -> str:
    return {
        "String": "str",
        "Integer": "whole number (int)",
        "Float": "number (int or float)",
        "Boolean": "bool",
    }.get(kind, "JSON value")


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
