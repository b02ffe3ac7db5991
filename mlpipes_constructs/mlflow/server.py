"""An MLflow tracking server on EC2, with PostgreSQL on RDS and artifacts in S3."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Unpack

from aws_cdk import (
    Annotations,
    ArnFormat,
    Aws,
    CfnCreationPolicy,
    CfnResourceSignal,
    Duration,
    RemovalPolicy,
    Stack,
)
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from mlpipes_constructs._internal.subnets import select_subnets
from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.compliance import acknowledge, acknowledge_wildcard
from mlpipes_constructs.foundation._s3_access import (
    prefix_read_statements,
    prefix_write_statements,
)
from mlpipes_constructs.foundation.resources import FoundationResources
from mlpipes_constructs.iam import ManagedPolicyRole
from mlpipes_constructs.mlflow import _bootstrap, _monitoring, _props
from mlpipes_constructs.mlflow._monitoring import MetricProps
from mlpipes_constructs.mlflow._props import (
    DEFAULT_ARTIFACT_PREFIX,
    DEFAULT_DATABASE_INSTANCE_TYPE,
    DEFAULT_INSTANCE_TYPE,
    DEFAULT_MLFLOW_VERSION,
    DEFAULT_PARAMETER_NAME,
    SERVER_PORT,
)

LAUNCHER_SOURCE = Path(__file__).resolve().parent / "launcher.py"
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
ACCESS_LOG_PREFIX = "mlflow-alb"
ROOT_DEVICE = "/dev/xvda"  # Amazon Linux 2023
#: How long the instance may take to install MLflow and answer its health check.
BOOTSTRAP_TIMEOUT = Duration.minutes(20)
#: The minimum Session Manager needs on an instance (no Run Command, no session logging).
SESSION_MANAGER_ACTIONS: tuple[str, ...] = (
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
)
#: What the Auto Scaling service-linked role does with the key: launch encrypted volumes and
#: publish to the encrypted notification topic.
AUTO_SCALING_KEY_ACTIONS: tuple[str, ...] = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)
#: What CloudWatch needs of the key to publish alarm notifications to the encrypted topic.
ALARM_KEY_ACTIONS: tuple[str, ...] = ("kms:Decrypt", "kms:GenerateDataKey")


class MlflowServer(Construct):
    """A secure, durable MLflow tracking server every orchestrator can log to.

    One Amazon Linux 2023 instance (Graviton by default) in an Auto Scaling group of exactly one,
    replaced when the load balancer finds it unhealthy, runs ``mlflow server`` with basic
    authentication through :mod:`mlpipes_constructs.mlflow.launcher`. Runs, parameters, metrics
    and users live in PostgreSQL on RDS (encrypted, Multi-AZ, backed up, deletion-protected,
    snapshot on removal); artifacts live under a prefix of the artifact bucket and are served
    through the server, so clients need no S3 permissions. Clients reach it through an internal
    Application Load Balancer (HTTPS with a certificate), open only to the VPC or to the networks
    and peers you grant. Operators connect with Session Manager; there is no SSH. The tracking
    URI is published as an SSM parameter.

    The instance installs MLflow from PyPI with every package pinned by a constraints file (one
    ships for :data:`DEFAULT_MLFLOW_VERSION`), so instances launched months apart run the same
    code. It therefore needs egress through a NAT gateway: isolated subnets (e.g. a foundation
    with ``nat_gateways=0``) are rejected at synth. Alarms on the server's health, its 5xx
    responses and the database's CPU and storage notify :attr:`notification_topic`, which also
    reports instance launches and terminations; ``metric_*`` methods give the same metrics for
    dashboards and alarms of your own.

    Either pass ``foundation`` or the individual resources (``vpc``, ``encryption_key``,
    ``artifact_bucket``, ``access_log_bucket``).

    Data outlives the stack: the database leaves a final snapshot and its two log groups
    (``/aws/rds/instance/mlflow-<id>/postgresql`` and ``.../upgrade``, where ``mlflow-<id>`` is
    the database's identifier) are retained. Those log groups have fixed names, so deploying the
    same construct again after a destroy fails with "already exists" until you delete them
    (export what you need first). The server's log group and the snapshot have generated names
    and do not block a redeploy.

    Args:
        foundation: the shared platform parts; supplies the VPC, private subnets, key,
            artifact bucket and log bucket. Default: the individual props below.
        vpc: the VPC to run in. Required without ``foundation``.
        vpc_subnets: subnets of the instance, database and load balancer. They need a route to
            a NAT gateway, to reach PyPI and the AWS APIs (the instance installs MLflow at boot);
            ``PRIVATE_ISOLATED`` subnets, or subnets of this app without a default route, are
            rejected. Default: the foundation's private subnets, else private subnets with
            egress.
        encryption_key: key for the database, secrets, volumes and log group. Required without
            ``foundation``. A key created in this app gets a statement letting Auto Scaling
            launch volumes encrypted with it; give an imported key that statement yourself.
        artifact_bucket: bucket the artifacts are stored in (encrypted with
            ``encryption_key``). Required without ``foundation``.
        artifact_prefix: folder of the artifacts in the bucket. Default: ``"mlflow/"``.
        access_log_bucket: SSE-S3 bucket for the load balancer's access logs (ALB log delivery
            does not support KMS keys). Required without ``foundation``; with one, its log
            bucket.
        instance_type: EC2 instance type of the server. Default: ``"m7g.large"``.
        cpu_architecture: architecture of the Amazon Linux 2023 image; must match
            ``instance_type``. Default: arm64 for Graviton types, else x86_64.
        mlflow_version: MLflow release to install, ``X.Y.Z``. Default: the tested release,
            :data:`~mlpipes_constructs.mlflow._props.DEFAULT_MLFLOW_VERSION`.
        requirements_file: path of a pip constraints file pinning every package of the
            server's environment (``mlflow[auth]``, ``psycopg2-binary`` and ``boto3`` at the
            versions the server installs, and all they depend on), e.g. the ``pip freeze`` of a
            CPython 3.11 virtualenv. It is uploaded as an asset and the instance installs with
            ``pip install --constraint``. Default: the file shipped for ``mlflow_version`` (there
            is one for the default version); for other versions none, so transitive
            dependencies float and a ``mlpipes:mlflow-unpinned-dependencies`` warning is added.
        workers: server worker processes. Default: 4.
        root_volume_size: root volume size in GiB, 16 to 1024. Default: 30.
        certificate: ACM certificate (or its ARN, in the stack's region) for an HTTPS listener.
            Default: none; the listener uses plain HTTP and a ``mlpipes:mlflow-no-tls`` warning
            is added.
        domain_name: DNS name clients use (point it at the load balancer, and cover it with the
            certificate). Default: the load balancer's DNS name.
        allowed_cidrs: networks that may reach the load balancer, never ``0.0.0.0/0``.
            Default: the VPC's CIDR block.
        admin_username: name of the MLflow admin user. Default: ``"admin"``.
        default_permission: permission users get on experiments they did not create: READ,
            EDIT, MANAGE or NO_PERMISSIONS. Default: ``"READ"``.
        database_instance_type: RDS instance class (with or without ``db.``).
            Default: ``"t4g.medium"``.
        database_allocated_storage: initial database storage in GiB, 20 to 16384; storage grows
            automatically up to 5 times this, at most 64 TiB. Default: 20.
        multi_az: run the database with a standby in a second zone. Default: True.
        backup_retention: how long automated database backups are kept, 1 to 35 days.
            Default: 7 days.
        database_iam_authentication: also allow IAM authentication to the database.
            Default: False (the server uses the generated password).
        deletion_protection: protect the database and the load balancer from deletion.
            Default: True.
        log_retention: how long server logs are kept. Default: one year.
        tracking_uri_parameter_name: name of the SSM parameter holding the tracking URI; two
            servers of one app in the same account and region must use different names.
            Default: ``"/mlpipes/mlflow/tracking-uri"``.
        alarms: create the alarms (no healthy host for 3 minutes, target 5xx responses above
            5% of requests, database CPU above 80% for 15 minutes, database free storage below
            10% of ``database_allocated_storage``), notifying ``notification_topic`` when they
            go into and out of alarm. A key created in this app gets a statement letting
            CloudWatch publish to the encrypted topic. Default: True.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        foundation: FoundationResources | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        encryption_key: kms.IKey | None = None,
        artifact_bucket: s3.IBucket | None = None,
        artifact_prefix: str = DEFAULT_ARTIFACT_PREFIX,
        access_log_bucket: s3.IBucket | None = None,
        instance_type: str = DEFAULT_INSTANCE_TYPE,
        cpu_architecture: ec2.AmazonLinuxCpuType | None = None,
        mlflow_version: str = DEFAULT_MLFLOW_VERSION,
        workers: int = 4,
        root_volume_size: int = 30,
        certificate: acm.ICertificate | str | None = None,
        domain_name: str | None = None,
        allowed_cidrs: Sequence[str] | None = None,
        admin_username: str = "admin",
        default_permission: str = "READ",
        database_instance_type: str = DEFAULT_DATABASE_INSTANCE_TYPE,
        database_allocated_storage: int = 20,
        multi_az: bool = True,
        backup_retention: Duration | None = None,
        database_iam_authentication: bool = False,
        deletion_protection: bool = True,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        tracking_uri_parameter_name: str = DEFAULT_PARAMETER_NAME,
        requirements_file: str | os.PathLike[str] | None = None,
        alarms: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        problems = Problems(self.node.path)
        subnets_prop = "vpc_subnets"
        if foundation is not None:
            for name, value in (
                ("vpc", vpc),
                ("encryption_key", encryption_key),
                ("artifact_bucket", artifact_bucket),
                ("access_log_bucket", access_log_bucket),
            ):
                if value is not None:
                    problems.conflict(
                        "foundation", name, f"the foundation already supplies '{name}'"
                    )
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
            for name, value in (
                ("vpc", vpc),
                ("encryption_key", encryption_key),
                ("artifact_bucket", artifact_bucket),
                ("access_log_bucket", access_log_bucket),
            ):
                problems.require(value is not None, f"{name} is required without 'foundation'")
        arm64 = (
            None if cpu_architecture is None else cpu_architecture == ec2.AmazonLinuxCpuType.ARM_64
        )
        type_info = _props.check_instance_type(
            problems, "instance_type", instance_type, arm64=arm64
        )
        _props.check_instance_type(
            problems, "database_instance_type", database_instance_type.removeprefix("db.")
        )
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
        self._check_parameter_name_is_unique(problems, tracking_uri_parameter_name)
        _props.check_admin_username(problems, admin_username)
        problems.require(
            default_permission in ("READ", "EDIT", "MANAGE", "NO_PERMISSIONS"),
            f"default_permission '{default_permission}' must be READ, EDIT, MANAGE or "
            "NO_PERMISSIONS",
        )
        problems.check_int_range("workers", workers, 1, 64)
        problems.check_int_range("root_volume_size", root_volume_size, 16, 1024)
        problems.check_int_range(
            "database_allocated_storage", database_allocated_storage, 20, MAX_ALLOCATED_STORAGE
        )
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
            _check_egress(problems, subnets_prop, vpc, subnets)
        problems.raise_if_any()
        assert vpc is not None and encryption_key is not None  # checked above
        assert artifact_bucket is not None and access_log_bucket is not None

        self.vpc = vpc
        self.encryption_key = encryption_key
        self.artifact_bucket = artifact_bucket
        self.artifact_prefix = artifact_prefix
        self.mlflow_version = mlflow_version
        #: The constraints file the instance installs with; None when dependencies float.
        self.requirements_file: Path | None = (
            checked_requirements_file or _props.shipped_requirements(mlflow_version)
        )
        scheme = "http" if certificate is None else "https"
        listener_port = 80 if certificate is None else 443

        # --- secrets --------------------------------------------------------------------
        self.admin_secret = secretsmanager.Secret(
            self,
            "AdminSecret",
            description="MLflow admin user of the mlpipes tracking server",
            encryption_key=encryption_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=f'{{"username": "{admin_username}"}}',
                generate_string_key="password",
                password_length=32,
                exclude_punctuation=True,
            ),
        )

        # --- network --------------------------------------------------------------------
        self.load_balancer_security_group = ec2.SecurityGroup(
            self,
            "LoadBalancerSecurityGroup",
            vpc=vpc,
            description="MLflow load balancer: clients in",
            allow_all_outbound=False,
        )
        self.server_security_group = ec2.SecurityGroup(
            self,
            "ServerSecurityGroup",
            vpc=vpc,
            description="MLflow server: load balancer in; HTTPS and database out",
            allow_all_outbound=False,
        )
        # Installs from PyPI and calls AWS APIs (Secrets Manager, S3, logs, SSM).
        self.server_security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to package index and AWS APIs"
        )
        self.database_security_group = ec2.SecurityGroup(
            self,
            "DatabaseSecurityGroup",
            vpc=vpc,
            description="MLflow database: tracking server in",
            allow_all_outbound=False,
        )

        # --- database -------------------------------------------------------------------
        self.database = self._create_database(
            vpc=vpc,
            subnets=subnets,
            key=encryption_key,
            instance_type=database_instance_type.removeprefix("db."),
            allocated_storage=database_allocated_storage,
            multi_az=multi_az,
            backup_retention=Duration.days(retention_days),
            iam_authentication=database_iam_authentication,
            deletion_protection=deletion_protection,
            log_retention=log_retention,
        )
        self.database.connections.allow_from(
            self.server_security_group, ec2.Port.tcp(DATABASE_PORT), "MLflow server to its database"
        )
        database_secret = self.database.secret
        assert database_secret is not None  # generated credentials
        self.database_secret: secretsmanager.ISecret = database_secret

        # --- load balancer --------------------------------------------------------------
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            # A lower-case name gives a lower-case DNS name, which the server's Host and CORS
            # checks compare exactly (browsers and HTTP clients send it lower-cased).
            load_balancer_name=f"mlflow-{self.node.addr[:12]}",
            vpc=vpc,
            vpc_subnets=subnets,
            internet_facing=False,
            security_group=self.load_balancer_security_group,
            drop_invalid_header_fields=True,
            deletion_protection=deletion_protection,
            idle_timeout=Duration.seconds(300),  # large artifact uploads stream through
        )
        self.load_balancer.log_access_logs(access_log_bucket, ACCESS_LOG_PREFIX)
        host = domain_name or self.load_balancer.load_balancer_dns_name
        self.tracking_uri: str = f"{scheme}://{host}"
        self.connections = self.load_balancer.connections
        self._listener_port = listener_port
        for cidr in allowed_cidrs if allowed_cidrs is not None else [_vpc_cidr(vpc)]:
            peer = ec2.Peer.ipv6(cidr) if ":" in cidr else ec2.Peer.ipv4(cidr)
            self.connections.allow_from(
                peer, ec2.Port.tcp(listener_port), "MLflow clients in the allowed networks"
            )

        # --- logs and compute ------------------------------------------------------------
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            encryption_key=encryption_key,
            retention=log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # EC2 assumes an instance role without a source account to condition on.
        self.role = ManagedPolicyRole(
            self,
            "InstanceRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description="MLflow tracking server instance",
            policy_description="Permissions of the MLflow tracking server instance",
        )
        self.policy = self.role.managed_policy
        launcher = s3_assets.Asset(self, "Launcher", path=str(LAUNCHER_SOURCE))
        constraints = (
            None
            if self.requirements_file is None
            else s3_assets.Asset(self, "Requirements", path=str(self.requirements_file))
        )
        self.notification_topic = sns.Topic(
            self,
            "NotificationTopic",
            display_name="MLflow tracking server: instance launches, terminations and alarms",
            master_key=encryption_key,
            enforce_ssl=True,
        )
        self._add_instance_permissions(
            stack, [asset for asset in (launcher, constraints) if asset is not None]
        )
        self.auto_scaling_group = self._create_auto_scaling_group(
            vpc=vpc,
            subnets=subnets,
            key=encryption_key,
            instance_type=instance_type,
            arm64=type_info.graviton if type_info is not None else True,
            root_volume_size=root_volume_size,
            user_data=self._user_data(
                launcher=launcher,
                constraints=constraints,
                mlflow_version=mlflow_version,
                workers=workers,
                default_permission=default_permission,
                host=host,
                scheme=scheme,
            ),
        )
        key_policy_changed = self._allow_auto_scaling_to_use_key(stack, encryption_key)

        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "TargetGroup",
            vpc=vpc,
            port=SERVER_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[self.auto_scaling_group],
            deregistration_delay=Duration.seconds(30),
            health_check=elbv2.HealthCheck(
                path="/health",
                healthy_http_codes="200",
                interval=Duration.seconds(30),
                timeout=Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
        )
        self.listener = self._create_listener(certificate, self.target_group)
        # The target group registers the instances; the listener does not open the ALB itself.
        self.auto_scaling_group.connections.allow_from(
            self.load_balancer, ec2.Port.tcp(SERVER_PORT), "MLflow load balancer to the server"
        )

        #: Name of the SSM parameter holding :attr:`tracking_uri`.
        self.tracking_uri_parameter_name = tracking_uri_parameter_name
        self.tracking_uri_parameter = ssm.StringParameter(
            self,
            "TrackingUriParameter",
            parameter_name=tracking_uri_parameter_name,
            string_value=self.tracking_uri,
            description="MLflow tracking URI of the mlpipes tracking server",
        )
        #: The alarms created with ``alarms=True`` (none otherwise).
        self.alarms: tuple[cloudwatch.Alarm, ...] = ()
        if alarms:
            self.alarms = self._create_alarms(database_allocated_storage)
            key_policy_changed &= self._allow_alarms_to_notify(stack, encryption_key)
        if not key_policy_changed:
            needs = (
                "allow the role AWSServiceRoleForAutoScaling to use it, or the instance cannot "
                "launch"
            )
            if alarms:
                needs += (
                    "; and allow cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey, or "
                    "the alarms cannot notify the encrypted topic"
                )
            Annotations.of(self).add_warning_v2(
                "mlpipes:mlflow-key-policy",
                f"encryption_key is imported, so its policy was not changed: {needs}.",
            )
        if self.requirements_file is None:
            requirements = " ".join(_props.pip_requirements(mlflow_version))
            Annotations.of(self).add_warning_v2(
                "mlpipes:mlflow-unpinned-dependencies",
                f"No constraints file pins the dependencies of MLflow {mlflow_version} (one ships "
                f"for {DEFAULT_MLFLOW_VERSION} only): the instance installs {requirements} and "
                "whatever versions of their dependencies are newest at boot, so instances "
                "launched at different times can run different code. Pin them: pip freeze a "
                "CPython 3.11 virtualenv with those three installed (as "
                "scripts/lock-mlflow-requirements.py in the mlpipes repository does) and pass "
                "the file as 'requirements_file'.",
            )
        if certificate is None:
            Annotations.of(self).add_warning_v2(
                "mlpipes:mlflow-no-tls",
                "MLflow is served over plain HTTP inside the VPC: basic-auth passwords and run "
                "data cross the network unencrypted. Pass 'certificate' (and 'domain_name') "
                "for HTTPS.",
            )
        elif domain_name is None:
            Annotations.of(self).add_warning_v2(
                "mlpipes:mlflow-tls-without-domain",
                "'certificate' is set but 'domain_name' is not: clients connect to the load "
                "balancer's DNS name, which an ACM certificate cannot cover. Set 'domain_name' "
                "to the name the certificate is for.",
            )
        self._acknowledge_findings(
            stack,
            plain_http=certificate is None,
            cidr_unknown=allowed_cidrs is None and is_unresolved(_vpc_cidr(vpc)),
        )

    # --- public API -----------------------------------------------------------------------

    @property
    def admin_secret_arn(self) -> str:
        return self.admin_secret.secret_arn

    def grant_access(self, peer: ec2.IPeer, description: str = "MLflow clients") -> None:
        """Let ``peer`` (a CIDR or a security group) reach the tracking server."""
        problems = Problems(self.node.path)
        config = peer.to_ingress_rule_config()
        cidr = config.cidr_ip or config.cidr_ipv6
        if isinstance(cidr, str):
            _props.check_allowed_cidr(problems, "grant_access peer", cidr)
        problems.raise_if_any()
        self.connections.allow_from(peer, ec2.Port.tcp(self._listener_port), description)

    def grant_read_credentials(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` read the admin secret (``username`` and ``password``)."""
        return self.admin_secret.grant_read(grantee)

    # Each helper takes the fields of ``cloudwatch.MetricOptions`` as keywords (``period``,
    # ``statistic``, ``label``, ...) over its default statistic and period. Other metrics of
    # the parts: ``target_group.metrics.custom(...)`` and ``database.metric(...)``.

    def metric_healthy_hosts(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """Targets passing the load balancer's health check (``AWS/ApplicationELB``
        ``HealthyHostCount``): 1 while the server answers, 0 while it is down or replaced.
        Default: the minimum over 1 minute."""
        return self.target_group.metrics.healthy_host_count(
            **_monitoring.with_defaults(props, statistic="Minimum", period=_monitoring.HOST_PERIOD)
        )

    def metric_unhealthy_hosts(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """Registered targets failing the health check (``UnHealthyHostCount``).
        Default: the maximum over 1 minute."""
        return self.target_group.metrics.unhealthy_host_count(
            **_monitoring.with_defaults(props, statistic="Maximum", period=_monitoring.HOST_PERIOD)
        )

    def metric_http_5xx(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """5xx responses of the server itself, not of the load balancer
        (``HTTPCode_Target_5XX_Count``). Default: the sum over 5 minutes."""
        return self.target_group.metrics.http_code_target(
            elbv2.HttpCodeTarget.TARGET_5XX_COUNT,
            **_monitoring.with_defaults(props, statistic="Sum", period=_monitoring.DEFAULT_PERIOD),
        )

    def metric_target_response_time(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """Seconds from the load balancer sending a request to the server until the response
        starts (``TargetResponseTime``). Default: the 90th percentile over 5 minutes, which
        shows slow requests an average hides."""
        return self.target_group.metrics.target_response_time(
            **_monitoring.with_defaults(props, statistic="p90", period=_monitoring.DEFAULT_PERIOD)
        )

    def metric_database_cpu(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """CPU utilization of the database instance in percent (``AWS/RDS``
        ``CPUUtilization``). Default: the average over 5 minutes."""
        return self.database.metric_cpu_utilization(
            **_monitoring.with_defaults(
                props, statistic="Average", period=_monitoring.DEFAULT_PERIOD
            )
        )

    def metric_database_free_storage(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """Free storage of the database instance in bytes (``FreeStorageSpace``).
        Default: the minimum over 5 minutes."""
        return self.database.metric_free_storage_space(
            **_monitoring.with_defaults(
                props, statistic="Minimum", period=_monitoring.DEFAULT_PERIOD
            )
        )

    # --- building blocks ----------------------------------------------------------------

    def _check_parameter_name_is_unique(self, problems: Problems, name: str) -> None:
        """Two servers writing one parameter name in one account and region would fail the
        second deploy; catch it at synth, naming both servers."""
        if is_unresolved(name):
            return
        stack = Stack.of(self)
        for other in self.node.root.node.find_all():
            if (
                isinstance(other, MlflowServer)
                and other is not self
                # Servers that failed validation never set the attribute.
                and getattr(other, "tracking_uri_parameter_name", None) == name
                and _same_place(Stack.of(other), stack)
            ):
                problems.add(
                    f"tracking_uri_parameter_name '{name}' is already used by the MLflow server "
                    f"'{other.node.path}' in the same account and region; give '{self.node.path}' "
                    "another tracking_uri_parameter_name"
                )

    def _create_database(
        self,
        *,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        key: kms.IKey,
        instance_type: str,
        allocated_storage: int,
        multi_az: bool,
        backup_retention: Duration,
        iam_authentication: bool,
        deletion_protection: bool,
        log_retention: logs.RetentionDays,
    ) -> rds.DatabaseInstance:
        engine = rds.DatabaseInstanceEngine.postgres(version=POSTGRES_VERSION)
        # A known identifier lets the export log groups exist (encrypted, with retention)
        # before RDS starts writing to them, instead of RDS creating them unencrypted.
        identifier = f"mlflow-{self.node.addr[:12]}"
        self.database_log_groups = [
            logs.LogGroup(
                self,
                f"DatabaseLogGroup{export.capitalize()}",
                log_group_name=f"/aws/rds/instance/{identifier}/{export}",
                encryption_key=key,
                retention=log_retention,
                removal_policy=RemovalPolicy.RETAIN,
            )
            for export in DATABASE_LOG_EXPORTS
        ]
        parameters = rds.ParameterGroup(
            self,
            "DatabaseParameters",
            engine=engine,
            description="MLflow backend store: TLS only, connections logged",
            parameters={"rds.force_ssl": "1", "log_connections": "1", "log_disconnections": "1"},
        )
        database = rds.DatabaseInstance(
            self,
            "Database",
            instance_identifier=identifier,
            engine=engine,
            port=DATABASE_PORT,
            instance_type=ec2.InstanceType(instance_type),
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[self.database_security_group],
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
        for log_group in self.database_log_groups:
            database.node.add_dependency(log_group)
        # cfn-lint's engine data lists only the minor versions RDS currently creates, so it
        # reports the major-only "16" as deprecated (W3691); RDS creates it at the default minor.
        cfn_database = database.node.default_child
        assert isinstance(cfn_database, rds.CfnDBInstance)
        cfn_database.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3691"]}})
        return database

    def _add_instance_permissions(self, stack: Stack, assets: Sequence[s3_assets.Asset]) -> None:
        bucket, prefix, key = self.artifact_bucket, self.artifact_prefix, self.encryption_key
        self.policy.add_statements(
            *prefix_read_statements(bucket, [prefix], key),
            *prefix_write_statements(bucket, [prefix], key),
            # MLflow deletes artifacts when runs are garbage-collected or artifacts are
            # deleted through the proxied artifact API.
            iam.PolicyStatement(
                sid="DeleteArtifacts",
                actions=["s3:DeleteObject"],
                resources=[bucket.arn_for_objects(f"{prefix}*")],
            ),
            iam.PolicyStatement(
                sid="ReadBootstrapFiles",
                actions=["s3:GetObject"],
                resources=[
                    stack.format_arn(
                        service="s3",
                        region="",
                        account="",
                        resource=asset.s3_bucket_name,
                        resource_name=asset.s3_object_key,
                    )
                    for asset in assets
                ],
            ),
            iam.PolicyStatement(
                sid="ReadServerSecrets",
                actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                resources=[self.database_secret.secret_arn, self.admin_secret.secret_arn],
            ),
            iam.PolicyStatement(
                sid="DecryptServerSecrets",
                actions=["kms:Decrypt"],
                resources=[key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"secretsmanager.{Aws.REGION}.amazonaws.com"}
                },
            ),
            iam.PolicyStatement(
                sid="ShipServerLogs",
                actions=["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            ),
            iam.PolicyStatement(
                sid="SessionManagerAgent",
                actions=["ssm:UpdateInstanceInformation"],
                resources=[self._instance_arns(stack)],
            ),
            iam.PolicyStatement(
                sid="SessionManagerChannels",
                actions=list(SESSION_MANAGER_ACTIONS),
                resources=["*"],  # ssmmessages actions have no resource type
            ),
        )

    def _instance_arns(self, stack: Stack) -> str:
        return stack.format_arn(service="ec2", resource="instance", resource_name="*")

    def _user_data(
        self,
        *,
        launcher: s3_assets.Asset,
        constraints: s3_assets.Asset | None,
        mlflow_version: str,
        workers: int,
        default_permission: str,
        host: str,
        scheme: str,
    ) -> ec2.UserData:
        user_data = ec2.UserData.for_linux()
        user_data.add_commands(*_bootstrap.prepare_commands())
        user_data.add_s3_download_command(
            bucket=launcher.bucket,
            bucket_key=launcher.s3_object_key,
            local_file=_bootstrap.LAUNCHER_PATH,
        )
        if constraints is not None:
            user_data.add_s3_download_command(
                bucket=constraints.bucket,
                bucket_key=constraints.s3_object_key,
                local_file=_bootstrap.CONSTRAINTS_PATH,
            )
        user_data.add_commands(
            *_bootstrap.install_commands(
                _props.pip_requirements(mlflow_version),
                constraints=None if constraints is None else _bootstrap.CONSTRAINTS_PATH,
            )
        )
        settings = {
            "AWS_REGION": Aws.REGION,
            "MLPIPES_MLFLOW_DB_SECRET_ARN": self.database_secret.secret_arn,
            "MLPIPES_MLFLOW_ADMIN_SECRET_ARN": self.admin_secret.secret_arn,
            "MLPIPES_MLFLOW_ARTIFACTS_DESTINATION": (
                f"s3://{self.artifact_bucket.bucket_name}/{self.artifact_prefix}"
            ),
            "MLPIPES_MLFLOW_HOST": "0.0.0.0",  # reachable only from the load balancer's SG
            "MLPIPES_MLFLOW_PORT": str(SERVER_PORT),
            "MLPIPES_MLFLOW_WORKERS": str(workers),
            "MLPIPES_MLFLOW_STATE_DIR": _bootstrap.STATE_DIR,
            "MLPIPES_MLFLOW_SSL_MODE": "require",
            "MLPIPES_MLFLOW_DEFAULT_PERMISSION": default_permission,
            # Host headers: clients through the load balancer, operators through a
            # Session Manager port forward.
            "MLPIPES_MLFLOW_ALLOWED_HOSTS": (
                f"{host},{host}:*,localhost,localhost:*,127.0.0.1,127.0.0.1:*"
            ),
            "MLPIPES_MLFLOW_ALLOWED_ORIGINS": f"{scheme}://{host}",
        }
        user_data.add_commands(
            *_bootstrap.configure_commands(
                launcher_settings=settings,
                log_group_name=self.log_group.log_group_name,
                port=SERVER_PORT,
            )
        )
        return user_data

    def _create_auto_scaling_group(
        self,
        *,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        key: kms.IKey,
        instance_type: str,
        arm64: bool,
        root_volume_size: int,
        user_data: ec2.UserData,
    ) -> autoscaling.AutoScalingGroup:
        cpu = ec2.AmazonLinuxCpuType.ARM_64 if arm64 else ec2.AmazonLinuxCpuType.X86_64
        launch_template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            # Resolved from the public SSM parameter at deploy time: no context look-up.
            machine_image=ec2.MachineImage.latest_amazon_linux2023(cpu_type=cpu),
            instance_type=ec2.InstanceType(instance_type),
            role=self.role,
            security_group=self.server_security_group,
            user_data=user_data,
            require_imdsv2=True,
            http_put_response_hop_limit=1,
            associate_public_ip_address=False,
            detailed_monitoring=True,
            ebs_optimized=True,
            block_devices=[
                ec2.BlockDevice(
                    device_name=ROOT_DEVICE,
                    volume=ec2.BlockDeviceVolume.ebs(
                        root_volume_size,
                        encrypted=True,
                        kms_key=key,
                        volume_type=ec2.EbsDeviceVolumeType.GP3,
                        delete_on_termination=True,
                    ),
                )
            ],
        )
        group = autoscaling.AutoScalingGroup(
            self,
            "AutoScalingGroup",
            vpc=vpc,
            vpc_subnets=subnets,
            launch_template=launch_template,
            min_capacity=1,
            max_capacity=1,
            notifications=[autoscaling.NotificationConfiguration(topic=self.notification_topic)],
            health_checks=autoscaling.HealthChecks.with_additional_checks(
                additional_types=[autoscaling.AdditionalHealthCheckType.ELB],
                # A slower first boot is still bootstrapping, not unhealthy: replacing it would
                # restart the install.
                grace_period=BOOTSTRAP_TIMEOUT,
            ),
            update_policy=autoscaling.UpdatePolicy.rolling_update(
                max_batch_size=1,
                min_instances_in_service=0,
                pause_time=BOOTSTRAP_TIMEOUT,
                wait_on_resource_signals=True,
            ),
        )
        # CloudFormation waits for the bootstrap's signal. Set directly rather than through
        # ``signals=``, which would also add an inline policy to the instance role.
        cfn_group = group.node.default_child
        assert isinstance(cfn_group, autoscaling.CfnAutoScalingGroup)
        cfn_group.cfn_options.creation_policy = CfnCreationPolicy(
            resource_signal=CfnResourceSignal(count=1, timeout=BOOTSTRAP_TIMEOUT.to_iso_string())
        )
        # cfn-signal on exit, like UserData.add_signal_on_exit_command, but with the permission
        # in the instance's managed policy rather than an inline one.
        logical_id = Stack.of(self).get_logical_id(cfn_group)
        user_data.add_on_exit_commands(
            f"/opt/aws/bin/cfn-signal --stack {Aws.STACK_NAME} --resource {logical_id} "
            f"--region {Aws.REGION} -e $exitCode || echo 'Failed to send CloudFormation signal'"
        )
        self.policy.add_statements(
            iam.PolicyStatement(
                sid="SignalBootstrapResult",
                actions=["cloudformation:SignalResource"],
                resources=[Aws.STACK_ID],
            )
        )
        return group

    def _allow_auto_scaling_to_use_key(self, stack: Stack, key: kms.IKey) -> bool:
        """Auto Scaling launches the encrypted volumes as its service-linked role, which only
        the key policy can grant. The role is matched by condition because a key policy
        naming a role that does not exist yet (no Auto Scaling group in the account so far) is
        rejected. False when the key is imported and its policy was left alone."""
        role_arn = stack.format_arn(
            service="iam",
            region="",
            resource="role",
            resource_name="aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
        )
        condition = {"StringEquals": {"aws:PrincipalArn": role_arn}}
        added = key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAutoScalingEncryptedVolumes",
                principals=[iam.AnyPrincipal()],
                actions=list(AUTO_SCALING_KEY_ACTIONS),
                resources=["*"],  # in a key policy, "*" means this key
                conditions=condition,
            )
        ).statement_added
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAutoScalingVolumeGrants",
                principals=[iam.AnyPrincipal()],
                actions=["kms:CreateGrant"],
                resources=["*"],
                conditions={**condition, "Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )
        return bool(added)

    def _create_alarms(self, allocated_storage: int) -> tuple[cloudwatch.Alarm, ...]:
        # Each alarm says what a missing data point means for it, rather than CloudWatch's
        # default of waiting in INSUFFICIENT_DATA.
        requests = self.target_group.metrics.request_count(
            statistic="Sum", period=_monitoring.DEFAULT_PERIOD
        )
        http_5xx_rate = cloudwatch.MathExpression(
            expression=(
                f"IF(requests >= {_monitoring.HTTP_5XX_MIN_REQUESTS}, "
                "100 * FILL(errors, 0) / requests, 0)"
            ),
            using_metrics={"requests": requests, "errors": self.metric_http_5xx()},
            label="Target 5xx responses (% of requests)",
            period=_monitoring.DEFAULT_PERIOD,
        )
        alarms = (
            cloudwatch.Alarm(
                self,
                "NoHealthyHostAlarm",
                alarm_description=(
                    "The MLflow tracking server has not passed its load balancer health check "
                    "for 3 minutes: the instance is failing, starting or being replaced. See "
                    "the bootstrap and mlflow-server streams of its log group."
                ),
                metric=self.metric_healthy_hosts(),
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                threshold=1,
                evaluation_periods=_monitoring.HOST_EVALUATION_PERIODS,
                # No health data means no target to check: the server is down.
                treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            ),
            cloudwatch.Alarm(
                self,
                "Http5xxAlarm",
                alarm_description=(
                    f"More than {_monitoring.HTTP_5XX_PERCENT}% of the requests to the MLflow "
                    "tracking server got a 5xx response from it, for 10 minutes."
                ),
                metric=http_5xx_rate,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                threshold=_monitoring.HTTP_5XX_PERCENT,
                evaluation_periods=_monitoring.HTTP_5XX_EVALUATION_PERIODS,
                # No requests, no errors.
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            cloudwatch.Alarm(
                self,
                "DatabaseCpuAlarm",
                alarm_description=(
                    f"The MLflow database's CPU has been above {_monitoring.DATABASE_CPU_PERCENT}"
                    "% for 15 minutes: consider a larger database_instance_type."
                ),
                metric=self.metric_database_cpu(),
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                threshold=_monitoring.DATABASE_CPU_PERCENT,
                evaluation_periods=_monitoring.DATABASE_CPU_EVALUATION_PERIODS,
                # A gap (failover, maintenance reboot) says nothing about load: keep the state.
                treat_missing_data=cloudwatch.TreatMissingData.IGNORE,
            ),
            cloudwatch.Alarm(
                self,
                "DatabaseStorageAlarm",
                alarm_description=(
                    "The MLflow database has less than 10% of its allocated storage "
                    f"({allocated_storage} GiB) free: storage autoscaling grows it at most every "
                    "6 hours and up to 5 times the allocation, at most 64 TiB."
                ),
                metric=self.metric_database_free_storage(),
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                threshold=_monitoring.free_storage_threshold_bytes(allocated_storage),
                evaluation_periods=1,
                # A gap says nothing about storage: keep the state.
                treat_missing_data=cloudwatch.TreatMissingData.IGNORE,
            ),
        )
        action = cloudwatch_actions.SnsAction(self.notification_topic)
        for alarm in alarms:
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
        # The server is unhealthy until its first bootstrap ends: create the alarms after the
        # Auto Scaling group, which waits for the instance's success signal.
        alarms[0].node.add_dependency(self.auto_scaling_group)
        return alarms

    def _allow_alarms_to_notify(self, stack: Stack, key: kms.IKey) -> bool:
        """CloudWatch publishes to the topic as its service principal: the topic policy CDK
        writes for ``enforce_ssl`` replaces SNS's default one, so it needs its own statement,
        and the key policy must let it encrypt the message. Both are limited to alarms of this
        account and region. False when the key is imported and its policy was left alone."""
        conditions = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {
                "aws:SourceArn": stack.format_arn(
                    service="cloudwatch",
                    resource="alarm",
                    resource_name="*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            },
        }
        self.notification_topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarms",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.notification_topic.topic_arn],
                conditions=conditions,
            )
        )
        return bool(
            key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowCloudWatchAlarmNotifications",
                    principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                    actions=list(ALARM_KEY_ACTIONS),
                    resources=["*"],  # in a key policy, "*" means this key
                    conditions=conditions,
                )
            ).statement_added
        )

    def _create_listener(
        self,
        certificate: acm.ICertificate | str | None,
        target_group: elbv2.ApplicationTargetGroup,
    ) -> elbv2.ApplicationListener:
        if certificate is None:
            return self.load_balancer.add_listener(
                "Listener",
                port=80,
                protocol=elbv2.ApplicationProtocol.HTTP,
                open=False,
                default_target_groups=[target_group],
            )
        if isinstance(certificate, str):
            certificate = acm.Certificate.from_certificate_arn(self, "Certificate", certificate)
        return self.load_balancer.add_listener(
            "Listener",
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_certificate_manager(certificate)],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            open=False,
            default_target_groups=[target_group],
        )

    def _acknowledge_findings(self, stack: Stack, *, plain_http: bool, cidr_unknown: bool) -> None:
        """Findings that do not apply or are compensated, each on its resource with the reason."""
        both = ("HIPAA.Security", "NIST.800.53.R5")
        database_secret = self.database.node.find_child("Secret")
        acknowledge(
            database_secret,
            "AwsSolutions-SMG4",
            "the tracking server reads the database password once when it starts, so a rotation "
            "under a running server would break its new connections until the next restart",
        )
        acknowledge(
            database_secret,
            [f"{pack}-SecretsManagerRotationEnabled" for pack in both],
            "the database password never leaves Secrets Manager and the instance role, and the "
            "database accepts only TLS connections from the server's security group; rotate it "
            "in a maintenance window followed by an instance refresh",
        )
        acknowledge(
            self.admin_secret,
            "AwsSolutions-SMG4",
            "MLflow uses this password only to create the admin user on first start; rotating "
            "the secret would not change the user's password, which MLflow's update-password "
            "API changes",
        )
        acknowledge(
            self.admin_secret,
            [f"{pack}-SecretsManagerRotationEnabled" for pack in both],
            "a scheduled rotation of the admin secret would leave it out of step with the MLflow "
            "admin user, whose password lives hashed in the auth database; change both together "
            "through MLflow's update-password API",
        )
        instance = self.database.node.default_child
        assert instance is not None
        acknowledge(
            instance,
            [f"{pack}-RDSInBackupPlan" for pack in both],
            "the instance has automated backups with point-in-time recovery (backup_retention, "
            "default 7 days), deletion protection and a final snapshot on removal; an AWS Backup "
            "plan would add a second copy of the same data, which a platform can still add",
        )
        monitoring_role = self.database.node.try_find_child("MonitoringRole")
        if monitoring_role is not None:
            acknowledge(
                monitoring_role,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonRDSEnhancedMonitoringRole]",
                "RDS enhanced monitoring requires this AWS-maintained policy, which only lets RDS "
                "write OS metrics to its own RDSOSMetrics log group",
            )
        acknowledge(
            self.load_balancer,
            "NIST.800.53.R5-ALBWAFEnabled",
            "the load balancer is internal: only the VPC or networks granted explicitly reach "
            "it, and every API and UI request needs MLflow credentials; a web ACL against "
            "internet traffic can be associated by the platform if required",
        )
        acknowledge_wildcard(
            self.policy,
            self.artifact_bucket.arn_for_objects(f"{self.artifact_prefix}*"),
            "MLflow names artifact objects after experiments and runs at run time; the "
            f"wildcard stays inside the '{self.artifact_prefix}' folder of the artifact bucket",
        )
        acknowledge_wildcard(
            self.policy,
            self._instance_arns(stack),
            "the Session Manager agent reports for the instance it runs on, whose id the Auto "
            "Scaling group chooses at launch; the wildcard covers instances of this account and "
            "region only",
        )
        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::*]",
            "the Session Manager channel actions (ssmmessages:*Channel) have no resource type, "
            "so AWS accepts only '*' for them",
        )
        if plain_http:
            acknowledge(
                self.listener,
                [f"{pack}-ALBHttpToHttpsRedirection" for pack in both],
                "no certificate was given, so there is no HTTPS listener to redirect to; the "
                "internal HTTP listener is reported by the mlpipes:mlflow-no-tls synth warning",
            )
            acknowledge(
                self.listener,
                [f"{pack}-ELBv2ACMCertificateRequired" for pack in both],
                "the listener serves plain HTTP inside the VPC because no ACM certificate was "
                "passed; passing 'certificate' makes it an HTTPS-only listener using it",
            )
        if cidr_unknown:
            acknowledge(
                self.load_balancer_security_group,
                "AwsSolutions-EC23",
                "the only ingress is the listener port from the VPC's CIDR block, resolved at "
                "deploy time so the rule cannot read it; allowed_cidrs and grant_access reject "
                "0.0.0.0/0 at synth",
            )
            acknowledge(
                self.load_balancer_security_group,
                [f"{pack}-EC2RestrictedCommonPorts" for pack in both],
                "the group admits only the MLflow listener port (80 or 443), from a CIDR block "
                "this rule cannot read because it is the VPC's, known at deploy time",
            )
            acknowledge(
                self.load_balancer_security_group,
                [f"{pack}-EC2RestrictedSSH" for pack in both],
                "port 22 is never opened: the group admits only the MLflow listener port, and "
                "operators reach the instance through Session Manager",
            )


def _vpc_cidr(vpc: ec2.IVpc) -> str:
    """The VPC's CIDR block, as a literal when the VPC is defined in this app.

    A literal keeps security group rules readable and checkable; a reference to another
    stack's VPC attribute is only known at deploy time.
    """
    cidr = vpc.vpc_cidr_block
    resource = vpc.node.default_child
    if is_unresolved(cidr) and isinstance(resource, ec2.CfnVPC):
        literal = resource.cidr_block
        if isinstance(literal, str) and not is_unresolved(literal):
            return literal
    return cidr


def _same_place(first: Stack, second: Stack) -> bool:
    """Whether two stacks may deploy to the same account and region (unknown counts as same)."""
    return all(
        is_unresolved(a) or is_unresolved(b) or a == b
        for a, b in ((first.account, second.account), (first.region, second.region))
    )


def _check_egress(
    problems: Problems, prop: str, vpc: ec2.IVpc, selection: ec2.SubnetSelection
) -> None:
    """Record a problem when the selected subnets cannot reach the internet through NAT.

    The instance installs MLflow from PyPI and calls Secrets Manager, SSM and CloudFormation
    (cfn-signal) while it boots; without egress the Auto Scaling group times out at deploy.
    Subnets imported by id are taken on trust: their routes are not known at synth.
    """
    needs = (
        "MLflow needs egress through a NAT gateway to install its pinned packages from PyPI and "
        "reach the AWS APIs (Secrets Manager, SSM, CloudFormation's cfn-signal) while it boots; "
        "choose private subnets with egress (PRIVATE_WITH_EGRESS, e.g. a foundation with "
        "nat_gateways >= 1)"
    )
    if selection.subnet_type == ec2.SubnetType.PRIVATE_ISOLATED:
        problems.add(
            f"{prop} selects PRIVATE_ISOLATED subnets, which have no route to a NAT: {needs}"
        )
        return
    try:
        selected = select_subnets(vpc, selection).subnets
    except RuntimeError as error:  # no subnet group of the selected type
        problems.add(f"{prop} selects no subnets of the VPC ({error}): {needs}")
        return
    isolated = {subnet.subnet_id for subnet in vpc.isolated_subnets}
    without_route = [
        subnet.node.path
        for subnet in selected
        if subnet.subnet_id in isolated
        or (isinstance(subnet, ec2.Subnet) and not _has_default_route(subnet))
    ]
    if without_route:
        problems.add(
            f"{prop} selects subnets without a route to a NAT ({', '.join(without_route)}): {needs}"
        )


def _has_default_route(subnet: ec2.Subnet) -> bool:
    """Whether a subnet defined in this app routes 0.0.0.0/0 somewhere (NAT, transit gateway)."""
    return any(
        isinstance(child, ec2.CfnRoute) and child.destination_cidr_block == "0.0.0.0/0"
        for child in subnet.node.children
    )
