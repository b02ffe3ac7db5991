from __future__ import annotations

import re

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from mlpipes_constructs.errors import PropsValidationError
from mlpipes_constructs.foundation import ArtifactStorage, PlatformKey
from tests.conftest import SynthesizedApp


@pytest.fixture(scope="module")
def foundation(bundled_app: SynthesizedApp) -> Template:
    return Template.from_json(bundled_app.template("foundation"))


def _artifact_bucket(template: Template) -> dict[str, object]:
    buckets = template.find_resources(
        "AWS::S3::Bucket", {"Properties": {"LoggingConfiguration": Match.any_value()}}
    )
    (bucket,) = buckets.values()
    return bucket


def test_artifact_bucket_is_kms_encrypted_versioned_private_logged_and_retained(
    foundation: Template,
) -> None:
    bucket = _artifact_bucket(foundation)
    properties = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    encryption = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert encryption["BucketKeyEnabled"] is True
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["LoggingConfiguration"]["LogFilePrefix"] == "artifact-bucket/"
    (rule,) = properties["LifecycleConfiguration"]["Rules"]
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90}


def test_both_buckets_deny_requests_without_tls(foundation: Template) -> None:
    policies = foundation.find_resources("AWS::S3::BucketPolicy")
    assert len(policies) == 2
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )


def test_log_bucket_expires_logs_and_is_retained(foundation: Template) -> None:
    foundation.has_resource(
        "AWS::S3::Bucket",
        {
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                    ]
                },
                "LifecycleConfiguration": {"Rules": [Match.object_like({"ExpirationInDays": 365})]},
            },
            "DeletionPolicy": "Retain",
        },
    )


def test_grants_are_scoped_to_prefixes_with_explicit_actions(stack: cdk.Stack) -> None:
    storage = ArtifactStorage(stack, "Storage", encryption_key=PlatformKey(stack, "Key").key)
    role = iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    storage.grant_read_write(role, ["data/"])
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    (policy,) = policies.values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    actions = {
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert "s3:DeleteObject" not in actions
    assert all("*" not in action for action in actions)
    assert {
        "s3:GetObject",
        "s3:PutObject",
        "s3:ListBucket",
        "kms:Decrypt",
        "kms:GenerateDataKey",
    } <= actions
    listing = next(s for s in statements if "s3:ListBucket" in s["Action"])
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["data/*"]}}


@pytest.mark.parametrize("prefix", ["", "data", "/data/", "data/*/"])
def test_grants_refuse_prefixes_that_are_not_folders(stack: cdk.Stack, prefix: str) -> None:
    storage = ArtifactStorage(stack, "Storage", encryption_key=PlatformKey(stack, "Key").key)
    role = iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    with pytest.raises(
        PropsValidationError, match=re.escape(f"prefixes entry '{prefix}' must be a folder")
    ):
        storage.grant_read(role, [prefix])


def test_existing_bucket_is_used_as_is(stack: cdk.Stack) -> None:
    bucket = s3.Bucket.from_bucket_name(stack, "Existing", "my-artifacts")
    storage = ArtifactStorage(stack, "Storage", bucket=bucket)
    assert storage.bucket is bucket
    assert storage.log_bucket is None
    assert storage.s3_uri("data/x.csv") == "s3://my-artifacts/data/x.csv"
    Template.from_stack(stack).resource_count_is("AWS::S3::Bucket", 0)


def test_conflicting_and_out_of_range_props_are_reported_together(stack: cdk.Stack) -> None:
    key = PlatformKey(stack, "Key").key
    bucket = s3.Bucket.from_bucket_name(stack, "Existing", "my-artifacts")
    with pytest.raises(PropsValidationError) as error:
        ArtifactStorage(
            stack,
            "Storage",
            bucket=bucket,
            encryption_key=key,
            noncurrent_version_expiration=cdk.Duration.days(5000),
        )
    assert error.value.problems == [
        "'bucket' and 'encryption_key' cannot be used together: pass the existing bucket's key "
        "as 'bucket_key'",
        "'bucket' and 'noncurrent_version_expiration' cannot be used together: "
        "'noncurrent_version_expiration' only applies to a new bucket",
        "noncurrent_version_expiration 5000 days must be from 1 to 3650 days",
    ]


def test_new_bucket_needs_a_key(stack: cdk.Stack) -> None:
    with pytest.raises(PropsValidationError, match="encryption_key is required"):
        ArtifactStorage(stack, "Storage")


def test_foundation_bucket_sends_object_events_to_eventbridge(foundation: Template) -> None:
    properties = _artifact_bucket(foundation)["Properties"]
    assert properties["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }
    # Set on the bucket itself: no notifications custom resource (and no Lambda function).
    assert foundation.find_resources("Custom::S3BucketNotifications") == {}


def test_event_bridge_is_off_by_default_and_not_for_existing_buckets(stack: cdk.Stack) -> None:
    key = PlatformKey(stack, "Key").key
    storage = ArtifactStorage(stack, "Storage", encryption_key=key)
    resource = storage.bucket.node.default_child
    assert isinstance(resource, s3.CfnBucket)
    assert resource.notification_configuration is None
    existing = s3.Bucket.from_bucket_name(stack, "Existing", "existing-bucket")
    with pytest.raises(PropsValidationError) as error:
        ArtifactStorage(stack, "Shared", bucket=existing, event_bridge_enabled=True)
    assert error.value.problems == [
        "'bucket' and 'event_bridge_enabled' cannot be used together: an existing bucket is "
        "not changed"
    ]


def test_bucket_location_is_granted_without_the_prefix_condition_it_cannot_meet(
    stack: cdk.Stack,
) -> None:
    storage = ArtifactStorage(stack, "Storage", encryption_key=PlatformKey(stack, "Key").key)
    role = iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    storage.grant_read(role, ["data/"])
    (policy,) = Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (location,) = [s for s in statements if s["Action"] == "s3:GetBucketLocation"]
    assert "Condition" not in location


def test_expirations_that_are_not_whole_days_are_refused_by_prop(stack: cdk.Stack) -> None:
    with pytest.raises(PropsValidationError) as error:
        ArtifactStorage(
            stack,
            "Storage",
            encryption_key=PlatformKey(stack, "Key").key,
            noncurrent_version_expiration=cdk.Duration.hours(36),
        )
    assert error.value.problems == [
        "noncurrent_version_expiration of 36 hours must be a whole number of days"
    ]


def test_grants_return_an_iam_grant_with_every_statement(stack: cdk.Stack) -> None:
    storage = ArtifactStorage(stack, "Storage", encryption_key=PlatformKey(stack, "Key").key)
    role = iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    read = storage.grant_read(role, ["data/"])
    write = storage.grant_write(role, ["out/"])
    both = storage.grant_read_write(role, ["models/"])
    for grant in (read, write, both):
        assert isinstance(grant, iam.Grant)
        assert grant.success
    read.assert_success()
    actions = {action for statement in both.principal_statements for action in statement.actions}
    assert {"s3:GetObject", "s3:ListBucket", "s3:PutObject", "kms:GenerateDataKey"} <= actions
