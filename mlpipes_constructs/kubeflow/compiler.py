"""Compile a pipeline spec to a Kubeflow Pipelines pipeline (KFP IR YAML, kfp SDK 2.x ``dsl``).

Each step of the spec becomes one task, named after the step (in KFP's Kubernetes form:
lowercase, hyphens) and shown with the step's name. Every task runs the same small function,
:func:`~mlpipes_constructs.kubeflow._components.run_step`, as a lightweight Python component
on boto3: it takes the step's SageMaker request exactly as the compile core built it (as JSON,
with ``{{...}}`` markers for what is known only at run time), fills it in, starts the job and
waits for it. So a ``TrainingStep`` is the same CreateTrainingJob request here as on SageMaker
Pipelines, Step Functions and Airflow.

Why lightweight Python components rather than container components or ACK resources:

* ``kfp.local``'s ``SubprocessRunner`` runs lightweight components only, so the compiled
  pipeline itself (not a stand-in) runs end to end in the tests, against moto;
* the function is one reviewed, tested module, the same for every pipeline; a pipeline is a
  change of data (the requests), as with the Airflow DAG factory;
* ACK's SageMaker controller would add a controller and its CRDs to the cluster, and KFP has
  no built-in way to wait on a custom resource's status or branch on a property file in S3.

The image (``image``) must have Python 3, boto3 and the kfp package: the components are built
with ``install_kfp_package=False``, so nothing is installed from PyPI when a task runs, which a
NAT-less VPC would not allow. :class:`~mlpipes_constructs.kubeflow.pipeline.KubeflowPipeline`
builds such an image by default.

The condition step becomes a task that evaluates the whole spec condition (comparisons,
``And``/``Or``/``Not``, property file values read from S3) and returns ``"true"`` or
``"false"``; its branches are two ``dsl.If`` groups on that output, ``== "true"`` and ``== "false"``
(equivalent to ``dsl.If``/``dsl.Else`` for an output that is one or the other; ``kfp.local``
2.16 runs both branches of a ``dsl.If``/``dsl.Else`` pair). A fail step is a task
that raises with the spec's message, which fails the run. A human review is a task that starts
the human loop with the compile core's StartHumanLoop request, describes it every
``poll_interval_seconds`` of the step, stops it and fails after ``wait_seconds``, and returns
the decision (``Approved``/``Rejected``, by the compile core's rule) as its output; a
condition on the outcome gets that output as its task input ``outputs``. Parameters are typed
pipeline inputs with the spec's defaults.

Names: each job, model and endpoint configuration is ``<slug>-<run token>``, where the slug is
``<job name prefix>-<step>`` (lowercased, shortened with a hash to leave room) and the run
token is the first 20 hex digits of the SHA-256 of the KFP run id
(``dsl.PIPELINE_JOB_ID_PLACEHOLDER``): stable for the run, different for every run. Outputs
without a destination go below ``s3://<bucket>/<prefix><run token>/`` in the compile core's
layout. Tasks are not cached: each run starts its own jobs.

The kfp SDK is imported only when a pipeline is compiled (it takes about a second to import).
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlpipes_constructs.compile import (
    Branch,
    CompileError,
    Item,
    JobContext,
    JobPlacement,
    Parallel,
    StepDispatch,
    plan,
)
from mlpipes_constructs.compile import requests as sagemaker_requests
from mlpipes_constructs.compile.human_review import (
    human_loop_prefix,
    review_task_input,
    start_human_loop_request,
    wait_seconds,
)
from mlpipes_constructs.compile.naming import (
    MAX_NAME_LENGTH,
    MAX_TUNING_JOB_NAME_LENGTH,
    default_prefix,
    is_sagemaker_name,
    slug,
)
from mlpipes_constructs.compile.tracking import Tracking, tracking_environment
from mlpipes_constructs.kubeflow._components import run_step
from mlpipes_constructs.kubeflow._kfp_renderer import (
    HUMAN_LOOP_NAME,
    RUN_ID,
    TASK_INPUT,
    KfpRenderer,
    Template,
    step_slug,
    templated,
)
from mlpipes_constructs.spec import (
    And,
    Comparison,
    Condition,
    ConditionStep,
    CreateModelStep,
    EndpointStep,
    FailStep,
    HumanReviewStep,
    Not,
    Or,
    ParameterType,
    Pipeline,
    ProcessingStep,
    RegisterModelStep,
    TrainingStep,
    TransformStep,
    TuningStep,
)
from mlpipes_constructs.spec.graph import step_dependencies

ORCHESTRATOR = "Kubeflow Pipelines"
#: The version of each task's step document (its ``spec`` input).
STEP_FORMAT = "mlpipes-kfp-step/1"
#: How often a task describes its job while it waits, by default.
DEFAULT_POLL_INTERVAL_SECONDS = 30
#: The task input holding the step document.
SPEC_INPUT = "spec"

#: Python types of the spec's parameter types: KFP types its pipeline inputs from them.
PARAMETER_TYPES: Mapping[ParameterType, type] = {
    ParameterType.STRING: str,
    ParameterType.INTEGER: int,
    ParameterType.FLOAT: float,
    ParameterType.BOOLEAN: bool,
}
#: The SageMaker operation of each kind's request (the endpoint kind has two).
KIND_OPERATIONS = {
    "processing": "CreateProcessingJob",
    "training": "CreateTrainingJob",
    "tuning": "CreateHyperParameterTuningJob",
    "create_model": "CreateModel",
    "transform": "CreateTransformJob",
    "register_model": "CreateModelPackage",
    "human_review": "StartHumanLoop",
}
_PIPELINE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,127}")


@dataclass(frozen=True)
class CompiledTask:
    """One task of a compiled pipeline.

    Attributes:
        step: the spec step it runs.
        kind: the step's kind.
        task_name: the task's name in the IR's DAG.
        upstream: the steps it runs after.
        spec: the step document the task's component reads.
        parameters: the pipeline parameters it uses.
        outputs: the steps whose task outputs it reads (a review's outcome).
    """

    step: str
    kind: str
    task_name: str
    upstream: tuple[str, ...]
    spec: Mapping[str, Any]
    parameters: tuple[str, ...]
    outputs: tuple[str, ...] = ()


@dataclass
class CompiledKfpPipeline:
    """A pipeline spec compiled for Kubeflow Pipelines.

    Attributes:
        name: the KFP pipeline name.
        description: the pipeline's description.
        tasks: each step's task, in the spec's order.
        pipeline: the spec.
        image: the image every task runs in.
    """

    name: str
    description: str
    tasks: tuple[CompiledTask, ...]
    pipeline: Pipeline
    image: str
    _ir_yaml: str | None = field(default=None, repr=False)
    _component: Any = field(default=None, repr=False)

    def task(self, step: str) -> CompiledTask:
        """The task of ``step``."""
        return next(task for task in self.tasks if task.step == step)

    def component(self) -> Any:
        """The KFP pipeline (a ``kfp.dsl`` graph component): call it under ``kfp.local`` to
        run the pipeline, or compile it with ``kfp.compiler``."""
        if self._component is None:
            self._component = _build_component(self)
        return self._component

    @property
    def ir_yaml(self) -> str:
        """The pipeline as KFP IR YAML (the same bytes for the same inputs)."""
        if self._ir_yaml is None:
            from kfp import compiler as kfp_compiler

            with tempfile.TemporaryDirectory() as directory:
                path = Path(directory) / "pipeline.yaml"
                kfp_compiler.Compiler().compile(self.component(), str(path))
                self._ir_yaml = _printable_header(path.read_text(encoding="utf-8"), self)
        return self._ir_yaml

    @property
    def sha256(self) -> str:
        """The SHA-256 of :attr:`ir_yaml`, in hex."""
        return hashlib.sha256(self.ir_yaml.encode()).hexdigest()

    def write(self, path: Path) -> Path:
        """Write :attr:`ir_yaml` to ``path``; return it."""
        path.write_text(self.ir_yaml, encoding="utf-8")
        return path

    def requests(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Each SageMaker request, read back from the IR: ``(step, operation, request)``."""
        yield from ir_requests(yaml.safe_load(self.ir_yaml))


def ir_requests(ir: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Each SageMaker request of a compiled IR document, from its tasks' step documents."""
    for task in _ir_tasks(ir["root"]["dag"]["tasks"], ir["components"]):
        document = json.loads(task["inputs"]["parameters"][SPEC_INPUT]["runtimeValue"]["constant"])
        kind, request = document["kind"], document.get("request")
        if kind in KIND_OPERATIONS:
            yield document["step"], KIND_OPERATIONS[kind], request
        elif kind == "endpoint":
            yield document["step"], "CreateEndpointConfig", request["EndpointConfig"]
            yield document["step"], "CreateEndpoint", request["Endpoint"]


def _ir_tasks(tasks: Mapping[str, Any], components: Mapping[str, Any]) -> Iterator[Any]:
    for task in tasks.values():
        component = components[task["componentRef"]["name"]]
        if "dag" in component:
            yield from _ir_tasks(component["dag"]["tasks"], components)
        else:
            yield task


@dataclass(frozen=True)
class _Context:
    pipeline: Pipeline
    job: JobContext
    render: KfpRenderer
    name_prefix: str


def _named(
    step: ProcessingStep | TrainingStep | TuningStep | CreateModelStep | TransformStep,
    ctx: _Context,
) -> dict[str, Any]:
    name = ctx.render.resource_name(step.name)
    return {"request": sagemaker_requests.named_request(step, ctx.job, ctx.render, name)}


def _register_model(step: RegisterModelStep, ctx: _Context) -> dict[str, Any]:
    return {"request": sagemaker_requests.model_package(step, ctx.render)}


def _endpoint(step: EndpointStep, ctx: _Context) -> dict[str, Any]:
    endpoint_name = (
        ctx.render.value(step.endpoint_name)
        if step.endpoint_name is not None
        else slug(ctx.name_prefix, step.name, MAX_NAME_LENGTH)
    )
    requests = sagemaker_requests.endpoint_requests(
        step,
        ctx.job,
        ctx.render,
        config_name=ctx.render.resource_name(step.name),
        endpoint_name=endpoint_name,
    )
    return {"request": requests}


def _condition(step: ConditionStep, ctx: _Context) -> dict[str, Any]:
    return {"condition": _condition_json(step.condition, ctx)}


def _fail(step: FailStep, ctx: _Context) -> dict[str, Any]:
    return {"message": ctx.render.text(step.error_message)}


def _human_review(step: HumanReviewStep, ctx: _Context) -> dict[str, Any]:
    task_input = review_task_input(step, ctx.render, Template((RUN_ID,)))
    request = start_human_loop_request(
        step, ctx.render, Template((HUMAN_LOOP_NAME,)), Template((TASK_INPUT,))
    )
    return {
        "request": request,
        "task_input": task_input,
        "human_loop_prefix": human_loop_prefix(ctx.name_prefix, step.name),
        "approve_field": step.approve_field,
        "review_poll_seconds": step.poll_interval_seconds,
        "wait_seconds": wait_seconds(step),
    }


def _condition_json(condition: Condition, ctx: _Context) -> dict[str, Any]:
    if isinstance(condition, Not):
        return {"not": _condition_json(condition.condition, ctx)}
    if isinstance(condition, And):
        return {"and": [_condition_json(c, ctx) for c in condition.conditions]}
    if isinstance(condition, Or):
        return {"or": [_condition_json(c, ctx) for c in condition.conditions]}
    assert isinstance(condition, Comparison)
    return {
        "compare": condition.operator.value,
        "left": ctx.render.value(condition.left),
        "right": ctx.render.value(condition.right),
    }


_Handler = Callable[[Any, _Context], dict[str, Any]]
#: The handler of every step kind: the step document of a step of that kind.
STEP_DISPATCH: StepDispatch[_Handler] = StepDispatch(
    ORCHESTRATOR,
    {
        ProcessingStep: _named,
        TrainingStep: _named,
        TuningStep: _named,
        CreateModelStep: _named,
        TransformStep: _named,
        RegisterModelStep: _register_model,
        EndpointStep: _endpoint,
        ConditionStep: _condition,
        FailStep: _fail,
        HumanReviewStep: _human_review,
    },
)


def default_pipeline_name(spec_name: str) -> str:
    """A KFP pipeline name for a spec name: lowercase letters, digits and hyphens."""
    name = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]+", "-", spec_name.lower())).strip("-")
    return name[:128].rstrip("-") or "pipeline"


def compile_kfp_pipeline(
    pipeline: Pipeline,
    *,
    role_arn: str,
    artifact_bucket_name: str,
    artifact_prefix: str,
    code_locations: Mapping[str, str],
    image: str,
    region: str | None = None,
    kms_key_id: str | None = None,
    placement: JobPlacement | None = None,
    job_name_prefix: str | None = None,
    pipeline_name: str | None = None,
    poll_interval_seconds: int = DEFAULT_POLL_INTERVAL_SECONDS,
    tracking: Tracking | None = None,
) -> CompiledKfpPipeline:
    """Compile ``pipeline`` to a KFP pipeline whose tasks run its SageMaker jobs.

    Args:
        pipeline: the spec.
        role_arn: the role SageMaker jobs run as and models are created with.
        artifact_bucket_name: the bucket outputs without a destination go to.
        artifact_prefix: the folder in it for this pipeline, e.g. ``pipelines/<name>/``;
            empty or ending with ``/``. Each run writes below ``<prefix><run token>/``.
        code_locations: ``s3://`` URI of a ZIP of each local code directory, keyed by the
            steps' ``code`` values (see ``local_code_paths``).
        image: the image every task runs in; it must have Python 3, boto3 and kfp.
        region: the AWS region of the SageMaker calls. Default: boto3's (``AWS_REGION``).
        kms_key_id: key for job outputs and volumes. Default: the bucket's default encryption
            and SageMaker's volume encryption.
        placement: VPC placement of jobs and models. Default: no VPC configuration.
        job_name_prefix: start of every SageMaker name (letters, digits, hyphens).
            Default: the pipeline name, lowercased, at most 16 characters.
        pipeline_name: the KFP pipeline name (``^[a-z0-9][a-z0-9-]{0,127}$``). Default: the
            spec's name, lowercased, other characters as hyphens.
        poll_interval_seconds: how often a task describes its job while it waits (0 to
            3600). Default: 30.
        tracking: the MLflow server every processing and training job logs to, with the
            KFP run id as its MLflow run's execution id. Default: no tracking.

    Raises:
        CompileError: bad arguments, or steps the compiler cannot express, each named with its
            field (every problem at once).
        UnsupportedStepError: a step of a kind the compiler does not handle.
    """
    problems: list[str] = []
    if artifact_prefix and not artifact_prefix.endswith("/"):
        problems.append(f"artifact_prefix '{artifact_prefix}' must be empty or end with '/'")
    prefix = job_name_prefix if job_name_prefix is not None else default_prefix(pipeline.name)
    if not is_sagemaker_name(prefix, 16):
        problems.append(
            f"job_name_prefix '{prefix}' must be 1-16 letters, digits and hyphens, "
            "starting and ending with a letter or digit"
        )
    name = pipeline_name if pipeline_name is not None else default_pipeline_name(pipeline.name)
    if not _PIPELINE_NAME.fullmatch(name):
        problems.append(
            f"pipeline_name '{name}' must be 1-128 lowercase letters, digits and hyphens, "
            "starting with a letter or digit (KFP's rule)"
        )
    if not image.strip():
        problems.append("image must name a container image with Python 3, boto3 and kfp")
    if isinstance(poll_interval_seconds, bool) or not 0 <= poll_interval_seconds <= 3600:
        problems.append(
            f"poll_interval_seconds {poll_interval_seconds!r} must be a whole number of "
            "seconds from 0 to 3600"
        )
    missing_code = sorted(
        {s.code for s in pipeline.steps if isinstance(s, ProcessingStep)} - set(code_locations)
    )
    if missing_code:
        problems.append(
            f"code_locations has no URI for {missing_code}: expected a key of "
            "local_code_paths(pipeline)"
        )
    if problems:
        raise CompileError("; ".join(problems), orchestrator=ORCHESTRATOR)
    slugs = {
        step.name: step_slug(
            prefix,
            step.name,
            MAX_TUNING_JOB_NAME_LENGTH if isinstance(step, TuningStep) else MAX_NAME_LENGTH,
        )
        for step in pipeline.steps
    }
    render = KfpRenderer(
        pipeline=pipeline,
        run_root=f"s3://{artifact_bucket_name}/{artifact_prefix}",
        slugs=slugs,
        code_locations=code_locations,
    )
    ctx = _Context(
        pipeline=pipeline,
        job=JobContext(
            role_arn=role_arn,
            kms_key_id=kms_key_id,
            placement=placement,
            environment=tracking_environment(
                tracking,
                pipeline_name=pipeline.name,
                orchestrator=ORCHESTRATOR,
                execution_id=Template((RUN_ID,)),
            ),
        ),
        render=render,
        name_prefix=prefix,
    )
    types = {parameter.name: parameter.type.value for parameter in pipeline.parameters}
    dependencies = step_dependencies(pipeline)
    task_names: dict[str, str] = {}
    tasks = []
    for step in pipeline.steps:
        handler = STEP_DISPATCH.handler(step)
        render.begin_step()
        body = templated(handler(step, ctx))
        used = tuple(sorted(render.parameters))
        outputs = tuple(sorted(render.outputs))
        document: dict[str, Any] = {
            "format": STEP_FORMAT,
            "step": step.name,
            "kind": step.kind,
            **body,
        }
        if render.lookups:
            document["lookups"] = list(render.lookups)
        if used:
            document["parameter_types"] = {name: types[name] for name in used}
        if region is not None:
            document["region"] = region
        document["poll_seconds"] = poll_interval_seconds
        task_names[step.name] = _unique_task_name(step.name, task_names.values())
        tasks.append(
            CompiledTask(
                step=step.name,
                kind=step.kind,
                task_name=task_names[step.name],
                upstream=dependencies[step.name],
                spec=document,
                parameters=used,
                outputs=outputs,
            )
        )
    compiled = CompiledKfpPipeline(
        name=name,
        description=_one_line(pipeline.description or f"Pipeline {pipeline.name}"),
        tasks=tuple(tasks),
        pipeline=pipeline,
        image=image,
    )
    # Build and compile the KFP pipeline now, so a graph KFP cannot express is refused here.
    compiled.ir_yaml  # noqa: B018
    return compiled


def _printable_header(ir_yaml: str, compiled: CompiledKfpPipeline) -> str:
    """``ir_yaml`` with its leading comment written again in ASCII.

    The kfp SDK writes the description and the parameters' defaults into that comment as they
    are, so a default with a line break or a control character makes the file invalid YAML.
    The body starts at its first top-level key, ``components:`` (the only line at column 0
    that can read so: the body's strings are quoted or indented).
    """
    body = ir_yaml[ir_yaml.rindex("\ncomponents:\n") + 1 :]
    lines = [
        "# PIPELINE DEFINITION",
        f"# Name: {compiled.name}",
        f"# Description: {json.dumps(compiled.description)[1:-1]}",
    ]
    if compiled.pipeline.parameters:
        lines.append("# Inputs:")
        lines.extend(
            f"#    {p.name}: {PARAMETER_TYPES[p.type].__name__} [Default: {json.dumps(p.default)}]"
            for p in sorted(compiled.pipeline.parameters, key=lambda p: p.name)
        )
    return "\n".join(lines) + "\n" + body


def _one_line(text: str) -> str:
    # KFP writes the description into a comment at the top of the IR, unescaped.
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _k8s_name(name: str) -> str:
    # What kfp.dsl does to a component name to make its task name.
    return re.sub("-+", "-", re.sub("[^-0-9a-z]+", "-", name.lower())).strip("-") or "task"


def _unique_task_name(step: str, taken: Any) -> str:
    base = _k8s_name(step)
    existing = set(taken)
    if base not in existing:
        return base
    index = 2
    while f"{base}-{index}" in existing:
        index += 1
    return f"{base}-{index}"


def _add_task(
    dsl: Any,
    compiled: CompiledKfpPipeline,
    compiled_task: CompiledTask,
    inputs: Mapping[str, Any],
    made: Mapping[str, Any],
) -> Any:
    step = compiled.pipeline.step(compiled_task.step)
    component = dsl.component(run_step, base_image=compiled.image, install_kfp_package=False)
    component.component_spec.name = compiled_task.task_name
    # Only a task that reads another's output gets ``outputs`` (the input is optional).
    outputs = {name: made[name].output for name in compiled_task.outputs}
    task = component(
        step=step.name,
        kind=step.kind,
        spec=json.dumps(compiled_task.spec, sort_keys=True),
        parameters={name: inputs[name] for name in compiled_task.parameters},
        run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
        **({"outputs": outputs} if outputs else {}),
    )
    task.set_display_name(step.display_name or step.name)
    task.set_caching_options(False)
    upstream = [made[name] for name in compiled_task.upstream]
    if upstream:
        task.after(*upstream)
    return task


def _branch_groups(
    items: tuple[Item, ...], path: tuple[tuple[str, str], ...]
) -> dict[str, tuple[tuple[str, str], ...]]:
    """Each step's condition groups, outermost first, in the plan's order of steps."""
    groups: dict[str, tuple[tuple[str, str], ...]] = {}
    for item in items:
        if isinstance(item, Parallel):
            for branch in item.branches:
                groups.update(_branch_groups(branch, path))
        elif isinstance(item, Branch):
            groups[item.step.name] = path
            groups.update(_branch_groups(item.if_plan, (*path, (item.step.name, "true"))))
            groups.update(_branch_groups(item.else_plan, (*path, (item.step.name, "false"))))
        else:
            groups[item.name] = path
    return groups


def _task_order(pipeline: Pipeline, preferred: list[str]) -> list[str]:
    """The steps in an order that creates each task after its upstream tasks, keeping the
    plan's order (so the steps of one branch stay together) wherever it allows."""
    dependencies = step_dependencies(pipeline)
    done: set[str] = set()
    order: list[str] = []
    pending = list(preferred)
    while pending:
        name = next(n for n in pending if done.issuperset(dependencies[n]))
        order.append(name)
        done.add(name)
        pending.remove(name)
    return order


def _build_component(compiled: CompiledKfpPipeline) -> Any:
    """The ``kfp.dsl`` pipeline of ``compiled``: one task per step, branches as dsl.If/Else."""
    from kfp import dsl

    pipeline = compiled.pipeline
    names = [parameter.name for parameter in pipeline.parameters]
    by_step = {task.step: task for task in compiled.tasks}

    groups = _branch_groups(plan(pipeline), ())
    order = _task_order(pipeline, list(groups))

    def body(*args: Any) -> None:
        inputs = dict(zip(names, args, strict=True))
        made: dict[str, Any] = {}
        # The condition groups open now: (condition step, branch value) and their contexts.
        opened: list[tuple[tuple[str, str], contextlib.ExitStack]] = []
        for name in order:
            path = groups[name]
            keep = 0
            while keep < min(len(opened), len(path)) and opened[keep][0] == path[keep]:
                keep += 1
            while len(opened) > keep:
                opened.pop()[1].close()
            for condition, value in path[keep:]:
                level = contextlib.ExitStack()
                level.enter_context(
                    dsl.If(made[condition].output == value, name=f"{condition} is {value}")
                )
                opened.append(((condition, value), level))
            made[name] = _add_task(dsl, compiled, by_step[name], inputs, made)
        while opened:
            opened.pop()[1].close()

    body.__name__ = "pipeline"
    body.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                parameter.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=parameter.default,
                annotation=PARAMETER_TYPES[parameter.type],
            )
            for parameter in pipeline.parameters
        ]
    )
    try:
        return dsl.pipeline(name=compiled.name, description=compiled.description)(body)
    except Exception as error:  # the kfp SDK refuses a graph with its own exception types
        raise CompileError(
            f"KFP cannot express this pipeline: {error}", orchestrator=ORCHESTRATOR
        ) from error


__all__ = [
    "DEFAULT_POLL_INTERVAL_SECONDS",
    "KIND_OPERATIONS",
    "ORCHESTRATOR",
    "PARAMETER_TYPES",
    "STEP_DISPATCH",
    "STEP_FORMAT",
    "CompiledKfpPipeline",
    "CompiledTask",
    "compile_kfp_pipeline",
    "default_pipeline_name",
    "ir_requests",
]
