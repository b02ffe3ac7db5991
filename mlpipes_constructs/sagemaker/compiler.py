"""Compile a pipeline spec into a SageMaker Pipelines definition (schema version 2020-12-01).

The definition has the shape the sagemaker SDK's ``Pipeline.definition()`` writes: parameters,
then the steps in declaration order, with each condition step's branches nested in its
``IfSteps``/``ElseSteps``. It is a pure function of its inputs: no timestamps, generated names
or tags, and mappings written with sorted keys, so a template changes only when the spec does.

Processing code runs the way :mod:`mlpipes_constructs._internal.job_code` describes: each
step's ``code`` directory is a zip on S3 (``code_locations``), downloaded by the ``code`` input
and unpacked by the container entrypoint. Outputs without a destination go to
``<artifact_root>/<execution id>/<step>/...``.

An endpoint step becomes two steps, as the SDK's ``EndpointConfigStep`` and ``EndpointStep``
write them, in the same place (top level or branch):

* ``<step>-Config`` (type ``EndpointConfig``): creates the endpoint configuration
  ``<pipeline>-<step>-<execution id>`` (lowercased), a new one in each execution, with one
  production variant ``AllTraffic`` (the model, instance type and count) and the pipeline's KMS
  key for the storage volumes (left out for instance types with local NVMe storage only, which
  refuse it). It has the spec step's ``depends_on``.
* ``<step>`` (type ``Endpoint``): creates the endpoint, or updates it when it exists, with the
  configuration its ``EndpointConfig`` step created (a property reference, so it runs after
  it). It has the spec step's display name and description; steps that depend on the spec step
  depend on it. Without ``endpoint_name`` the endpoint is ``<pipeline>-<step>``, lowercased.

Names too long for SageMaker (64 characters for steps, 63 for endpoints and configurations)
keep their start and end with a hash of the full name. A step named like the ``EndpointConfig``
step of an endpoint step is refused, naming both steps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from mlpipes_constructs.compile import JobPlacement
from mlpipes_constructs.sagemaker._definition_refs import (
    DefinitionContext,
    Expression,
    condition_list,
)
from mlpipes_constructs.sagemaker._definition_steps import (
    JobSettings,
    config_step_name,
    create_model_arguments,
    endpoint_arguments,
    endpoint_config_arguments,
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

#: The SageMaker step ``Type`` values each kind of spec step compiles to, in definition order.
STEP_TYPES: Mapping[type[Step], tuple[str, ...]] = {
    ProcessingStep: ("Processing",),
    TrainingStep: ("Training",),
    TuningStep: ("Tuning",),
    ConditionStep: ("Condition",),
    RegisterModelStep: ("RegisterModel",),
    CreateModelStep: ("Model",),
    TransformStep: ("Transform",),
    EndpointStep: ("EndpointConfig", "Endpoint"),
    FailStep: ("Fail",),
}


def compile_pipeline_definition(
    pipeline: Pipeline,
    *,
    role_arn: str,
    artifact_root: str,
    code_locations: Mapping[str, str],
    kms_key_id: str | None = None,
    placement: JobPlacement | None = None,
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
        placement: VPC placement of the jobs and models. Default: no VPC (a SageMaker-managed
            network).

    Raises:
        ValueError: a processing step's ``code`` has no entry in ``code_locations``, or a step
            has the name of the ``EndpointConfig`` step an endpoint step compiles to.
        TypeError: a step is of a kind the compiler does not know (a ``Step`` subclass
            defined outside :mod:`mlpipes_constructs.spec`).
    """
    _check_kinds(pipeline)
    _check_derived_step_names(pipeline)
    _check_code_locations(pipeline, code_locations)
    context = DefinitionContext(pipeline, artifact_root.rstrip("/"))
    compiler = _StepCompiler(
        JobSettings(context, role_arn, kms_key_id, placement), pipeline, code_locations
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
            request
            for step in pipeline.steps
            if step.name not in branch_steps
            for request in compiler.step_requests(step)
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

    def step_requests(self, step: Step) -> list[dict[str, Expression]]:
        """The definition steps of one spec step: two for an endpoint step, else one."""
        if isinstance(step, EndpointStep):
            config = _request(
                config_step_name(step),
                "EndpointConfig",
                endpoint_config_arguments(step, self._job),
                depends_on=step.depends_on,
            )
            endpoint = _request(
                step.name,
                "Endpoint",
                endpoint_arguments(step, self._job.context),
                display_name=step.display_name,
                description=step.description,
            )
            return [config, endpoint]
        (step_type,) = _step_types(step)
        request = _request(
            step.name,
            step_type,
            self._arguments(step),
            depends_on=step.depends_on,
            display_name=step.display_name,
            description=step.description,
        )
        if isinstance(step, ProcessingStep) and step.property_files:
            request["PropertyFiles"] = property_files(step)
        return [request]

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
        assert isinstance(step, FailStep)  # _check_kinds let no other kind through
        return fail_arguments(step, job.context)

    def _branch(self, names: tuple[str, ...]) -> list[Expression]:
        return [
            request for name in names for request in self.step_requests(self._pipeline.step(name))
        ]


def _step_types(step: Step) -> tuple[str, ...]:
    for step_class, step_types in STEP_TYPES.items():
        if isinstance(step, step_class):
            return step_types
    return ()


def _request(
    name: str,
    step_type: str,
    arguments: Expression,
    *,
    depends_on: tuple[str, ...] = (),
    display_name: str | None = None,
    description: str | None = None,
) -> dict[str, Expression]:
    request: dict[str, Expression] = {"Name": name, "Type": step_type, "Arguments": arguments}
    if depends_on:
        # As the SDK does: every explicit dependency, in order, without duplicates.
        request["DependsOn"] = list(dict.fromkeys(depends_on))
    if display_name:
        request["DisplayName"] = display_name
    if description:
        request["Description"] = description
    return request


def _parameter(parameter: Parameter) -> dict[str, Expression]:
    default = parameter.default
    if parameter.type is ParameterType.FLOAT:
        default = float(default)
    return {"Name": parameter.name, "Type": parameter.type.value, "DefaultValue": default}


# --- Checks ----------------------------------------------------------------------------------


def _check_kinds(pipeline: Pipeline) -> None:
    unknown = [step for step in pipeline.steps if not _step_types(step)]
    if unknown:
        raise TypeError(
            "; ".join(
                f"step '{step.name}' is a {type(step).__name__}, which the SageMaker Pipelines "
                f"compiler does not know; it compiles {', '.join(c.__name__ for c in STEP_TYPES)}"
                for step in unknown
            )
        )


def _check_derived_step_names(pipeline: Pipeline) -> None:
    # Compared ignoring case, as the spec compares step names.
    names = {step.name.lower(): step.name for step in pipeline.steps}
    clashes = [
        f"endpoint step '{step.name}' compiles to an EndpointConfig step named "
        f"'{config_step_name(step)}', which is the name of step "
        f"'{names[config_step_name(step).lower()]}': rename one of the two"
        for step in pipeline.steps
        if isinstance(step, EndpointStep) and config_step_name(step).lower() in names
    ]
    if clashes:
        raise ValueError("; ".join(clashes))


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
