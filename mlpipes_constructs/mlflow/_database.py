"""The MLflow backend store: PostgreSQL on RDS, encrypted, backed up, its logs retained."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from constructs import Construct

DATABASE_NAME = "mlflow"
DATABASE_USERNAME = "mlflow_owner"
#: Not PostgreSQL's well-known 5432, so scans for it inside the VPC find nothing.
DATABASE_PORT = 5433
DATABASE_LOG_EXPORTS: tuple[str, ...] = ("postgresql", "upgrade")
#: The major version only: RDS retires minor versions, after which a pinned one can no longer be
#: created; with ``auto_minor_version_upgrade`` RDS picks and keeps up the current minor.
POSTGRES_VERSION = rds.PostgresEngineVersion.VER_16
#: RDS PostgreSQL's largest gp3 volume (64 TiB), the ceiling of storage autoscaling.
MAX_DATABASE_STORAGE = 65536
#: The largest ``database_allocated_storage``: autoscaling still has 4 times it to grow into.
MAX_ALLOCATED_STORAGE = 16384


@dataclass(frozen=True)
class Database:
    """The database instance and the log groups its exports go to."""

    instance: rds.DatabaseInstance
    log_groups: list[logs.LogGroup]


def create_database(
    scope: Construct,
    *,
    vpc: ec2.IVpc,
    subnets: ec2.SubnetSelection,
    security_group: ec2.ISecurityGroup,
    key: kms.IKey,
    instance_type: str,
    allocated_storage: int,
    multi_az: bool,
    backup_retention: Duration,
    iam_authentication: bool,
    deletion_protection: bool,
    log_retention: logs.RetentionDays,
) -> Database:
    """The database, with generated credentials in a secret encrypted with ``key``."""
    engine = rds.DatabaseInstanceEngine.postgres(version=POSTGRES_VERSION)
    # A known identifier lets the export log groups exist (encrypted, with retention)
    # before RDS starts writing to them, instead of RDS creating them unencrypted.
    identifier = f"mlflow-{scope.node.addr[:12]}"
    log_groups = [
        logs.LogGroup(
            scope,
            f"DatabaseLogGroup{export.capitalize()}",
            log_group_name=f"/aws/rds/instance/{identifier}/{export}",
            encryption_key=key,
            retention=log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for export in DATABASE_LOG_EXPORTS
    ]
    parameters = rds.ParameterGroup(
        scope,
        "DatabaseParameters",
        engine=engine,
        description="MLflow backend store: TLS only, connections logged",
        parameters={"rds.force_ssl": "1", "log_connections": "1", "log_disconnections": "1"},
    )
    database = rds.DatabaseInstance(
        scope,
        "Database",
        instance_identifier=identifier,
        engine=engine,
        port=DATABASE_PORT,
        instance_type=ec2.InstanceType(instance_type),
        vpc=vpc,
        vpc_subnets=subnets,
        security_groups=[security_group],
        credentials=rds.Credentials.from_generated_secret(
            DATABASE_USERNAME,
            encryption_key=key,
            # Characters that need quoting in URIs or shells are left out, for operators.
            exclude_characters=" %+~`#$&*()|[]{}:;<>?!'/@\"\\",
        ),
        database_name=DATABASE_NAME,
        parameter_group=parameters,
        storage_encrypted=True,
        storage_encryption_key=key,
        storage_type=rds.StorageType.GP3,
        allocated_storage=allocated_storage,
        max_allocated_storage=min(allocated_storage * 5, MAX_DATABASE_STORAGE),
        multi_az=multi_az,
        backup_retention=backup_retention,
        copy_tags_to_snapshot=True,
        deletion_protection=deletion_protection,
        removal_policy=RemovalPolicy.SNAPSHOT,
        cloudwatch_logs_exports=list(DATABASE_LOG_EXPORTS),
        iam_authentication=iam_authentication,
        auto_minor_version_upgrade=True,
        publicly_accessible=False,
        monitoring_interval=Duration.seconds(60),
        enable_performance_insights=True,
        performance_insight_encryption_key=key,
    )
    for log_group in log_groups:
        database.node.add_dependency(log_group)
    # cfn-lint's engine data lists only the minor versions RDS currently creates, so it
    # reports the major-only "16" as deprecated (W3691); RDS creates it at the default minor.
    cfn_database = database.node.default_child
    assert isinstance(cfn_database, rds.CfnDBInstance)
    cfn_database.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3691"]}})
    return Database(instance=database, log_groups=log_groups)
