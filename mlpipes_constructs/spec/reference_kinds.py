"""Which kinds of reference each field of a step takes, read from the fields' type hints.

``EndpointStep.model`` is a ``ModelName`` (the model a create-model step creates); given
``ModelArtifacts`` (an S3 URI of a model archive) every compiler would write an S3 URI where
SageMaker wants a model name. The check walks every field of a step, and of the spec objects
inside it (inputs, channels, conditions, joins), and names each reference whose kind its
field's annotation does not admit.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import fields, is_dataclass
from typing import Any, Union, get_args, get_origin, get_type_hints

from mlpipes_constructs.spec.references import (
    Join,
    JsonValue,
    ModelArtifacts,
    ModelName,
    ParameterRef,
    ReviewOutcome,
    StepOutput,
    TrainingMetric,
)

#: Every kind of reference, with how a message describes it.
REFERENCE_KINDS: Mapping[type, str] = {
    ParameterRef: "a parameter (ParameterRef)",
    StepOutput: "a processing step's output location (StepOutput)",
    ModelArtifacts: "a trained model's S3 archive (ModelArtifacts)",
    JsonValue: "a value in a property file (JsonValue)",
    TrainingMetric: "a training job's metric (TrainingMetric)",
    ModelName: "the model a create_model step creates (ModelName)",
    ReviewOutcome: "a human review's decision (ReviewOutcome)",
}


def reference_kind_problems(step: object, where: str) -> Iterator[str]:
    """A message for each reference in ``step`` whose field does not take its kind."""
    yield from _object_problems(step, "", where)


def _object_problems(value: Any, prefix: str, where: str) -> Iterator[str]:
    hints = _hints(type(value))
    for field in fields(value):
        yield from _value_problems(
            getattr(value, field.name), hints[field.name], f"{prefix}{field.name}", where
        )


def _value_problems(value: object, annotation: Any, path: str, where: str) -> Iterator[str]:
    if isinstance(value, tuple(REFERENCE_KINDS)):
        allowed = [kind for kind in REFERENCE_KINDS if _admits(annotation, kind)]
        if not isinstance(value, tuple(allowed)):
            expected = (
                " or ".join(REFERENCE_KINDS[kind] for kind in allowed) if allowed else "a constant"
            )
            yield (
                f"{path} {where} is {value!r}, {REFERENCE_KINDS[type(value)]}, which this "
                f"field does not take; expected {expected}"
            )
        return
    if isinstance(value, Join):
        # A join's parts become text: any reference that has a value fits.
        return
    if isinstance(value, tuple):
        item_type = _item_annotation(annotation)
        for index, item in enumerate(value):
            yield from _value_problems(item, item_type, f"{path}[{index}]", where)
    elif isinstance(value, Mapping):
        value_type = _mapping_value_annotation(annotation)
        for key, item in value.items():
            yield from _value_problems(item, value_type, f"{path}[{key!r}]", where)
    elif is_dataclass(value) and not isinstance(value, type):
        yield from _object_problems(value, f"{path}.", where)


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def _members(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) in (Union, types.UnionType):
        return tuple(member for arg in get_args(annotation) for member in _members(arg))
    return (annotation,)


def _admits(annotation: Any, kind: type) -> bool:
    return any(member is kind or member is typing.Any for member in _members(annotation))


def _item_annotation(annotation: Any) -> Any:
    for member in _members(annotation):
        if get_origin(member) is tuple:
            return get_args(member)[0]
    return typing.Any


def _mapping_value_annotation(annotation: Any) -> Any:
    for member in _members(annotation):
        args = get_args(member)
        if len(args) == 2:
            return args[1]
    return typing.Any
