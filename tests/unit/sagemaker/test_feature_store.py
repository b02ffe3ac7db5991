from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from constructs import Construct

from mlpipes_constructs.errors import PropsValidationError
from mlpipes_constructs.sagemaker import FeatureDefinition, FeatureStore, FeatureType
from mlpipes_constructs.sagemaker.feature_store import lock_key, replacement_changes
from tests.unit.sagemaker.conftest import (
    as_list,
    imported_platform,
    new_app,
    new_stack,
    policy_statements,
    resources,
)

FEATURES = (
    FeatureDefinition("customer_id", FeatureType.STRING),
    FeatureDefinition("event_time", FeatureType.FRACTIONAL),
    FeatureDefinition("orders", FeatureType.INTEGRAL),
)


def test_feature_group_encrypts_both_stores_and_is_retained(
    sagemaker_template: dict[str, Any],
) -> None:
    (group,) = resources(sagemaker_template, "AWS::SageMaker::FeatureGroup").values()
    assert group["DeletionPolicy"] == "Retain"
    properties = group["Properties"]
    assert properties["RecordIdentifierFeatureName"] == "review_id"
    assert properties["EventTimeFeatureName"] == "event_time"
    assert properties["OnlineStoreConfig"]["EnableOnlineStore"] is True
    assert "KmsKeyId" in properties["OnlineStoreConfig"]["SecurityConfig"]
    offline = properties["OfflineStoreConfig"]
    assert offline["DisableGlueTableCreation"] is False
    assert "KmsKeyId" in offline["S3StorageConfig"]
    assert json.dumps(offline["S3StorageConfig"]["S3Uri"]).endswith('"/feature-store"]]}')
    assert {f["FeatureName"]: f["FeatureType"] for f in properties["FeatureDefinitions"]} == {
        "review_id": "String",
        "event_time": "Fractional",
        "star_rating": "Integral",
        "review_length": "Integral",
        "positive_probability": "Fractional",
    }


def test_offline_store_role_writes_only_its_prefix_and_database(
    sagemaker_template: dict[str, Any],
) -> None:
    statements = {
        s["Sid"]: s
        for s in policy_statements(sagemaker_template, "Permissions of the feature store")
    }
    assert set(statements) == {
        "WriteOfflineStore",
        "CheckBucketOwnership",
        "EncryptOfflineStore",
        "CatalogOfflineStore",
    }
    assert json.dumps(statements["WriteOfflineStore"]["Resource"]).endswith('"/feature-store/*"]]}')
    assert as_list(statements["CatalogOfflineStore"]["Resource"])[1:] == [
        "arn:aws:glue:us-east-1:123456789012:database/sagemaker_featurestore",
        "arn:aws:glue:us-east-1:123456789012:table/sagemaker_featurestore/*",
    ]
    assert all("*" not in action for s in statements.values() for action in as_list(s["Action"]))


# --- The replacement guard ----------------------------------------------------------------


def _synth(
    lock_file: Path,
    *,
    event_time: str = "event_time",
    features: tuple[FeatureDefinition, ...] = FEATURES,
    allow_replacement: bool = False,
    tag: str | None = None,
) -> None:
    app = new_app()
    stack = new_stack(app, "Features")
    bucket, key, _ = imported_platform(stack)
    store = FeatureStore(stack, "Store", bucket=bucket, encryption_key=key, lock_file=lock_file)
    store.add_feature_group(
        "Customers",
        feature_group_name="customers",
        record_identifier_feature_name="customer_id",
        event_time_feature_name=event_time,
        feature_definitions=features,
        allow_replacement=allow_replacement,
    )
    if tag is not None:
        cdk.Tags.of(app).add("team", tag)
    app.synth()


#: The group's lock entry: its environment, then its construct path.
ENTRY = "123456789012/us-east-1/Features/Store/Customers"


def test_replacement_guard_writes_checks_and_updates_the_lock(tmp_path: Path) -> None:
    lock_file = tmp_path / "feature-groups.lock.json"
    _synth(lock_file)
    lock = json.loads(lock_file.read_text(encoding="utf-8"))
    entry = lock["featureGroups"][ENTRY]
    assert entry["EventTimeFeatureName"] == "event_time"
    assert entry["FeatureDefinitions"] == {
        "customer_id": "String",
        "event_time": "Fractional",
        "orders": "Integral",
    }
    assert entry["OnlineStoreConfig.SecurityConfig"] == {
        "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    }

    # A changed event time feature would replace the group: refused, with a diff.
    renamed = (FEATURES[0], FeatureDefinition("updated_at", FeatureType.FRACTIONAL), FEATURES[2])
    with pytest.raises(RuntimeError) as error:
        _synth(lock_file, event_time="updated_at", features=renamed)
    message = str(error.value)
    assert (
        "[Features/Store/Customers] feature group 'customers' would be replaced or fail to "
        "update, losing its stored features; changes against"
    ) in message
    assert (
        '~ EventTimeFeatureName: "event_time" -> "updated_at" (changing it replaces the '
        "feature group)"
    ) in message
    assert (
        "- FeatureDefinitions.event_time (Fractional) removed (features cannot be removed "
        "from a feature group)"
    ) in message
    assert "pass allow_replacement=True" in message
    assert json.loads(lock_file.read_text(encoding="utf-8")) == lock

    # Adding a feature is an in-place update: accepted and recorded.
    added = (*FEATURES, FeatureDefinition("returns", FeatureType.INTEGRAL))
    _synth(lock_file, features=added)
    entry = json.loads(lock_file.read_text(encoding="utf-8"))["featureGroups"][ENTRY]
    assert entry["FeatureDefinitions"]["returns"] == "Integral"

    # A tag is create-only on a feature group: refused.
    with pytest.raises(RuntimeError, match=r"~ Tags: null -> \[\{\"key\": \"team\""):
        _synth(lock_file, features=added, tag="ml")

    # With allow_replacement the change goes through and the lock follows it.
    _synth(lock_file, features=added, tag="ml", allow_replacement=True)
    entry = json.loads(lock_file.read_text(encoding="utf-8"))["featureGroups"][ENTRY]
    assert entry["Tags"] == [{"key": "team", "value": "ml"}]


def test_replacement_changes_lists_type_changes_and_removals() -> None:
    previous = {"FeatureDefinitions": {"a": "String", "b": "Integral"}, "RoleArn": "r1"}
    current = {"FeatureDefinitions": {"a": "Fractional"}, "RoleArn": "r2"}
    assert replacement_changes(previous, current) == [
        '~ RoleArn: "r1" -> "r2" (changing it replaces the feature group)',
        "~ FeatureDefinitions.a: String -> Fractional (a feature's type cannot change)",
        "- FeatureDefinitions.b (Integral) removed (features cannot be removed from a "
        "feature group)",
    ]


# --- Bad props --------------------------------------------------------------------------------


def _problems(stack: cdk.Stack, **props: Any) -> list[str]:
    bucket, key, _ = imported_platform(stack)
    store = FeatureStore(
        stack, f"Store{len(stack.node.children)}", bucket=bucket, encryption_key=key
    )
    arguments: dict[str, Any] = {
        "feature_group_name": "customers",
        "record_identifier_feature_name": "customer_id",
        "event_time_feature_name": "event_time",
        "feature_definitions": FEATURES,
    }
    arguments.update(props)
    with pytest.raises(PropsValidationError) as error:
        store.add_feature_group("Bad", **arguments)
    return error.value.problems


def test_record_identifier_and_event_time_must_be_defined(stack: cdk.Stack) -> None:
    assert _problems(stack, record_identifier_feature_name="id", event_time_feature_name="ts") == [
        "record_identifier_feature_name 'id' is not among the feature_definitions",
        "event_time_feature_name 'ts' is not among the feature_definitions",
    ]


def test_feature_types_names_and_uniqueness_are_checked(stack: cdk.Stack) -> None:
    features = (
        FeatureDefinition("customer_id", FeatureType.FRACTIONAL),
        FeatureDefinition("event_time", FeatureType.INTEGRAL),
        FeatureDefinition("Orders", FeatureType.INTEGRAL),
        FeatureDefinition("orders", FeatureType.INTEGRAL),
        FeatureDefinition("write_time", FeatureType.STRING),
        FeatureDefinition("bad name", FeatureType.STRING),
        FeatureDefinition("score", "Float"),  # type: ignore[arg-type]
    )
    assert _problems(stack, feature_definitions=features, feature_group_name="bad_group") == [
        "feature_group_name 'bad_group' is not a valid SageMaker name: use 1-64 letters, "
        "digits and hyphens, starting and ending with a letter or digit",
        "feature name 'orders' is defined more than once (as 'Orders'; names are compared "
        "ignoring case)",
        "feature name 'write_time' is reserved by SageMaker Feature Store",
        "feature name 'bad name' must be 1-64 letters, digits, '-' and '_', starting and "
        "ending with a letter or digit",
        "feature 'score' has type 'Float'; expected one of Integral, Fractional, String "
        "(FeatureType)",
        "record_identifier_feature_name 'customer_id' has type Fractional; it must be "
        "Integral or String",
        "event_time_feature_name 'event_time' has type Integral; it must be String or Fractional",
    ]


def test_a_store_is_required(stack: cdk.Stack) -> None:
    assert _problems(stack, online_store=False, offline_store=False) == [
        "at least one of online_store and offline_store must be True"
    ]


def test_each_environment_has_its_own_lock_entry() -> None:
    app = cdk.App()
    in_test_env = Construct(new_stack(app, "A"), "Store")
    agnostic = Construct(cdk.Stack(app, "B"), "Store")
    assert lock_key(in_test_env) == "123456789012/us-east-1/A/Store"
    assert lock_key(agnostic) == "any-account/any-region/B/Store"
