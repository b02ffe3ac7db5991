"""Feature groups with KMS-encrypted online and offline stores, guarded against replacement.

CloudFormation replaces an ``AWS::SageMaker::FeatureGroup`` when any of its create-only
properties changes (:data:`REPLACEMENT_PROPERTIES`, from the resource's schema): the old group
is deleted with its online records (or, retained, blocks the new one's name) and the offline
store starts a new table. Features cannot be removed from a feature group nor change type.
A :class:`FeatureStore` with a ``lock_file`` records those properties of each of its groups in
a JSON file the team commits; a later synth that would change one of them fails with a diff
unless the group is created with ``allow_replacement=True``.
"""

from __future__ import annotations

import enum
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import Annotations, ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct, IValidation

from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.compliance import acknowledge_wildcard
from mlpipes_constructs.foundation._s3_access import check_prefixes
from mlpipes_constructs.iam import ManagedPolicyRole
from mlpipes_constructs.sagemaker._checks import FEATURE_GROUP_NAME_MAX, check_name

#: Properties of ``AWS::SageMaker::FeatureGroup`` whose change replaces the resource
#: (``createOnlyProperties`` of its CloudFormation resource schema).
REPLACEMENT_PROPERTIES: tuple[str, ...] = (
    "FeatureGroupName",
    "RecordIdentifierFeatureName",
    "EventTimeFeatureName",
    "OnlineStoreConfig.SecurityConfig",
    "OnlineStoreConfig.EnableOnlineStore",
    "OnlineStoreConfig.StorageType",
    "OfflineStoreConfig",
    "RoleArn",
    "Description",
    "Tags",
)
LOCK_FILE_VERSION = 1
MAX_FEATURES = 2500
RESERVED_FEATURE_NAMES = frozenset({"is_deleted", "write_time", "api_invocation_time"})
_FEATURE_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_-]{0,63}")
#: The Glue database SageMaker creates offline store tables in.
FEATURE_STORE_DATABASE = "sagemaker_featurestore"


class FeatureType(enum.Enum):
    """The type of a feature's values."""

    INTEGRAL = "Integral"
    FRACTIONAL = "Fractional"
    STRING = "String"


@dataclass(frozen=True)
class FeatureDefinition:
    """One feature (column) of a feature group.

    Attributes:
        name: 1-64 letters, digits, '-' and '_', starting and ending with a letter or digit.
        type: the type of its values.
    """

    name: str
    type: FeatureType


class FeatureStore(Construct):
    """Where feature groups keep their offline data, the role that writes it, and the lock.

    Offline stores go under ``offline_store_prefix`` of ``bucket``, KMS-encrypted with
    ``encryption_key``, with a Glue Data Catalog table each. The offline store role may write
    only under that prefix and create tables only in the ``sagemaker_featurestore`` database.

    Args:
        bucket: the bucket of the offline stores.
        encryption_key: the key of the online and offline stores.
        offline_store_prefix: bucket folder of the offline stores.
            Default: ``"feature-store/"``.
        lock_file: path of the JSON file recording each group's replacement-sensitive
            settings; commit it. Created when missing. Default: no replacement guard.
        role: the offline store role. Default: a new least-privilege role.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        encryption_key: kms.IKey,
        offline_store_prefix: str = "feature-store/",
        lock_file: str | os.PathLike[str] | None = None,
        role: iam.IRole | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems(self.node.path)
        check_prefixes(problems, "offline_store_prefix", [offline_store_prefix])
        if lock_file is not None and Path(lock_file).is_dir():
            problems.add(f"lock_file '{lock_file}' is a directory; expected a JSON file path")
        problems.raise_if_any()

        self.bucket = bucket
        self.encryption_key = encryption_key
        self.offline_store_prefix = offline_store_prefix
        self.lock_file: Path | None = None if lock_file is None else Path(lock_file)
        self.offline_store_uri = f"s3://{bucket.bucket_name}/{offline_store_prefix.rstrip('/')}"
        self.policy: iam.ManagedPolicy | None = None
        if role is None:
            role = self._new_role()
        self.role = role

    def add_feature_group(
        self,
        construct_id: str,
        *,
        feature_group_name: str,
        record_identifier_feature_name: str,
        event_time_feature_name: str,
        feature_definitions: Sequence[FeatureDefinition],
        description: str | None = None,
        online_store: bool = True,
        offline_store: bool = True,
        allow_replacement: bool = False,
    ) -> FeatureGroup:
        """A new :class:`FeatureGroup` in this store (see its arguments)."""
        return FeatureGroup(
            self,
            construct_id,
            store=self,
            feature_group_name=feature_group_name,
            record_identifier_feature_name=record_identifier_feature_name,
            event_time_feature_name=event_time_feature_name,
            feature_definitions=feature_definitions,
            description=description,
            online_store=online_store,
            offline_store=offline_store,
            allow_replacement=allow_replacement,
        )

    def _new_role(self) -> iam.Role:
        stack = Stack.of(self)
        objects = self.bucket.arn_for_objects(f"{self.offline_store_prefix}*")
        tables = stack.format_arn(
            service="glue",
            resource="table",
            resource_name=f"{FEATURE_STORE_DATABASE}/*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        role = ManagedPolicyRole(
            self,
            "OfflineStoreRole",
            service="sagemaker.amazonaws.com",
            description="Writes feature group offline stores and their Glue tables",
            policy_description="Permissions of the feature store offline store role",
            statements=[
                iam.PolicyStatement(
                    sid="WriteOfflineStore",
                    actions=["s3:PutObject", "s3:PutObjectAcl", "s3:GetObject"],
                    resources=[objects],
                ),
                iam.PolicyStatement(
                    sid="CheckBucketOwnership",
                    actions=["s3:GetBucketAcl"],
                    resources=[self.bucket.bucket_arn],
                ),
                iam.PolicyStatement(
                    sid="EncryptOfflineStore",
                    actions=[
                        "kms:Decrypt",
                        "kms:DescribeKey",
                        "kms:Encrypt",
                        "kms:GenerateDataKey",
                    ],
                    resources=[self.encryption_key.key_arn],
                ),
                iam.PolicyStatement(
                    sid="CatalogOfflineStore",
                    actions=[
                        "glue:CreateDatabase",
                        "glue:CreateTable",
                        "glue:GetDatabase",
                        "glue:GetTable",
                        "glue:UpdateTable",
                    ],
                    resources=[
                        stack.format_arn(
                            service="glue",
                            resource="catalog",
                            arn_format=ArnFormat.NO_RESOURCE_NAME,
                        ),
                        stack.format_arn(
                            service="glue",
                            resource="database",
                            resource_name=FEATURE_STORE_DATABASE,
                            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
                        ),
                        tables,
                    ],
                ),
            ],
        )
        self.policy = role.managed_policy
        acknowledge_wildcard(
            self.policy,
            objects,
            "SageMaker writes offline store files under keys made of the account, group name, "
            "partition date and a random id at run time, inside the feature store folder only",
        )
        acknowledge_wildcard(
            self.policy,
            tables,
            "SageMaker names each offline store Glue table after its feature group and creation "
            "time; the wildcard stays inside the sagemaker_featurestore database",
        )
        return role


class FeatureGroup(Construct):
    """A SageMaker feature group, retained on stack deletion.

    The online store (when enabled) and the offline store (when enabled: S3 under the store's
    prefix plus a Glue Data Catalog table) are encrypted with the store's key. Feature
    definitions are validated at synth time; with the store's ``lock_file``, a change that
    CloudFormation could only make by replacing the group fails the synth.

    Args:
        store: the feature store this group belongs to.
        feature_group_name: 1-64 letters, digits and hyphens.
        record_identifier_feature_name: the feature identifying a record (Integral or String).
        event_time_feature_name: the feature holding a record's event time (String in
            ISO-8601 or Fractional in seconds since the epoch).
        feature_definitions: every feature, including the two above (at most 2,500).
        description: the group's description (at most 128 characters). Default: none.
        online_store: keep the latest record per identifier for low-latency reads.
            Default: True.
        offline_store: keep every record in S3 with a Glue table for training and queries.
            Default: True.
        allow_replacement: accept a change that replaces the group (and loses its online
            data); the lock file is updated. Default: False.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        store: FeatureStore,
        feature_group_name: str,
        record_identifier_feature_name: str,
        event_time_feature_name: str,
        feature_definitions: Sequence[FeatureDefinition],
        description: str | None = None,
        online_store: bool = True,
        offline_store: bool = True,
        allow_replacement: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems(self.node.path)
        check_name(problems, "feature_group_name", feature_group_name, FEATURE_GROUP_NAME_MAX)
        _check_features(
            problems,
            feature_definitions,
            record_identifier_feature_name,
            event_time_feature_name,
        )
        if description is not None and len(description) > 128:
            problems.add(f"description has {len(description)} characters; at most 128 allowed")
        problems.require(
            online_store or offline_store,
            "at least one of online_store and offline_store must be True",
        )
        problems.raise_if_any()

        self.store = store
        self.feature_group_name = feature_group_name
        self.allow_replacement = allow_replacement
        self.feature_definitions = tuple(feature_definitions)
        key_arn = store.encryption_key.key_arn
        self.feature_group = sagemaker.CfnFeatureGroup(
            self,
            "Resource",
            feature_group_name=feature_group_name,
            record_identifier_feature_name=record_identifier_feature_name,
            event_time_feature_name=event_time_feature_name,
            feature_definitions=[
                sagemaker.CfnFeatureGroup.FeatureDefinitionProperty(
                    feature_name=feature.name, feature_type=feature.type.value
                )
                for feature in feature_definitions
            ],
            description=description,
            role_arn=store.role.role_arn if offline_store else None,
            online_store_config=(
                {"EnableOnlineStore": True, "SecurityConfig": {"KmsKeyId": key_arn}}
                if online_store
                else None
            ),
            offline_store_config=(
                {
                    "S3StorageConfig": {"S3Uri": store.offline_store_uri, "KmsKeyId": key_arn},
                    "DisableGlueTableCreation": False,
                }
                if offline_store
                else None
            ),
        )
        # Feature data is user data: never delete it with the stack.
        self.feature_group.apply_removal_policy(RemovalPolicy.RETAIN)
        if offline_store and store.policy is not None:
            self.feature_group.node.add_dependency(store.policy)
        self.feature_group_arn = Stack.of(self).format_arn(
            service="sagemaker", resource="feature-group", resource_name=feature_group_name.lower()
        )
        if store.lock_file is not None:
            self.node.add_validation(_ReplacementGuard(self, store.lock_file))

    def grant_read_online(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` read records from the online store."""
        self._grant_key(grantee, ["kms:Decrypt", "kms:DescribeKey"])
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:GetRecord", "sagemaker:BatchGetRecord"],
            resource_arns=[self.feature_group_arn],
        )

    def grant_write(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` put and delete records (ingestion)."""
        self._grant_key(grantee, ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"])
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:PutRecord", "sagemaker:DeleteRecord"],
            resource_arns=[self.feature_group_arn],
        )

    def _grant_key(self, grantee: iam.IGrantable, actions: list[str]) -> None:
        iam.Grant.add_to_principal(
            grantee=grantee, actions=actions, resource_arns=[self.store.encryption_key.key_arn]
        )

    def replacement_record(self) -> dict[str, Any]:
        """The group's replacement-sensitive settings, as they appear in the template."""
        stack = Stack.of(self)
        resource = self.feature_group

        def resolved(value: Any) -> Any:
            return stack.resolve(value)

        online = resolved(resource.online_store_config) or {}
        record: dict[str, Any] = {
            "FeatureGroupName": resolved(resource.feature_group_name),
            "RecordIdentifierFeatureName": resolved(resource.record_identifier_feature_name),
            "EventTimeFeatureName": resolved(resource.event_time_feature_name),
            "OnlineStoreConfig.SecurityConfig": online.get("SecurityConfig"),
            "OnlineStoreConfig.EnableOnlineStore": online.get("EnableOnlineStore"),
            "OnlineStoreConfig.StorageType": online.get("StorageType"),
            "OfflineStoreConfig": resolved(resource.offline_store_config),
            "RoleArn": resolved(resource.role_arn),
            "Description": resolved(resource.description),
            "Tags": resolved(resource.tags.render_tags()),
            "FeatureDefinitions": {
                feature.name: feature.type.value for feature in self.feature_definitions
            },
        }
        normalized: dict[str, Any] = json.loads(json.dumps(record, sort_keys=True))
        return normalized


@jsii.implements(IValidation)
class _ReplacementGuard:
    """At synth: compare the group with its lock entry; refuse replacements; keep the lock."""

    def __init__(self, group: FeatureGroup, lock_file: Path) -> None:
        self._group = group
        self._lock_file = lock_file

    def validate(self) -> list[str]:
        group = self._group
        lock = _read_lock(self._lock_file)
        key = lock_key(group)
        current = group.replacement_record()
        previous = lock["featureGroups"].get(key)
        if previous is not None and previous != current:
            changes = replacement_changes(previous, current)
            if changes and not group.allow_replacement:
                lines = "\n".join(f"    {change}" for change in changes)
                return [
                    f"feature group '{current['FeatureGroupName']}' would be replaced or fail "
                    f"to update, losing its stored features; changes against "
                    f"'{self._lock_file}':\n{lines}\n"
                    "  Revert these changes, or pass allow_replacement=True to the feature "
                    "group to accept a new, empty group (the lock file is then updated)."
                ]
            if changes:
                Annotations.of(group).add_warning_v2(
                    "mlpipes:feature-group-replaced",
                    f"feature group '{current['FeatureGroupName']}' will be replaced: "
                    + "; ".join(changes),
                )
        if previous != current:
            lock["featureGroups"][key] = current
            _write_lock(self._lock_file, lock)
        return []


def lock_key(group: Construct) -> str:
    """A group's entry in the lock file: its environment and construct path.

    Each account and region deploys its own group, so each has its own entry; an
    environment-agnostic stack shares one.
    """
    stack = Stack.of(group)
    account = "any-account" if is_unresolved(stack.account) else stack.account
    region = "any-region" if is_unresolved(stack.region) else stack.region
    return f"{account}/{region}/{group.node.path}"


def replacement_changes(previous: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Diff lines for each change CloudFormation cannot make in place.

    Create-only properties that differ replace the group; a removed feature or a changed
    feature type cannot be applied at all. Added features are fine.
    """
    changes = [
        f"~ {name}: {json.dumps(previous.get(name))} -> {json.dumps(current.get(name))} "
        "(changing it replaces the feature group)"
        for name in REPLACEMENT_PROPERTIES
        if previous.get(name) != current.get(name)
    ]
    old_features: Mapping[str, str] = previous.get("FeatureDefinitions") or {}
    new_features: Mapping[str, str] = current.get("FeatureDefinitions") or {}
    for feature, old_type in sorted(old_features.items()):
        if feature not in new_features:
            changes.append(
                f"- FeatureDefinitions.{feature} ({old_type}) removed (features cannot be "
                "removed from a feature group)"
            )
        elif new_features[feature] != old_type:
            changes.append(
                f"~ FeatureDefinitions.{feature}: {old_type} -> {new_features[feature]} "
                "(a feature's type cannot change)"
            )
    return changes


def _read_lock(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"version": LOCK_FILE_VERSION, "featureGroups": {}}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("version") != LOCK_FILE_VERSION:
        raise ValueError(
            f"feature group lock file '{path}' is not a version {LOCK_FILE_VERSION} lock file"
        )
    data.setdefault("featureGroups", {})
    return data


def _write_lock(path: Path, lock: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _check_features(
    problems: Problems,
    features: Sequence[FeatureDefinition],
    record_identifier: str,
    event_time: str,
) -> None:
    if isinstance(features, (str, FeatureDefinition)) or not features:
        problems.add("feature_definitions must be a non-empty list of FeatureDefinition")
        return
    if len(features) > MAX_FEATURES:
        problems.add(f"feature_definitions has {len(features)} features; at most {MAX_FEATURES}")
    types: dict[str, FeatureType] = {}
    seen: dict[str, str] = {}
    for index, feature in enumerate(features):
        if not isinstance(feature, FeatureDefinition):
            problems.add(f"feature_definitions[{index}] is not a FeatureDefinition")
            continue
        if not isinstance(feature.type, FeatureType):
            problems.add(
                f"feature '{feature.name}' has type {feature.type!r}; expected one of "
                f"{', '.join(t.value for t in FeatureType)} (FeatureType)"
            )
        name = feature.name
        if is_unresolved(name):
            continue
        if not _FEATURE_NAME.fullmatch(name) or name[-1] in "-_":
            problems.add(
                f"feature name '{name}' must be 1-64 letters, digits, '-' and '_', starting "
                "and ending with a letter or digit"
            )
        if name in RESERVED_FEATURE_NAMES:
            problems.add(f"feature name '{name}' is reserved by SageMaker Feature Store")
        if name.lower() in seen:
            problems.add(
                f"feature name '{name}' is defined more than once (as '{seen[name.lower()]}'; "
                "names are compared ignoring case)"
            )
        seen[name.lower()] = name
        if isinstance(feature.type, FeatureType):
            types[name] = feature.type
    for prop, name, allowed in (
        (
            "record_identifier_feature_name",
            record_identifier,
            (FeatureType.INTEGRAL, FeatureType.STRING),
        ),
        ("event_time_feature_name", event_time, (FeatureType.STRING, FeatureType.FRACTIONAL)),
    ):
        if name not in types and name not in seen.values():
            problems.add(f"{prop} '{name}' is not among the feature_definitions")
        elif name in types and types[name] not in allowed:
            problems.add(
                f"{prop} '{name}' has type {types[name].value}; it must be "
                f"{' or '.join(t.value for t in allowed)}"
            )
