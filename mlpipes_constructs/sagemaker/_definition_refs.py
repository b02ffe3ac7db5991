"""Expressions of a SageMaker pipeline definition: references, joins, conditions, S3 locations.

The forms are the ones the sagemaker SDK emits (``{"Get": ...}``, ``{"Std:Join": ...}``,
``{"Std:JsonGet": ...}``), so a compiled definition reads like an SDK-built one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlpipes_constructs.compile.locations import MODEL_ARCHIVE_KEY, job_output_keys
from mlpipes_constructs.spec import (
    And,
    Comparison,
    ComparisonOperator,
    Condition,
    Join,
    JsonValue,
    ModelArtifacts,
    ModelName,
    Not,
    Operand,
    Or,
    ParameterRef,
    ParameterType,
    Pipeline,
    ProcessingStep,
    Reference,
    ReviewOutcome,
    Step,
    StepOutput,
    TrainingMetric,
    TuningStep,
)

#: A JSON value of the definition: a constant or an expression dict.
Expression = Any

EXECUTION_ID: Expression = {"Get": "Execution.PipelineExecutionId"}

_COMPARISON_TYPES = {
    ComparisonOperator.EQUAL: "Equals",
    ComparisonOperator.GREATER_THAN: "GreaterThan",
    ComparisonOperator.GREATER_THAN_OR_EQUAL: "GreaterThanOrEqualTo",
    ComparisonOperator.LESS_THAN: "LessThan",
    ComparisonOperator.LESS_THAN_OR_EQUAL: "LessThanOrEqualTo",
}


@dataclass(frozen=True)
class DefinitionContext:
    """What the step translations need besides the step itself.

    Attributes:
        pipeline: The pipeline being compiled.
        artifact_root: S3 prefix of default output locations, without a trailing ``/``.
    """

    pipeline: Pipeline
    artifact_root: str

    def step(self, name: str) -> Step:
        """The pipeline's step called ``name``."""
        return self.pipeline.step(name)

    def parameter_type(self, name: str) -> ParameterType:
        """The type of the pipeline's parameter called ``name``."""
        return self.pipeline.parameter(name).type


@dataclass(frozen=True)
class DefinitionRenderer:
    """The :class:`~mlpipes_constructs.compile.ValueRenderer` of SageMaker Pipelines.

    Attributes:
        context: the pipeline and its artifact root.
        code_locations: the S3 URI of each processing code directory's zip, by ``code`` value.
    """

    context: DefinitionContext
    code_locations: Mapping[str, str]

    def value(self, value: object) -> Expression:
        return value_expression(value, self.context)

    def text(self, value: object) -> Expression:
        return string_expression(value, self.context)

    def location(self, destination: object | None, *default_keys: str) -> Expression:
        if destination is None:
            return default_location(self.context, *default_keys)
        return value_expression(destination, self.context)

    def code_location(self, step: ProcessingStep) -> Expression:
        return self.code_locations[step.code]


def get(path: str) -> Expression:
    """A ``Get`` expression, e.g. ``{"Get": "Parameters.X"}``."""
    return {"Get": path}


def join(separator: str, values: list[Expression]) -> Expression:
    """A ``Std:Join`` expression."""
    return {"Std:Join": {"On": separator, "Values": values}}


def reference_expression(reference: Reference, context: DefinitionContext) -> Expression:
    """The expression that reads ``reference`` at run time."""
    if isinstance(reference, ParameterRef):
        return get(f"Parameters.{reference.name}")
    if isinstance(reference, StepOutput):
        return _step_output_expression(reference)
    if isinstance(reference, ModelArtifacts):
        return _model_artifacts_expression(reference, context)
    if isinstance(reference, JsonValue):
        property_file = get(f"Steps.{reference.step}.PropertyFiles.{reference.property_file}")
        return {"Std:JsonGet": {"PropertyFile": property_file, "Path": reference.json_path}}
    if isinstance(reference, TrainingMetric):
        return get(f"Steps.{reference.step}.FinalMetricDataList['{reference.metric}'].Value")
    if isinstance(reference, ModelName):
        return get(f"Steps.{reference.step}.ModelName")
    if isinstance(reference, ReviewOutcome):
        # The review's callback step's output parameter (see ``_review_step``).
        return get(f"Steps.{reference.step}.OutputParameters['outcome']")
    raise TypeError(f"unknown reference {reference!r}")


def _step_output_expression(reference: StepOutput) -> Expression:
    location = get(
        f"Steps.{reference.step}.ProcessingOutputConfig.Outputs['{reference.output}']"
        ".S3Output.S3Uri"
    )
    if not reference.path:
        return location
    return join("/", [location, reference.path])


def _model_artifacts_expression(
    reference: ModelArtifacts, context: DefinitionContext
) -> Expression:
    step = context.step(reference.step)
    if not isinstance(step, TuningStep):
        return get(f"Steps.{reference.step}.ModelArtifacts.S3ModelArtifacts")
    # A tuning step has no model property: like the SDK's TuningStep.get_top_model_s3_uri, build
    # the best job's model location from the output path and the top job's name.
    best_job_name = get(f"Steps.{step.name}.TrainingJobSummaries[0].TrainingJobName")
    return join("/", [*output_path_parts(step, context), best_job_name, MODEL_ARCHIVE_KEY])


def value_expression(value: object, context: DefinitionContext) -> Expression:
    """A constant as is; a reference or a ``Join`` as its expression."""
    if isinstance(value, Join):
        return join(value.separator, [value_expression(part, context) for part in value.values])
    if isinstance(value, str | int | float | bool):
        return value
    return reference_expression(value, context)  # type: ignore[arg-type]


def string_expression(value: object, context: DefinitionContext) -> Expression:
    """``value`` as a string, where the API takes only strings (arguments, hyperparameters).

    Constants are converted now (``True`` -> ``"true"``, as the SDK's ``ModelTrainer`` does);
    references that may not be strings are wrapped in a one-value join, as the SDK's
    ``PipelineVariable.to_string()`` does.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    if isinstance(value, Join) or _is_string_reference(value, context):
        return value_expression(value, context)
    return join("", [value_expression(value, context)])


def _is_string_reference(value: object, context: DefinitionContext) -> bool:
    if isinstance(value, ParameterRef):
        return context.parameter_type(value.name) is ParameterType.STRING
    return isinstance(value, StepOutput | ModelArtifacts | ModelName | ReviewOutcome)


def string_map(values: Mapping[str, object], context: DefinitionContext) -> dict[str, Expression]:
    """A string-valued mapping (environment, hyperparameters), keys sorted for stable output."""
    return {key: string_expression(values[key], context) for key in sorted(values)}


def default_location(context: DefinitionContext, *keys: str) -> Expression:
    """``<artifact_root>/<execution id>/<keys...>``: one per execution, like the SDK's defaults."""
    return join("/", [context.artifact_root, EXECUTION_ID, *keys])


def output_path_parts(step: TuningStep, context: DefinitionContext) -> list[Expression]:
    """The output path of a tuning step's jobs as values of a ``/`` join."""
    path = step.output_path
    if path is None:
        return [context.artifact_root, EXECUTION_ID, *job_output_keys(step.name)]
    if isinstance(path, str):
        return [path.rstrip("/")]
    if isinstance(path, Join) and path.separator == "/":
        return [value_expression(part, context) for part in path.values]
    return [value_expression(path, context)]


# --- Conditions ------------------------------------------------------------------------------


def condition_list(condition: Condition, context: DefinitionContext) -> list[Expression]:
    """The ``Conditions`` of a condition step: a list the service ANDs together."""
    if isinstance(condition, And):
        return [item for child in condition.conditions for item in condition_list(child, context)]
    return [condition_expression(condition, context)]


def condition_expression(condition: Condition, context: DefinitionContext) -> Expression:
    """One condition; the definition has no ``And`` or ``NotEquals``, so they are rewritten."""
    if isinstance(condition, Comparison):
        return _comparison_expression(condition, context)
    if isinstance(condition, Not):
        return negation(condition_expression(condition.condition, context))
    if isinstance(condition, Or):
        return {
            "Type": "Or",
            "Conditions": [condition_expression(child, context) for child in condition.conditions],
        }
    # And(a, b) == Not(Or(Not(a), Not(b))): the only conjunction the definition has is the
    # top-level list, which a nested And cannot use.
    negated = [negation(condition_expression(child, context)) for child in condition.conditions]
    return negation({"Type": "Or", "Conditions": negated})


def negation(condition: Expression) -> Expression:
    """``Not`` of a condition expression."""
    return {"Type": "Not", "Condition": condition}


def _comparison_expression(comparison: Comparison, context: DefinitionContext) -> Expression:
    operator = comparison.operator
    comparison_type = _COMPARISON_TYPES.get(operator, "Equals")
    expression = {
        "Type": comparison_type,
        "LeftValue": operand_expression(comparison.left, context),
        "RightValue": operand_expression(comparison.right, context),
    }
    if operator is ComparisonOperator.NOT_EQUAL:
        return negation(expression)
    return expression


def operand_expression(operand: Operand, context: DefinitionContext) -> Expression:
    """A value a comparison reads: a constant, a parameter, a property file value or a metric."""
    return value_expression(operand, context)
