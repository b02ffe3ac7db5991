"""Conditions a condition step evaluates to choose a branch."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar, TypeAlias

from mlpipes_constructs.spec._base import SpecObject
from mlpipes_constructs.spec.references import (
    JsonValue,
    ParameterRef,
    ReviewOutcome,
    TrainingMetric,
)

#: A value a condition compares: a constant, a parameter, a property file value, a metric or
#: a human review's decision.
Operand: TypeAlias = (
    str | int | float | bool | ParameterRef | JsonValue | TrainingMetric | ReviewOutcome
)


class ComparisonOperator(enum.Enum):
    """How a :class:`Comparison` compares its two operands."""

    EQUAL = "=="
    NOT_EQUAL = "!="
    GREATER_THAN = ">"
    GREATER_THAN_OR_EQUAL = ">="
    LESS_THAN = "<"
    LESS_THAN_OR_EQUAL = "<="


@dataclass(frozen=True)
class Comparison(SpecObject):
    """``left <operator> right``, e.g. accuracy ``>=`` a threshold parameter."""

    kind: ClassVar[str] = "comparison"

    left: Operand
    operator: ComparisonOperator
    right: Operand


@dataclass(frozen=True)
class Not(SpecObject):
    """True when ``condition`` is false."""

    kind: ClassVar[str] = "not"

    condition: Condition


@dataclass(frozen=True)
class And(SpecObject):
    """True when every one of ``conditions`` (at least one) is true."""

    kind: ClassVar[str] = "and"

    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Or(SpecObject):
    """True when at least one of ``conditions`` (at least one) is true."""

    kind: ClassVar[str] = "or"

    conditions: tuple[Condition, ...]


Condition: TypeAlias = Comparison | Not | And | Or
