"""What a SageMaker Pipelines execution role needs for each step type a definition uses."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from mlpipes_constructs._internal.validation import is_unresolved
from mlpipes_constructs.sagemaker._checks import iter_steps

#: SageMaker Pipelines names the jobs it starts ``pipelines-<execution id>-<step>-<suffix>``
#: (lowercased in the job's ARN), so the execution role only needs jobs with this prefix.
PIPELINE_JOB_PREFIX = "pipelines-"


@dataclass(frozen=True)
class JobPermissions:
    """Actions on one SageMaker resource type, limited to names matching ``name_pattern``."""

    resource_type: str
    actions: tuple[str, ...]
    name_pattern: str = f"{PIPELINE_JOB_PREFIX}*"


_PROCESSING = JobPermissions(
    "processing-job",
    (
        "sagemaker:AddTags",
        "sagemaker:CreateProcessingJob",
        "sagemaker:DescribeProcessingJob",
        "sagemaker:StopProcessingJob",
    ),
)
_TRAINING = JobPermissions(
    "training-job",
    (
        "sagemaker:AddTags",
        "sagemaker:CreateTrainingJob",
        "sagemaker:DescribeTrainingJob",
        "sagemaker:StopTrainingJob",
    ),
)
_TRANSFORM = JobPermissions(
    "transform-job",
    (
        "sagemaker:AddTags",
        "sagemaker:CreateTransformJob",
        "sagemaker:DescribeTransformJob",
        "sagemaker:StopTransformJob",
    ),
)
_MODEL = JobPermissions(
    "model", ("sagemaker:AddTags", "sagemaker:CreateModel", "sagemaker:DescribeModel")
)
# Tuning job names are limited to 32 characters, and SageMaker Pipelines does not document a
# fixed prefix for them or for the training jobs a tuning job launches (named after the tuning
# job): these two stay scoped to the account and region, not to a name prefix.
_TUNING = JobPermissions(
    "hyper-parameter-tuning-job",
    (
        "sagemaker:AddTags",
        "sagemaker:CreateHyperParameterTuningJob",
        "sagemaker:DescribeHyperParameterTuningJob",
        "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
        "sagemaker:StopHyperParameterTuningJob",
    ),
    name_pattern="*",
)
_TUNING_TRAINING = JobPermissions(
    "training-job", ("sagemaker:DescribeTrainingJob",), name_pattern="*"
)

#: Step ``Type`` -> the job permissions its executions need. Quality and Clarify checks run as
#: processing jobs.
STEP_PERMISSIONS: Mapping[str, tuple[JobPermissions, ...]] = MappingProxyType(
    {
        "Processing": (_PROCESSING,),
        "QualityCheck": (_PROCESSING,),
        "ClarifyCheck": (_PROCESSING,),
        "Training": (_TRAINING,),
        "Tuning": (_TUNING, _TUNING_TRAINING),
        "Transform": (_TRANSFORM,),
        "Model": (_MODEL,),
    }
)
#: Step types whose permissions come from elsewhere (RegisterModel: the model package groups;
#: EndpointConfig and Endpoint: the names in their arguments) or that call no AWS API.
HANDLED_ELSEWHERE: frozenset[str] = frozenset(
    {"RegisterModel", "EndpointConfig", "Endpoint", "Condition", "Fail"}
)

#: Creating a version in a model package group, and reading it back. AWS authorizes
#: CreateModelPackage on the new version (``model-package``) only, never on the group.
REGISTER_PACKAGE_ACTIONS: tuple[str, ...] = (
    "sagemaker:AddTags",
    "sagemaker:CreateModelPackage",
    "sagemaker:DescribeModelPackage",
)
REGISTER_GROUP_ACTIONS: tuple[str, ...] = ("sagemaker:DescribeModelPackageGroup",)


def job_permissions(step_types: frozenset[str]) -> list[JobPermissions]:
    """The job permissions of ``step_types``, merged per resource type and name pattern."""
    merged: dict[tuple[str, str], set[str]] = {}
    for step_type in sorted(step_types):
        for permissions in STEP_PERMISSIONS.get(step_type, ()):
            key = (permissions.resource_type, permissions.name_pattern)
            merged.setdefault(key, set()).update(permissions.actions)
    return [
        JobPermissions(resource_type, tuple(sorted(actions)), name_pattern)
        for (resource_type, name_pattern), actions in sorted(merged.items())
    ]


def unmapped_step_types(step_types: frozenset[str]) -> list[str]:
    """Step types whose permissions this library does not derive (Lambda, EMR, Callback...)."""
    return sorted(step_types - set(STEP_PERMISSIONS) - HANDLED_ELSEWHERE)


#: Creating the endpoint configurations of ``EndpointConfig`` steps, and reading them back.
ENDPOINT_CONFIG_ACTIONS: tuple[str, ...] = (
    "sagemaker:AddTags",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:DescribeEndpointConfig",
)
#: An ``Endpoint`` step creates its endpoint, or updates it when it exists, and waits for it.
ENDPOINT_ACTIONS: tuple[str, ...] = (
    "sagemaker:AddTags",
    "sagemaker:CreateEndpoint",
    "sagemaker:DescribeEndpoint",
    "sagemaker:UpdateEndpoint",
)
#: CreateEndpoint and UpdateEndpoint are authorized on the endpoint configuration as well.
DEPLOY_CONFIG_ACTIONS: tuple[str, ...] = ("sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint")

_STEP_PROPERTY = re.compile(r"Steps\.(?P<step>[A-Za-z0-9_-]+)\.EndpointConfigName")


@dataclass(frozen=True)
class EndpointUsage:
    """What a definition's endpoint steps use; names as ARN patterns (lowercased, ``*`` for
    what is chosen at run time).

    Attributes:
        configs: endpoint configurations the ``EndpointConfig`` steps create.
        deployed_configs: endpoint configurations the ``Endpoint`` steps deploy.
        endpoints: endpoints the ``Endpoint`` steps create or update.
        encrypted: whether an ``EndpointConfig`` step sets a ``KmsKeyId``.
    """

    configs: tuple[str, ...]
    deployed_configs: tuple[str, ...]
    endpoints: tuple[str, ...]
    encrypted: bool


def endpoint_usage(definition: Mapping[str, Any]) -> EndpointUsage:
    """The endpoint and endpoint configuration names a definition's steps use, as patterns.

    A constant name is itself; a ``Std:Join`` that starts with constants (such as the compiled
    ``<pipeline>-<step>-<execution id>``) is those constants and ``*``; any other run-time
    value (a parameter) is ``*``. A configuration an ``Endpoint`` step reads from an
    ``EndpointConfig`` step has that step's pattern.
    """
    steps = list(iter_steps(definition.get("Steps")))
    config_steps = {
        step["Name"]: name_pattern(_arguments(step).get("EndpointConfigName"))
        for step in steps
        if step.get("Type") == "EndpointConfig"
    }
    endpoint_steps = [_arguments(step) for step in steps if step.get("Type") == "Endpoint"]
    return EndpointUsage(
        configs=_unique(config_steps.values()),
        deployed_configs=_unique(
            _deployed_config(arguments.get("EndpointConfigName"), config_steps)
            for arguments in endpoint_steps
        ),
        endpoints=_unique(
            name_pattern(arguments.get("EndpointName")) for arguments in endpoint_steps
        ),
        encrypted=any(
            "KmsKeyId" in _arguments(step) for step in steps if step.get("Type") == "EndpointConfig"
        ),
    )


def name_pattern(value: Any) -> str:
    """A resource name as an ARN pattern: lowercased, ``*`` where it is known only at run time.

    A deploy-time value (a CDK token) counts as unknown: it cannot be lowercased here.
    """
    if isinstance(value, str):
        return "*" if is_unresolved(value) else value.lower()
    join = value.get("Std:Join") if isinstance(value, Mapping) else None
    if not isinstance(join, Mapping) or not isinstance(join.get("On"), str):
        return "*"
    separator: str = join["On"]
    constants: list[str] = []
    values = join.get("Values")
    for part in values if isinstance(values, list) else []:
        if not isinstance(part, str) or is_unresolved(part):
            break
        constants.append(part)
    else:
        return name_pattern(separator.join(constants))
    if not constants:
        return "*"
    return f"{separator.join(constants)}{separator}*".lower()


def _deployed_config(value: Any, config_steps: Mapping[str, str]) -> str:
    reference = value.get("Get") if isinstance(value, Mapping) else None
    if isinstance(reference, str):
        match = _STEP_PROPERTY.fullmatch(reference)
        if match and match.group("step") in config_steps:
            return config_steps[match.group("step")]
    return name_pattern(value)


def _arguments(step: Mapping[str, Any]) -> Mapping[str, Any]:
    arguments = step.get("Arguments")
    return arguments if isinstance(arguments, Mapping) else {}


def _unique(patterns: Iterable[str]) -> tuple[str, ...]:
    """Sorted without duplicates; ``*`` covers every other pattern."""
    found = set(patterns)
    return ("*",) if "*" in found else tuple(sorted(found))
