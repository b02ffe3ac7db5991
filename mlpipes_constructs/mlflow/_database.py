"""The MLflow backend store: PostgreSQL on RDS or Aurora Serverless v2, encrypted, backed up,
its logs retained."""

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
#: Aurora PostgreSQL 16 at a minor release that supports a minimum capacity of 0 ACUs
#: (auto-pause needs 16.3 or later). Aurora keeps the minor current with
#: ``auto_minor_version_upgrade`` on the instances.
AURORA_POSTGRES_VERSION = rds.AuroraPostgresEngineVersion.VER_16_13
#: The oldest Aurora PostgreSQL 16 minor release with auto-pause (minimum capacity 0).
AURORA_AUTO_PAUSE_MIN_VERSION = (16, 3)
#: Aurora PostgreSQL exports its PostgreSQL log; it has no separate upgrade log.
AURORA_LOG_EXPORTS: tuple[str, ...] = ("postgresql",)
#: RDS PostgreSQL's largest gp3 volume (64 TiB), the ceiling of storage autoscaling.
MAX_DATABASE_STORAGE = 65536
#: The largest ``database_allocated_storage``: autoscaling still has 4 times it to grow into.
MAX_ALLOCATED_STORAGE = 16384


#: The parameters both engines get: TLS only, connections logged.
PARAMETERS: dict[str, str] = {
    "rds.force_ssl": "1",
    "log_connections": "1",
    "log_disconnections": "1",
}
#: Characters that need quoting in URIs or shells are left out of the password, for operators.
PASSWORD_EXCLUDED_CHARACTERS = " %+~`#$&*()|[]{}:;<>?!'/@\"\\"


@dataclass(frozen=True)
class Database:
    """The database (an RDS instance or an Aurora cluster) and the log groups its exports go
    to."""

    instance: rds.DatabaseInstance | rds.DatabaseCluster
    log_groups: list[logs.LogGroup]


def _log_groups(
    scope: Construct,
    *,
    kind: str,
    identifier: str,
    exports: tuple[str, ...],
    key: kms.IKey,
    log_retention: logs.RetentionDays,
) -> list[logs.LogGroup]:
    """The export log groups, created (encrypted, with retention) before RDS writes to them,
    instead of RDS creating them unencrypted. ``kind`` is ``instance`` or ``cluster``."""
    return [
        logs.LogGroup(
            scope,
            f"DatabaseLogGroup{export.capitalize()}",
            log_group_name=f"/aws/rds/{kind}/{identifier}/{export}",
            encryption_key=key,
            retention=log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for export in exports
    ]


def create_serverless_cluster(
    scope: Construct,
    *,
    vpc: ec2.IVpc,
    subnets: ec2.SubnetSelection,
    security_group: ec2.ISecurityGroup,
    key: kms.IKey,
    min_capacity: float,
    max_capacity: float,
    auto_pause: Duration,
    reader: bool,
    backup_retention: Duration,
    iam_authentication: bool,
    deletion_protection: bool,
    log_retention: logs.RetentionDays,
) -> Database:
    """An Aurora PostgreSQL Serverless v2 cluster: one writer (and a reader in another zone
    when ``reader``), storage replicated across three zones by Aurora, credentials generated
    into a secret encrypted with ``key``."""
    engine = rds.DatabaseClusterEngine.aurora_postgres(version=AURORA_POSTGRES_VERSION)
    identifier = f"mlflow-{scope.node.addr[:12]}"
    log_groups = _log_groups(
        scope,
        kind="cluster",
        identifier=identifier,
        exports=AURORA_LOG_EXPORTS,
        key=key,
        log_retention=log_retention,
    )
    parameters = rds.ParameterGroup(
        scope,
        "DatabaseParameters",
        engine=engine,
        description="MLflow backend store: TLS only, connections logged",
        parameters=PARAMETERS,
    )

    def instance(name: str, *, scale_with_writer: bool | None = None) -> rds.IClusterInstance:
        return rds.ClusterInstance.serverless_v2(
            name,
            auto_minor_version_upgrade=True,
            publicly_accessible=False,
            enable_performance_insights=True,
            performance_insight_encryption_key=key,
            scale_with_writer=scale_with_writer,
        )

    cluster = rds.DatabaseCluster(
        scope,
        "Database",
        cluster_identifier=identifier,
        engine=engine,
        port=DATABASE_PORT,
        vpc=vpc,
        vpc_subnets=subnets,
        security_groups=[security_group],
        credentials=rds.Credentials.from_generated_secret(
            DATABASE_USERNAME,
            encryption_key=key,
            exclude_characters=PASSWORD_EXCLUDED_CHARACTERS,
        ),
        default_database_name=DATABASE_NAME,
        parameter_group=parameters,
        writer=instance("Writer"),
        # Promotion tier 1: the reader pauses and resumes with the writer, and takes over
        # from it when its zone fails.
        readers=[instance("Reader", scale_with_writer=True)] if reader else None,
        serverless_v2_min_capacity=min_capacity,
        serverless_v2_max_capacity=max_capacity,
        serverless_v2_auto_pause_duration=auto_pause if min_capacity == 0 else None,
        storage_encrypted=True,
        storage_encryption_key=key,
        # Aurora Standard: storage and I/O billed as used, cheapest for a mostly idle store.
        storage_type=rds.DBClusterStorageType.AURORA,
        backup=rds.BackupProps(retention=backup_retention),
        copy_tags_to_snapshot=True,
        deletion_protection=deletion_protection,
        removal_policy=RemovalPolicy.SNAPSHOT,
        cloudwatch_logs_exports=list(AURORA_LOG_EXPORTS),
        iam_authentication=iam_authentication,
        monitoring_interval=Duration.seconds(60),
    )
    for log_group in log_groups:
        cluster.node.add_dependency(log_group)
    return Database(instance=cluster, log_groups=log_groups)


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
    """A provisioned RDS PostgreSQL instance, with generated credentials in a secret encrypted
    with ``key``."""
    engine = rds.DatabaseInstanceEngine.postgres(version=POSTGRES_VERSION)
    # A known identifier lets the export log groups exist before RDS writes to them.
    identifier = f"mlflow-{scope.node.addr[:12]}"
    log_groups = _log_groups(
        scope,
        kind="instance",
        identifier=identifier,
        exports=DATABASE_LOG_EXPORTS,
        key=key,
        log_retention=log_retention,
    )
    parameters = rds.ParameterGroup(
        scope,
        "DatabaseParameters",
        engine=engine,
        description="MLflow backend store: TLS only, connections logged",
        parameters=PARAMETERS,
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
            exclude_characters=PASSWORD_EXCLUDED_CHARACTERS,
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
