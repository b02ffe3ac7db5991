"""The artifact bucket ML jobs read and write, and the bucket its access logs go to."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems
from mlpipes_constructs.compliance import acknowledge
from mlpipes_constructs.foundation._s3_access import (
    check_prefixes,
    grant_statements,
    prefix_read_statements,
    prefix_write_statements,
)

ACCESS_LOG_PREFIX = "artifact-bucket/"


class ArtifactStorage(Construct):
    """An artifact bucket for datasets, code, models and reports, plus its access log bucket.

    The artifact bucket is KMS-encrypted with the platform key (with S3 bucket keys to cut KMS
    calls), versioned, TLS-only, blocks all public access, logs every request to the log
    bucket, expires noncurrent versions, and is retained when the stack is deleted. The log
    bucket uses S3-managed encryption because S3 server access logging cannot deliver to a
    bucket encrypted with a KMS key.

    Args:
        encryption_key: key for the new artifact bucket. Required unless ``bucket`` is given.
        bucket: an existing artifact bucket to use. Nothing is created or changed.
            Default: a new bucket.
        bucket_key: key of the existing ``bucket``, so grants include it. Default: no key
            permissions are granted with an existing bucket.
        log_bucket: an existing bucket for the new artifact bucket's access logs.
            Default: a new log bucket.
        noncurrent_version_expiration: how long a replaced or deleted artifact version is kept
            (1 to 3650 days). Default: 90 days.
        access_log_expiration: how long access logs are kept in a new log bucket (90 to 3650
            days). Default: 365 days.
        removal_policy: what happens to new buckets when they leave the stack.
            Default: ``RemovalPolicy.RETAIN``.
        event_bridge_enabled: send the new artifact bucket's object events to EventBridge
            (for S3-triggered pipelines), set on the bucket itself without a custom resource.
            Default: False.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey | None = None,
        bucket: s3.IBucket | None = None,
        bucket_key: kms.IKey | None = None,
        log_bucket: s3.IBucket | None = None,
        noncurrent_version_expiration: Duration | None = None,
        access_log_expiration: Duration | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        event_bridge_enabled: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems(self.node.path)
        if bucket is not None:
            if encryption_key is not None:
                problems.conflict(
                    "bucket", "encryption_key", "pass the existing bucket's key as 'bucket_key'"
                )
            for name, value in (
                ("log_bucket", log_bucket),
                ("noncurrent_version_expiration", noncurrent_version_expiration),
                ("access_log_expiration", access_log_expiration),
            ):
                if value is not None:
                    problems.conflict("bucket", name, f"'{name}' only applies to a new bucket")
            if event_bridge_enabled:
                problems.conflict(
                    "bucket", "event_bridge_enabled", "an existing bucket is not changed"
                )
        else:
            problems.require(
                encryption_key is not None,
                "encryption_key is required for a new artifact bucket",
            )
            if bucket_key is not None:
                problems.conflict("bucket_key", "encryption_key", "'bucket_key' describes 'bucket'")
        versions_days = _days(
            problems, "noncurrent_version_expiration", noncurrent_version_expiration, 90
        )
        logs_days = _days(problems, "access_log_expiration", access_log_expiration, 365)
        problems.require(
            1 <= versions_days <= 3650,
            f"noncurrent_version_expiration {versions_days} days must be from 1 to 3650 days",
        )
        problems.require(
            90 <= logs_days <= 3650,
            f"access_log_expiration {logs_days} days must be from 90 to 3650 days",
        )
        problems.raise_if_any()

        self.log_bucket: s3.IBucket | None = None
        self.event_bridge_enabled = event_bridge_enabled
        if bucket is not None:
            self.bucket: s3.IBucket = bucket
            self.encryption_key: kms.IKey | None = bucket_key
            return
        self.encryption_key = encryption_key
        if log_bucket is None:
            log_bucket = s3.Bucket(
                self,
                "AccessLogBucket",
                encryption=s3.BucketEncryption.S3_MANAGED,
                enforce_ssl=True,
                versioned=True,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                # Object ownership is left to CDK: it depends on whether log delivery is
                # granted by bucket policy or (without that feature flag) by ACL.
                lifecycle_rules=[
                    s3.LifecycleRule(
                        id="ExpireAccessLogs",
                        expiration=Duration.days(logs_days),
                        noncurrent_version_expiration=Duration.days(1),
                    )
                ],
                removal_policy=removal_policy,
            )
            acknowledge(
                log_bucket,
                ["HIPAA.Security-S3DefaultEncryptionKMS", "NIST.800.53.R5-S3DefaultEncryptionKMS"],
                "S3 server access logging delivers only to buckets encrypted with S3-managed keys "
                "(SSE-KMS destinations are not supported), so the access log bucket uses SSE-S3",
            )
            _acknowledge_no_replication(log_bucket)
        self.log_bucket = log_bucket
        self.bucket = s3.Bucket(
            self,
            "Resource",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=encryption_key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=log_bucket,
            server_access_logs_prefix=ACCESS_LOG_PREFIX,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireNoncurrentVersions",
                    noncurrent_version_expiration=Duration.days(versions_days),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            removal_policy=removal_policy,
        )
        if event_bridge_enabled:
            resource = self.bucket.node.default_child
            assert isinstance(resource, s3.CfnBucket)
            resource.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
                event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(
                    event_bridge_enabled=True
                )
            )
        _acknowledge_no_replication(self.bucket)

    @property
    def bucket_name(self) -> str:
        return self.bucket.bucket_name

    def s3_uri(self, key: str = "") -> str:
        """``s3://<artifact bucket>/<key>``."""
        return f"s3://{self.bucket.bucket_name}/{key}"

    def grant_read(self, grantee: iam.IGrantable, prefixes: Sequence[str]) -> iam.Grant:
        """Grant reading and listing objects under ``prefixes`` (e.g. ``["data/"]``)."""
        self._check(prefixes)
        return grant_statements(
            grantee, prefix_read_statements(self.bucket, prefixes, self.encryption_key)
        )

    def grant_write(self, grantee: iam.IGrantable, prefixes: Sequence[str]) -> iam.Grant:
        """Grant writing (not deleting) objects under ``prefixes``."""
        self._check(prefixes)
        return grant_statements(
            grantee, prefix_write_statements(self.bucket, prefixes, self.encryption_key)
        )

    def grant_read_write(self, grantee: iam.IGrantable, prefixes: Sequence[str]) -> iam.Grant:
        """Grant reading, listing and writing objects under ``prefixes``."""
        return self.grant_read(grantee, prefixes).combine(self.grant_write(grantee, prefixes))

    def _check(self, prefixes: Sequence[str]) -> None:
        problems = Problems(self.node.path)
        check_prefixes(problems, "prefixes", prefixes)
        problems.raise_if_any()


def _acknowledge_no_replication(bucket: s3.IBucket) -> None:
    acknowledge(
        bucket,
        ["HIPAA.Security-S3BucketReplicationEnabled", "NIST.800.53.R5-S3BucketReplicationEnabled"],
        "cross-region replication needs a destination bucket and key in a second region that a "
        "single-region platform does not own; versioning and retention on stack deletion guard "
        "against loss, and a replicated bucket can be passed in as 'bucket'",
    )


def _days(problems: Problems, prop: str, value: Duration | None, default: int) -> int:
    """Whole days of ``value``; the default when it is omitted or not whole days (a problem)."""
    days = problems.check_whole_days(prop, value)
    return default if days is None else days
