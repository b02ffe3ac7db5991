"""What MWAA Serverless accepts in a workflow definition: pure checks, no resources.

A definition is dag-factory YAML: a mapping of DAG id to the DAG's settings and ``tasks``
(a mapping of task id to task, or a list of tasks with ``task_id``), with an optional
``default`` section that every DAG inherits.

Sources:

* operators: "Supported operators", Amazon MWAA Serverless User Guide,
  https://docs.aws.amazon.com/mwaa/latest/mwaa-serverless-userguide/operators.html
  (Amazon provider operators and sensors, plus ``EmptyOperator``; the service wants the fully
  qualified class path in ``operator``). :data:`ALLOWED_OPERATORS` is the part of that list
  for the services ML pipelines use; ``PythonOperator`` and ``BashOperator`` are left out
  because they need a code package (``Code``) this construct does not upload.
* limits: "Supported Apache Airflow parameters",
  https://docs.aws.amazon.com/mwaa/latest/mwaa-serverless-userguide/supported-airflow-parameters.html
  (``retries`` 0-3, ``retry_delay`` at most 300 s, ``execution_timeout`` at most 3600 s,
  ``schedule`` a cron expression or none).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

_AWS = "airflow.providers.amazon.aws"


def _names(module: str, *classes: str) -> tuple[str, ...]:
    return tuple(f"{module}.{name}" for name in classes)


#: Operators (fully qualified) MWAA Serverless runs, for the services ML pipelines use.
ALLOWED_OPERATORS: Final[frozenset[str]] = frozenset(
    (
        "airflow.operators.empty.EmptyOperator",
        "airflow.providers.standard.operators.empty.EmptyOperator",
        *_names(
            f"{_AWS}.operators.sagemaker",
            "SageMakerProcessingOperator",
            "SageMakerTrainingOperator",
            "SageMakerTuningOperator",
            "SageMakerModelOperator",
            "SageMakerTransformOperator",
            "SageMakerEndpointConfigOperator",
            "SageMakerEndpointOperator",
            "SageMakerDeleteModelOperator",
            "SageMakerRegisterModelVersionOperator",
            "SageMakerStartPipelineOperator",
            "SageMakerStopPipelineOperator",
            "SageMakerAutoMLOperator",
            "SageMakerCreateExperimentOperator",
        ),
        *_names(
            f"{_AWS}.sensors.sagemaker",
            "SageMakerEndpointSensor",
            "SageMakerTrainingSensor",
            "SageMakerTransformSensor",
            "SageMakerTuningSensor",
            "SageMakerPipelineSensor",
            "SageMakerAutoMLSensor",
        ),
        *_names(
            f"{_AWS}.operators.s3",
            "S3CopyObjectOperator",
            "S3CreateObjectOperator",
            "S3DeleteObjectsOperator",
            "S3ListOperator",
            "S3ListPrefixesOperator",
        ),
        *_names(f"{_AWS}.sensors.s3", "S3KeySensor", "S3KeysUnchangedSensor"),
        *_names(
            f"{_AWS}.operators.lambda_function",
            "LambdaCreateFunctionOperator",
            "LambdaInvokeFunctionOperator",
        ),
        *_names(
            f"{_AWS}.operators.step_function",
            "StepFunctionStartExecutionOperator",
            "StepFunctionGetExecutionOutputOperator",
        ),
        *_names(f"{_AWS}.sensors.step_function", "StepFunctionExecutionSensor"),
        *_names(f"{_AWS}.operators.glue", "GlueJobOperator", "GlueDataQualityOperator"),
        *_names(f"{_AWS}.sensors.glue", "GlueJobSensor"),
        *_names(f"{_AWS}.operators.glue_crawler", "GlueCrawlerOperator"),
        *_names(f"{_AWS}.operators.athena", "AthenaOperator"),
        *_names(f"{_AWS}.sensors.athena", "AthenaSensor"),
        *_names(
            f"{_AWS}.operators.emr",
            "EmrServerlessCreateApplicationOperator",
            "EmrServerlessStartJobOperator",
            "EmrServerlessStopApplicationOperator",
            "EmrServerlessDeleteApplicationOperator",
        ),
        *_names(f"{_AWS}.sensors.emr", "EmrServerlessJobSensor"),
        *_names(f"{_AWS}.operators.batch", "BatchOperator"),
        *_names(f"{_AWS}.sensors.batch", "BatchSensor"),
        *_names(f"{_AWS}.operators.ecs", "EcsRunTaskOperator"),
        *_names(f"{_AWS}.operators.bedrock", "BedrockInvokeModelOperator"),
    )
)
MAX_RETRIES = 3
MAX_RETRY_DELAY_SECONDS = 300
MAX_EXECUTION_TIMEOUT_SECONDS = 3600
#: Five cron fields; MWAA Serverless takes no presets (``@daily``), timedeltas or assets.
_CRON = re.compile(r"\S+(\s+\S+){4}")
_CRON_FIELD = re.compile(r"[0-9*/,\-A-Za-z?LW#]+")


def workflow_problems(definition: Mapping[str, Any]) -> list[str]:
    """Every rule of MWAA Serverless that ``definition`` breaks, naming the task and the rule."""
    problems: list[str] = []
    dags = {name: dag for name, dag in definition.items() if name != "default"}
    if len(dags) != 1:
        problems.append(
            f"definition must hold exactly one DAG (a workflow is one DAG); found {len(dags)}: "
            f"{', '.join(map(str, dags)) or 'none'}"
        )
    shared = definition.get("default") or {}
    if not isinstance(shared, Mapping):
        return [*problems, "definition 'default' must be a mapping"]
    for dag_id, dag in dags.items():
        if not isinstance(dag, Mapping):
            problems.append(f"DAG '{dag_id}' must be a mapping of settings")
            continue
        merged = {**shared, **dag}
        problems.extend(_schedule_problems(str(dag_id), merged))
        dag_defaults = {**(shared.get("default_args") or {}), **(dag.get("default_args") or {})}
        problems.extend(_limit_problems(f"DAG '{dag_id}' default_args", dag_defaults))
        tasks = list(iter_tasks(merged.get("tasks")))
        if not tasks:
            problems.append(f"DAG '{dag_id}' has no tasks")
        for task_id, task in tasks:
            where = f"task '{task_id}' of DAG '{dag_id}'"
            if not isinstance(task, Mapping):
                problems.append(f"{where} must be a mapping")
                continue
            operator = task.get("operator")
            if operator not in ALLOWED_OPERATORS:
                problems.append(
                    f"{where}: operator '{operator}' is not on MWAA Serverless's allow-list of "
                    "operators (give the fully qualified class, e.g. 'airflow.providers.amazon."
                    "aws.operators.sagemaker.SageMakerProcessingOperator')"
                )
            problems.extend(_limit_problems(where, task))
    return problems


def iter_tasks(tasks: Any) -> Iterator[tuple[str, Any]]:
    """(task id, task) of a dag-factory ``tasks`` section, a mapping or a list."""
    if isinstance(tasks, Mapping):
        yield from ((str(task_id), task) for task_id, task in tasks.items())
    elif isinstance(tasks, list):
        for index, task in enumerate(tasks):
            task_id = task.get("task_id", f"#{index}") if isinstance(task, Mapping) else index
            yield str(task_id), task


def operators_of(definition: Mapping[str, Any]) -> set[str]:
    """Every ``operator`` the definition's tasks name."""
    return {
        str(task.get("operator"))
        for name, dag in definition.items()
        if name != "default" and isinstance(dag, Mapping)
        for _, task in iter_tasks(dag.get("tasks"))
        if isinstance(task, Mapping)
    }


def _schedule_problems(dag_id: str, dag: Mapping[str, Any]) -> list[str]:
    problems = []
    for key in ("schedule", "schedule_interval"):
        schedule = dag.get(key)
        if schedule is None:
            continue
        if not isinstance(schedule, str) or not _is_cron(schedule):
            problems.append(
                f"DAG '{dag_id}' {key} {schedule!r} must be a cron expression of five fields "
                "(e.g. '0 6 * * *') or none; MWAA Serverless takes no presets, intervals or "
                "assets"
            )
    return problems


def _is_cron(schedule: str) -> bool:
    text = schedule.strip()
    return bool(_CRON.fullmatch(text)) and all(_CRON_FIELD.fullmatch(f) for f in text.split())


def _limit_problems(where: str, settings: Mapping[str, Any]) -> list[str]:
    problems = []
    retries = settings.get("retries")
    if retries is not None and (
        isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES
    ):
        problems.append(f"{where}: retries {retries!r} must be a whole number from 0 to 3")
    for key, limit in (
        ("retry_delay", MAX_RETRY_DELAY_SECONDS),
        ("execution_timeout", MAX_EXECUTION_TIMEOUT_SECONDS),
    ):
        for name, value in ((key, settings.get(key)), (f"{key}_sec", settings.get(f"{key}_sec"))):
            if value is None:
                continue
            seconds = duration_seconds(value)
            if seconds is None:
                problems.append(
                    f"{where}: {name} {value!r} is not a duration; give seconds or a "
                    "datetime.timedelta mapping"
                )
            elif not 0 <= seconds <= limit:
                problems.append(f"{where}: {name} of {seconds:g} s must be at most {limit} s")
    return problems


def duration_seconds(value: Any) -> float | None:
    """Seconds of a dag-factory duration: a number of seconds, or a ``__type__`` mapping
    ``{"__type__": "datetime.timedelta", "minutes": 5}``; None if it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, Mapping) and value.get("__type__") == "datetime.timedelta":
        units = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}
        total = 0.0
        for unit, value_seconds in units.items():
            amount = value.get(unit, 0)
            if isinstance(amount, bool) or not isinstance(amount, int | float):
                return None
            total += amount * value_seconds
        return total
    return None
