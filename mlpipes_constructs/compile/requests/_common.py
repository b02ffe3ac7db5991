"""Pieces several SageMaker requests share."""

from __future__ import annotations

from collections.abc import Mapping

from mlpipes_constructs.compile.errors import CompileError
from mlpipes_constructs.compile.renderer import JobContext, Request, RequestValue, ValueRenderer
from mlpipes_constructs.compile.rules import has_instance_storage_only
from mlpipes_constructs.compile.tracking import STEP as STEP_VARIABLE


def optional(key: str, value: RequestValue | None) -> Request:
    """``{key: value}``, or nothing when ``value`` is None."""
    return {} if value is None else {key: value}


def string_map(values: Mapping[str, object], render: ValueRenderer) -> Request:
    """A string-valued mapping (environment, hyperparameters), keys sorted for stable output."""
    return {key: render.text(values[key]) for key in sorted(values)}


def job_environment(
    step_name: str, environment: Mapping[str, object], job: JobContext, render: ValueRenderer
) -> Request:
    """``Environment`` of a job: the pipeline's variables (with ``MLPIPES_STEP`` when there are
    any), then the step's own, which win; keys sorted. Empty when there are neither."""
    merged: Request = dict(job.environment)
    if merged:
        merged[STEP_VARIABLE] = step_name
    merged.update(string_map(environment, render))
    return {key: merged[key] for key in sorted(merged)}


def s3_prefix(uri: RequestValue, **extra: RequestValue) -> Request:
    """An ``S3DataSource`` of every object under ``uri``."""
    return {"S3DataType": "S3Prefix", "S3Uri": uri, **extra}


def volume_key(step_name: str, instance_type: object, job: JobContext) -> Request:
    """``VolumeKmsKeyId`` of a job's instances, or nothing without a key.

    Instance types with local NVMe storage only have no EBS volume to encrypt, and SageMaker
    refuses to start a job that names a volume key for them; a type given as a parameter is
    only known at run time and must be one with a volume.
    """
    if job.kms_key_id is None:
        return {}
    if has_instance_storage_only(instance_type):
        raise CompileError(
            f"instance type '{instance_type}' has instance storage only, which SageMaker "
            "refuses to encrypt with a volume key (VolumeKmsKeyId); use a type with an EBS "
            "volume (e.g. 'ml.m5.xlarge' for 'ml.m5d.xlarge')",
            step=step_name,
            field="instance_type",
        )
    return {"VolumeKmsKeyId": job.kms_key_id}
