"""The rules a pipeline spec must follow, checked all at once.

:func:`pipeline_problems` returns one message per broken rule; :class:`Pipeline` raises them
together as a :class:`SpecValidationError` when it is constructed. Messages name the field (as a
path such as ``inputs[1].source``), the step and the rule.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, TypeVar

from mlpipes_constructs.spec.conditions import (
    And,
    Comparison,
    ComparisonOperator,
    Condition,
    Not,
    Or,
)
from mlpipes_constructs.spec.graph import dependency_map, find_cycle, references
from mlpipes_constructs.spec.instance_types import is_instance_type, suggest_instance_type
from mlpipes_constructs.spec.naming import (
    LOCAL_NAME_RULE,
    PARAMETER_NAME_RULE,
    RESOURCE_NAME_RULE,
    STEP_NAME_RULE,
    is_local_name,
    is_parameter_name,
    is_resource_name,
    is_step_name,
)
from mlpipes_constructs.spec.parameters import Parameter, ParameterType, default_matches_type
from mlpipes_constructs.spec.reference_kinds import reference_kind_problems
from mlpipes_constructs.spec.references import (
    REVIEW_OUTCOMES,
    JsonValue,
    ModelArtifacts,
    ModelName,
    ParameterRef,
    Reference,
    ReviewOutcome,
    StepOutput,
    TrainingMetric,
    is_json_path,
)
from mlpipes_constructs.spec.steps import (
    ApprovalStatus,
    CategoricalRange,
    ConditionStep,
    CreateModelStep,
    EndpointStep,
    HumanReviewStep,
    ProcessingStep,
    RegisterModelStep,
    Step,
    TrainingJobSettings,
    TrainingStep,
    TransformStep,
    TuningStep,
    TuningStrategy,
)

if TYPE_CHECKING:
    from mlpipes_constructs.spec.pipeline import Pipeline

_Named = TypeVar("_Named", Step, Parameter)

PROCESSING_DIRECTORY = "/opt/ml/processing/"
#: Processing input name the compilers use for the step's code.
RESERVED_INPUT_NAME = "code"

#: SageMaker's list limits (the botocore model's ``max`` of ``ProcessingInputs``,
#: ``ProcessingOutputConfig.Outputs`` and ``InputDataConfig``).
MAX_PROCESSING_INPUTS = 10
MAX_PROCESSING_OUTPUTS = 10
MAX_TRAINING_CHANNELS = 20

#: FlowDefinitionArn (botocore's ``sagemaker-a2i-runtime`` model).
_FLOW_DEFINITION_ARN = re.compile(
    r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:flow-definition/[a-z0-9](-*[a-z0-9])*"
)
#: Names ``task.input`` always has, which ``inputs`` must not reuse.
RESERVED_REVIEW_INPUTS = ("pipeline_execution", "step", "report_uri", "metrics")
_REVIEW_INPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_ANSWER_FIELD = re.compile(r"[A-Za-z0-9_-]{1,128}")
#: Seconds: from a minute to A2I's longest task lifetime (10 days).
REVIEW_TIMEOUT_RANGE = (60, 864_000)
#: Seconds between two DescribeHumanLoop calls: 10 seconds to an hour.
REVIEW_POLL_INTERVAL_RANGE = (10, 3_600)
_S3_URI = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?")
_INSTANCE_TYPE_FIELDS = ("instance_type",)
_INSTANCE_TYPE_LIST_FIELDS = ("inference_instance_types", "transform_instance_types")
_POSITIVE_FIELDS = (
    "instance_count",
    "initial_instance_count",
    "volume_size_gb",
    "max_runtime_seconds",
    "max_wait_seconds",
    "max_jobs",
    "max_parallel_jobs",
)


@dataclass(frozen=True)
class _Context:
    """What the checks of one step need to know about the rest of the pipeline."""

    steps: Mapping[str, Step]
    parameters: Mapping[str, Parameter]


def pipeline_problems(pipeline: Pipeline) -> list[str]:
    """Every rule ``pipeline`` breaks, one message each; empty when it is valid."""
    context = _Context(
        steps=_first_by_name(pipeline.steps), parameters=_first_by_name(pipeline.parameters)
    )
    problems = [
        *_pipeline_level_problems(pipeline),
        *_parameter_problems(pipeline.parameters),
        *_step_name_problems(pipeline.steps),
    ]
    for step in pipeline.steps:
        problems.extend(_step_problems(step, context))
    problems.extend(_branch_problems(pipeline.steps, context))
    problems.extend(_cycle_problems(pipeline.steps))
    return problems


def _first_by_name(items: Iterable[_Named]) -> dict[str, _Named]:
    by_name: dict[str, _Named] = {}
    for item in items:
        by_name.setdefault(item.name, item)
    return by_name


def _suggestion(name: str, candidates: Iterable[str]) -> str:
    matches = difflib.get_close_matches(name, list(candidates), n=1)
    return f"; did you mean '{matches[0]}'?" if matches else ""


def _quoted(names: Iterable[str]) -> str:
    listed = ", ".join(f"'{name}'" for name in names)
    return listed or "none"


# --- Pipeline, parameters and step names --------------------------------------------------------


def _pipeline_level_problems(pipeline: Pipeline) -> Iterator[str]:
    if not is_step_name(pipeline.name):
        yield f"pipeline name '{pipeline.name}' is invalid; {STEP_NAME_RULE}"
    if not pipeline.steps:
        yield f"pipeline '{pipeline.name}' has no steps"


def _parameter_problems(parameters: Sequence[Parameter]) -> Iterator[str]:
    for name, count in Counter(p.name for p in parameters).items():
        if count > 1:
            yield f"parameter name '{name}' is used by more than one parameter"
    for parameter in parameters:
        if not is_parameter_name(parameter.name):
            yield f"parameter name '{parameter.name}' is invalid; {PARAMETER_NAME_RULE}"
        if not default_matches_type(parameter):
            yield (
                f"default {parameter.default!r} of parameter '{parameter.name}' "
                f"is not of type {parameter.type.value}"
            )


def _step_name_problems(steps: Sequence[Step]) -> Iterator[str]:
    seen: dict[str, str] = {}
    for step in steps:
        if not is_step_name(step.name):
            yield f"step name '{step.name}' is invalid; {STEP_NAME_RULE}"
        earlier = seen.get(step.name.lower())
        if earlier is None:
            seen[step.name.lower()] = step.name
        elif earlier == step.name:
            yield f"step name '{step.name}' is used by more than one step"
        else:
            yield (
                f"step name '{step.name}' collides with step '{earlier}'; "
                "step names must be unique ignoring case"
            )


# --- Checks of one step -----------------------------------------------------------------------


def _step_problems(step: Step, context: _Context) -> Iterator[str]:
    where = f"of step '{step.name}'"
    for dependency in step.depends_on:
        if dependency not in context.steps:
            yield (
                f"depends_on {where} names unknown step '{dependency}'"
                + _suggestion(dependency, context.steps)
            )
    for path, reference in references(step):
        yield from _reference_problems(f"{path} {where}", reference, context)
    yield from reference_kind_problems(step, where)
    yield from _instance_problems(step, where, context)
    kind_checks = _KIND_CHECKS.get(type(step), ())
    for check in kind_checks:
        yield from check(step, where, context)


def _reference_problems(where: str, reference: Reference, context: _Context) -> Iterator[str]:
    if isinstance(reference, ParameterRef):
        if reference.name not in context.parameters:
            yield (
                f"{where} refers to unknown parameter '{reference.name}'"
                + _suggestion(reference.name, context.parameters)
            )
        return
    target = context.steps.get(reference.step)
    if target is None:
        yield (
            f"{where} refers to unknown step '{reference.step}'"
            + _suggestion(reference.step, context.steps)
        )
        return
    if isinstance(reference, StepOutput):
        yield from _step_output_problems(where, reference, target)
    elif isinstance(reference, JsonValue):
        yield from _json_value_problems(where, reference, target)
    elif isinstance(reference, ModelArtifacts):
        if not isinstance(target, TrainingStep | TuningStep):
            yield (
                f"{where} refers to the model of step '{target.name}', which is a "
                f"{target.kind} step; expected a training or tuning step"
            )
    elif isinstance(reference, TrainingMetric):
        yield from _training_metric_problems(where, reference, target)
    elif isinstance(reference, ReviewOutcome) and not isinstance(target, HumanReviewStep):
        yield (
            f"{where} refers to the decision of step '{target.name}', which is a "
            f"{target.kind} step; expected a human_review step"
        )
    elif isinstance(reference, ModelName) and not isinstance(target, CreateModelStep):
        yield (
            f"{where} refers to the model created by step '{target.name}', which is a "
            f"{target.kind} step; expected a create_model step"
        )


def _step_output_problems(where: str, reference: StepOutput, target: Step) -> Iterator[str]:
    described = f"{where} refers to output '{reference.output}' of step '{target.name}'"
    if not isinstance(target, ProcessingStep):
        yield f"{described}, which is a {target.kind} step; only processing steps have outputs"
    elif reference.output not in {output.name for output in target.outputs}:
        names = _quoted(output.name for output in target.outputs)
        yield f"{described}, which has outputs {names}"


def _json_value_problems(where: str, reference: JsonValue, target: Step) -> Iterator[str]:
    described = (
        f"{where} refers to property file '{reference.property_file}' of step '{target.name}'"
    )
    if not isinstance(target, ProcessingStep):
        yield (
            f"{described}, which is a {target.kind} step; only processing steps have property files"
        )
    elif reference.property_file not in {file.name for file in target.property_files}:
        names = _quoted(file.name for file in target.property_files)
        yield f"{described}, which has property files {names}"
    if not is_json_path(reference.json_path):
        yield (
            f"{where} reads json_path '{reference.json_path}', which is not a json path "
            "such as 'metrics.accuracy.value'"
        )


def _training_metric_problems(where: str, reference: TrainingMetric, target: Step) -> Iterator[str]:
    described = f"{where} refers to metric '{reference.metric}' of step '{target.name}'"
    if not isinstance(target, TrainingStep):
        yield f"{described}, which is a {target.kind} step; expected a training step"
    elif reference.metric not in {metric.name for metric in target.metric_definitions}:
        names = _quoted(metric.name for metric in target.metric_definitions)
        yield f"{described}, which defines metrics {names}"


def _parameter_default(
    where: str, value: object, expected: ParameterType, context: _Context
) -> tuple[list[str], object]:
    """Problems with a parameter used as a field's value, and its default to check further.

    Unknown parameters are reported by the reference checks, so they yield no problem here.
    """
    if not isinstance(value, ParameterRef):
        return [], value
    parameter = context.parameters.get(value.name)
    if parameter is None:
        return [], None
    if parameter.type is not expected:
        problem = (
            f"{where} refers to parameter '{parameter.name}' of type {parameter.type.value}; "
            f"expected {expected.value}"
        )
        return [problem], None
    return [], parameter.default


def _instance_problems(step: Step, where: str, context: _Context) -> Iterator[str]:
    """Instance types, counts, sizes and limits: the fields every job kind shares by name."""
    names = {field.name for field in fields(step)}
    for name in names.intersection(_INSTANCE_TYPE_FIELDS):
        yield from _instance_type_problems(name, getattr(step, name), where, context)
    for name in names.intersection(_INSTANCE_TYPE_LIST_FIELDS):
        for index, value in enumerate(getattr(step, name)):
            yield from _instance_type_problems(f"{name}[{index}]", value, where, context)
    for name in _POSITIVE_FIELDS:
        if name in names:
            yield from _positive_problems(name, getattr(step, name), where, context)


def _instance_type_problems(
    name: str, value: object, where: str, context: _Context
) -> Iterator[str]:
    problems, resolved = _parameter_default(f"{name} {where}", value, ParameterType.STRING, context)
    yield from problems
    if not isinstance(resolved, str) or is_instance_type(resolved):
        return
    expected = (
        f"is not a SageMaker instance type; expected e.g. '{suggest_instance_type(resolved)}'"
    )
    if isinstance(value, ParameterRef):
        parameter = f"parameter '{value.name}'"
        yield f"{name} {where} refers to {parameter} whose default '{resolved}' {expected}"
    else:
        yield f"{name} '{resolved}' {where} {expected}"


def _positive_problems(name: str, value: object, where: str, context: _Context) -> Iterator[str]:
    problems, resolved = _parameter_default(
        f"{name} {where}", value, ParameterType.INTEGER, context
    )
    yield from problems
    if not isinstance(resolved, int) or resolved >= 1:
        return
    if isinstance(value, ParameterRef):
        parameter = f"parameter '{value.name}'"
        yield f"{name} {where} refers to {parameter} whose default {resolved} is below 1"
    else:
        yield f"{name} {where} must be at least 1, got {resolved}"


def _s3_problems(path: str, value: object, where: str, context: _Context) -> Iterator[str]:
    """An S3 location given as a URI must be one; given as a parameter, a string one."""
    problems, _ = _parameter_default(f"{path} {where}", value, ParameterType.STRING, context)
    yield from problems
    if isinstance(value, str) and not _S3_URI.fullmatch(value):
        yield f"{path} '{value}' {where} is not an S3 URI such as 's3://bucket/prefix'"


def _local_name_problems(field_name: str, names: Sequence[str], where: str) -> Iterator[str]:
    for index, name in enumerate(names):
        if not is_local_name(name):
            yield f"{field_name}[{index}].name '{name}' {where} is invalid; {LOCAL_NAME_RULE}"
    for name, count in Counter(names).items():
        if count > 1:
            yield f"{field_name} {where} use the name '{name}' more than once"


def _is_relative_path(path: str) -> bool:
    normalized = posixpath.normpath(path)
    return bool(path) and not path.startswith("/") and not normalized.startswith("..")


# --- Checks by kind of step ---------------------------------------------------------------------


def _processing_problems(step: Step, where: str, context: _Context) -> Iterator[str]:
    assert isinstance(step, ProcessingStep)
    if not step.code:
        yield f"code {where} must name a local directory"
    if not _is_relative_path(step.entry_point):
        yield f"entry_point '{step.entry_point}' {where} must be a relative path within code"
    yield from _count_problems(step, where)
    yield from _local_name_problems("inputs", [i.name for i in step.inputs], where)
    yield from _local_name_problems("outputs", [o.name for o in step.outputs], where)
    yield from _local_name_problems("property_files", [f.name for f in step.property_files], where)
    for index, item in enumerate(step.inputs):
        if item.name == RESERVED_INPUT_NAME:
            yield f"inputs[{index}].name 'code' {where} is reserved for the step's code"
        yield from _s3_problems(f"inputs[{index}].source", item.source, where, context)
        yield from _container_path_problems(f"inputs[{index}].destination", item.destination, where)
    for index, output in enumerate(step.outputs):
        yield from _container_path_problems(f"outputs[{index}].source", output.source, where)
        yield from _s3_problems(f"outputs[{index}].destination", output.destination, where, context)
    output_names = [output.name for output in step.outputs]
    for index, file in enumerate(step.property_files):
        if file.output_name not in output_names:
            yield (
                f"property_files[{index}].output_name {where} names unknown output "
                f"'{file.output_name}'; outputs are {_quoted(output_names)}"
            )
        if not _is_relative_path(file.path):
            yield (
                f"property_files[{index}].path '{file.path}' {where} must be a file path "
                "relative to the output"
            )


def _count_problems(step: ProcessingStep, where: str) -> Iterator[str]:
    # The compilers add the code as one more processing input, which counts against the limit.
    max_inputs = MAX_PROCESSING_INPUTS - 1 if step.code else MAX_PROCESSING_INPUTS
    if len(step.inputs) > max_inputs:
        reason = (
            f" (SageMaker takes {MAX_PROCESSING_INPUTS} processing inputs, one is the step's code)"
            if step.code
            else ""
        )
        yield (
            f"inputs {where} has {len(step.inputs)} entries; "
            f"at most {max_inputs} are allowed{reason}"
        )
    if len(step.outputs) > MAX_PROCESSING_OUTPUTS:
        yield (
            f"outputs {where} has {len(step.outputs)} entries; "
            f"at most {MAX_PROCESSING_OUTPUTS} are allowed"
        )


def _container_path_problems(path: str, value: str, where: str) -> Iterator[str]:
    normalized = posixpath.normpath(value) + "/"
    if not normalized.startswith(PROCESSING_DIRECTORY) or normalized == PROCESSING_DIRECTORY:
        yield f"{path} '{value}' {where} is not a directory under {PROCESSING_DIRECTORY}"


def _training_job_problems(step: Step, where: str, context: _Context) -> Iterator[str]:
    assert isinstance(step, TrainingJobSettings)
    if (step.image_uri is None) == (step.algorithm_name is None):
        yield f"step '{step.name}' must set exactly one of image_uri and algorithm_name"
    if len(step.channels) > MAX_TRAINING_CHANNELS:
        yield (
            f"channels {where} has {len(step.channels)} entries; "
            f"at most {MAX_TRAINING_CHANNELS} are allowed"
        )
    yield from _local_name_problems("channels", [c.name for c in step.channels], where)
    for index, channel in enumerate(step.channels):
        yield from _s3_problems(f"channels[{index}].source", channel.source, where, context)
    yield from _s3_problems("output_path", step.output_path, where, context)
    for name, count in Counter(m.name for m in step.metric_definitions).items():
        if count > 1:
            yield f"metric_definitions {where} use the name '{name}' more than once"
    for index, metric in enumerate(step.metric_definitions):
        # CreateTrainingJob's MetricName and MetricRegex limits.
        if not 1 <= len(metric.name) <= 255:
            yield (
                f"metric_definitions[{index}].name '{metric.name}' {where} must have 1 to 255 "
                "characters"
            )
        if not 1 <= len(metric.regex) <= 500:
            yield (f"metric_definitions[{index}].regex {where} must have 1 to 500 characters")
        try:
            re.compile(metric.regex)
        except re.error as error:
            yield (
                f"metric_definitions[{index}].regex '{metric.regex}' {where} "
                f"is not a regular expression: {error}"
            )
    yield from _spot_problems(step, where)


def _spot_problems(step: TrainingJobSettings, where: str) -> Iterator[str]:
    if not step.use_spot_instances:
        if step.max_wait_seconds is not None:
            yield f"max_wait_seconds {where} applies only with use_spot_instances=True"
        return
    if step.max_wait_seconds is None:
        yield f"use_spot_instances {where} requires max_wait_seconds"
    elif step.max_runtime_seconds is not None and step.max_wait_seconds < step.max_runtime_seconds:
        yield (
            f"max_wait_seconds {step.max_wait_seconds} {where} is less than "
            f"max_runtime_seconds {step.max_runtime_seconds}"
        )


def _tuning_problems(step: Step, where: str, context: _Context) -> Iterator[str]:
    assert isinstance(step, TuningStep)
    if not step.parameter_ranges:
        yield f"parameter_ranges {where} is empty; tune at least one hyperparameter"
    for name, count in Counter(r.name for r in step.parameter_ranges).items():
        if count > 1:
            yield f"parameter_ranges {where} use the name '{name}' more than once"
    for index, parameter_range in enumerate(step.parameter_ranges):
        described = f"parameter_ranges[{index}] '{parameter_range.name}' {where}"
        if parameter_range.name in step.hyperparameters:
            yield f"{described} is also a static hyperparameter"
        if isinstance(parameter_range, CategoricalRange):
            if not parameter_range.values:
                yield f"{described} has no values"
            continue
        if step.strategy is TuningStrategy.GRID:
            yield (
                f"{described} is a {parameter_range.kind} range; "
                "grid search takes categorical ranges only"
            )
        low, high = parameter_range.min_value, parameter_range.max_value
        if low >= high:
            yield f"{described} has min_value {low} not below max_value {high}"
        if parameter_range.scaling.value.endswith("Logarithmic") and low <= 0:
            yield (
                f"{described} uses {parameter_range.scaling.value} scaling, "
                f"which needs min_value above 0, got {low}"
            )
    if not step.objective_metric:
        yield f"objective_metric {where} is empty"
    if step.max_parallel_jobs > step.max_jobs:
        yield f"max_parallel_jobs {step.max_parallel_jobs} {where} exceeds max_jobs {step.max_jobs}"


def _condition_problems(step: Step, where: str, context: _Context) -> Iterator[str]:
    assert isinstance(step, ConditionStep)
    yield from _empty_condition_problems(step.condition, "condition", where)
    yield from _review_comparison_problems(step.condition, "condition", where)
    for field_name in ("if_steps", "else_steps"):
        for name in getattr(step, field_name):
            if name not in context.steps:
                yield (
                    f"{field_name} {where} names unknown step '{name}'"
                    + _suggestion(name, context.steps)
                )


def _empty_condition_problems(condition: Condition, path: str, where: str) -> Iterator[str]:
    if isinstance(condition, Not):
        yield from _empty_condition_problems(condition.condition, f"{path}.condition", where)
    elif isinstance(condition, And | Or):
        if not condition.conditions:
            yield f"{path} {where} has no conditions"
        for index, child in enumerate(condition.conditions):
            yield from _empty_condition_problems(child, f"{path}.conditions[{index}]", where)


def _review_comparison_problems(condition: Condition, path: str, where: str) -> Iterator[str]:
    """A review's decision is compared for (in)equality with one of the two outcomes."""
    if isinstance(condition, Not):
        yield from _review_comparison_problems(condition.condition, f"{path}.condition", where)
    elif isinstance(condition, And | Or):
        for index, child in enumerate(condition.conditions):
            yield from _review_comparison_problems(child, f"{path}.conditions[{index}]", where)
    elif isinstance(condition, Comparison):
        operands = (condition.left, condition.right)
        if not any(isinstance(operand, ReviewOutcome) for operand in operands):
            return
        other = condition.right if isinstance(condition.left, ReviewOutcome) else condition.left
        equality = (ComparisonOperator.EQUAL, ComparisonOperator.NOT_EQUAL)
        if condition.operator not in equality or other not in REVIEW_OUTCOMES:
            yield (
                f"{path} {where} compares a ReviewOutcome with {condition.operator.value} "
                f"{other!r}; compare it with == or != to "
                f"{' or '.join(repr(outcome) for outcome in REVIEW_OUTCOMES)}"
            )


def _human_review_problems(step: Step, where: str, context: _Context) -> Iterator[str]:
    assert isinstance(step, HumanReviewStep)
    problems, _ = _parameter_default(
        f"flow_definition_arn {where}", step.flow_definition_arn, ParameterType.STRING, context
    )
    yield from problems
    arn = step.flow_definition_arn
    if isinstance(arn, str) and not _FLOW_DEFINITION_ARN.fullmatch(arn):
        yield (
            f"flow_definition_arn '{arn}' {where} is not a flow definition ARN such as "
            "'arn:aws:sagemaker:us-east-1:123456789012:flow-definition/model-review'"
        )
    yield from _s3_problems("report", step.report, where, context)
    if isinstance(step.report, StepOutput) and not step.report.path:
        yield f"report {where} must name a file: set the path of its StepOutput"
    for name in step.metrics:
        if not name or len(name) > 256:
            yield f"metrics {where} has the name {name!r}; use 1 to 256 characters"
    for name in step.inputs:
        if not _REVIEW_INPUT_NAME.fullmatch(name):
            yield (
                f"inputs {where} has the name {name!r}; use 1 to 64 letters, digits and "
                "underscores, starting with a letter or underscore"
            )
        elif name in RESERVED_REVIEW_INPUTS:
            yield (
                f"inputs {where} uses the reserved name '{name}'; task.input already has "
                f"{', '.join(RESERVED_REVIEW_INPUTS)}"
            )
    if not _ANSWER_FIELD.fullmatch(step.approve_field):
        yield (
            f"approve_field '{step.approve_field}' {where} must be 1 to 128 letters, digits, "
            "underscores and hyphens: the name of a field of the task UI's form"
        )
    yield from _range_problems("timeout_seconds", step.timeout_seconds, REVIEW_TIMEOUT_RANGE, where)
    yield from _range_problems(
        "poll_interval_seconds", step.poll_interval_seconds, REVIEW_POLL_INTERVAL_RANGE, where
    )
    if step.timeout_seconds is not None and step.poll_interval_seconds > step.timeout_seconds:
        yield (
            f"poll_interval_seconds {step.poll_interval_seconds} {where} is longer than "
            f"timeout_seconds {step.timeout_seconds}"
        )


def _range_problems(
    name: str, value: int | None, limits: tuple[int, int], where: str
) -> Iterator[str]:
    low, high = limits
    if value is not None and not low <= value <= high:
        yield f"{name} {where} must be from {low} to {high} seconds, got {value}"


def _register_model_problems(step: Step, where: str, context: _Context) -> Iterator[str]:
    assert isinstance(step, RegisterModelStep)
    if not is_resource_name(step.model_package_group_name):
        yield (
            f"model_package_group_name '{step.model_package_group_name}' {where} is invalid; "
            f"{RESOURCE_NAME_RULE}"
        )
    if not step.content_types:
        yield f"content_types {where} is empty; list the MIME types the model accepts"
    if not step.response_types:
        yield f"response_types {where} is empty; list the MIME types the model returns"
    problems, status = _parameter_default(
        f"approval_status {where}", step.approval_status, ParameterType.STRING, context
    )
    yield from problems
    statuses = [status.value for status in ApprovalStatus]
    if isinstance(status, str) and status not in statuses:
        assert isinstance(step.approval_status, ParameterRef)
        yield (
            f"approval_status {where} refers to parameter '{step.approval_status.name}' "
            f"whose default '{status}' is not one of {', '.join(statuses)}"
        )
    if step.metrics_report is not None and not step.metrics_report.path:
        yield f"metrics_report {where} must name a file: set the path of its StepOutput"


def _transform_problems(step: Step, where: str, context: _Context) -> Iterator[str]:
    assert isinstance(step, TransformStep)
    yield from _s3_problems("input_data", step.input_data, where, context)
    yield from _s3_problems("output_path", step.output_path, where, context)


def _endpoint_problems(step: Step, where: str, context: _Context) -> Iterator[str]:
    assert isinstance(step, EndpointStep)
    problems, name = _parameter_default(
        f"endpoint_name {where}", step.endpoint_name, ParameterType.STRING, context
    )
    yield from problems
    if isinstance(name, str) and not is_resource_name(name):
        yield f"endpoint_name '{name}' {where} is invalid; {RESOURCE_NAME_RULE}"


_Check = Callable[[Step, str, _Context], Iterator[str]]
_KIND_CHECKS: Mapping[type[Step], tuple[_Check, ...]] = {
    ProcessingStep: (_processing_problems,),
    TrainingStep: (_training_job_problems,),
    TuningStep: (_training_job_problems, _tuning_problems),
    ConditionStep: (_condition_problems,),
    RegisterModelStep: (_register_model_problems,),
    TransformStep: (_transform_problems,),
    EndpointStep: (_endpoint_problems,),
    HumanReviewStep: (_human_review_problems,),
}


# --- Checks across steps ----------------------------------------------------------------------


def _branch_problems(steps: Sequence[Step], context: _Context) -> Iterator[str]:
    placements: dict[str, list[str]] = {}
    for step in steps:
        if isinstance(step, ConditionStep):
            for field_name in ("if_steps", "else_steps"):
                for name in getattr(step, field_name):
                    placements.setdefault(name, []).append(f"{field_name} of step '{step.name}'")
    for name, places in placements.items():
        if len(places) > 1 and name in context.steps:
            yield f"step '{name}' is in more than one condition branch: {' and '.join(places)}"


def _cycle_problems(steps: Sequence[Step]) -> Iterator[str]:
    cycle = find_cycle(dependency_map(steps))
    if cycle:
        yield f"steps form a cycle: {' -> '.join(cycle)}"
