"""The MLflow server's props, checked together and resolved to what the server is built from."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.foundation.resources import FoundationResources
from mlpipes_constructs.mlflow import _network, _props
from mlpipes_constructs.mlflow._database import MAX_ALLOCATED_STORAGE
from mlpipes_constructs.mlflow.sizing import MlflowSizing, ProvisionedDatabase, ServerlessDatabase

#: The platform props a foundation replaces.
PLATFORM_PROPS: tuple[str, ...] = ("vpc", "encryption_key", "artifact_bucket", "access_log_bucket")


@dataclass(frozen=True)
class Settings:
    """What the server is built from, once every prop passed its checks."""

    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    encryption_key: kms.IKey
    artifact_bucket: s3.IBucket
    access_log_bucket: s3.IBucket
    #: The constraints file the instance installs with; None when dependencies float.
    requirements_file: Path | None
    #: Graviton (arm64) instance type.
    arm64: bool
    backup_retention: Duration
    allowed_cidrs: Sequence[str] | None
    #: ``sizing`` with the individual overrides applied.
    sizing: MlflowSizing
    #: A second database zone: the provisioned standby, or a serverless reader.
    multi_az: bool


def apply_sizing(
    problems: Problems,
    sizing: MlflowSizing,
    *,
    instance_type: str | None,
    workers: int | None,
    database_instance_type: str | None,
    database_allocated_storage: int | None,
    multi_az: bool | None,
) -> tuple[MlflowSizing, bool]:
    """``sizing`` with the props given individually over it, and whether the database spans
    two zones. Props that only a provisioned database has are problems with a serverless one.
    """
    database = sizing.database
    if isinstance(database, ServerlessDatabase):
        for prop, value in (
            ("database_instance_type", database_instance_type),
            ("database_allocated_storage", database_allocated_storage),
        ):
            if value is not None:
                problems.conflict(
                    "sizing",
                    prop,
                    "the sizing's database is Aurora Serverless v2, which has no instance type "
                    "or allocated storage; choose a sizing with a ProvisionedDatabase (e.g. "
                    "MlflowSizing.PRODUCTION) or leave the prop out",
                )
        zones = bool(multi_az)
    else:
        overrides = {
            name: value
            for name, value in (
                ("instance_type", database_instance_type),
                ("allocated_storage", database_allocated_storage),
                ("multi_az", multi_az),
            )
            if value is not None
        }
        database = dataclasses.replace(database, **overrides)  # type: ignore[arg-type]
        zones = database.multi_az
    resolved = dataclasses.replace(
        sizing,
        instance_type=sizing.instance_type if instance_type is None else instance_type,
        workers=sizing.workers if workers is None else workers,
        database=database,
    )
    return resolved, zones


def resolve(
    server: Construct,
    server_type: type[Construct],
    *,
    foundation: FoundationResources | None,
    vpc: ec2.IVpc | None,
    vpc_subnets: ec2.SubnetSelection | None,
    encryption_key: kms.IKey | None,
    artifact_bucket: s3.IBucket | None,
    artifact_prefix: str,
    access_log_bucket: s3.IBucket | None,
    sizing: MlflowSizing,
    instance_type: str | None,
    cpu_architecture: ec2.AmazonLinuxCpuType | None,
    mlflow_version: str,
    workers: int | None,
    root_volume_size: int,
    certificate: acm.ICertificate | str | None,
    domain_name: str | None,
    allowed_cidrs: Sequence[str] | None,
    admin_username: str,
    default_permission: str,
    database_instance_type: str | None,
    database_allocated_storage: int | None,
    multi_az: bool | None,
    backup_retention: Duration | None,
    tracking_uri_parameter_name: str,
    requirements_file: str | os.PathLike[str] | None,
) -> Settings:
    """Check every prop of ``server`` and raise one error naming each problem.

    Raises:
        PropsValidationError: one or more props break their rules.
    """
    stack = Stack.of(server)
    problems = Problems(server.node.path)
    subnets_prop = "vpc_subnets"
    given = dict(
        zip(PLATFORM_PROPS, (vpc, encryption_key, artifact_bucket, access_log_bucket), strict=True)
    )
    if foundation is not None:
        for name, value in given.items():
            if value is not None:
                problems.conflict("foundation", name, f"the foundation already supplies '{name}'")
        vpc = foundation.vpc
        encryption_key = foundation.encryption_key
        artifact_bucket = foundation.artifact_bucket
        access_log_bucket = foundation.log_bucket
        subnets_prop = "vpc_subnets" if vpc_subnets else "foundation.private_subnets"
        vpc_subnets = vpc_subnets or foundation.private_subnets
        if access_log_bucket is None:
            problems.add(
                "foundation has no log_bucket; the load balancer's access logs need one "
                "(build FoundationResources with log_bucket=...)"
            )
    else:
        for name, value in given.items():
            problems.require(value is not None, f"{name} is required without 'foundation'")
    sizing, zones = apply_sizing(
        problems,
        sizing,
        instance_type=instance_type,
        workers=workers,
        database_instance_type=database_instance_type,
        database_allocated_storage=database_allocated_storage,
        multi_az=multi_az,
    )
    arm64 = None if cpu_architecture is None else cpu_architecture == ec2.AmazonLinuxCpuType.ARM_64
    type_info = _props.check_instance_type(
        problems, "instance_type", sizing.instance_type, arm64=arm64
    )
    database = sizing.database
    if isinstance(database, ProvisionedDatabase):
        _props.check_instance_type(
            problems, "database_instance_type", database.instance_type.removeprefix("db.")
        )
        problems.check_int_range(
            "database_allocated_storage", database.allocated_storage, 20, MAX_ALLOCATED_STORAGE
        )
    else:
        for problem in database.problems("sizing.database"):
            problems.add(problem)
    _props.check_mlflow_version(problems, mlflow_version)
    checked_requirements_file = (
        None
        if requirements_file is None
        else _props.check_requirements_file(
            problems, requirements_file, _props.pip_requirements(mlflow_version)
        )
    )
    _props.check_artifact_prefix(problems, artifact_prefix)
    _props.check_parameter_name(problems, tracking_uri_parameter_name)
    _check_parameter_name_is_unique(problems, server, server_type, tracking_uri_parameter_name)
    _props.check_admin_username(problems, admin_username)
    problems.require(
        default_permission in ("READ", "EDIT", "MANAGE", "NO_PERMISSIONS"),
        f"default_permission '{default_permission}' must be READ, EDIT, MANAGE or NO_PERMISSIONS",
    )
    problems.check_int_range("workers", sizing.workers, 1, 64)
    problems.check_int_range("root_volume_size", root_volume_size, 16, 1024)
    retention_days = 7 if backup_retention is None else backup_retention.to_days()
    if not is_unresolved(retention_days):
        problems.require(
            1 <= retention_days <= 35,
            f"backup_retention {retention_days} days must be from 1 to 35 days (0 would "
            "turn automated backups off)",
        )
    if isinstance(certificate, str):
        _props.check_certificate_arn(problems, certificate, stack.region)
    if domain_name is not None:
        _props.check_domain_name(problems, domain_name)
    if isinstance(allowed_cidrs, str):
        problems.add(f"allowed_cidrs must be a list of CIDR blocks, not '{allowed_cidrs}'")
        allowed_cidrs = None
    for cidr in allowed_cidrs or ():
        _props.check_allowed_cidr(problems, "allowed_cidrs", cidr)
    subnets = vpc_subnets or ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
    if vpc is not None:
        _network.check_egress(problems, subnets_prop, vpc, subnets)
    problems.raise_if_any()
    assert vpc is not None and encryption_key is not None  # checked above
    assert artifact_bucket is not None and access_log_bucket is not None
    return Settings(
        vpc=vpc,
        subnets=subnets,
        encryption_key=encryption_key,
        artifact_bucket=artifact_bucket,
        access_log_bucket=access_log_bucket,
        requirements_file=(
            checked_requirements_file or _props.shipped_requirements(mlflow_version)
        ),
        arm64=type_info.graviton if type_info is not None else True,
        backup_retention=Duration.days(retention_days),
        allowed_cidrs=allowed_cidrs,
        sizing=sizing,
        multi_az=zones,
    )


def _check_parameter_name_is_unique(
    problems: Problems, server: Construct, server_type: type[Construct], name: str
) -> None:
    """Two servers writing one parameter name in one account and region would fail the second
    deploy; catch it at synth, naming both servers."""
    if is_unresolved(name):
        return
    stack = Stack.of(server)
    for other in server.node.root.node.find_all():
        if (
            isinstance(other, server_type)
            and other is not server
            # Servers that failed validation never set the attribute.
            and getattr(other, "tracking_uri_parameter_name", None) == name
            and _same_place(Stack.of(other), stack)
        ):
            problems.add(
                f"tracking_uri_parameter_name '{name}' is already used by the MLflow server "
                f"'{other.node.path}' in the same account and region; give '{server.node.path}' "
                "another tracking_uri_parameter_name"
            )


def _same_place(first: Stack, second: Stack) -> bool:
    """Whether two stacks may deploy to the same account and region (unknown counts as same)."""
    return all(
        is_unresolved(a) or is_unresolved(b) or a == b
        for a, b in ((first.account, second.account), (first.region, second.region))
    )
