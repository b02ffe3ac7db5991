"""Spec conditions as Choice rules."""

from __future__ import annotations

from collections.abc import Callable

from aws_cdk import aws_stepfunctions as sfn

from mlpipes_constructs.spec import (
    And,
    Comparison,
    ComparisonOperator,
    Condition,
    JsonValue,
    Not,
    Operand,
    Or,
    ParameterRef,
    ParameterType,
    Pipeline,
    ReviewOutcome,
    TrainingMetric,
)

_FLIPPED = {
    ComparisonOperator.EQUAL: ComparisonOperator.EQUAL,
    ComparisonOperator.NOT_EQUAL: ComparisonOperator.NOT_EQUAL,
    ComparisonOperator.GREATER_THAN: ComparisonOperator.LESS_THAN,
    ComparisonOperator.GREATER_THAN_OR_EQUAL: ComparisonOperator.LESS_THAN_OR_EQUAL,
    ComparisonOperator.LESS_THAN: ComparisonOperator.GREATER_THAN,
    ComparisonOperator.LESS_THAN_OR_EQUAL: ComparisonOperator.GREATER_THAN_OR_EQUAL,
}
_PY = {
    ComparisonOperator.EQUAL: lambda a, b: a == b,
    ComparisonOperator.NOT_EQUAL: lambda a, b: a != b,
    ComparisonOperator.GREATER_THAN: lambda a, b: a > b,
    ComparisonOperator.GREATER_THAN_OR_EQUAL: lambda a, b: a >= b,
    ComparisonOperator.LESS_THAN: lambda a, b: a < b,
    ComparisonOperator.LESS_THAN_OR_EQUAL: lambda a, b: a <= b,
}
#: How CDK's ``sfn.Condition`` names each operator's rules (``number_greater_than_equals``...).
_RULE_NAMES = {
    ComparisonOperator.EQUAL: "equals",
    ComparisonOperator.GREATER_THAN: "greater_than",
    ComparisonOperator.GREATER_THAN_OR_EQUAL: "greater_than_equals",
    ComparisonOperator.LESS_THAN: "less_than",
    ComparisonOperator.LESS_THAN_OR_EQUAL: "less_than_equals",
}
#: (kind, operator) -> (rule against a constant, rule against another path). Booleans only
#: compare for equality.
_RULES: dict[tuple[str, ComparisonOperator], tuple[Callable[..., sfn.Condition], ...]] = {
    (kind, operator): (
        getattr(sfn.Condition, f"{kind}_{name}"),
        getattr(sfn.Condition, f"{kind}_{name}_json_path"),
    )
    for kind in ("number", "string", "boolean")
    for operator, name in _RULE_NAMES.items()
    if kind != "boolean" or operator == ComparisonOperator.EQUAL
}


class ConditionError(ValueError):
    """A condition the Step Functions compiler cannot express."""


def choice_condition(
    condition: Condition, pipeline: Pipeline, path_of: Callable[[Operand], str]
) -> sfn.Condition:
    """``condition`` as a Choice rule; ``path_of`` gives the JSONPath of a reference operand."""
    if isinstance(condition, Not):
        return sfn.Condition.not_(choice_condition(condition.condition, pipeline, path_of))
    if isinstance(condition, And):
        return sfn.Condition.and_(
            *(choice_condition(c, pipeline, path_of) for c in condition.conditions)
        )
    if isinstance(condition, Or):
        return sfn.Condition.or_(
            *(choice_condition(c, pipeline, path_of) for c in condition.conditions)
        )
    return _comparison(condition, pipeline, path_of)


def _is_reference(operand: Operand) -> bool:
    return isinstance(operand, ParameterRef | JsonValue | TrainingMetric | ReviewOutcome)


def _kind(operand: Operand, pipeline: Pipeline) -> str | None:
    if isinstance(operand, bool):
        return "boolean"
    if isinstance(operand, int | float):
        return "number"
    if isinstance(operand, str):
        return "string"
    if isinstance(operand, ParameterRef):
        parameter_type = pipeline.parameter(operand.name).type
        return {
            ParameterType.BOOLEAN: "boolean",
            ParameterType.STRING: "string",
        }.get(parameter_type, "number")
    if isinstance(operand, TrainingMetric):
        return "number"
    if isinstance(operand, ReviewOutcome):
        return "string"
    return None


def _comparison(
    comparison: Comparison, pipeline: Pipeline, path_of: Callable[[Operand], str]
) -> sfn.Condition:
    left, operator, right = comparison.left, comparison.operator, comparison.right
    if not _is_reference(left) and not _is_reference(right):
        try:
            holds = _PY[operator](left, right)
        except TypeError as error:
            raise ConditionError(
                f"compares the constants {left!r} and {right!r}, which cannot be ordered"
            ) from error
        always = sfn.Condition.is_present("$.run")
        return always if holds else sfn.Condition.not_(always)
    if not _is_reference(left):
        left, right, operator = right, left, _FLIPPED[operator]
    # JSON values read from a report have no declared type: numbers unless the other side
    # says otherwise (a constant or a typed parameter).
    kind = _kind(right, pipeline) or _kind(left, pipeline) or "number"
    if operator == ComparisonOperator.NOT_EQUAL:
        equal = Comparison(left, ComparisonOperator.EQUAL, right)
        return sfn.Condition.not_(_comparison(equal, pipeline, path_of))
    rules = _RULES.get((kind, operator))
    if rules is None:
        raise ConditionError(f"operator '{operator.value}' cannot compare {kind} values")
    against_constant, against_path = rules
    variable = path_of(left)
    if _is_reference(right):
        return against_path(variable, path_of(right))
    value = float(right) if kind == "number" and isinstance(right, int | float) else right
    if kind == "number" and isinstance(right, int) and not isinstance(right, bool):
        value = right
    return against_constant(variable, value)
