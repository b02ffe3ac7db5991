from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from mlpipes_constructs.errors import PropsValidationError
from mlpipes_constructs.foundation import PlatformKey


def test_new_key_rotates_is_retained_and_lets_cloudwatch_logs_encrypt(stack: cdk.Stack) -> None:
    PlatformKey(
        stack,
        "Key",
        alias="ml/platform",
        service_principals=["events.amazonaws.com", "cloudwatch.amazonaws.com"],
    )
    template = Template.from_stack(stack)
    template.has_resource(
        "AWS::KMS::Key",
        {
            "Properties": {
                "EnableKeyRotation": True,
                "RotationPeriodInDays": 365,
                "PendingWindowInDays": 30,
            },
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "AllowCloudWatchLogs",
                                "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
                                "Condition": {
                                    "ArnLike": {
                                        "kms:EncryptionContext:aws:logs:arn": (
                                            "arn:aws:logs:us-east-1:123456789012:log-group:*"
                                        )
                                    }
                                },
                            }
                        ),
                        Match.object_like(
                            {
                                "Sid": "AllowServiceCloudwatch",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Condition": {
                                    "StringEquals": {"aws:SourceAccount": "123456789012"}
                                },
                            }
                        ),
                    ]
                )
            }
        },
    )
    template.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/ml/platform"})


def test_eventbridge_gets_no_source_conditions_it_could_not_satisfy(stack: cdk.Stack) -> None:
    # EventBridge sends no source account or ARN when it publishes to an encrypted topic.
    PlatformKey(stack, "Key", service_principals=["events.amazonaws.com"])
    (key,) = Template.from_stack(stack).find_resources("AWS::KMS::Key").values()
    (events,) = [
        statement
        for statement in key["Properties"]["KeyPolicy"]["Statement"]
        if statement.get("Sid") == "AllowServiceEvents"
    ]
    assert events["Principal"] == {"Service": "events.amazonaws.com"}
    assert "Condition" not in events
    # Publishing to an encrypted topic takes a data key and decrypting it, nothing more.
    assert sorted(events["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]


def test_service_statements_never_allow_key_administration(stack: cdk.Stack) -> None:
    PlatformKey(stack, "Key")
    statements = Template.from_stack(stack).find_resources("AWS::KMS::Key")
    (key,) = statements.values()
    for statement in key["Properties"]["KeyPolicy"]["Statement"]:
        if "Service" in statement["Principal"]:
            assert all(not action.endswith("*") for action in statement["Action"])
            assert "kms:ScheduleKeyDeletion" not in statement["Action"]


def test_existing_key_is_used_as_is(stack: cdk.Stack) -> None:
    existing = kms.Key.from_key_arn(
        stack,
        "Existing",
        "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    )
    platform_key = PlatformKey(stack, "Key", key=existing)
    assert platform_key.key is existing
    assert not platform_key.owns_key
    Template.from_stack(stack).resource_count_is("AWS::KMS::Key", 0)


def test_existing_key_conflicts_with_new_key_settings(stack: cdk.Stack) -> None:
    existing = kms.Key.from_key_arn(
        stack,
        "Existing",
        "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    )
    with pytest.raises(PropsValidationError) as error:
        PlatformKey(stack, "Key", key=existing, alias="x", pending_window=cdk.Duration.days(7))
    assert error.value.problems == [
        "'key' and 'alias' cannot be used together: 'alias' only applies to a new key",
        "'key' and 'pending_window' cannot be used together: 'pending_window' only applies to "
        "a new key",
    ]


def _key_policy_statements(stack: cdk.Stack) -> list[dict[str, Any]]:
    (key,) = Template.from_stack(stack).find_resources("AWS::KMS::Key").values()
    statements: list[dict[str, Any]] = key["Properties"]["KeyPolicy"]["Statement"]
    return statements


def test_key_of_the_same_stack_gets_the_statements_the_library_needs(stack: cdk.Stack) -> None:
    existing = kms.Key(stack, "Existing")
    platform_key = PlatformKey(
        stack, "Key", key=existing, service_principals=["events.amazonaws.com"]
    )
    platform_key.allow_service("cloudwatch.amazonaws.com")
    sids = {statement.get("Sid") for statement in _key_policy_statements(stack)}
    assert {"AllowCloudWatchLogs", "AllowServiceEvents", "AllowServiceCloudwatch"} <= sids
    assert platform_key.edits_key_policy and not platform_key.owns_key


def test_imported_key_lists_exactly_the_statements_its_policy_must_hold(
    stack: cdk.Stack,
) -> None:
    existing = kms.Key.from_key_arn(
        stack,
        "Existing",
        "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    )
    platform_key = PlatformKey(
        stack, "Key", key=existing, service_principals=["events.amazonaws.com"]
    )
    statements = [
        stack.resolve(statement.to_statement_json())
        for statement in platform_key.required_key_policy_statements()
    ]
    assert [statement["Sid"] for statement in statements] == [
        "EnableIamPolicies",
        "AllowCloudWatchLogs",
        "AllowServiceEvents",
    ]
    assert statements[0] == {
        "Sid": "EnableIamPolicies",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    assert sorted(statements[2]["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert not platform_key.edits_key_policy
    Template.from_stack(stack).resource_count_is("AWS::KMS::Key", 0)


def test_new_key_policy_holds_every_required_statement(stack: cdk.Stack) -> None:
    platform_key = PlatformKey(stack, "Key", service_principals=["events.amazonaws.com"])
    in_policy = {statement.get("Sid") for statement in _key_policy_statements(stack)}
    required = {
        stack.resolve(statement.to_statement_json())["Sid"]
        for statement in platform_key.required_key_policy_statements()
    }
    # CDK's default statement enables IAM policies under no Sid of ours.
    assert required - {"EnableIamPolicies"} <= in_policy


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"rotation_period": cdk.Duration.days(30)},
            "rotation_period 30 days must be from 90 to 2560 days",
        ),
        ({"pending_window": cdk.Duration.days(3)}, "pending_window 3 days must be from 7 to 30"),
        ({"alias": "aws/mine"}, "alias 'aws/mine' must use only letters"),
        ({"alias": "bad alias!"}, "alias 'bad alias!' must use only letters"),
    ],
)
def test_bad_props_are_rejected_with_the_prop_and_value(
    stack: cdk.Stack, props: dict[str, object], message: str
) -> None:
    with pytest.raises(PropsValidationError, match=message.replace("(", r"\(")):
        PlatformKey(stack, "Key", **props)


def test_durations_that_are_not_whole_days_are_refused_by_prop(stack: cdk.Stack) -> None:
    with pytest.raises(PropsValidationError) as error:
        PlatformKey(stack, "Key", rotation_period=cdk.Duration.hours(2200))
    assert error.value.problems == ["rotation_period of 2200 hours must be a whole number of days"]
