"""What a SageMaker Pipelines execution role needs for each step type a definition uses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

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
#: Step types whose permissions come from elsewhere (RegisterModel: the model package groups)
#: or that call no AWS API.
HANDLED_ELSEWHERE: frozenset[str] = frozenset({"RegisterModel", "Condition", "Fail"})

#: Creating a version in a model package group, and reading it back.
REGISTER_PACKAGE_ACTIONS: tuple[str, ...] = (
    "sagemaker:AddTags",
    "sagemaker:CreateModelPackage",
    "sagemaker:DescribeModelPackage",
)
REGISTER_GROUP_ACTIONS: tuple[str, ...] = (
    "sagemaker:CreateModelPackage",
    "sagemaker:DescribeModelPackageGroup",
)


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
