"""Prefix-scoped S3 grants with explicit actions (no ``s3:*`` or ``s3:Get*`` patterns)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from mlpipes_constructs._internal.validation import Problems, is_unresolved

OBJECT_READ_ACTIONS: tuple[str, ...] = ("s3:GetObject", "s3:GetObjectVersion")
OBJECT_WRITE_ACTIONS: tuple[str, ...] = ("s3:PutObject", "s3:AbortMultipartUpload")
BUCKET_READ_ACTIONS: tuple[str, ...] = ("s3:ListBucket",)
KEY_READ_ACTIONS: tuple[str, ...] = ("kms:Decrypt", "kms:DescribeKey")
KEY_WRITE_ACTIONS: tuple[str, ...] = ("kms:Encrypt", "kms:GenerateDataKey")


def check_prefixes(problems: Problems, prop: str, prefixes: Sequence[str]) -> None:
    """A prefix is a folder: non-empty, ends with '/', no wildcard, no leading '/'."""
    if isinstance(prefixes, str):
        problems.add(f"{prop} must be a list of prefixes, not the string '{prefixes}'")
        return
    for prefix in prefixes:
        if is_unresolved(prefix):
            continue
        if not prefix or not prefix.endswith("/") or prefix.startswith("/") or "*" in prefix:
            problems.add(
                f"{prop} entry '{prefix}' must be a folder such as 'data/': not empty, ending "
                "with '/', not starting with '/', without '*'"
            )


def prefix_read_statements(
    bucket: s3.IBucket, prefixes: Sequence[str], key: kms.IKey | None
) -> list[iam.PolicyStatement]:
    """Read objects under ``prefixes`` and list only those prefixes."""
    statements = [
        iam.PolicyStatement(
            actions=list(OBJECT_READ_ACTIONS),
            resources=[bucket.arn_for_objects(f"{prefix}*") for prefix in prefixes],
        ),
        iam.PolicyStatement(
            actions=list(BUCKET_READ_ACTIONS),
            resources=[bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in prefixes]}},
        ),
        # A GetBucketLocation request carries no s3:prefix, so it needs its own statement.
        iam.PolicyStatement(actions=["s3:GetBucketLocation"], resources=[bucket.bucket_arn]),
    ]
    if key is not None:
        statements.append(
            iam.PolicyStatement(actions=list(KEY_READ_ACTIONS), resources=[key.key_arn])
        )
    return statements


def prefix_write_statements(
    bucket: s3.IBucket, prefixes: Sequence[str], key: kms.IKey | None
) -> list[iam.PolicyStatement]:
    """Write (never delete) objects under ``prefixes``."""
    statements = [
        iam.PolicyStatement(
            actions=list(OBJECT_WRITE_ACTIONS),
            resources=[bucket.arn_for_objects(f"{prefix}*") for prefix in prefixes],
        )
    ]
    if key is not None:
        statements.append(
            iam.PolicyStatement(
                actions=[*KEY_READ_ACTIONS, *KEY_WRITE_ACTIONS], resources=[key.key_arn]
            )
        )
    return statements


def grant_statements(
    grantee: iam.IGrantable, statements: Sequence[iam.PolicyStatement]
) -> iam.Grant:
    """Add ``statements`` to the grantee's identity policy; one grant for all of them."""
    grants = [
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=statement.actions,
            resource_arns=statement.resources,
            conditions=statement.conditions or None,
        )
        for statement in statements
    ]
    combined = grants[0]
    for grant in grants[1:]:
        combined = combined.combine(grant)
    return combined
