"""Compile a pipeline spec into a SageMaker Pipelines definition (schema version 2020-12-01).

The definition has the shape the sagemaker SDK's ``Pipeline.definition()`` writes: parameters,
then the steps in declaration order, with each condition step's branches nested in its
``IfSteps``/``ElseSteps``. It is a pure function of its inputs: no timestamps, generated names
or tags, and mappings written with sorted keys, so a template changes only when the spec does.

Processing code runs the way :mod:`mlpipes_constructs._internal.job_code` describes: each
step's ``code`` directory is a zip on S3 (``code_locations``), downloaded by the ``code`` input
and unpacked by the container entrypoint. Outputs without a destination go to
``<artifact_root>/<execution id>/<step>/...``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mlpipes_constructs.sagemaker._definition_refs import (
    DefinitionContext,
    Expression,
    condition_list,
)
from mlpipes_constructs.sagemaker._definition_steps import (
    JobSettings,
    create_model_arguments,
    fail_arguments,
    processing_arguments,
    property_files,
    register_model_arguments,
    training_arguments,
    transform_arguments,
    tuning_arguments,
)
from mlpipes_constructs.spec import (
    ConditionStep,
    CreateModelStep,
    EndpointStep,
    FailStep,
    Parameter,
    ParameterType,
    Pipeline,
    ProcessingStep,
    RegisterModelStep,
    Step,
    TrainingStep,
    TransformStep,
    TuningStep,
)

#: Schema version of the pipeline definition format.
DEFINITION_VERSION = "2020-12-01"

#: The SageMaker step ``Type`` of each kind of spec step the compiler supports.
STEP_TYPES: Mapping[type[Step], str] = {
    ProcessingStep: "Processing",
    TrainingStep: "Training",
    TuningStep: "Tuning",
    ConditionStep: "Condition",
    RegisterModelStep: "RegisterModel",
    CreateModelStep: "Model",
    TransformStep: "Transform",
    FailStep: "Fail",
}


@dataclass(frozen=True)
class JobNetwork:
    """The VPC the pipeline's jobs (and the models it creates) run in.

    Attributes:
        subnet_ids: Private subnets of the jobs.
        security_group_ids: Security groups of the jobs.
        enable_inter_container_traffic_encryption: Encrypt traffic between the instances of
            a distributed job. Default: ``True``.
    """

    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    enable_inter_container_traffic_encryption: bool = True


class UnsupportedStepError(ValueError):
    """A step of the spec has no SageMaker Pipelines equivalent in this compiler."""


def compile_pipeline_definition(
    pipeline: Pipeline,
    *,
    role_arn: str,
    artifact_root: str,
    code_locations: Mapping[str, str],
    kms_key_id: str | None = None,
    network: JobNetwork | None = None,
) -> dict[str, Any]:
    """The SageMaker pipeline definition of ``pipeline``, as a JSON-ready dict.

    Args:
        pipeline: The validated pipeline spec.
        role_arn: ARN of the role the jobs run as and models are created with. May be a CDK
            token string: it is copied as opaque text.
        artifact_root: S3 prefix of default output locations, e.g.
            ``s3://bucket/pipelines/name`` (opaque text; a trailing ``/`` is dropped).
        code_locations: For each ``code`` value of the processing steps, exactly as written in
            the spec, the S3 URI of that directory's zip.
        kms_key_id: KMS key (ARN or id) for job volumes and outputs. Default: the service's
            default encryption (no ``KmsKeyId``/``VolumeKmsKeyId`` in the jobs).
        network: VPC of the jobs and models. Default: no VPC (SageMaker-managed network).

    Raises:
        UnsupportedStepError: the pipeline has a step kind SageMaker Pipelines cannot run
            (an :class:`~mlpipes_constructs.spec.EndpointStep`).
        ValueError: a processing step's ``code`` has no entry in ``code_locations``.
    """
    _check_supported(pipeline)
    _check_code_locations(pipeline, code_locations)
    context = DefinitionContext(pipeline, artifact_root.rstrip("/"))
    compiler = _StepCompiler(
        JobSettings(context, role_arn, kms_key_id, network), pipeline, code_locations
    )
    branch_steps = {
        name
        for step in pipeline.steps
        if isinstance(step, ConditionStep)
        for name in (*step.if_steps, *step.else_steps)
    }
    return {
        "Version": DEFINITION_VERSION,
        "Metadata": {},
        "Parameters": [_parameter(parameter) for parameter in pipeline.parameters],
        "Steps": [
            compiler.step_request(step) for step in pipeline.steps if step.name not in branch_steps
        ],
    }


def definition_to_json(definition: Mapping[str, Any]) -> str:
    """The definition as compact JSON, keys in the order built (deterministic)."""
    return json.dumps(definition, separators=(",", ":"), sort_keys=False)


def pipeline_step_types(definition: Mapping[str, Any]) -> frozenset[str]:
    """The step ``Type`` values a definition uses, including steps in condition branches."""
    return frozenset(step["Type"] for step in _all_steps(definition["Steps"]))


def definition_s3_uris(definition: Mapping[str, Any]) -> tuple[str, ...]:
    """The literal ``s3://`` URIs anywhere in a definition, sorted, without duplicates.

    Run-time expressions (parameters, step properties, joins with the execution id) are not
    literal URIs; their constant parts (such as the artifact root) are included.
    """
    return tuple(sorted({text for text in _strings(definition) if text.startswith("s3://")}))


# --- Steps ---------------------------------------------------------------------------------------


class _StepCompiler:
    """Builds step requests, nesting condition branches into their condition steps."""

    def __init__(
        self, job: JobSettings, pipeline: Pipeline, code_locations: Mapping[str, str]
    ) -> None:
        self._job = job
        self._pipeline = pipeline
        self._code_locations = code_locations

    def step_request(self, step: Step) -> dict[str, Expression]:
        request: dict[str, Expression] = {
            "Name": step.name,
            "Type": _step_type(step),
            "Arguments": self._arguments(step),
        }
        if step.depends_on:
            # As the SDK does: every explicit dependency, in order, without duplicates.
            request["DependsOn"] = list(dict.fromkeys(step.depends_on))
        if step.display_name:
            request["DisplayName"] = step.display_name
        if step.description:
            request["Description"] = step.description
        if isinstance(step, ProcessingStep) and step.property_files:
            request["PropertyFiles"] = property_files(step)
        return request

    def _arguments(self, step: Step) -> Expression:
        job = self._job
        if isinstance(step, ProcessingStep):
            return processing_arguments(step, self._code_locations[step.code], job)
        if isinstance(step, TrainingStep):
            return training_arguments(step, job)
        if isinstance(step, TuningStep):
            return tuning_arguments(step, job)
        if isinstance(step, ConditionStep):
            return {
                "Conditions": condition_list(step.condition, job.context),
                "IfSteps": self._branch(step.if_steps),
                "ElseSteps": self._branch(step.else_steps),
            }
        if isinstance(step, RegisterModelStep):
            return register_model_arguments(step, job)
        if isinstance(step, CreateModelStep):
            return create_model_arguments(step, job)
        if isinstance(step, TransformStep):
            return transform_arguments(step, job)
        if isinstance(step, FailStep):
            return fail_arguments(step, job.context)
        raise _unsupported([step])

    def _branch(self, names: tuple[str, ...]) -> list[Expression]:
        return [self.step_request(self._pipeline.step(name)) for name in names]


def _step_type(step: Step) -> str:
    for step_class, step_type in STEP_TYPES.items():
        if isinstance(step, step_class):
            return step_type
    raise _unsupported([step])


def _parameter(parameter: Parameter) -> dict[str, Expression]:
    default = parameter.default
    if parameter.type is ParameterType.FLOAT:
        default = float(default)
    return {"Name": parameter.name, "Type": parameter.type.value, "DefaultValue": default}


# --- Checks ----------------------------------------------------------------------------------


def _check_supported(pipeline: Pipeline) -> None:
    unsupported = [step for step in pipeline.steps if not isinstance(step, tuple(STEP_TYPES))]
    if unsupported:
        raise _unsupported(unsupported)


def _unsupported(steps: list[Step]) -> UnsupportedStepError:
    problems = []
    for step in steps:
        if isinstance(step, EndpointStep):
            problems.append(
                f"step '{step.name}' is an endpoint step, which SageMaker Pipelines cannot "
                "compile here: register the model (RegisterModelStep) and deploy it when the "
                "model package is approved in the model registry (an EventBridge rule on "
                "'SageMaker Model Package State Change'), or run the pipeline on Step Functions"
            )
        else:
            problems.append(
                f"step '{step.name}' is a {type(step).__name__}, which the SageMaker "
                f"Pipelines compiler does not support; supported: "
                f"{', '.join(cls.__name__ for cls in STEP_TYPES)}"
            )
    return UnsupportedStepError("; ".join(problems))


def _check_code_locations(pipeline: Pipeline, code_locations: Mapping[str, str]) -> None:
    missing = [
        f"step '{step.name}' runs code '{step.code}'"
        for step in pipeline.steps
        if isinstance(step, ProcessingStep) and step.code not in code_locations
    ]
    if missing:
        known = ", ".join(f"'{code}'" for code in code_locations) or "none"
        raise ValueError(
            f"code_locations has no S3 URI for {'; '.join(missing)}; pass the S3 URI of each "
            f"code directory's zip keyed by the step's code value (given keys: {known})"
        )


# --- Walking a definition ------------------------------------------------------------------------


def _all_steps(steps: list[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for step in steps:
        yield step
        if step["Type"] == "Condition":
            yield from _all_steps(step["Arguments"].get("IfSteps", []))
            yield from _all_steps(step["Arguments"].get("ElseSteps", []))


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
