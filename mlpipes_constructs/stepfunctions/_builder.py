"""Builds the states of a compiled pipeline (see :mod:`.compiler`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from aws_cdk import Aws, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from mlpipes_constructs.compile import JobPlacement
from mlpipes_constructs.compile.job_code import (
    CODE_DIRECTORY,
    CODE_INPUT_NAME,
    processing_entrypoint,
)
from mlpipes_constructs.compile.plan import (
    Branch,
    Item,
    Parallel,
    PlanError,
    first_step,
    plan,
)
from mlpipes_constructs.compile.rules import (
    has_instance_storage_only,
    training_max_runtime,
)
from mlpipes_constructs.spec import (
    ApprovalStatus,
    CategoricalRange,
    ConditionStep,
    ContinuousRange,
    CreateModelStep,
    EndpointStep,
    FailStep,
    Join,
    JsonValue,
    ModelArtifacts,
    ModelName,
    Operand,
    ParameterRef,
    Pipeline,
    ProcessingStep,
    RegisterModelStep,
    Step,
    StepOutput,
    TrainingJobSettings,
    TrainingMetric,
    TrainingStep,
    TransformStep,
    TuningStep,
)
from mlpipes_constructs.spec.graph import references
from mlpipes_constructs.stepfunctions import naming
from mlpipes_constructs.stepfunctions._api_task import (
    DESCRIBE_ENDPOINT,
    ENDPOINT,
    ENDPOINT_CONFIG,
    MODEL,
    PROCESSING_JOB,
    TRAINING_JOB,
    TRANSFORM_JOB,
    UPDATE_ENDPOINT,
    SageMakerApi,
    SageMakerApiTask,
)
from mlpipes_constructs.stepfunctions._asl import (
    Expr,
    Value,
    concat,
    field,
    fields,
    json_path,
    state_name,
    text_list,
)
from mlpipes_constructs.stepfunctions._conditions import ConditionError, choice_condition
from mlpipes_constructs.stepfunctions._task_base import sagemaker_arn
from mlpipes_constructs.stepfunctions.tuning_job import SageMakerCreateHyperParameterTuningJob

RUN_ROOT = "$.run.root"
RUN_NAME = "$.run.name"
FAIL_STATE = "Pipeline.Failed"
#: The error of an execution a step failed (the step's own error is in the cause: a Fail state
#: may not re-raise ``States.*`` error names).
STEP_FAILED_ERROR = "PipelineStepFailed"
#: Errors DescribeEndpoint raises through the SDK integration when there is no endpoint of that
#: name (SageMaker answers with a ValidationException, which the integration names generically).
ENDPOINT_MISSING_ERRORS: tuple[str, ...] = (
    "SageMaker.SageMakerException",
    "SageMaker.AmazonSageMakerException",
)
#: How long the state machine waits between checks of a deploying endpoint.
ENDPOINT_POLL_INTERVAL = Duration.seconds(30)
_NAMED_STEPS = (
    ProcessingStep,
    TrainingStep,
    TuningStep,
    CreateModelStep,
    TransformStep,
    EndpointStep,
)
_S3_URI = re.compile(r"s3://([^/]+)/(.*)")
_TOKEN = re.compile(r"(\$\{Token\[[^\]]+\]\})")
_DISCARD = sfn.JsonPath.DISCARD
Retry = Callable[..., None]


def _literal(text: str) -> str:
    """Escape text for an intrinsic string literal, leaving CDK token markers intact."""
    pieces = _TOKEN.split(text)
    out = []
    for index, piece in enumerate(pieces):
        if index % 2:
            out.append(piece)
        else:
            for char in ("\\", "'", "{", "}"):
                piece = piece.replace(char, f"\\{char}")
            out.append(piece)
    return "".join(out)


def _merged(paths: list[str]) -> str:
    """``States.JsonMerge`` of the objects at ``paths``, later ones winning, nested in halves."""
    if len(paths) == 1:
        return paths[0]
    middle = len(paths) // 2
    return f"States.JsonMerge({_merged(paths[:middle])}, {_merged(paths[middle:])}, false)"


class Builder:
    """Creates a pipeline's states in ``scope``; :meth:`check` first, then :meth:`build`."""

    def __init__(
        self,
        scope: Construct,
        pipeline: Pipeline,
        *,
        job_role: iam.IRole,
        bucket: s3.IBucket,
        artifact_prefix: str,
        code_locations: Mapping[str, str],
        kms_key: kms.IKey | None,
        placement: JobPlacement | None,
        pattern: sfn.IntegrationPattern,
        name_prefix: str,
        retry: Retry,
    ) -> None:
        self.scope = scope
        self.pipeline = pipeline
        self.job_role = job_role
        self.bucket = bucket
        self.artifact_prefix = artifact_prefix
        self.code_locations = code_locations
        self.kms_key = kms_key
        self.network = placement
        self.pattern = pattern
        self.name_prefix = name_prefix
        self.retry = retry
        self.slugs: dict[str, str] = {}
        for step in pipeline.steps:
            if isinstance(step, _NAMED_STEPS):
                limit = (
                    naming.MAX_TUNING_JOB_NAME_LENGTH
                    if isinstance(step, TuningStep)
                    else naming.MAX_NAME_LENGTH
                )
                self.slugs[step.name] = naming.slug(name_prefix, step.name, limit)
        self.step_states: dict[str, sfn.State] = {}
        self.task_states: list[sfn.State] = []
        self._handlers: dict[str, sfn.Pass] = {}
        self._items: tuple[Item, ...] = ()
        self.fail_state: sfn.Fail
        # A Parallel branch's states cannot lead outside it, so each branch gets its own Fail
        # state (created when a step needs it); ``None`` outside any branch.
        self._branch_fail_name: str | None = None
        self._branch_fails: dict[str, sfn.Fail] = {}

    # --- checks -------------------------------------------------------------------------------

    def check(self) -> list[str]:
        """Everything that keeps the pipeline from compiling, as messages."""
        messages: list[str] = []
        try:
            self._items = plan(self.pipeline)
        except PlanError as error:
            messages.append(str(error))
        if len(set(self.slugs.values())) != len(self.slugs):
            messages.append(f"job name slugs collide: {self.slugs}")
        for step in self.pipeline.steps:
            messages.extend(self._step_problems(step))
        return messages

    def _step_problems(self, step: Step) -> Iterator[str]:
        if isinstance(step, ProcessingStep) and step.code not in self.code_locations:
            yield (
                f"step '{step.name}': code_locations has no S3 location for code '{step.code}'; "
                "expected a key of local_code_paths(pipeline)"
            )
        for path, ref in references(step):
            if isinstance(ref, TrainingMetric):
                yield (
                    f"step '{step.name}' ({path}): TrainingMetric is not supported by the Step "
                    "Functions compiler; write the metric to a property file and use JsonValue"
                )
            if isinstance(ref, JsonValue):
                yield from self._property_file_problems(step.name, ref)
            if (
                isinstance(ref, ModelArtifacts)
                and isinstance(self.pipeline.step(ref.step), TuningStep)
                and self.pattern != sfn.IntegrationPattern.RUN_JOB
            ):
                yield (
                    f"step '{step.name}' ({path}): the best model of tuning step '{ref.step}' is "
                    "known only when the state machine waits for the job (RUN_JOB)"
                )
        if isinstance(step, EndpointStep) and isinstance(step.endpoint_name, ParameterRef):
            yield (
                f"step '{step.name}': endpoint_name must be a constant for Step Functions, so "
                "the state machine's IAM can be scoped to that endpoint"
            )
        if isinstance(step, ConditionStep):
            try:
                choice_condition(step.condition, self.pipeline, self._path)
            except ConditionError as error:
                yield f"step '{step.name}': {error}"

    def _property_file_problems(self, owner: str, ref: JsonValue) -> Iterator[str]:
        source = self.pipeline.step(ref.step)
        assert isinstance(source, ProcessingStep)
        property_file = next(p for p in source.property_files if p.name == ref.property_file)
        output = next(o for o in source.outputs if o.name == property_file.output_name)
        if output.destination is not None and not (
            isinstance(output.destination, str) and _S3_URI.fullmatch(output.destination)
        ):
            yield (
                f"step '{owner}' reads property file '{ref.property_file}' of '{ref.step}', whose "
                f"output '{output.name}' must have no destination or a constant s3:// URI"
            )

    # --- values -------------------------------------------------------------------------------

    def value(self, value: object) -> Value:
        """A spec value (constant or reference) as an ASL value."""
        if isinstance(value, ParameterRef):
            return Expr(f"$.parameters.{value.name}")
        if isinstance(value, StepOutput):
            location = self.output_location(value.step, value.output)
            return concat([location, f"/{value.path}"]) if value.path else location
        if isinstance(value, ModelArtifacts):
            return self.model_artifacts(value.step)
        if isinstance(value, ModelName):
            return Expr(naming.name_expression(self.slugs[value.step]))
        if isinstance(value, JsonValue):
            return Expr(self._path(value))
        if isinstance(value, Join):
            return concat([self.value(v) for v in value.values], value.separator)
        if isinstance(value, ApprovalStatus):
            return value.value
        if value is None or isinstance(value, str | int | float | bool):
            return value
        raise TypeError(f"cannot use {value!r} in a state machine")

    def _text(self, value: object) -> Value:
        """A value the API wants as a string (hyperparameters)."""
        resolved = self.value(value)
        if isinstance(resolved, Expr):
            return Expr(f"States.Format('{{}}', {resolved.text})")
        if isinstance(resolved, bool):
            return "true" if resolved else "false"
        return str(resolved)

    def _path(self, operand: Operand) -> str:
        if isinstance(operand, ParameterRef):
            return f"$.parameters.{operand.name}"
        if isinstance(operand, JsonValue):
            base = f"$.properties.{operand.step}.{operand.property_file}.document"
            return json_path(base, operand.json_path)
        raise ConditionError(f"cannot read {operand!r} in a Choice state")

    def output_location(self, step_name: str, output_name: str) -> Value:
        step = self.pipeline.step(step_name)
        assert isinstance(step, ProcessingStep)
        output = next(o for o in step.outputs if o.name == output_name)
        if output.destination is not None:
            return self.value(output.destination)
        return Expr(f"States.Format('{{}}/{step_name}/{output_name}', {RUN_ROOT})")

    def model_output_path(self, step: TrainingJobSettings, step_name: str) -> Value:
        if step.output_path is not None:
            return self.value(step.output_path)
        return Expr(f"States.Format('{{}}/{step_name}/model', {RUN_ROOT})")

    def model_artifacts(self, step_name: str) -> Value:
        step = self.pipeline.step(step_name)
        assert isinstance(step, TrainingStep | TuningStep)
        job: Value = (
            Expr(f"$.steps.{step_name}.BestTrainingJobName")
            if isinstance(step, TuningStep)
            else Expr(naming.name_expression(self.slugs[step_name]))
        )
        path = self.model_output_path(step, step_name)
        if isinstance(path, str):
            path = path.rstrip("/")
        return concat([path, "/", job, "/output/model.tar.gz"])

    # --- building -----------------------------------------------------------------------------

    def build(self) -> tuple[sfn.State, list[sfn.INextable]]:
        """Create every state; returns the first state and the states that end the machine."""
        self.fail_state = sfn.Fail(
            self.scope,
            FAIL_STATE,
            comment="Every error of a step ends here, with the step and the service's cause",
            error=STEP_FAILED_ERROR,
            cause_path="$.Cause",
        )
        defaults = sfn.Pass(
            self.scope,
            "Pipeline.Defaults",
            comment="Set aside the execution input, the parameter defaults and a UUID",
            parameters={
                "defaults": {p.name: p.default for p in self.pipeline.parameters},
                "overrides.$": "$",
                "uuid.$": naming.uuid_parts_expression(),
            },
        )
        bucket = _literal(self.bucket.bucket_name)
        initialize = sfn.Pass(
            self.scope,
            "Pipeline.Initialize",
            comment="Merge the execution input over the defaults; name this run",
            parameters={
                "parameters.$": "States.JsonMerge($.defaults, $.overrides, false)",
                "run": {
                    "name.$": "$$.Execution.Name",
                    "token.$": naming.run_token_expression(),
                    "root.$": (
                        f"States.Format('s3://{bucket}/{_literal(self.artifact_prefix)}{{}}', "
                        "$$.Execution.Name)"
                    ),
                },
                "steps": {},
                "properties": {},
            },
        )
        defaults.next(initialize)
        start, ends, _ = self._sequence(self._items, frozenset())
        if start is None:
            return defaults, [initialize]
        initialize.next(start)
        return defaults, ends

    def _sequence(
        self, items: tuple[Item, ...], loaded: frozenset[tuple[str, str]]
    ) -> tuple[sfn.State | None, list[sfn.INextable], frozenset[tuple[str, str]]]:
        start: sfn.State | None = None
        ends: list[sfn.INextable] = []
        for index, item in enumerate(items):
            first, last, loaded = self._item(item, loaded)
            if start is None:
                start = first
            for end in ends:
                end.next(first)
            ends = last
            if not ends and index < len(items) - 1:
                name = first_step(item).name
                raise PlanError(f"steps after '{name}' can never run: it always fails")
        return start, ends, loaded

    def _item(
        self, item: Item, loaded: frozenset[tuple[str, str]]
    ) -> tuple[sfn.State, list[sfn.INextable], frozenset[tuple[str, str]]]:
        if isinstance(item, Parallel):
            first, last = self._parallel(item, loaded)
            return first, last, loaded
        step = item.step if isinstance(item, Branch) else item
        needed = [ref for _, ref in references(step) if isinstance(ref, JsonValue)]
        loads: list[tasks.CallAwsService] = []
        for ref in needed:
            key = (ref.step, ref.property_file)
            if key not in loaded:
                loads.append(self._load(step.name, ref))
                loaded = loaded | {key}
        if isinstance(item, Branch):
            first, last = self._branch(item, loaded)
        else:
            first, last = self._step(item)
        if loads:
            for load, following in zip(loads, [*loads[1:], first], strict=True):
                load.next(following)
            first = loads[0]
        self.step_states[step.name] = first
        return first, last, loaded

    def _branch(
        self, branch: Branch, loaded: frozenset[tuple[str, str]]
    ) -> tuple[sfn.State, list[sfn.INextable]]:
        name = branch.step.name
        choice = sfn.Choice(self.scope, name, comment=branch.step.description)
        if_start, if_ends, _ = self._sequence(branch.if_plan, loaded)
        else_start, else_ends, _ = self._sequence(branch.else_plan, loaded)
        needs_join = if_start is None or else_start is None or bool(if_ends or else_ends)
        join = sfn.Pass(self.scope, state_name(name, "Join")) if needs_join else None
        condition = choice_condition(branch.step.condition, self.pipeline, self._path)
        if_target = if_start or join
        else_target = else_start or join
        assert if_target is not None and else_target is not None
        choice.when(condition, if_target)
        choice.otherwise(else_target)
        for end in (*if_ends, *else_ends):
            assert join is not None
            end.next(join)
        return choice, [join] if join is not None else []

    def _parallel(
        self, parallel: Parallel, loaded: frozenset[tuple[str, str]]
    ) -> tuple[sfn.State, list[sfn.INextable]]:
        """Run the branches concurrently, then merge their step results into the shared state.

        A Parallel's result is the array of its branches' outputs. The ResultSelector names
        each whole output (``$[i]``) and the merge reads plain paths
        (``$.branches.branch<i>.steps``), a form emulators read as Step Functions does (moto
        wraps the value of ``$[i].steps`` in a list). The merge keeps the Parallel's own input
        for everything else: property files a branch loaded are not kept, so a later step loads
        them again. A failed branch ends in its own Fail state, which fails the Parallel, and
        with it the execution, with that error and cause.
        """
        name = state_name("Parallel", *(first_step(branch[0]).name for branch in parallel.branches))
        keys = [f"branch{index}" for index in range(len(parallel.branches))]
        state = sfn.Parallel(
            self.scope,
            name,
            comment="Steps that do not depend on each other run at the same time",
            result_selector={f"{key}.$": f"$[{index}]" for index, key in enumerate(keys)},
            result_path="$.branches",
        )
        always_fails = False
        outer = self._branch_fail_name
        try:
            for key, branch in zip(keys, parallel.branches, strict=True):
                self._branch_fail_name = state_name(name, key.capitalize(), "Failed")
                start, ends, _ = self._sequence(branch, loaded)
                assert start is not None
                state.branch(start)
                always_fails = always_fails or not ends
        finally:
            self._branch_fail_name = outer
        if always_fails:
            return state, []
        merge = sfn.Pass(
            self.scope,
            state_name(name, "Merge"),
            comment="Gather the branches' step results; keep the rest of the state as it was",
            parameters={
                "parameters.$": "$.parameters",
                "run.$": "$.run",
                "steps.$": _merged([f"$.branches.{key}.steps" for key in keys]),
                "properties.$": "$.properties",
            },
        )
        state.next(merge)
        return state, [merge]

    def _step(self, step: Step) -> tuple[sfn.State, list[sfn.INextable]]:
        if isinstance(step, ProcessingStep):
            state: sfn.TaskStateBase = self._processing(step)
        elif isinstance(step, TuningStep):
            state = self._tuning(step)
        elif isinstance(step, TrainingStep):
            state = self._training(step)
        elif isinstance(step, CreateModelStep):
            state = self._create_model(step)
        elif isinstance(step, TransformStep):
            state = self._transform(step)
        elif isinstance(step, RegisterModelStep):
            state = self._register(step)
        elif isinstance(step, EndpointStep):
            return self._endpoint(step)
        elif isinstance(step, FailStep):
            return self._fail(step), []
        else:
            raise TypeError(f"step '{step.name}' of kind '{step.kind}' is not supported")
        self._guard(state, step.name)
        return state, [state]

    def _guard(self, state: sfn.TaskStateBase, step_name: str, errors: Any = None) -> None:
        """Retry throttling and service errors; send any other error to the step's handler."""
        if errors is None:
            self.retry(state)
        else:
            self.retry(state, errors)
        state.add_catch(self._handler(step_name), errors=["States.ALL"], result_path="$.error")
        self.task_states.append(state)

    def _handler(self, step_name: str) -> sfn.Pass:
        if step_name not in self._handlers:
            handler = sfn.Pass(
                self.scope,
                state_name(step_name, "Failed"),
                comment="Name the failed step and keep the service's cause",
                parameters={
                    "Cause.$": (
                        f"States.Format('Step {step_name} failed with {{}}: {{}}', "
                        "$.error.Error, $.error.Cause)"
                    ),
                },
            )
            handler.next(self._fail_target())
            self._handlers[step_name] = handler
        return self._handlers[step_name]

    def _fail_target(self) -> sfn.Fail:
        """The Fail state a step's error ends in: the pipeline's, or its Parallel branch's."""
        name = self._branch_fail_name
        if name is None:
            return self.fail_state
        if name not in self._branch_fails:
            self._branch_fails[name] = sfn.Fail(
                self.scope,
                name,
                comment="Ends the branch, and so the execution, with the failed step's cause",
                error=STEP_FAILED_ERROR,
                cause_path="$.Cause",
            )
        return self._branch_fails[name]

    # --- steps --------------------------------------------------------------------------------

    def _kms(self, key: str) -> dict[str, Any]:
        return {key: self.kms_key.key_arn} if self.kms_key is not None else {}

    def _vpc(self, key: str = "VpcConfig") -> dict[str, Any]:
        if self.network is None:
            return {}
        return {
            key: {
                "SecurityGroupIds": list(self.network.security_group_ids),
                "Subnets": list(self.network.subnet_ids),
            }
        }

    def _compute(
        self,
        step: ProcessingStep | TrainingJobSettings | TransformStep,
        volume_size_gb: int | None = None,
    ) -> dict[str, Any]:
        """A job's instances and their storage volume, encrypted with the pipeline's key."""
        volume = {} if volume_size_gb is None else {"VolumeSizeInGB": volume_size_gb}
        return {
            **fields(
                {
                    "InstanceCount": self.value(step.instance_count),
                    "InstanceType": self.value(step.instance_type),
                }
            ),
            **volume,
            **self._kms("VolumeKmsKeyId"),
        }

    def _name(self, step_name: str) -> tuple[str, str]:
        """The name expression and IAM name prefix of a step's SageMaker resource."""
        slug = self.slugs[step_name]
        return naming.name_expression(slug), f"{slug}-"

    def _api_task(
        self, step: Step, api: SageMakerApi, request: Mapping[str, Any]
    ) -> SageMakerApiTask:
        """The task that creates the step's SageMaker resource with ``api``; drops the result.

        Jobs follow the compiler's integration pattern; APIs that pass a role pass the job role.
        """
        name, prefix = self._name(step.name)
        return SageMakerApiTask(
            self.scope,
            step.name,
            comment=step.description,
            api=api,
            name=name,
            name_prefix=prefix,
            request=request,
            role=self.job_role if api.role_key else None,
            integration_pattern=self.pattern if api.sync_rule else None,
            result_path=_DISCARD,
        )

    def _s3_input(self, source: object) -> dict[str, Any]:
        return {
            "S3DataType": "S3Prefix",
            **field("S3Uri", self.value(source)),
            "S3DataDistributionType": "FullyReplicated",
        }

    def _processing(self, step: ProcessingStep) -> sfn.TaskStateBase:
        code_input = {
            "InputName": CODE_INPUT_NAME,
            "S3Input": {
                **self._s3_input(self.code_locations[step.code]),
                "LocalPath": CODE_DIRECTORY,
                "S3InputMode": "File",
            },
        }
        inputs = [
            {
                "InputName": item.name,
                "S3Input": {
                    **self._s3_input(item.source),
                    "LocalPath": item.destination,
                    "S3InputMode": "File",
                },
            }
            for item in step.inputs
        ]
        app: dict[str, Any] = {
            "ImageUri": step.image_uri,
            "ContainerEntrypoint": processing_entrypoint(step.entry_point),
        }
        if step.arguments:
            app.update(text_list("ContainerArguments", [self.value(a) for a in step.arguments]))
        request: dict[str, Any] = {
            "AppSpecification": app,
            "ProcessingInputs": [code_input, *inputs],
            "ProcessingResources": {"ClusterConfig": self._compute(step, step.volume_size_gb)},
        }
        if step.outputs:
            request["ProcessingOutputConfig"] = {
                "Outputs": [
                    {
                        "OutputName": output.name,
                        "S3Output": {
                            **field("S3Uri", self.output_location(step.name, output.name)),
                            "LocalPath": output.source,
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                    for output in step.outputs
                ],
                **self._kms("KmsKeyId"),
            }
        if step.environment:
            request["Environment"] = dict(step.environment)
        if step.max_runtime_seconds is not None:
            request["StoppingCondition"] = {"MaxRuntimeInSeconds": step.max_runtime_seconds}
        if self.network is not None:
            request["NetworkConfig"] = {
                "EnableInterContainerTrafficEncryption": (
                    self.network.enable_inter_container_traffic_encryption
                ),
                **self._vpc(),
            }
        return self._api_task(step, PROCESSING_JOB, request)

    def _training_definition(self, step: TrainingJobSettings, step_name: str) -> dict[str, Any]:
        algorithm: dict[str, Any] = {"TrainingInputMode": "File"}
        if step.image_uri is not None:
            algorithm["TrainingImage"] = step.image_uri
        if step.algorithm_name is not None:
            algorithm["AlgorithmName"] = step.algorithm_name
        if step.metric_definitions:
            algorithm["MetricDefinitions"] = [
                {"Name": m.name, "Regex": m.regex} for m in step.metric_definitions
            ]
        channels = []
        for channel in step.channels:
            entry: dict[str, Any] = {
                "ChannelName": channel.name,
                "DataSource": {"S3DataSource": self._s3_input(channel.source)},
            }
            if channel.content_type:
                entry["ContentType"] = channel.content_type
            channels.append(entry)
        stopping: dict[str, Any] = {
            "MaxRuntimeInSeconds": training_max_runtime(
                step.max_runtime_seconds, step.max_wait_seconds
            )
        }
        if step.use_spot_instances and step.max_wait_seconds is not None:
            stopping["MaxWaitTimeInSeconds"] = step.max_wait_seconds
        definition: dict[str, Any] = {
            "AlgorithmSpecification": algorithm,
            "OutputDataConfig": {
                **field("S3OutputPath", self.model_output_path(step, step_name)),
                **self._kms("KmsKeyId"),
            },
            "ResourceConfig": self._compute(step, step.volume_size_gb),
            "StoppingCondition": stopping,
            **self._vpc(),
        }
        # SageMaker wants at least one channel when InputDataConfig is given.
        if channels:
            definition["InputDataConfig"] = channels
        if self.network is not None:
            definition["EnableInterContainerTrafficEncryption"] = (
                self.network.enable_inter_container_traffic_encryption
            )
        if step.use_spot_instances:
            definition["EnableManagedSpotTraining"] = True
        if step.environment:
            definition["Environment"] = dict(step.environment)
        return definition

    def _hyperparameters(self, step: TrainingJobSettings) -> dict[str, Any]:
        return fields({key: self._text(value) for key, value in step.hyperparameters.items()})

    def _training(self, step: TrainingStep) -> sfn.TaskStateBase:
        request = self._training_definition(step, step.name)
        if step.hyperparameters:
            request["HyperParameters"] = self._hyperparameters(step)
        return self._api_task(step, TRAINING_JOB, request)

    def _tuning(self, step: TuningStep) -> sfn.TaskStateBase:
        definition = self._training_definition(step, step.name)
        if step.hyperparameters:
            definition["StaticHyperParameters"] = self._hyperparameters(step)
        ranges: dict[str, list[dict[str, Any]]] = {}
        for item in step.parameter_ranges:
            if isinstance(item, CategoricalRange):
                ranges.setdefault("CategoricalParameterRanges", []).append(
                    {"Name": item.name, "Values": list(item.values)}
                )
                continue
            key = (
                "ContinuousParameterRanges"
                if isinstance(item, ContinuousRange)
                else "IntegerParameterRanges"
            )
            ranges.setdefault(key, []).append(
                {
                    "Name": item.name,
                    "MinValue": str(item.min_value),
                    "MaxValue": str(item.max_value),
                    "ScalingType": item.scaling.value,
                }
            )
        config = {
            "Strategy": step.strategy.value,
            "HyperParameterTuningJobObjective": {
                "Type": step.objective_type.value,
                "MetricName": step.objective_metric,
            },
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": step.max_jobs,
                "MaxParallelTrainingJobs": step.max_parallel_jobs,
            },
            "ParameterRanges": ranges,
        }
        sync = self.pattern == sfn.IntegrationPattern.RUN_JOB
        name, prefix = self._name(step.name)
        return SageMakerCreateHyperParameterTuningJob(
            self.scope,
            step.name,
            comment=step.description,
            tuning_job_name=name,
            job_name_prefix=prefix,
            role=self.job_role,
            request={"HyperParameterTuningJobConfig": config, "TrainingJobDefinition": definition},
            integration_pattern=self.pattern,
            result_selector=(
                {"BestTrainingJobName.$": "$.BestTrainingJob.TrainingJobName"} if sync else None
            ),
            result_path=f"$.steps.{step.name}" if sync else _DISCARD,
        )

    def _create_model(self, step: CreateModelStep) -> sfn.TaskStateBase:
        container: dict[str, Any] = {
            "Image": step.image_uri,
            **field("ModelDataUrl", self.value(step.model)),
        }
        if step.environment:
            container["Environment"] = dict(step.environment)
        return self._api_task(step, MODEL, {"PrimaryContainer": container, **self._vpc()})

    def _transform(self, step: TransformStep) -> sfn.TaskStateBase:
        transform_input: dict[str, Any] = {
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    **field("S3Uri", self.value(step.input_data)),
                }
            },
            "SplitType": step.split_type.value,
        }
        if step.content_type:
            transform_input["ContentType"] = step.content_type
        output = (
            self.value(step.output_path)
            if step.output_path is not None
            else Expr(f"States.Format('{{}}/{step.name}/output', {RUN_ROOT})")
        )
        request = {
            **field("ModelName", self.value(step.model)),
            "TransformInput": transform_input,
            "TransformOutput": {**field("S3OutputPath", output), **self._kms("KmsKeyId")},
            "TransformResources": self._compute(step),
        }
        return self._api_task(step, TRANSFORM_JOB, request)

    def _register(self, step: RegisterModelStep) -> sfn.TaskStateBase:
        specification: dict[str, Any] = {
            "Containers": [
                {"Image": step.image_uri, **field("ModelDataUrl", self.value(step.model))}
            ],
            "SupportedContentTypes": list(step.content_types),
            "SupportedResponseMIMETypes": list(step.response_types),
        }
        if step.inference_instance_types:
            specification["SupportedRealtimeInferenceInstanceTypes"] = list(
                step.inference_instance_types
            )
        if step.transform_instance_types:
            specification["SupportedTransformInstanceTypes"] = list(step.transform_instance_types)
        parameters: dict[str, Any] = {
            "ModelPackageGroupName": step.model_package_group_name,
            **field("ModelApprovalStatus", self.value(step.approval_status)),
            "InferenceSpecification": specification,
        }
        if step.metrics_report is not None:
            parameters["ModelMetrics"] = {
                "ModelQuality": {
                    "Statistics": {
                        "ContentType": "application/json",
                        **field("S3Uri", self.value(step.metrics_report)),
                    }
                }
            }
        group = step.model_package_group_name
        return tasks.CallAwsService(
            self.scope,
            step.name,
            comment=step.description,
            service="sagemaker",
            action="createModelPackage",
            parameters=parameters,
            iam_action="sagemaker:CreateModelPackage",
            iam_resources=[
                sagemaker_arn(self.scope, "model-package", f"{group}/*"),
                sagemaker_arn(self.scope, "model-package-group", group),
            ],
            result_selector={"ModelPackageArn.$": "$.ModelPackageArn"},
            result_path=f"$.steps.{step.name}",
        )

    def _endpoint(self, step: EndpointStep) -> tuple[sfn.State, list[sfn.INextable]]:
        """Create an endpoint config, create or update the endpoint, wait until it is in service.

        DescribeEndpoint tells whether the endpoint exists: only its "not found" error leads to
        CreateEndpoint, any other error fails the step. The state machine may act on that one
        endpoint name only.
        """
        endpoint_name = (
            step.endpoint_name
            if isinstance(step.endpoint_name, str)
            else naming.slug(
                self.name_prefix, step.name, naming.MAX_NAME_LENGTH + naming.RUN_TOKEN_LENGTH + 1
            )
        )
        config_name, config_prefix = self._name(step.name)
        request: dict[str, Any] = {
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    **fields(
                        {
                            "ModelName": self.value(step.model),
                            "InstanceType": self.value(step.instance_type),
                            "InitialInstanceCount": self.value(step.initial_instance_count),
                        }
                    ),
                    "InitialVariantWeight": 1,
                }
            ]
        }
        key_statements: list[iam.PolicyStatement] = []
        # Instance types with local storage only refuse a KmsKeyId (the hardware encrypts it).
        if self.kms_key is not None and not has_instance_storage_only(step.instance_type):
            request["KmsKeyId"] = self.kms_key.key_arn
            key_statements.append(
                iam.PolicyStatement(
                    actions=["kms:CreateGrant"],
                    resources=[self.kms_key.key_arn],
                    conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
                )
            )
        config = SageMakerApiTask(
            self.scope,
            state_name(step.name, "Config"),
            comment=step.description,
            api=ENDPOINT_CONFIG,
            name=config_name,
            name_prefix=config_prefix,
            request=request,
            extra_statements=key_statements,
            result_path=_DISCARD,
        )
        config_arn = sagemaker_arn(self.scope, "endpoint-config", f"{config_prefix}*")
        uses_config = iam.PolicyStatement(
            actions=["sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint"],
            resources=[config_arn],
        )
        describe = self._describe_endpoint(state_name(step.name, "Describe"), endpoint_name)
        deploy: dict[str, sfn.TaskStateBase] = {}
        for label, api in (("Create", ENDPOINT), ("Update", UPDATE_ENDPOINT)):
            deploy[label] = SageMakerApiTask(
                self.scope,
                state_name(step.name, label),
                api=api,
                name=endpoint_name,
                name_prefix=endpoint_name,
                exact_name=True,
                request={"EndpointConfigName.$": config_name},
                extra_statements=[uses_config],
                result_path=_DISCARD,
            )
        # The SDK integration raises SageMaker's ValidationException for a missing endpoint
        # under a generic name; only its message says "not found".
        missing = sfn.Choice(self.scope, state_name(step.name, "Exists"))
        missing.when(
            sfn.Condition.string_matches("$.error.Cause", "*Could not find endpoint*"),
            deploy["Create"],
        )
        missing.otherwise(self._handler(step.name))
        describe.add_catch(missing, errors=list(ENDPOINT_MISSING_ERRORS), result_path="$.error")
        wait = sfn.Wait(
            self.scope,
            state_name(step.name, "Wait"),
            comment="Give the endpoint time to come into service",
            time=sfn.WaitTime.duration(ENDPOINT_POLL_INTERVAL),
        )
        status = self._describe_endpoint(
            state_name(step.name, "Status"), endpoint_name, f"$.steps.{step.name}"
        )
        failed = sfn.Pass(
            self.scope,
            state_name(step.name, "EndpointFailed"),
            comment="The endpoint did not come into service: keep SageMaker's reason",
            parameters={
                "Cause.$": (
                    f"States.Format('Step {step.name} failed: endpoint {{}} is Failed: {{}}', "
                    f"$.steps.{step.name}.EndpointName, $.steps.{step.name}.FailureReason)"
                ),
            },
        )
        failed.next(self._fail_target())
        done = sfn.Pass(self.scope, state_name(step.name, "Deployed"))
        check = sfn.Choice(self.scope, state_name(step.name, "InService"))
        check.when(
            sfn.Condition.string_equals(f"$.steps.{step.name}.EndpointStatus", "InService"), done
        )
        check.when(
            sfn.Condition.string_equals(f"$.steps.{step.name}.EndpointStatus", "Failed"), failed
        )
        check.otherwise(wait)
        self._guard(config, step.name)
        self._guard(describe, step.name, ["ThrottlingException"])
        self._guard(deploy["Create"], step.name)
        self._guard(deploy["Update"], step.name)
        self._guard(status, step.name, ["ThrottlingException"])
        config.next(describe)
        describe.next(deploy["Update"])
        deploy["Create"].next(wait)
        deploy["Update"].next(wait)
        wait.next(status)
        status.next(check)
        return config, [done]

    def _describe_endpoint(
        self, state: str, endpoint_name: str, result_path: str = _DISCARD
    ) -> SageMakerApiTask:
        return SageMakerApiTask(
            self.scope,
            state,
            api=DESCRIBE_ENDPOINT,
            name=endpoint_name,
            name_prefix=endpoint_name,
            exact_name=True,
            request={},
            result_path=result_path,
        )

    def _fail(self, step: FailStep) -> sfn.Fail:
        message = self.value(step.error_message)
        if isinstance(message, Expr):
            return sfn.Fail(
                self.scope,
                step.name,
                comment=step.description,
                error=step.name,
                cause_path=message.text,
            )
        return sfn.Fail(
            self.scope, step.name, comment=step.description, error=step.name, cause=str(message)
        )

    def _load(self, owner: str, ref: JsonValue) -> tasks.CallAwsService:
        """Read a property file from S3 and parse it, without a Lambda function."""
        source = self.pipeline.step(ref.step)
        assert isinstance(source, ProcessingStep)
        property_file = next(p for p in source.property_files if p.name == ref.property_file)
        output = next(o for o in source.outputs if o.name == property_file.output_name)
        bucket: str
        key: Value
        if output.destination is None:
            bucket = self.bucket.bucket_name
            key = concat(
                [
                    self.artifact_prefix,
                    Expr(RUN_NAME),
                    f"/{ref.step}/{output.name}/{property_file.path}",
                ]
            )
            resource = self.bucket.arn_for_objects(f"{self.artifact_prefix}*")
        else:
            assert isinstance(output.destination, str)
            match = _S3_URI.fullmatch(output.destination)
            assert match is not None
            bucket = match.group(1)
            key = f"{match.group(2).rstrip('/')}/{property_file.path}".lstrip("/")
            resource = f"arn:{Aws.PARTITION}:s3:::{bucket}/{key}"
        extra = []
        if self.kms_key is not None:
            extra.append(
                iam.PolicyStatement(actions=["kms:Decrypt"], resources=[self.kms_key.key_arn])
            )
        load = tasks.CallAwsService(
            self.scope,
            state_name(owner, "Load", ref.step, ref.property_file),
            comment=f"Read property file {ref.property_file} of {ref.step}",
            service="s3",
            action="getObject",
            parameters={"Bucket": bucket, **field("Key", key)},
            iam_action="s3:GetObject",
            iam_resources=[resource],
            additional_iam_statements=extra,
            result_selector={"document.$": "States.StringToJson($.Body)"},
            result_path=f"$.properties.{ref.step}.{ref.property_file}",
        )
        self._guard(load, owner, ["ThrottlingException", "S3.SlowDownException"])
        return load
