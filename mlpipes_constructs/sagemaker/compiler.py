"""Compile a pipeline spec into a SageMaker Pipelines definition (schema version 2020-12-01).

The definition has the shape the sagemaker SDK's ``Pipeline.definition()`` writes: parameters,
then the steps in declaration order, with each condition step's branches nested in its
``IfSteps``/``ElseSteps``. It is a pure function of its inputs: no timestamps, generated names
or tags, and mappings written with sorted keys, so a template changes only when the spec does.

Processing code runs the way :mod:`mlpipes_constructs.compile.job_code` describes: each
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

A human review step becomes a ``Callback`` step (the SDK's ``CallbackStep``) that sends its
arguments to ``callback_queue_url`` and has one String output parameter, ``outcome``, which
``ReviewOutcome`` reads (see :mod:`._review_step`). SageMaker Pipelines does not take a review
step's ``timeout_seconds``: the flow definition's task lifetime bounds the wait.

Names too long for SageMaker (64 characters for steps, 63 for endpoints and configurations)
keep their start and end with a hash of the full name. A step named like the ``EndpointConfig``
step of an endpoint step is refused, naming both steps.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from mlpipes_constructs.compile import CompileError, JobContext, JobPlacement, StepDispatch
from mlpipes_constructs.compile import requests as sagemaker_requests
from mlpipes_constructs.compile.tracking import Tracking, tracking_environment
from mlpipes_constructs.sagemaker._definition_refs import (
    DefinitionContext,
    DefinitionRenderer,
    Expression,
    condition_list,
)
from mlpipes_constructs.sagemaker._definition_steps import (
    config_step_name,
    endpoint_arguments,
    endpoint_config_arguments,
    fail_arguments,
    property_files,
)
from mlpipes_constructs.sagemaker._review_step import (
    callback_arguments,
    callback_step_body,
    check_review_step,
)
from mlpipes_constructs.spec import (
    ConditionStep,
    CreateModelStep,
    EndpointStep,
    FailStep,
    HumanReviewStep,
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

ORCHESTRATOR = "SageMaker Pipelines"
#: The execution's ARN, which ties a job's MLflow run to the execution.
EXECUTION_ARN = {"Get": "Execution.PipelineExecutionArn"}
#: Schema version of the pipeline definition format.
DEFINITION_VERSION = "2020-12-01"


def compile_pipeline_definition(
    pipeline: Pipeline,
    *,
    role_arn: str,
    artifact_root: str,
    code_locations: Mapping[str, str],
    kms_key_id: str | None = None,
    placement: JobPlacement | None = None,
    callback_queue_url: str | None = None,
    tracking: Tracking | None = None,
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
        callback_queue_url: URL of the SQS queue the callback steps of human review steps
            send their messages to (opaque text: it may be a CDK token). Default: none;
            required when the spec has human review steps.
        tracking: the MLflow server every processing and training job logs to, with the
            pipeline execution's ARN as its run's execution id. Default: no tracking.

    Raises:
        CompileError: a processing step's ``code`` has no entry in ``code_locations``, a step
            has the name of the ``EndpointConfig`` step an endpoint step compiles to, or a
            request breaks a SageMaker rule (naming the step and the field), a review step
            sets ``timeout_seconds``, or the spec has review steps and no
            ``callback_queue_url``.
        UnsupportedStepError: a step is of a kind the compiler does not handle.
    """
    for step in pipeline.steps:
        STEP_DISPATCH.handler(step)
    _check_derived_step_names(pipeline)
    _check_code_locations(pipeline, code_locations)
    _check_review_steps(pipeline, callback_queue_url)
    context = DefinitionContext(pipeline, artifact_root.rstrip("/"))
    compiler = _StepCompiler(
        JobContext(
            role_arn,
            kms_key_id,
            placement,
            environment=tracking_environment(
                tracking,
                pipeline_name=pipeline.name,
                orchestrator=ORCHESTRATOR,
                execution_id=EXECUTION_ARN,
            ),
        ),
        DefinitionRenderer(context, code_locations),
        callback_queue_url,
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
        self, job: JobContext, render: DefinitionRenderer, callback_queue_url: str | None
    ) -> None:
        self._job = job
        self._render = render
        self._callback_queue_url = callback_queue_url
        self._pipeline = render.context.pipeline

    def step_requests(self, step: Step) -> list[dict[str, Expression]]:
        """The definition steps of one spec step: two for an endpoint step, else one."""
        return STEP_DISPATCH.handler(step)(self, step)

    def _single(self, step: Step, step_type: str, arguments: Expression) -> list[Expression]:
        request = _request(
            step.name,
            step_type,
            arguments,
            depends_on=step.depends_on,
            display_name=step.display_name,
            description=step.description,
        )
        if isinstance(step, ProcessingStep) and step.property_files:
            request["PropertyFiles"] = property_files(step)
        return [request]

    def processing(self, step: Step) -> list[Expression]:
        assert isinstance(step, ProcessingStep)
        arguments = sagemaker_requests.processing_job(step, self._job, self._render)
        return self._single(step, "Processing", arguments)

    def training(self, step: Step) -> list[Expression]:
        assert isinstance(step, TrainingStep)
        arguments = sagemaker_requests.training_job(step, self._job, self._render)
        return self._single(step, "Training", arguments)

    def tuning(self, step: Step) -> list[Expression]:
        assert isinstance(step, TuningStep)
        arguments = sagemaker_requests.tuning_job(step, self._job, self._render)
        return self._single(step, "Tuning", arguments)

    def condition(self, step: Step) -> list[Expression]:
        assert isinstance(step, ConditionStep)
        arguments = {
            "Conditions": condition_list(step.condition, self._render.context),
            "IfSteps": self._branch(step.if_steps),
            "ElseSteps": self._branch(step.else_steps),
        }
        return self._single(step, "Condition", arguments)

    def register_model(self, step: Step) -> list[Expression]:
        assert isinstance(step, RegisterModelStep)
        arguments = sagemaker_requests.model_package(step, self._render)
        return self._single(step, "RegisterModel", arguments)

    def create_model(self, step: Step) -> list[Expression]:
        assert isinstance(step, CreateModelStep)
        arguments = sagemaker_requests.model(step, self._job, self._render)
        return self._single(step, "Model", arguments)

    def transform(self, step: Step) -> list[Expression]:
        assert isinstance(step, TransformStep)
        arguments = sagemaker_requests.transform_job(step, self._job, self._render)
        return self._single(step, "Transform", arguments)

    def endpoint(self, step: Step) -> list[Expression]:
        assert isinstance(step, EndpointStep)
        config = _request(
            config_step_name(step),
            "EndpointConfig",
            endpoint_config_arguments(step, self._job, self._render),
            depends_on=step.depends_on,
        )
        endpoint = _request(
            step.name,
            "Endpoint",
            endpoint_arguments(step, self._render.context),
            display_name=step.display_name,
            description=step.description,
        )
        return [config, endpoint]

    def fail(self, step: Step) -> list[Expression]:
        assert isinstance(step, FailStep)
        return self._single(step, "Fail", fail_arguments(step, self._render.context))

    def human_review(self, step: Step) -> list[Expression]:
        assert isinstance(step, HumanReviewStep) and self._callback_queue_url is not None
        arguments = callback_arguments(step, self._render, self._pipeline.name)
        [request] = self._single(step, "Callback", arguments)
        request.update(callback_step_body(self._callback_queue_url))
        return [request]

    def _branch(self, names: tuple[str, ...]) -> list[Expression]:
        return [
            request for name in names for request in self.step_requests(self._pipeline.step(name))
        ]


_Handler = Callable[[_StepCompiler, Step], list[Expression]]

#: The definition steps of each step kind; a kind missing here is refused, naming it.
STEP_DISPATCH: StepDispatch[_Handler] = StepDispatch(
    ORCHESTRATOR,
    {
        ProcessingStep: _StepCompiler.processing,
        TrainingStep: _StepCompiler.training,
        TuningStep: _StepCompiler.tuning,
        ConditionStep: _StepCompiler.condition,
        RegisterModelStep: _StepCompiler.register_model,
        CreateModelStep: _StepCompiler.create_model,
        TransformStep: _StepCompiler.transform,
        EndpointStep: _StepCompiler.endpoint,
        FailStep: _StepCompiler.fail,
        HumanReviewStep: _StepCompiler.human_review,
    },
)


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
        raise CompileError("; ".join(clashes), field="name")


def _check_review_steps(pipeline: Pipeline, callback_queue_url: str | None) -> None:
    reviews = [step for step in pipeline.steps if isinstance(step, HumanReviewStep)]
    for step in reviews:
        check_review_step(step, ORCHESTRATOR)
    if reviews and callback_queue_url is None:
        names = ", ".join(f"'{step.name}'" for step in reviews)
        raise CompileError(
            f"callback_queue_url is required: human review steps ({names}) send their callback "
            "messages to an SQS queue; pass its URL",
            field="callback_queue_url",
            orchestrator=ORCHESTRATOR,
        )


def _check_code_locations(pipeline: Pipeline, code_locations: Mapping[str, str]) -> None:
    missing = [
        f"step '{step.name}' runs code '{step.code}'"
        for step in pipeline.steps
        if isinstance(step, ProcessingStep) and step.code not in code_locations
    ]
    if missing:
        known = ", ".join(f"'{code}'" for code in code_locations) or "none"
        raise CompileError(
            f"code_locations has no S3 URI for {'; '.join(missing)}; pass the S3 URI of each "
            f"code directory's zip keyed by the step's code value (given keys: {known})",
            field="code_locations",
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
