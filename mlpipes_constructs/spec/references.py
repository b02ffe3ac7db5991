"""References: values a step reads from a parameter or from another step.

A reference is resolved by the orchestrator at run time. Every reference to a step is also a
dependency on it: the referring step runs after the step it refers to.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, TypeAlias

from mlpipes_constructs.spec._base import SpecObject

#: A json path as the condition steps of every orchestrator accept it: dotted keys and list
#: indices, without a leading ``$``, e.g. ``metrics.accuracy.value`` or ``scores[0].value``.
JSON_PATH_PATTERN = re.compile(r"[A-Za-z0-9_-]+(\[\d+\])*(\.[A-Za-z0-9_-]+(\[\d+\])*)*")
_JSON_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True)
class ParameterRef(SpecObject):
    """The value of the pipeline parameter ``name``."""

    kind: ClassVar[str] = "parameter"

    name: str


@dataclass(frozen=True)
class StepOutput(SpecObject):
    """The S3 location of the named output of a processing step.

    Attributes:
        step: Name of the processing step.
        output: Name of one of its outputs.
        path: A key below the output location, e.g. ``evaluation.json``. Default: the output
            location itself.
    """

    kind: ClassVar[str] = "step_output"

    step: str
    output: str
    path: str = ""


@dataclass(frozen=True)
class ModelArtifacts(SpecObject):
    """The S3 URI of the ``model.tar.gz`` a training step wrote, or a tuning step's best job's."""

    kind: ClassVar[str] = "model_artifacts"

    step: str


@dataclass(frozen=True)
class JsonValue(SpecObject):
    """A value read from a JSON property file a processing step wrote.

    Attributes:
        step: Name of the processing step.
        property_file: Name of one of its property files.
        json_path: Dotted path to the value, e.g. ``metrics.accuracy.value``
            (see :data:`JSON_PATH_PATTERN`).
    """

    kind: ClassVar[str] = "json_value"

    step: str
    property_file: str
    json_path: str


@dataclass(frozen=True)
class TrainingMetric(SpecObject):
    """The final value of a metric a training step's metric definitions capture."""

    kind: ClassVar[str] = "training_metric"

    step: str
    metric: str


@dataclass(frozen=True)
class ModelName(SpecObject):
    """The name of the SageMaker model a create-model step created."""

    kind: ClassVar[str] = "model_name"

    step: str


@dataclass(frozen=True)
class ReviewOutcome(SpecObject):
    """The decision of a human review step: :attr:`APPROVED` or :attr:`REJECTED`.

    A condition compares it with ``==`` or ``!=`` to one of the two, e.g.
    ``Comparison(ReviewOutcome("Review"), ComparisonOperator.EQUAL, ReviewOutcome.APPROVED)``.
    A review that ends without a decision (the human loop failed, was stopped or expired) fails
    its step, so a condition never sees it.
    """

    kind: ClassVar[str] = "review_outcome"

    #: Every reviewer approved.
    APPROVED: ClassVar[str] = "Approved"
    #: At least one reviewer did not approve.
    REJECTED: ClassVar[str] = "Rejected"

    step: str


#: The values a :class:`ReviewOutcome` takes.
REVIEW_OUTCOMES = (ReviewOutcome.APPROVED, ReviewOutcome.REJECTED)

#: Any reference: to a parameter, or to something another step produces.
Reference: TypeAlias = (
    ParameterRef
    | StepOutput
    | ModelArtifacts
    | JsonValue
    | TrainingMetric
    | ModelName
    | ReviewOutcome
)


@dataclass(frozen=True)
class Join(SpecObject):
    """Text built at run time from constants and references, e.g. an error message.

    Attributes:
        values: Parts to join; references are replaced by their values.
        separator: Text between parts. Default: ``""``.
    """

    kind: ClassVar[str] = "join"

    values: tuple[str | int | float | bool | Reference, ...]
    separator: str = ""


#: An S3 location a step reads: an ``s3://`` URI, a parameter, another step's output or model.
S3Source: TypeAlias = str | ParameterRef | StepOutput | ModelArtifacts | Join
#: An S3 location a step writes to: an ``s3://`` URI or a parameter.
S3Destination: TypeAlias = str | ParameterRef | Join


def is_json_path(path: str) -> bool:
    """Whether ``path`` matches :data:`JSON_PATH_PATTERN`."""
    return JSON_PATH_PATTERN.fullmatch(path) is not None


def read_json_path(document: object, json_path: str) -> object:
    """The value at ``json_path`` in a parsed JSON document, as a condition step reads it.

    Raises:
        ValueError: ``json_path`` is not a valid path.
        LookupError: the document has no value at ``json_path``.
    """
    if not is_json_path(json_path):
        raise ValueError(f"'{json_path}' is not a json path such as 'metrics.accuracy.value'")
    value = document
    for key, index in _JSON_PATH_TOKEN.findall(json_path):
        if key and isinstance(value, Mapping) and key in value:
            value = value[key]
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            raise LookupError(f"the document has no value at '{json_path}'")
    return value
