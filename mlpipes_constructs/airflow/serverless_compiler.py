"""Compile a pipeline spec to an MWAA Serverless workflow: one dag-factory YAML mapping.

MWAA Serverless runs no custom Python (no DAG factory, no ``user_defined_macros``), only the
operators on its allow-list (``_serverless_rules``). So this compiler builds the same SageMaker
requests as :mod:`~mlpipes_constructs.airflow.compiler` (the compile core's, rendered by the
same :class:`~mlpipes_constructs.airflow._templates.AirflowRenderer`) and writes each as the
``config`` of a fully qualified Amazon provider operator, with the run token made of Airflow's
built-in macros: :data:`SERVERLESS_RUN_TOKEN`, the first 20 hex digits of the UUID 5 of the run
id (stable for the run, different for every run, lowercase hex, so each name stays a valid
SageMaker name within its 63 characters, 32 for tuning jobs).

Each step kind becomes one task:

* processing, training, tuning, create_model, transform: ``SageMakerProcessingOperator``,
  ``SageMakerTrainingOperator``, ``SageMakerTuningOperator``, ``SageMakerModelOperator``,
  ``SageMakerTransformOperator`` with the core's request as ``config``;
* endpoint: ``SageMakerEndpointOperator`` with ``{"EndpointConfig": ..., "Endpoint": ...}``;
* condition: MWAA Serverless has no branch operator on its allow-list. The shape "the else
  branch is one fail step" becomes ONE gate task, ``LambdaInvokeFunctionOperator`` calling
  ``condition_function_arn`` (the function of ``airflow/_condition_gate/``) with the compiled
  condition and the fail step's message as its payload: the function raises when the condition
  is false, so the task fails with the message and the if-branch never runs. The fail step
  itself is no task: the workflow's graph is the spec's graph minus its fail steps.

Refused, with a :class:`~mlpipes_constructs.compile.CompileError` naming the step, the field and
the rule: register_model (``SageMakerRegisterModelVersionOperator`` cannot send the core's
CreateModelPackage request: it does not template ``extras``, where this run's model metrics
URI goes, it calls ``.value`` on ``model_approval``, so a parameter's approval status cannot be
given, it creates the model package group when missing and always sends its own
``ModelPackageDescription``); human_review (starting and watching an Amazon A2I human loop
needs custom Python or an A2I operator, and the allow-list has neither); a condition whose
else branch is not exactly one fail step; a fail
step outside an else branch; ``JsonValue`` outside a condition or a fail message (reading S3 in a
template needs a custom macro); ``TrainingMetric``; a schedule that is not a cron expression.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpipes_constructs.airflow._serverless_rules import workflow_problems
from mlpipes_constructs.airflow._templates import (
    AirflowRenderer,
    Template,
    step_slugs,
    templated,
)
from mlpipes_constructs.airflow.compiler import (
    TASK_OPERATIONS,
    _Context,
    _endpoint,
    _named,
)
from mlpipes_constructs.compile import CompileError, JobContext, JobPlacement, StepDispatch
from mlpipes_constructs.compile.naming import (
    default_prefix,
    is_sagemaker_name,
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
    JsonValue,
    Not,
    Operand,
    Or,
    ParameterRef,
    Pipeline,
    ProcessingStep,
    RegisterModelStep,
    Step,
    TrainingMetric,
    TrainingStep,
    TransformStep,
    TuningStep,
)
from mlpipes_constructs.spec.graph import references, step_dependencies

ORCHESTRATOR = "MWAA Serverless"
#: The gate function's code (a Lambda handler ``index.handler`` on the runtime's own boto3).
CONDITION_GATE_DIRECTORY = Path(__file__).resolve().parent / "_condition_gate"
#: The run token from Airflow's built-in macros only (``macros.uuid`` is Python's ``uuid``).
SERVERLESS_RUN_TOKEN = "macros.uuid.uuid5(macros.uuid.NAMESPACE_URL, run_id).hex[:20]"
#: ``start_date`` of the compiled DAG: runs start by schedule or on demand, never catch up.
START_DATE = "2025-01-01"
#: Seconds between the SageMaker operators' status checks.
CHECK_INTERVAL_SECONDS = 30

_SAGEMAKER = "airflow.providers.amazon.aws.operators.sagemaker"
_LAMBDA = "airflow.providers.amazon.aws.operators.lambda_function"
#: The fully qualified operator of each task kind.
OPERATORS: Mapping[str, str] = {
    "processing": f"{_SAGEMAKER}.SageMakerProcessingOperator",
    "training": f"{_SAGEMAKER}.SageMakerTrainingOperator",
    "tuning": f"{_SAGEMAKER}.SageMakerTuningOperator",
    "model": f"{_SAGEMAKER}.SageMakerModelOperator",
    "transform": f"{_SAGEMAKER}.SageMakerTransformOperator",
    "endpoint": f"{_SAGEMAKER}.SageMakerEndpointOperator",
    "condition": f"{_LAMBDA}.LambdaInvokeFunctionOperator",
}
_WAITING = frozenset({"processing", "training", "tuning", "transform", "endpoint"})
_REGISTER_MODEL_REASON = (
    "MWAA Serverless runs no custom Python, and SageMakerRegisterModelVersionOperator cannot "
    "send the compile core's CreateModelPackage request: it does not template 'extras' (this "
    "run's model metrics URI), cannot take a parameter as the approval status, creates the "
    "model package group when it is missing and always sets its own description"
)
_HUMAN_REVIEW_REASON = (
    "MWAA Serverless runs no custom Python, and none of its allow-listed operators starts or "
    "watches an Amazon A2I human loop (the Amazon provider has no A2I operator or sensor); "
    "review the model on another orchestrator, or after the workflow"
)
#: The step kinds MWAA Serverless refuses, and why.
_REFUSED: Mapping[type[Step], str] = {
    RegisterModelStep: _REGISTER_MODEL_REASON,
    HumanReviewStep: _HUMAN_REVIEW_REASON,
}


@dataclass(frozen=True)
class CompiledWorkflow:
    """A pipeline compiled to an MWAA Serverless workflow.

    Attributes:
        dag_id: the DAG's id (the workflow's default name).
        definition: the dag-factory mapping ``{dag_id: {...}}`` the workflow runs.
        condition_steps: the condition steps compiled to gate tasks (which call the gate
            function); empty when the spec has none.
    """

    dag_id: str
    definition: Mapping[str, Any]
    condition_steps: tuple[str, ...] = ()

    @property
    def dag(self) -> Mapping[str, Any]:
        """The DAG's settings and tasks."""
        dag: Mapping[str, Any] = self.definition[self.dag_id]
        return dag

    def task(self, task_id: str) -> Mapping[str, Any]:
        """The definition of one task."""
        task: Mapping[str, Any] = self.dag["tasks"][task_id]
        return task

    def task_kinds(self) -> dict[str, str]:
        """Each task's kind (``processing``, ..., ``condition``), by task id."""
        kinds = {operator: kind for kind, operator in OPERATORS.items()}
        return {task_id: kinds[task["operator"]] for task_id, task in self.dag["tasks"].items()}

    def requests(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Each SageMaker request of the workflow: ``(task id, operation, request)``."""
        for task_id, kind in self.task_kinds().items():
            config: dict[str, Any] = self.task(task_id).get("config", {})
            if kind in TASK_OPERATIONS:
                yield task_id, TASK_OPERATIONS[kind], config
            elif kind == "endpoint":
                yield task_id, "CreateEndpointConfig", config["EndpointConfig"]
                yield task_id, "CreateEndpoint", config["Endpoint"]

    def permission_definition(self) -> dict[str, Any]:
        """The tasks in the shape :func:`~mlpipes_constructs.airflow._task_permissions.
        dag_permissions` reads (``{"tasks": [{"operator": kind, "config": ...}]}``); a gate
        task has no config (the gate function, not the workflow, reads the reports)."""
        return {
            "tasks": [
                {"task_id": task_id, "operator": kind, "config": self.task(task_id)["config"]}
                for task_id, kind in self.task_kinds().items()
                if kind != "condition"
            ]
        }


def compile_serverless_workflow(
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
    condition_function_arn: str | None = None,
    parameter_defaults: Mapping[str, Any] | None = None,
) -> CompiledWorkflow:
    """Compile ``pipeline`` to a dag-factory workflow that MWAA Serverless runs.

    Args:
        pipeline: the spec.
        role_arn: the role SageMaker jobs run as and models are created with.
        artifact_bucket_name: the bucket outputs without a destination go to.
        artifact_prefix: the folder in it for this pipeline; empty or ending with ``/``.
            Each run writes below ``<prefix><run token>/``.
        code_locations: ``s3://`` URI of a ZIP of each local code directory, keyed by the
            steps' ``code`` values (see ``local_code_paths``).
        kms_key_id: key for job outputs and volumes. Default: the bucket's default encryption
            and SageMaker's volume encryption.
        placement: VPC placement of jobs and models. Default: no VPC configuration.
        job_name_prefix: start of every SageMaker name (letters, digits, hyphens).
            Default: the pipeline name, lowercased, at most 16 characters.
        dag_id: the DAG's id. Default: the pipeline name.
        schedule: a cron expression of five fields. Default: no schedule (runs start with
            ``StartWorkflowRun``).
        condition_function_arn: the gate function that evaluates conditions. Required when the
            spec has a condition step. Default: none.
        parameter_defaults: param defaults that replace the spec's (scheduled runs take the
            defaults). Default: the spec's defaults.

    Raises:
        CompileError: arguments, steps or shapes MWAA Serverless cannot run, every problem
            at once, each naming the step, the field and the rule.
        UnsupportedStepError: a step of a kind the compiler does not handle.
    """
    problems = _problems(
        pipeline, artifact_prefix, job_name_prefix, code_locations, condition_function_arn
    )
    if problems:
        raise CompileError("; ".join(problems), orchestrator=ORCHESTRATOR)
    prefix = job_name_prefix if job_name_prefix is not None else default_prefix(pipeline.name)
    slugs = step_slugs(pipeline, prefix)
    render = AirflowRenderer(
        pipeline=pipeline,
        run_root=f"s3://{artifact_bucket_name}/{artifact_prefix}",
        slugs=slugs,
        code_locations=code_locations,
        run_token=SERVERLESS_RUN_TOKEN,
    )
    ctx = _Context(
        pipeline=pipeline,
        job=JobContext(role_arn=role_arn, kms_key_id=kms_key_id, placement=placement),
        render=render,
        name_prefix=prefix,
    )
    fail_steps = {step.name for step in pipeline.steps if isinstance(step, FailStep)}
    dependencies = step_dependencies(pipeline)
    tasks: dict[str, Any] = {}
    conditions: list[str] = []
    for step in pipeline.steps:
        kind, handler = SERVERLESS_DISPATCH.handler(step)
        if kind == "fail":
            continue
        task: dict[str, Any] = {"operator": OPERATORS[kind]}
        if kind == "condition":
            assert isinstance(step, ConditionStep) and condition_function_arn is not None
            task.update(_gate(step, ctx, condition_function_arn))
            conditions.append(step.name)
        else:
            task.update(templated(handler(step, ctx)))
            if kind in _WAITING:
                task["check_interval"] = CHECK_INTERVAL_SECONDS
        task["doc_md"] = _task_doc(step)
        upstream = [name for name in dependencies[step.name] if name not in fail_steps]
        if upstream:
            task["dependencies"] = upstream
        tasks[step.name] = task
    resolved_dag_id = dag_id or pipeline.name
    dag: dict[str, Any] = {
        "description": pipeline.description or f"Pipeline {pipeline.name}",
        "doc_md": _dag_doc(pipeline, render.run_root),
        "schedule": schedule,
        "start_date": START_DATE,
        "catchup": False,
        "tags": ["mlpipes", pipeline.name],
        "default_args": {"owner": "mlpipes", "retries": 0},
        "params": {
            parameter.name: (parameter_defaults or {}).get(parameter.name, parameter.default)
            for parameter in pipeline.parameters
        },
        "tasks": tasks,
    }
    definition = {resolved_dag_id: dag}
    broken = workflow_problems(definition)
    if broken:
        raise CompileError("; ".join(broken), orchestrator=ORCHESTRATOR)
    return CompiledWorkflow(
        dag_id=resolved_dag_id, definition=definition, condition_steps=tuple(conditions)
    )


def _problems(
    pipeline: Pipeline,
    artifact_prefix: str,
    job_name_prefix: str | None,
    code_locations: Mapping[str, str],
    condition_function_arn: str | None,
) -> list[str]:
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
    else_of = {
        name: step.name
        for step in pipeline.steps
        if isinstance(step, ConditionStep)
        for name in step.else_steps
    }
    for step in pipeline.steps:
        where = f"step '{step.name}'"
        if isinstance(step, ConditionStep):
            if condition_function_arn is None:
                problems.append(
                    f"{where}: condition_function_arn is required to compile a condition step "
                    "(MWAA Serverless has no branch operator; a gate function evaluates it)"
                )
            branch = [pipeline.step(name) for name in step.else_steps]
            if len(branch) != 1 or not isinstance(branch[0], FailStep):
                problems.append(
                    f"{where} (else_steps {list(step.else_steps)}): MWAA Serverless has no "
                    "branch operator; a condition compiles only when its else branch is exactly "
                    "one fail step (the gate task fails with its message)"
                )
            for name in step.if_steps:
                if isinstance(pipeline.step(name), FailStep):
                    problems.append(
                        f"{where} (if_steps): fail step '{name}' in the if branch is not "
                        "supported by MWAA Serverless; negate the condition and put it in the "
                        "else branch"
                    )
        if isinstance(step, FailStep) and step.name not in else_of:
            problems.append(
                f"{where}: a fail step compiles for MWAA Serverless only as the else branch of "
                "a condition step (the gate task fails with its message)"
            )
        if type(step) in _REFUSED:
            problems.append(f"{where}: {step.kind} is not supported: {_REFUSED[type(step)]}")
            # What it reads does not matter: the step does not compile.
            continue
        for path, ref in references(step):
            if isinstance(ref, TrainingMetric):
                problems.append(
                    f"{where} ({path}): TrainingMetric is not supported by MWAA Serverless; "
                    "write the metric to a property file and use JsonValue in a condition"
                )
            elif isinstance(ref, JsonValue) and not isinstance(step, ConditionStep | FailStep):
                problems.append(
                    f"{where} ({path}): JsonValue is supported by MWAA Serverless only in a "
                    "condition or a fail message (reading S3 in a request needs a custom macro, "
                    "and MWAA Serverless runs no custom Python)"
                )
    return problems


def _unsupported(step: Step, ctx: _Context) -> dict[str, Any]:
    reason = _REFUSED[type(step)]
    raise CompileError(
        f"{step.kind} is not supported: {reason}", step=step.name, orchestrator=ORCHESTRATOR
    )


def _skipped(step: Step, ctx: _Context) -> dict[str, Any]:
    return {}


#: The handler of every step kind (the Airflow compiler's for the SageMaker jobs).
SERVERLESS_DISPATCH: StepDispatch[Any] = StepDispatch(
    ORCHESTRATOR,
    {
        ProcessingStep: ("processing", _named),
        TrainingStep: ("training", _named),
        TuningStep: ("tuning", _named),
        CreateModelStep: ("model", _named),
        TransformStep: ("transform", _named),
        RegisterModelStep: ("register_model", _unsupported),
        HumanReviewStep: ("human_review", _unsupported),
        EndpointStep: ("endpoint", _endpoint),
        ConditionStep: ("condition", _skipped),
        FailStep: ("fail", _skipped),
    },
)


def _gate(step: ConditionStep, ctx: _Context, function_arn: str) -> dict[str, Any]:
    fail = ctx.pipeline.step(step.else_steps[0])
    assert isinstance(fail, FailStep)
    payload = {
        "step": step.name,
        "condition": _condition_json(step.condition, ctx),
        "message": _message_parts(fail, ctx),
    }
    return {
        "function_name": function_arn,
        "invocation_type": "RequestResponse",
        "payload": _payload_template(payload),
    }


# Run-time values in the gate's payload: each is ``{"expr": <Jinja expression>}`` while the
# payload is built, then ``{{ (<expression>) | tojson }}`` in its JSON text.
def _expr(template: Template) -> dict[str, str]:
    return {"__expr__": template.expression()}


def _operand(operand: Operand, ctx: _Context) -> dict[str, Any]:
    if isinstance(operand, ParameterRef):
        return {"const": {"__expr__": f"params.{operand.name}"}}
    if isinstance(operand, JsonValue):
        return {
            "json": {
                "uri": _expr(ctx.render.property_file_uri(operand)),
                "path": operand.json_path,
            }
        }
    assert not isinstance(operand, TrainingMetric)
    return {"const": operand}


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
        "left": _operand(condition.left, ctx),
        "right": _operand(condition.right, ctx),
    }


def _message_parts(step: FailStep, ctx: _Context) -> list[dict[str, Any]]:
    message = step.error_message
    if isinstance(message, str):
        return [{"const": message}]
    parts: list[dict[str, Any]] = []
    for index, value in enumerate(message.values):
        if index and message.separator:
            parts.append({"const": message.separator})
        if isinstance(value, JsonValue | ParameterRef):
            parts.append(_operand(value, ctx))
        else:
            rendered = ctx.render.text(value)
            parts.append({"const": _expr(rendered) if isinstance(rendered, Template) else rendered})
    return parts


_MARKERS = ("{{", "{%", "{#")


def _payload_template(payload: Mapping[str, Any]) -> str:
    """The payload as JSON text in which each run-time value is a Jinja expression that renders
    as JSON (``tojson``); literal text that Jinja would read as markup is kept raw."""
    expressions: list[str] = []

    def mark(value: Any) -> Any:
        if isinstance(value, Mapping):
            if set(value) == {"__expr__"}:
                expressions.append(str(value["__expr__"]))
                return f"\x00{len(expressions) - 1}\x00"
            return {key: mark(item) for key, item in value.items()}
        if isinstance(value, list):
            return [mark(item) for item in value]
        return value

    text = json.dumps(mark(payload), separators=(", ", ": "))
    pieces: list[str] = []
    rest = text
    for index, expression in enumerate(expressions):
        literal, _, rest = rest.partition(f'"\\u0000{index}\\u0000"')
        pieces.append(_raw(literal))
        pieces.append(f"{{{{ ({expression}) | tojson }}}}")
    pieces.append(_raw(rest))
    return "".join(pieces)


def _raw(text: str) -> str:
    if any(marker in text for marker in _MARKERS):
        return "{% raw %}" + text + "{% endraw %}"
    return text


def _task_doc(step: Step) -> str:
    title = step.display_name or step.name
    lines = [f"### {title}", "", f"A **{step.kind}** step of the pipeline spec."]
    if step.description:
        lines += ["", step.description]
    if isinstance(step, ConditionStep):
        lines += [
            "",
            f"The gate function evaluates the condition; when it is false this task fails with "
            f"the message of '{step.else_steps[0]}', and {list(step.if_steps)} do not run.",
        ]
    return "\n".join(lines)


def _dag_doc(pipeline: Pipeline, run_root: str) -> str:
    lines = [f"## {pipeline.name}", ""]
    if pipeline.description:
        lines += [pipeline.description, ""]
    lines += [
        "Compiled from an mlpipes pipeline spec for MWAA Serverless. Each task is a step of the "
        "spec; each SageMaker task's config is the SageMaker request.",
        "",
        f"Each run writes below `{run_root}<run token>/`, where the run token is the first 20 "
        "hex digits of the UUID 5 of the run id; SageMaker names end with it.",
        "",
        "| Step | Kind | Description |",
        "| --- | --- | --- |",
    ]
    for step in pipeline.steps:
        description = (step.description or "").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {step.name} | {step.kind} | {description} |")
    return "\n".join(lines)


__all__ = [
    "CONDITION_GATE_DIRECTORY",
    "OPERATORS",
    "ORCHESTRATOR",
    "SERVERLESS_DISPATCH",
    "SERVERLESS_RUN_TOKEN",
    "CompiledWorkflow",
    "compile_serverless_workflow",
]
