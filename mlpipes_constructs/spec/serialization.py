"""Plain-data (JSON) form of the spec dataclasses.

Encoding writes each dataclass as an object of its fields, leaving out fields at their default;
steps, references, conditions and parameter ranges carry a ``kind`` tag. Decoding is driven by
the dataclasses' type hints, so every field round-trips and a malformed document is rejected
with the location of the problem.
"""

from __future__ import annotations

import enum
import functools
import types
from collections.abc import Mapping
from dataclasses import MISSING, Field, fields, is_dataclass
from typing import Any, TypeAlias, Union, get_args, get_origin, get_type_hints

# The steps module (and the references and conditions it uses) defines the tagged classes that
# decoding finds by their ``kind``.
from mlpipes_constructs.spec import steps as _steps  # noqa: F401
from mlpipes_constructs.spec._base import SpecObject
from mlpipes_constructs.spec.errors import SpecFormatError

JsonData: TypeAlias = bool | int | float | str | list["JsonData"] | dict[str, "JsonData"] | None

KIND_KEY = "kind"


def encode(value: object) -> JsonData:
    """The plain-data form of a spec object, enum, tuple, mapping or scalar."""
    if isinstance(value, enum.Enum):
        return encode(value.value)
    if isinstance(value, SpecObject):
        return _encode_object(value)
    if isinstance(value, tuple | list):
        return [encode(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): encode(item) for key, item in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot encode {type(value).__name__} value {value!r}")


def _encode_object(value: SpecObject) -> dict[str, JsonData]:
    data: dict[str, JsonData] = {}
    kind = getattr(type(value), KIND_KEY, None)
    if kind is not None:
        data[KIND_KEY] = kind
    for field in fields(value):  # type: ignore[arg-type]
        item = getattr(value, field.name)
        if not _is_default(field, item):
            data[field.name] = encode(item)
    return data


def _is_default(field: Field[Any], value: object) -> bool:
    if field.default is not MISSING:
        default = field.default
    elif field.default_factory is not MISSING:
        default = field.default_factory()
    else:
        return False
    # Compare types too: True == 1, yet the two must not be confused.
    return type(value) is type(default) and value == default


def decode(annotation: object, data: object, path: str = "$") -> Any:
    """Rebuild a value of type ``annotation`` from its plain-data form.

    Raises:
        SpecFormatError: ``data`` does not fit ``annotation``; the message starts with ``path``.
    """
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return _decode_union(get_args(annotation), data, path)
    if origin is tuple:
        items = _expect(data, list, "a list", path)
        item_type = get_args(annotation)[0]
        return tuple(decode(item_type, item, f"{path}[{i}]") for i, item in enumerate(items))
    if origin in (Mapping, dict):
        mapping = _expect(data, dict, "an object", path)
        value_type = get_args(annotation)[1]
        return {key: decode(value_type, item, f"{path}.{key}") for key, item in mapping.items()}
    if isinstance(annotation, type):
        return _decode_type(annotation, data, path)
    raise TypeError(f"{path}: cannot decode values of type {annotation!r}")


def _decode_type(cls: type, data: object, path: str) -> Any:
    if issubclass(cls, enum.Enum):
        return _decode_enum(cls, data, path)
    if issubclass(cls, SpecObject):
        return _decode_object((cls,), _expect(data, dict, "an object", path), path)
    if cls is type(None):
        return _expect(data, type(None), "null", path)
    if cls is bool:
        return _expect(data, bool, "a boolean", path)
    if cls is int:
        if isinstance(data, bool):
            raise SpecFormatError(f"{path}: expected an integer, got {data!r}")
        return _expect(data, int, "an integer", path)
    if cls is float:
        if isinstance(data, bool):
            raise SpecFormatError(f"{path}: expected a number, got {data!r}")
        return float(_expect(data, int | float, "a number", path))
    if cls is str:
        return _expect(data, str, "a string", path)
    raise TypeError(f"{path}: cannot decode values of type {cls.__name__}")


def _decode_enum(cls: type[enum.Enum], data: object, path: str) -> enum.Enum:
    try:
        return cls(data)
    except ValueError:
        allowed = ", ".join(repr(member.value) for member in cls)
        raise SpecFormatError(f"{path}: expected one of {allowed}, got {data!r}") from None


def _decode_union(options: tuple[Any, ...], data: object, path: str) -> Any:
    """Choose the union member ``data`` encodes: by ``kind`` tag, or by its JSON type."""
    if isinstance(data, dict):
        objects = tuple(o for o in options if isinstance(o, type) and issubclass(o, SpecObject))
        if objects:
            return _decode_object(objects, data, path)
    scalar_order: tuple[type, ...]
    if isinstance(data, bool):
        scalar_order = (bool,)
    elif isinstance(data, int):
        scalar_order = (int, float)
    elif isinstance(data, float):
        scalar_order = (float,)
    elif isinstance(data, str):
        scalar_order = (
            str,
            *(o for o in options if isinstance(o, type) and issubclass(o, enum.Enum)),
        )
    elif data is None:
        scalar_order = (type(None),)
    else:
        scalar_order = ()
    for option in scalar_order:
        if option in options:
            try:
                return _decode_type(option, data, path)
            except SpecFormatError:
                continue
    raise SpecFormatError(f"{path}: expected {_describe(options)}, got {data!r}")


_SCALAR_DESCRIPTIONS = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}


def _describe(options: tuple[Any, ...]) -> str:
    names = []
    for option in options:
        if option is type(None):
            names.append("null")
        elif isinstance(option, type) and issubclass(option, enum.Enum):
            names.append(" or ".join(repr(member.value) for member in option))
        elif isinstance(option, type) and issubclass(option, SpecObject):
            names.append(f"a {option.__name__} object")
        else:
            names.append(_SCALAR_DESCRIPTIONS.get(option, str(option)))
    return " or ".join(names)


def _decode_object(allowed: tuple[type, ...], data: dict[str, Any], path: str) -> SpecObject:
    cls = _object_class(allowed, data, path)
    hints = _type_hints(cls)
    values: dict[str, Any] = {}
    known = {field.name for field in fields(cls)}
    for key, item in data.items():
        if key == KIND_KEY and getattr(cls, KIND_KEY, None) is not None:
            continue
        if key not in known:
            raise SpecFormatError(f"{path}: unknown field '{key}' for {cls.__name__}")
        values[key] = decode(hints[key], item, f"{path}.{key}")
    missing = [
        field.name
        for field in fields(cls)
        if field.name not in values
        and field.default is MISSING
        and field.default_factory is MISSING
    ]
    if missing:
        raise SpecFormatError(f"{path}: {cls.__name__} is missing field(s) {', '.join(missing)}")
    instance: SpecObject = cls(**values)
    return instance


def _object_class(allowed: tuple[type, ...], data: Mapping[str, Any], path: str) -> type:
    """The class ``data`` encodes: named by its ``kind`` tag, or the one untagged choice."""
    tagged = {
        kind: cls
        for cls in _spec_classes()
        if (kind := getattr(cls, KIND_KEY, None)) is not None and issubclass(cls, allowed)
    }
    if KIND_KEY in data and tagged:
        kind = data[KIND_KEY]
        if kind not in tagged:
            expected = ", ".join(sorted(tagged))
            raise SpecFormatError(
                f"{path}.{KIND_KEY}: unknown kind {kind!r}; expected one of {expected}"
            )
        return tagged[kind]
    untagged = [
        cls for cls in allowed if getattr(cls, KIND_KEY, None) is None and is_dataclass(cls)
    ]
    if len(untagged) == 1 and not tagged:
        return untagged[0]
    raise SpecFormatError(
        f"{path}: missing '{KIND_KEY}'; expected one of {', '.join(sorted(tagged))}"
    )


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _spec_classes() -> list[type]:
    """Every SpecObject subclass of the spec package, found through the class hierarchy.

    Subclasses defined elsewhere (a custom step kind) are not part of the format, so decoding
    does not depend on what else was imported.
    """
    found: list[type] = []
    pending: list[type] = [SpecObject]
    while pending:
        cls = pending.pop()
        subclass: type
        for subclass in cls.__subclasses__():
            if subclass not in found and subclass.__module__.startswith(__package__ or ""):
                found.append(subclass)
                pending.append(subclass)
    return found


def _expect(data: object, expected: Any, description: str, path: str) -> Any:
    if not isinstance(data, expected):
        raise SpecFormatError(f"{path}: expected {description}, got {data!r}")
    return data
