"""Builds the states of a compiled pipeline (see :mod:`.compiler`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from mlpipes_constructs.compile import (
    Branch,
    Item,
    JobContext,
    JobPlacement,
    Parallel,
    PlanError,
    Request,
    StepDispatch,
    first_step,
    plan,
)
from mlpipes_constructs.compile import requests as sagemaker_requests
from mlpipes_constructs.compile.tracking import Tracking, tracking_environment
from mlpipes_constructs.spec import (
    ConditionStep,
    CreateModelStep,
    EndpointStep,
    FailStep,
    HumanReviewStep,
    JsonValue,
    ModelArtifacts,
    Operand,
    ParameterRef,
    ParameterType,
    Pipeline,
    ProcessingStep,
    RegisterModelStep,
    Step,
    TrainingMetric,
    TrainingStep,
    TransformStep,
    TuningStep,
)
from mlpipes_constructs.spec.graph import references
from mlpipes_constructs.stepfunctions import naming
from mlpipes_constructs.stepfunctions._api_task import (
    MODEL,
    PROCESSING_JOB,
    TRAINING_JOB,
    TRANSFORM_JOB,
    SageMakerApi,
    SageMakerApiTask,
)
from mlpipes_constructs.stepfunctions._asl import Expr, Value, state_name
from mlpipes_constructs.stepfunctions._conditions import ConditionError, choice_condition
from mlpipes_constructs.stepfunctions._endpoint_states import endpoint_states
from mlpipes_constructs.stepfunctions._property_files import (
    load_property_file,
    property_file_problems,
)
from mlpipes_constructs.stepfunctions._renderer import (
    EXECUTION_ID,
    StateMachineRenderer,
    asl_parameters,
)
from mlpipes_constructs.stepfunctions._review_states import review_states
from mlpipes_constructs.stepfunctions._task_base import sagemaker_arn
from mlpipes_constructs.stepfunctions.tuning_job import SageMakerCreateHyperParameterTuningJob

ORCHESTRATOR = "Step Functions"
FAIL_STATE = "Pipeline.Failed"
#: The error of an execution a step failed (the step's own error is in the cause: a Fail state
#: may not re-raise ``States.*`` error names).
STEP_FAILED_ERROR = "PipelineStepFailed"
_NAMED_STEPS = (
    ProcessingStep,
    TrainingStep,
    TuningStep,
    CreateModelStep,
    TransformStep,
    EndpointStep,
)
_TOKEN = re.compile(r"(\$\{Token\[[^\]]+\]\})")
_DISCARD = sfn.JsonPath.DISCARD
#: How a message names each parameter type, and the Choice rule that recognizes it.
_INPUT_TYPES: dict[ParameterType, tuple[str, Callable[[str], sfn.Condition]]] = {
    ParameterType.STRING: ("a string", sfn.Condition.is_string),
    ParameterType.INTEGER: ("a number", sfn.Condition.is_numeric),
    ParameterType.FLOAT: ("a number", sfn.Condition.is_numeric),
    ParameterType.BOOLEAN: ("true or false", sfn.Condition.is_boolean),
}
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
        tracking: Tracking | None = None,
    ) -> None:
        self.scope = scope
        self.pipeline = pipeline
        self.job_role = job_role
        self.bucket = bucket
        self.artifact_prefix = artifact_prefix
        self.code_locations = code_locations
        self.kms_key = kms_key
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
        self.render = StateMachineRenderer(pipeline, self.slugs, code_locations)
        self.job = JobContext(
            job_role.role_arn,
            kms_key.key_arn if kms_key is not None else None,
            placement,
            environment=tracking_environment(
                tracking,
                pipeline_name=pipeline.name,
                orchestrator=ORCHESTRATOR,
                execution_id=Expr(EXECUTION_ID),
            ),
        )
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
        for step in self.pipeline.steps:
            STEP_DISPATCH.handler(step)
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
                yield from property_file_problems(self, step.name, ref)
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

    # --- values -------------------------------------------------------------------------------

    def value(self, value: object) -> Value:
        """A spec value (constant or reference) as an ASL value."""
        return self.render.value(value)

    def _path(self, operand: Operand) -> str:
        return self.render.path(operand)

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
        first: sfn.State | None = start
        if self.pipeline.parameters:
            first, checked_ends = self._input_check(start)
            if start is None:
                ends = checked_ends
        if first is None:
            return defaults, [initialize]
        initialize.next(first)
        return defaults, ends

    def _input_check(self, start: sfn.State | None) -> tuple[sfn.State, list[sfn.INextable]]:
        """A Choice that fails the execution at once when an input value has the wrong type.

        Execution input is JSON and not typed: ``{"Threshold": "0.8"}`` would never match a
        numeric comparison. Step Functions cannot tell an integer from a float, so an Integer
        parameter accepts any number.
        """
        check = sfn.Choice(
            self.scope,
            "Pipeline.CheckInput",
            comment="Fail at once on an execution input of the wrong type",
        )
        for parameter in self.pipeline.parameters:
            path = f"$.parameters.{parameter.name}"
            expected, is_type = _INPUT_TYPES[parameter.type]
            bad = sfn.Pass(
                self.scope,
                state_name("Pipeline.BadInput", parameter.name),
                parameters={
                    "Cause.$": (
                        f"States.Format('Parameter {parameter.name} must be {expected}, got {{}}', "
                        f"States.JsonToString({path}))"
                    )
                },
            )
            bad.next(self.fail_state)
            check.when(sfn.Condition.not_(is_type(path)), bad)
        if start is None:
            done = sfn.Pass(self.scope, "Pipeline.InputChecked")
            check.otherwise(done)
            return check, [done]
        check.otherwise(start)
        return check, []

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
                raise PlanError(
                    f"steps after '{name}' can never run: it always fails",
                    step=name,
                    orchestrator=ORCHESTRATOR,
                )
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
                loads.append(load_property_file(self, step.name, ref))
                loaded = loaded | {key}
        first, last = STEP_DISPATCH.handler(step)(self, item, loaded)
        if loads:
            for load, following in zip(loads, [*loads[1:], first], strict=True):
                load.next(following)
            first = loads[0]
        self.step_states[step.name] = first
        return first, last, loaded

    def branch(
        self, branch: Item, loaded: frozenset[tuple[str, str]]
    ) -> tuple[sfn.State, list[sfn.INextable]]:
        assert isinstance(branch, Branch)
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

    def guard(
        self, state: sfn.TaskStateBase | sfn.CustomState, step_name: str, errors: Any = None
    ) -> None:
        """Retry throttling and service errors; send any other error to the step's handler."""
        if errors is None:
            self.retry(state)
        else:
            self.retry(state, errors)
        state.add_catch(self.handler(step_name), errors=["States.ALL"], result_path="$.error")
        self.task_states.append(state)

    def handler(self, step_name: str) -> sfn.Pass:
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
            handler.next(self.fail_target())
            self._handlers[step_name] = handler
        return self._handlers[step_name]

    def fail_target(self) -> sfn.Fail:
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

    def name(self, step_name: str) -> tuple[str, str]:
        """The name expression and IAM name prefix of a step's SageMaker resource."""
        slug = self.slugs[step_name]
        return naming.name_expression(slug), f"{slug}-"

    def _api_task(self, step: Step, api: SageMakerApi, request: Request) -> SageMakerApiTask:
        """The task that creates the step's SageMaker resource with ``api``; drops the result.

        Jobs follow the compiler's integration pattern; an API that passes a role gets the job
        role from the task, which also scopes ``iam:PassRole`` to it.
        """
        name, prefix = self.name(step.name)
        if api.role_key:
            request = {key: value for key, value in request.items() if key != api.role_key}
        return SageMakerApiTask(
            self.scope,
            step.name,
            comment=step.description,
            api=api,
            name=name,
            name_prefix=prefix,
            request=asl_parameters(request),
            role=self.job_role if api.role_key else None,
            integration_pattern=self.pattern if api.sync_rule else None,
            result_path=_DISCARD,
        )

    def processing(self, step: Step) -> sfn.TaskStateBase:
        assert isinstance(step, ProcessingStep)
        request = sagemaker_requests.processing_job(step, self.job, self.render)
        return self._api_task(step, PROCESSING_JOB, request)

    def training(self, step: Step) -> sfn.TaskStateBase:
        assert isinstance(step, TrainingStep)
        request = sagemaker_requests.training_job(step, self.job, self.render)
        return self._api_task(step, TRAINING_JOB, request)

    def tuning(self, step: Step) -> sfn.TaskStateBase:
        assert isinstance(step, TuningStep)
        request = sagemaker_requests.tuning_job(step, self.job, self.render)
        # The task passes the job role as the training job definition's RoleArn.
        definition = request["TrainingJobDefinition"]
        request["TrainingJobDefinition"] = {k: v for k, v in definition.items() if k != "RoleArn"}
        sync = self.pattern == sfn.IntegrationPattern.RUN_JOB
        name, prefix = self.name(step.name)
        return SageMakerCreateHyperParameterTuningJob(
            self.scope,
            step.name,
            comment=step.description,
            tuning_job_name=name,
            job_name_prefix=prefix,
            role=self.job_role,
            request=asl_parameters(request),
            integration_pattern=self.pattern,
            result_selector=(
                {"BestTrainingJobName.$": "$.BestTrainingJob.TrainingJobName"} if sync else None
            ),
            result_path=f"$.steps.{step.name}" if sync else _DISCARD,
        )

    def create_model(self, step: Step) -> sfn.TaskStateBase:
        assert isinstance(step, CreateModelStep)
        request = sagemaker_requests.model(step, self.job, self.render)
        return self._api_task(step, MODEL, request)

    def transform(self, step: Step) -> sfn.TaskStateBase:
        assert isinstance(step, TransformStep)
        request = sagemaker_requests.transform_job(step, self.job, self.render)
        return self._api_task(step, TRANSFORM_JOB, request)

    def register(self, step: Step) -> sfn.TaskStateBase:
        assert isinstance(step, RegisterModelStep)
        group = step.model_package_group_name
        return tasks.CallAwsService(
            self.scope,
            step.name,
            comment=step.description,
            service="sagemaker",
            action="createModelPackage",
            parameters=asl_parameters(sagemaker_requests.model_package(step, self.render)),
            iam_action="sagemaker:CreateModelPackage",
            # IAM authorizes CreateModelPackage on the new version only, not on its group.
            iam_resources=[sagemaker_arn(self.scope, "model-package", f"{group}/*")],
            result_selector={"ModelPackageArn.$": "$.ModelPackageArn"},
            result_path=f"$.steps.{step.name}",
        )

    def fail(self, step: FailStep) -> sfn.Fail:
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


_Loaded = frozenset[tuple[str, str]]
_Handler = Callable[[Builder, Item, _Loaded], tuple[sfn.State, list[sfn.INextable]]]


def _task(build: Callable[[Builder, Step], sfn.TaskStateBase]) -> _Handler:
    """A handler for a step that is one task, retried and caught like every task."""

    def handler(
        builder: Builder, item: Item, loaded: _Loaded
    ) -> tuple[sfn.State, list[sfn.INextable]]:
        assert isinstance(item, Step)
        state = build(builder, item)
        builder.guard(state, item.name)
        return state, [state]

    return handler


def _endpoint(
    builder: Builder, item: Item, loaded: _Loaded
) -> tuple[sfn.State, list[sfn.INextable]]:
    assert isinstance(item, EndpointStep)
    return endpoint_states(builder, item)


def _human_review(
    builder: Builder, item: Item, loaded: _Loaded
) -> tuple[sfn.State, list[sfn.INextable]]:
    assert isinstance(item, HumanReviewStep)
    return review_states(builder, item)


def _fail(builder: Builder, item: Item, loaded: _Loaded) -> tuple[sfn.State, list[sfn.INextable]]:
    assert isinstance(item, FailStep)
    return builder.fail(item), []


#: The states of each step kind (a condition step comes as the plan's :class:`Branch`); a kind
#: missing here is refused, naming it.
STEP_DISPATCH: StepDispatch[_Handler] = StepDispatch(
    ORCHESTRATOR,
    {
        ProcessingStep: _task(Builder.processing),
        TrainingStep: _task(Builder.training),
        TuningStep: _task(Builder.tuning),
        ConditionStep: Builder.branch,
        RegisterModelStep: _task(Builder.register),
        CreateModelStep: _task(Builder.create_model),
        TransformStep: _task(Builder.transform),
        EndpointStep: _endpoint,
        FailStep: _fail,
        HumanReviewStep: _human_review,
    },
)
