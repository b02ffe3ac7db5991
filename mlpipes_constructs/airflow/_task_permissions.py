"""What the tasks of a compiled DAG call, as IAM statements for the execution role.

Derived from the compiled definition, task by task, from what the DAG factory and the Amazon
provider's operators call (recorded under ``dag.test()`` in
``tests/integration/airflow/test_compiled_dags.py``): each SageMaker operator creates its
resource and describes it while it waits; the training operator reads the job's log streams
(``print_log``); the transform operator describes the model it runs; the operators check
that their S3 inputs exist (``HeadBucket``, ``HeadObject``, ``ListObjectsV2``); the condition
reads each report with ``GetObject``; a failed run is published to the notification topic.
A human review task starts its human loops with the flow definition (``StartHumanLoop``),
describes them and stops them on timeout (``DescribeHumanLoop``, ``StopHumanLoop``, on the
loops named ``<human loop prefix>-*``), and reads each completed loop's ``output.json`` from
the flow definition's output location (``GetObject``): those grants come from the flow
definitions (``grant_human_reviews``), so this module only names the loops' prefixes.

Names: the compiled names are ``<slug>-{{ run token }}``; the fixed part before the first
template, lowercased as SageMaker writes names in ARNs, followed by ``*`` is the ARN pattern.
A name that starts with a template (a parameter) is ``*``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mlpipes_constructs.airflow._templates import JSON_VALUE_MACRO

#: ``(resource type, actions)`` on the resource named by the task's name field, by operator.
_JOB_ACTIONS: Mapping[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "processing": (
        (
            "ProcessingJobName",
            "processing-job",
            (
                "sagemaker:AddTags",
                "sagemaker:CreateProcessingJob",
                "sagemaker:DescribeProcessingJob",
                "sagemaker:StopProcessingJob",
            ),
        ),
    ),
    "training": (
        (
            "TrainingJobName",
            "training-job",
            (
                "sagemaker:AddTags",
                "sagemaker:CreateTrainingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:StopTrainingJob",
            ),
        ),
    ),
    "tuning": (
        (
            "HyperParameterTuningJobName",
            "hyper-parameter-tuning-job",
            (
                "sagemaker:AddTags",
                "sagemaker:CreateHyperParameterTuningJob",
                "sagemaker:DescribeHyperParameterTuningJob",
                "sagemaker:StopHyperParameterTuningJob",
            ),
        ),
        # The training jobs a tuning job launches are named after it.
        ("HyperParameterTuningJobName", "training-job", ("sagemaker:DescribeTrainingJob",)),
    ),
    "model": (
        (
            "ModelName",
            "model",
            ("sagemaker:AddTags", "sagemaker:CreateModel", "sagemaker:DescribeModel"),
        ),
    ),
    "transform": (
        (
            "TransformJobName",
            "transform-job",
            (
                "sagemaker:AddTags",
                "sagemaker:CreateTransformJob",
                "sagemaker:DescribeTransformJob",
                "sagemaker:StopTransformJob",
            ),
        ),
        ("ModelName", "model", ("sagemaker:DescribeModel",)),
    ),
}
ENDPOINT_CONFIG_ACTIONS = (
    "sagemaker:AddTags",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:DescribeEndpointConfig",
)
ENDPOINT_ACTIONS = (
    "sagemaker:AddTags",
    "sagemaker:CreateEndpoint",
    "sagemaker:DescribeEndpoint",
    "sagemaker:UpdateEndpoint",
)
#: CreateEndpoint and UpdateEndpoint are authorized on the endpoint configuration too.
DEPLOY_CONFIG_ACTIONS = ("sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint")
MODEL_PACKAGE_ACTIONS = ("sagemaker:AddTags", "sagemaker:CreateModelPackage")
TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"


@dataclass(frozen=True)
class TaskGrant:
    """Actions on SageMaker resources of one type whose names match ``name_pattern``."""

    resource_type: str
    name_pattern: str
    actions: tuple[str, ...]


@dataclass(frozen=True)
class DagPermissions:
    """What a compiled DAG's tasks need, before it becomes policy statements.

    Attributes:
        sagemaker: grants on SageMaker resources, merged per type and name pattern.
        training_log_streams: name patterns of the training jobs whose log streams the
            training operator reads.
        passes_job_role: whether a task passes the job role to SageMaker.
        reads_reports: whether a condition reads a report from S3.
        checks_inputs: whether an operator checks its S3 inputs exist.
        human_loop_prefixes: the start of the human loop names of each review task, which
            the flow definitions' grants name the loops by; a review task also reads its
            loops' output. Default: no review task.
    """

    sagemaker: tuple[TaskGrant, ...]
    training_log_streams: tuple[str, ...]
    passes_job_role: bool
    reads_reports: bool
    checks_inputs: bool
    human_loop_prefixes: tuple[str, ...] = ()


def name_pattern(value: Any) -> str:
    """A compiled name as an ARN pattern: the fixed start, lowercased, then ``*``; a constant
    name is itself (lowercased); anything else is ``*``."""
    if not isinstance(value, str):
        return "*"
    fixed, template, _ = value.partition("{{")
    if not template:
        return value.lower()
    return f"{fixed.lower()}*" if fixed else "*"


def dag_permissions(definition: Mapping[str, Any]) -> DagPermissions:
    """The permissions the tasks of a compiled DAG definition need."""
    merged: dict[tuple[str, str], set[str]] = {}
    log_streams: set[str] = set()
    loop_prefixes: set[str] = set()
    passes_role = reads_reports = checks_inputs = False

    def grant(resource_type: str, pattern: str, actions: tuple[str, ...]) -> None:
        merged.setdefault((resource_type, pattern), set()).update(actions)

    for task in definition["tasks"]:
        operator = task["operator"]
        config: Mapping[str, Any] = task.get("config", {})
        if operator in _JOB_ACTIONS:
            for field, resource_type, actions in _JOB_ACTIONS[operator]:
                grant(resource_type, name_pattern(config.get(field)), actions)
            passes_role = passes_role or operator != "transform"
            checks_inputs = True
            if operator == "training":
                log_streams.add(name_pattern(config.get("TrainingJobName")))
        elif operator == "endpoint":
            config_pattern = name_pattern(config["EndpointConfig"].get("EndpointConfigName"))
            grant("endpoint-config", config_pattern, ENDPOINT_CONFIG_ACTIONS)
            grant("endpoint-config", config_pattern, DEPLOY_CONFIG_ACTIONS)
            grant(
                "endpoint", name_pattern(config["Endpoint"].get("EndpointName")), ENDPOINT_ACTIONS
            )
        elif operator == "register_model":
            group = name_pattern(config.get("ModelPackageGroupName"))
            grant("model-package", group if group == "*" else f"{group}/*", MODEL_PACKAGE_ACTIONS)
        elif operator == "human_review":
            loop_prefixes.add(str(task["human_loop_prefix"]))
            # The task input's values: property files read when the request is rendered.
            reads_reports = reads_reports or f"{JSON_VALUE_MACRO}(" in json.dumps(config)
        elif operator in ("condition", "fail"):
            reads = task.get("condition") if operator == "condition" else task.get("message")
            reads_reports = reads_reports or _reads_json(reads)
    return DagPermissions(
        sagemaker=tuple(
            TaskGrant(resource_type, pattern, tuple(sorted(actions)))
            for (resource_type, pattern), actions in sorted(merged.items())
        ),
        training_log_streams=tuple(sorted(log_streams)),
        passes_job_role=passes_role,
        reads_reports=reads_reports,
        checks_inputs=checks_inputs,
        human_loop_prefixes=tuple(sorted(loop_prefixes)),
    )


def _reads_json(condition: Any) -> bool:
    return any(_operands(condition))


def _operands(condition: Any) -> Iterator[bool]:
    if isinstance(condition, Mapping):
        if "json" in condition:
            yield True
        for value in condition.values():
            yield from _operands(value)
    elif isinstance(condition, list):
        for item in condition:
            yield from _operands(item)
