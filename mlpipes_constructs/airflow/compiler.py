"""Compile a pipeline spec to an Airflow DAG: a DAG factory plus the compiled spec as JSON.

Why a factory and data rather than generated DAG source: the DAG file that Airflow parses
(and shows in its UI's Code view) is one fixed, reviewed, tested module,
:data:`DAG_FACTORY` (``dags/factory/mlpipes_dag.py``), and each pipeline is a JSON document
beside it (``<dag_id>.json``) holding the SageMaker request of every task exactly as the
compile core built it. Generated source would have to quote every request as Python literals,
and each pipeline would be a new program to review; here a change to a pipeline is a change of
data, which the tests read back as JSON (the contract tests check every request against
botocore's shapes), and the code that Airflow runs is the same for every pipeline.

In the UI, task ids are the spec's step names, each task's ``doc_md`` is its step's
description, and the DAG's ``doc_md`` lists the steps; params are the spec's parameters, typed,
with their defaults and descriptions.

Each step kind becomes one task:

* processing, training, tuning: ``SageMakerProcessingOperator``, ``SageMakerTrainingOperator``,
  ``SageMakerTuningOperator`` with the compile core's request as ``config`` (the operators cast
  their integer fields, which Jinja renders as strings);
* create_model: ``SageMakerModelOperator``; transform: ``SageMakerTransformOperator``;
* endpoint: ``SageMakerEndpointOperator`` with ``{"EndpointConfig": ..., "Endpoint": ...}``: it
  creates the configuration, then creates the endpoint or updates it when it exists;
* register_model: a ``PythonOperator`` that calls CreateModelPackage with the core's request.
  ``SageMakerRegisterModelVersionOperator`` does not fit: it does not template its ``extras``
  (where the model URL of this run and a parameter approval status would go), it creates the
  model package group when it is missing (a permission the DAG would otherwise not need), and it
  always sets a description;
* condition: a ``BranchPythonOperator`` that reads each ``JsonValue`` from its property file in
  S3, evaluates the spec's condition, and follows the taken branch (the other one is skipped,
  with what depends on it);
* fail: a ``PythonOperator`` that raises ``AirflowFailException`` with the spec's message;
* human_review: a sensor of the DAG factory (the Amazon provider has no A2I operator or
  trigger), in reschedule mode so it holds no worker slot while people review: its first poke
  starts the human loop with the compile core's StartHumanLoop request (the loop's name comes
  from the run id, the task id and the try number, so a retry starts a new loop), each poke
  describes the loop, every ``poll_interval_seconds``; a completed loop's ``output.json`` is
  read from S3 and the outcome (``Approved``/``Rejected``, by the compile core's rule) is the
  task's XCom value, which conditions and other references read; a failed, stopped or expired
  loop fails the task with A2I's reason, and after ``wait_seconds`` the sensor stops the loop
  and fails.

Names: each job, model and endpoint configuration is ``<slug>-<run token>``, where the slug is
``<job name prefix>-<step>`` (lowercased, shortened with a hash to leave room) and the run
token is the first 20 hex digits of the SHA-256 of the DAG run's ``run_id``: stable for the
run (retries of a task reuse it), different for every run, and within SageMaker's 63
characters (32 for tuning jobs). Outputs without a destination go below the run's folder,
``s3://<bucket>/<prefix><run token>/``, in the compile core's layout.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpipes_constructs.airflow._templates import (
    AirflowRenderer,
    Expr,
    Template,
    jinja_literal,
    step_slugs,
    templated,
)
from mlpipes_constructs.compile import CompileError, JobContext, JobPlacement, StepDispatch
from mlpipes_constructs.compile import requests as sagemaker_requests
from mlpipes_constructs.compile.human_review import (
    human_loop_prefix,
    review_task_input,
    start_human_loop_request,
    wait_seconds,
)
from mlpipes_constructs.compile.naming import (
    MAX_NAME_LENGTH,
    default_prefix,
    is_sagemaker_name,
    slug,
)
from mlpipes_constructs.compile.tracking import Tracking, tracking_environment
from mlpipes_constructs.spec import (
    And,
    Comparison,
    Condition,
    ConditionStep,
    CreateModelStep,
    EndpointStep,
    FailStep,
    HumanReviewStep,
    JsonValue,
    Not,
    Operand,
    Or,
    ParameterRef,
    ParameterType,
    Pipeline,
    ProcessingStep,
    RegisterModelStep,
    ReviewOutcome,
    Step,
    TrainingMetric,
    TrainingStep,
    TransformStep,
    TuningStep,
)
from mlpipes_constructs.spec.graph import references, step_dependencies

ORCHESTRATOR = "Airflow"
#: The version of the JSON document the DAG factory reads.
DEFINITION_FORMAT = "mlpipes-dag/1"
#: The DAG factory: the one DAG file Airflow parses, next to each compiled ``<dag_id>.json``.
DAG_FACTORY = Path(__file__).resolve().parent / "dags" / "factory" / "mlpipes_dag.py"

#: Airflow Param types of the spec's parameter types (JSON Schema names).
PARAM_TYPES = {
    ParameterType.STRING: "string",
    ParameterType.INTEGER: "integer",
    ParameterType.FLOAT: "number",
    ParameterType.BOOLEAN: "boolean",
}
#: The SageMaker operation of each task's request, by the task's ``operator``.
TASK_OPERATIONS = {
    "processing": "CreateProcessingJob",
    "training": "CreateTrainingJob",
    "tuning": "CreateHyperParameterTuningJob",
    "model": "CreateModel",
    "transform": "CreateTransformJob",
    "register_model": "CreateModelPackage",
    "human_review": "StartHumanLoop",
}
#: The Jinja expression that tells the human loops of one task apart: one per run and try.
HUMAN_LOOP_UNIQUE = "run_id ~ '/' ~ task.task_id ~ '/' ~ ti.try_number"


@dataclass(frozen=True)
class CompiledDag:
    """A pipeline compiled to a DAG.

    Attributes:
        dag_id: the DAG's id.
        definition: the JSON document the DAG factory builds the DAG from.
    """

    dag_id: str
    definition: Mapping[str, Any]

    def files(self) -> dict[str, str]:
        """The files of the DAG's folder: ``<dag_id>.py`` (the factory) and ``<dag_id>.json``."""
        return {
            f"{self.dag_id}.py": DAG_FACTORY.read_text(encoding="utf-8"),
            f"{self.dag_id}.json": json.dumps(self.definition, indent=2, sort_keys=False) + "\n",
        }

    def write(self, directory: Path) -> Path:
        """Write :meth:`files` into ``directory`` (created if needed); return it."""
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in self.files().items():
            (directory / name).write_text(text, encoding="utf-8")
        return directory

    def task(self, task_id: str) -> Mapping[str, Any]:
        """The definition of one task."""
        return next(t for t in self.definition["tasks"] if t["task_id"] == task_id)

    def requests(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Each SageMaker request of the DAG: ``(task id, operation, request)``."""
        for task in self.definition["tasks"]:
            operator = task["operator"]
            if operator in TASK_OPERATIONS:
                yield task["task_id"], TASK_OPERATIONS[operator], task["config"]
            elif operator == "endpoint":
                yield task["task_id"], "CreateEndpointConfig", task["config"]["EndpointConfig"]
                yield task["task_id"], "CreateEndpoint", task["config"]["Endpoint"]


@dataclass(frozen=True)
class _Context:
    pipeline: Pipeline
    job: JobContext
    render: AirflowRenderer
    name_prefix: str


def _named(
    step: ProcessingStep | TrainingStep | TuningStep | CreateModelStep | TransformStep,
    ctx: _Context,
) -> dict[str, Any]:
    name = ctx.render.resource_name(step.name)
    return {"config": sagemaker_requests.named_request(step, ctx.job, ctx.render, name)}


def _register_model(step: RegisterModelStep, ctx: _Context) -> dict[str, Any]:
    return {"config": sagemaker_requests.model_package(step, ctx.render)}


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
    return {"config": requests}


def _condition(step: ConditionStep, ctx: _Context) -> dict[str, Any]:
    dependencies = step_dependencies(ctx.pipeline)
    downstream = [name for name, deps in dependencies.items() if step.name in deps]
    return {
        "condition": _condition_json(step.condition, ctx, step.name),
        "if_follow": [name for name in downstream if name not in step.else_steps],
        "else_follow": [name for name in downstream if name not in step.if_steps],
    }


def _fail(step: FailStep, ctx: _Context) -> dict[str, Any]:
    return {"message": _message_parts(step, ctx)}


def _human_review(step: HumanReviewStep, ctx: _Context) -> dict[str, Any]:
    prefix = human_loop_prefix(ctx.name_prefix, step.name)
    name = Template((Expr(f"mlpipes_human_loop_name({prefix!r}, {HUMAN_LOOP_UNIQUE})"),))
    task_input = review_task_input(step, ctx.render, Template((Expr("run_id"),)))
    # One Jinja expression: the task input with its values typed (a metric stays a number).
    content = Template((Expr(f"mlpipes_json({jinja_literal(task_input)})"),))
    return {
        "config": start_human_loop_request(step, ctx.render, name, content),
        "human_loop_prefix": prefix,
        "approve_field": step.approve_field,
        "poll_interval_seconds": step.poll_interval_seconds,
        "wait_seconds": wait_seconds(step),
    }


_Handler = Any
#: The handler of every step kind: what the task of a step of that kind holds.
STEP_DISPATCH: StepDispatch[_Handler] = StepDispatch(
    ORCHESTRATOR,
    {
        ProcessingStep: ("processing", _named),
        TrainingStep: ("training", _named),
        TuningStep: ("tuning", _named),
        CreateModelStep: ("model", _named),
        TransformStep: ("transform", _named),
        RegisterModelStep: ("register_model", _register_model),
        EndpointStep: ("endpoint", _endpoint),
        ConditionStep: ("condition", _condition),
        FailStep: ("fail", _fail),
        HumanReviewStep: ("human_review", _human_review),
    },
)


def compile_dag(
    pipeline: Pipeline,
    *,
    role_arn: str,
    artifact_bucket_name: str,
    artifact_prefix: str,
    code_locations: Mapping[str, str],
    kms_key_id: str | None = None,
    placement: JobPlacement | None = None,
    job_name_prefix: str | None = None,
    dag_id: str | None = None,
    schedule: str | None = None,
    parameter_defaults: Mapping[str, Any] | None = None,
    notification_topic_arn: str | None = None,
    tracking: Tracking | None = None,
) -> CompiledDag:
    """Compile ``pipeline`` to the definition the DAG factory builds a DAG from.

    Args:
        pipeline: the spec.
        role_arn: the role SageMaker jobs run as and models are created with.
        artifact_bucket_name: the bucket outputs without a destination go to.
        artifact_prefix: the folder in it for this pipeline, e.g. ``pipelines/<name>/``;
            empty or ending with ``/``. Each run writes below ``<prefix><run token>/``.
        code_locations: ``s3://`` URI of a ZIP of each local code directory, keyed by the
            steps' ``code`` values (see ``local_code_paths``).
        kms_key_id: key for job outputs and volumes. Default: the bucket's default encryption
            and SageMaker's volume encryption.
        placement: VPC placement of jobs and models. Default: no VPC configuration.
        job_name_prefix: start of every SageMaker name (letters, digits, hyphens).
            Default: the pipeline name, lowercased, at most 16 characters.
        dag_id: the DAG's id. Default: the pipeline name.
        schedule: a cron expression or Airflow preset the DAG runs on. Default: no schedule
            (runs start through the Airflow API, CLI or UI).
        parameter_defaults: DAG param defaults that replace the spec's (Airflow's scheduled
            runs take the params' defaults). Default: the spec's defaults.
        notification_topic_arn: an SNS topic a failed DAG run is published to (by the DAG's
            failure callback, as the environment's execution role). Default: no notification.
        tracking: the MLflow server every processing and training job logs to, with the
            run's id as its MLflow run's execution id. Default: no tracking.

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
    missing_code = sorted(
        {s.code for s in pipeline.steps if isinstance(s, ProcessingStep)} - set(code_locations)
    )
    if missing_code:
        problems.append(
            f"code_locations has no URI for {missing_code}: expected a key of "
            "local_code_paths(pipeline)"
        )
    for step in pipeline.steps:
        for path, ref in references(step):
            if isinstance(ref, TrainingMetric):
                problems.append(
                    f"step '{step.name}' ({path}): TrainingMetric is not supported by the "
                    "Airflow compiler; write the metric to a property file and use JsonValue"
                )
    if problems:
        raise CompileError("; ".join(problems), orchestrator=ORCHESTRATOR)
    slugs = step_slugs(pipeline, prefix)
    render = AirflowRenderer(
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
                execution_id=Template((Expr("run_id"),)),
            ),
        ),
        render=render,
        name_prefix=prefix,
    )
    dependencies = step_dependencies(pipeline)
    tasks = []
    for step in pipeline.steps:
        operator, handler = STEP_DISPATCH.handler(step)
        task: dict[str, Any] = {
            "task_id": step.name,
            "operator": operator,
            "doc_md": _task_doc(step),
            "upstream": list(dependencies[step.name]),
        }
        task.update(templated(handler(step, ctx)))
        tasks.append(task)
    resolved_dag_id = dag_id or pipeline.name
    definition: dict[str, Any] = {
        "format": DEFINITION_FORMAT,
        "dag_id": resolved_dag_id,
        "description": pipeline.description or f"Pipeline {pipeline.name}",
        "doc_md": _dag_doc(pipeline, render.run_root),
        "schedule": schedule,
        "tags": ["mlpipes", pipeline.name],
        "params": {
            parameter.name: {
                "type": PARAM_TYPES[parameter.type],
                "default": (parameter_defaults or {}).get(parameter.name, parameter.default),
                **({"description": parameter.description} if parameter.description else {}),
            }
            for parameter in pipeline.parameters
        },
        "tasks": tasks,
    }
    if notification_topic_arn is not None:
        definition["notification_topic_arn"] = notification_topic_arn
    return CompiledDag(dag_id=resolved_dag_id, definition=definition)


def _task_doc(step: Step) -> str:
    title = step.display_name or step.name
    lines = [f"### {title}", "", f"A **{step.kind}** step of the pipeline spec."]
    if step.description:
        lines += ["", step.description]
    return "\n".join(lines)


def _dag_doc(pipeline: Pipeline, run_root: str) -> str:
    lines = [f"## {pipeline.name}", ""]
    if pipeline.description:
        lines += [pipeline.description, ""]
    lines += [
        "Compiled from an mlpipes pipeline spec. Each task is a step of the spec and runs "
        "SageMaker through the Amazon provider's operators; each task's config is the "
        "SageMaker request (see the task's Rendered Template).",
        "",
        f"Each run writes below `{run_root}<run token>/`, where the run token is the first 20 "
        "hex digits of the SHA-256 of the run id; SageMaker names end with it.",
        "",
        "| Step | Kind | Description |",
        "| --- | --- | --- |",
    ]
    for step in pipeline.steps:
        description = (step.description or "").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {step.name} | {step.kind} | {description} |")
    return "\n".join(lines)


def _operand(operand: Operand, ctx: _Context, owner: str) -> dict[str, Any]:
    if isinstance(operand, ParameterRef):
        return {"param": operand.name}
    if isinstance(operand, JsonValue):
        return {
            "json": {
                "uri": ctx.render.property_file_uri(operand),
                "path": operand.json_path,
            }
        }
    if isinstance(operand, ReviewOutcome):
        # The review task's XCom value, rendered when the condition's task runs.
        return {"template": ctx.render.value(operand)}
    if isinstance(operand, TrainingMetric):
        raise CompileError(
            "TrainingMetric is not supported by the Airflow compiler; write the metric to a "
            "property file and use JsonValue",
            step=owner,
            field="condition",
            orchestrator=ORCHESTRATOR,
        )
    return {"const": operand}


def _condition_json(condition: Condition, ctx: _Context, owner: str) -> dict[str, Any]:
    if isinstance(condition, Not):
        return {"not": _condition_json(condition.condition, ctx, owner)}
    if isinstance(condition, And):
        return {"and": [_condition_json(c, ctx, owner) for c in condition.conditions]}
    if isinstance(condition, Or):
        return {"or": [_condition_json(c, ctx, owner) for c in condition.conditions]}
    assert isinstance(condition, Comparison)
    return {
        "compare": condition.operator.value,
        "left": _operand(condition.left, ctx, owner),
        "right": _operand(condition.right, ctx, owner),
    }


def _message_parts(step: FailStep, ctx: _Context) -> list[dict[str, Any]]:
    message = step.error_message
    if isinstance(message, str):
        return [{"const": message}]
    parts: list[dict[str, Any]] = []
    for index, value in enumerate(message.values):
        if index and message.separator:
            parts.append({"const": message.separator})
        if isinstance(value, JsonValue):
            parts.append(_operand(value, ctx, step.name))
        elif isinstance(value, ParameterRef):
            parts.append({"param": value.name})
        else:
            rendered = ctx.render.text(value)
            key = "template" if isinstance(rendered, Template) else "const"
            parts.append({key: rendered})
    return parts


__all__ = [
    "DAG_FACTORY",
    "DEFINITION_FORMAT",
    "ORCHESTRATOR",
    "STEP_DISPATCH",
    "CompiledDag",
    "compile_dag",
]
