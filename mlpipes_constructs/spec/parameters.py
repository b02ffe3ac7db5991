"""Pipeline parameters: typed values a pipeline execution can override."""

from __future__ import annotations

import builtins
import enum
from dataclasses import dataclass
from typing import TypeAlias

from mlpipes_constructs.spec._base import SpecObject

ParameterValue: TypeAlias = str | int | float | bool


class ParameterType(enum.Enum):
    """The type of a pipeline parameter, as every orchestrator can represent it."""

    STRING = "String"
    INTEGER = "Integer"
    FLOAT = "Float"
    BOOLEAN = "Boolean"


@dataclass(frozen=True, kw_only=True)
class Parameter(SpecObject):
    """A typed pipeline parameter with a default value.

    Steps refer to a parameter with :class:`~mlpipes_constructs.spec.ParameterRef`.

    Attributes:
        name: Parameter name: 1-64 letters and digits, starting with a letter, so it is also a
            Python identifier (Kubeflow) and a plain JSON key (Step Functions, Airflow).
        type: Parameter type.
        default: Value used when an execution does not set the parameter. Must match ``type``
            (an ``int`` is accepted for a float parameter, ``bool`` only for a boolean one).
        description: Human-readable description. Default: none.
    """

    name: str
    type: ParameterType
    default: ParameterValue
    description: str | None = None

    @classmethod
    def string(cls, name: str, default: str, description: str | None = None) -> Parameter:
        """A string parameter."""
        return cls(name=name, type=ParameterType.STRING, default=default, description=description)

    @classmethod
    def integer(cls, name: str, default: int, description: str | None = None) -> Parameter:
        """An integer parameter."""
        return cls(name=name, type=ParameterType.INTEGER, default=default, description=description)

    @classmethod
    def float(cls, name: str, default: builtins.float, description: str | None = None) -> Parameter:
        """A floating-point parameter."""
        return cls(name=name, type=ParameterType.FLOAT, default=default, description=description)

    @classmethod
    def boolean(cls, name: str, default: bool, description: str | None = None) -> Parameter:
        """A boolean parameter."""
        return cls(name=name, type=ParameterType.BOOLEAN, default=default, description=description)


def default_matches_type(parameter: Parameter) -> bool:
    """Whether the parameter's default is a value of its type (``bool`` is not an integer)."""
    default = parameter.default
    if parameter.type is ParameterType.BOOLEAN:
        return isinstance(default, bool)
    if isinstance(default, bool):
        return False
    if parameter.type is ParameterType.INTEGER:
        return isinstance(default, int)
    if parameter.type is ParameterType.FLOAT:
        return isinstance(default, int | builtins.float)
    return isinstance(default, str)
