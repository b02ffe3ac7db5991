"""The pipeline: parameters and steps, validated when constructed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlpipes_constructs.spec._base import SpecObject
from mlpipes_constructs.spec.errors import SpecFormatError, SpecValidationError
from mlpipes_constructs.spec.parameters import Parameter
from mlpipes_constructs.spec.serialization import decode, encode
from mlpipes_constructs.spec.steps import Step
from mlpipes_constructs.spec.validation import pipeline_problems

#: Version of the serialized form written by :meth:`Pipeline.to_dict`.
SCHEMA_VERSION = "1"
SCHEMA_VERSION_KEY = "schema_version"


@dataclass(frozen=True, kw_only=True)
class Pipeline(SpecObject):
    """An ML pipeline, described once for every orchestrator.

    Constructing a pipeline validates it: a spec that breaks any rule raises a
    :class:`SpecValidationError` listing every problem (see
    :mod:`mlpipes_constructs.spec.validation` and :mod:`mlpipes_constructs.spec.naming`).

    Attributes:
        name: Pipeline name: 1-64 letters, digits and hyphens, starting with a letter and not
            ending with a hyphen.
        steps: The steps, at least one. Their order breaks ties in the execution order.
        parameters: Parameters an execution can override. Default: none.
        description: Human-readable description. Default: none.
        base_directory: Directory that relative ``code`` paths of steps are relative to.
            Default: the working directory of the process that resolves them.
    """

    name: str
    steps: tuple[Step, ...]
    parameters: tuple[Parameter, ...] = ()
    description: str | None = None
    base_directory: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        problems = pipeline_problems(self)
        if problems:
            raise SpecValidationError(problems)

    def step(self, name: str) -> Step:
        """The step called ``name``.

        Raises:
            KeyError: no step has that name.
        """
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(f"pipeline '{self.name}' has no step '{name}'")

    def parameter(self, name: str) -> Parameter:
        """The parameter called ``name``.

        Raises:
            KeyError: no parameter has that name.
        """
        for parameter in self.parameters:
            if parameter.name == name:
                return parameter
        raise KeyError(f"pipeline '{self.name}' has no parameter '{name}'")

    def to_dict(self) -> dict[str, Any]:
        """The pipeline as plain data (JSON types), with a ``schema_version``."""
        data = encode(self)
        assert isinstance(data, dict)
        return {SCHEMA_VERSION_KEY: SCHEMA_VERSION, **data}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Pipeline:
        """Load a pipeline written by :meth:`to_dict`.

        Raises:
            SpecFormatError: unknown schema version, unknown kind or field, or a wrong type.
            SpecValidationError: the loaded pipeline breaks a rule.
        """
        version = data.get(SCHEMA_VERSION_KEY)
        if version != SCHEMA_VERSION:
            raise SpecFormatError(
                f"$.{SCHEMA_VERSION_KEY}: unsupported schema version {version!r}; "
                f"expected '{SCHEMA_VERSION}'"
            )
        fields = {key: value for key, value in data.items() if key != SCHEMA_VERSION_KEY}
        pipeline: Pipeline = decode(cls, fields)
        return pipeline

    def to_json(self, *, indent: int | None = 2) -> str:
        """The pipeline as JSON text (see :meth:`to_dict`)."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> Pipeline:
        """Load a pipeline from JSON text written by :meth:`to_json`.

        Raises:
            SpecFormatError: the text is not a JSON object, or see :meth:`from_dict`.
            SpecValidationError: the loaded pipeline breaks a rule.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise SpecFormatError(f"$: not valid JSON: {error}") from None
        if not isinstance(data, dict):
            raise SpecFormatError(f"$: expected a JSON object, got {type(data).__name__}")
        return cls.from_dict(data)
