"""Defaults every pipeline construct applies the same way (small pure functions)."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from mlpipes_constructs._internal.validation import Problems
from mlpipes_constructs.core.notifications import FailureNotifications
from mlpipes_constructs.foundation import SageMakerJobRole

#: Where outputs go when ``artifact_prefix`` is omitted: ``pipelines/<pipeline name>/``.
DEFAULT_ARTIFACT_PREFIX = "pipelines/"


def default_encryption_key(
    encryption_key: kms.IKey | None, artifact_bucket: s3.IBucket | None
) -> kms.IKey | None:
    """The key given, else the artifact bucket's KMS key, else None (the caller reports it)."""
    if encryption_key is not None:
        return encryption_key
    return artifact_bucket.encryption_key if artifact_bucket is not None else None


def require_encryption_key(
    problems: Problems, encryption_key: kms.IKey | None, artifact_bucket: s3.IBucket | None
) -> kms.IKey | None:
    """:func:`default_encryption_key`, recording a problem when there is none."""
    key = default_encryption_key(encryption_key, artifact_bucket)
    problems.require(
        key is not None,
        "encryption_key is required: "
        + (
            "artifact_bucket has no KMS key to default to"
            if artifact_bucket is not None
            else "there is no artifact_bucket whose KMS key it could default to"
        ),
    )
    return key


def default_notifications(notifications: FailureNotifications | None) -> FailureNotifications:
    """The notifications given, else a new encrypted, TLS-only topic."""
    return notifications if notifications is not None else FailureNotifications()


def job_role_of(job_role: SageMakerJobRole | iam.IRole) -> iam.IRole:
    """The ``iam.IRole`` behind a job role prop."""
    return job_role.role if isinstance(job_role, SageMakerJobRole) else job_role


def artifact_folder(artifact_prefix: str, pipeline_name: str) -> str:
    """The folder of a pipeline's outputs: ``<artifact_prefix><pipeline name>/``."""
    return f"{artifact_prefix}{pipeline_name}/"
