"""Values in ASL ``Parameters``: constants, or JSONPath / intrinsic expressions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Step Functions' limit on state names.
MAX_STATE_NAME = 80


@dataclass(frozen=True)
class Expr:
    """A JSONPath (``$.x``) or intrinsic function (``States.Format(...)``) evaluated at run time."""

    text: str


#: A value in ``Parameters``: a constant (JSON value, may hold CDK tokens) or an expression.
Value = Expr | str | int | float | bool | None


def escape(text: str) -> str:
    """Escape a string for an intrinsic function's string literal."""
    for char in ("\\", "'", "{", "}"):
        text = text.replace(char, f"\\{char}")
    return text


def argument(value: Value) -> str:
    """``value`` as an intrinsic function argument."""
    if isinstance(value, Expr):
        return value.text
    if isinstance(value, str):
        return f"'{escape(value)}'"
    return json.dumps(value)


def text_argument(value: Value) -> str:
    """``value`` as an intrinsic argument that is always a string."""
    if isinstance(value, Expr) and not value.text.startswith("States.Format("):
        return f"States.Format('{{}}', {value.text})"
    if isinstance(value, bool):
        return f"'{'true' if value else 'false'}'"
    if isinstance(value, int | float):
        return f"'{value}'"
    return argument(value)


def concat(parts: Sequence[Value], separator: str = "") -> Value:
    """Text made of ``parts``: a constant if every part is one, else ``States.Format``."""
    if not any(isinstance(part, Expr) for part in parts):
        return separator.join(_plain(part) for part in parts)
    template: list[str] = []
    arguments: list[str] = []
    for part in parts:
        if isinstance(part, Expr):
            template.append("{}")
            arguments.append(part.text)
        else:
            template.append(escape(_plain(part)))
    text = escape(separator).join(template)
    return Expr(f"States.Format('{text}', {', '.join(arguments)})")


def _plain(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def field(key: str, value: Value) -> dict[str, Any]:
    """``{key: constant}`` or ``{key.$: expression}``."""
    if isinstance(value, Expr):
        return {f"{key}.$": value.text}
    return {key: value}


def fields(values: Mapping[str, Value]) -> dict[str, Any]:
    """Several :func:`field` entries in one object; ``None`` values are left out."""
    result: dict[str, Any] = {}
    for key, value in values.items():
        if value is not None:
            result.update(field(key, value))
    return result


def text_list(key: str, values: Sequence[Value]) -> dict[str, Any]:
    """A list of strings: constant, or ``States.Array`` when any item is an expression."""
    if not any(isinstance(value, Expr) for value in values):
        return {key: [_plain(value) for value in values]}
    items = ", ".join(text_argument(value) for value in values)
    return {f"{key}.$": f"States.Array({items})"}


def state_name(*parts: str) -> str:
    """A state name from parts joined with ``.``, shortened with a hash past 80 characters."""
    name = ".".join(parts)
    if len(name) <= MAX_STATE_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_STATE_NAME - 9]}~{digest}"


def json_path(base: str, dotted: str) -> str:
    """``base`` extended by a spec json path (``metrics.accuracy.value``, ``scores[0].v``)."""
    out = base
    for piece in dotted.split("."):
        key, bracket, rest = piece.partition("[")
        out += f".{key}" if key.replace("_", "").isalnum() else f"['{key}']"
        if bracket:
            out += f"[{rest}"
    return out
