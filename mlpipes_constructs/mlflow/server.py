"""An MLflow tracking server on EC2, with PostgreSQL (Aurora Serverless v2 or RDS) and
artifacts in S3.

The parts are built by the private modules beside this one: ``_settings`` (the props, checked
together), ``_secrets``, ``_network``, ``_database``, ``_load_balancer``, ``_instance`` (role,
user data, Auto Scaling group), ``_alarms`` and ``_findings`` (warnings and acknowledged
cdk-nag findings).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Unpack

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
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

from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.core.metrics import MetricOptions
from mlpipes_constructs.foundation.resources import FoundationResources
from mlpipes_constructs.iam import ManagedPolicyRole
from mlpipes_constructs.mlflow import (
    _alarms,
    _database,
    _findings,
    _grants,
    _instance,
    _load_balancer,
    _monitoring,
    _network,
    _props,
    _secrets,
    _settings,
)
from mlpipes_constructs.mlflow._database import DATABASE_PORT
from mlpipes_constructs.mlflow._imported import ImportedTrackingServer
from mlpipes_constructs.mlflow._props import (
    AUTO_PAUSE_SERVER_ENVIRONMENT,
    DEFAULT_ARTIFACT_PREFIX,
    DEFAULT_MLFLOW_VERSION,
    DEFAULT_PARAMETER_NAME,
    SERVER_PORT,
)
from mlpipes_constructs.mlflow.sizing import MlflowSizing, ProvisionedDatabase, ServerlessDatabase
from mlpipes_constructs.mlflow.tracking_server import IMlflowTrackingServer


class MlflowServer(Construct):
    """A secure, durable MLflow tracking server every orchestrator can log to.

    An :class:`~mlpipes_constructs.mlflow.IMlflowTrackingServer`; bring a server that runs
    elsewhere with :meth:`from_tracking_server`.

    One Amazon Linux 2023 instance (Graviton by default) in an Auto Scaling group of exactly one,
    replaced when the load balancer finds it unhealthy, runs ``mlflow server`` with basic
    authentication through :mod:`mlpipes_constructs.mlflow.launcher`. Runs, parameters, metrics
    and users live in PostgreSQL (encrypted, stored in more than one Availability Zone, backed
    up, deletion-protected, snapshot on removal): by default Aurora PostgreSQL Serverless v2,
    which pauses while idle, or a provisioned Multi-AZ RDS instance; ``sizing`` chooses (see
    :mod:`mlpipes_constructs.mlflow.sizing` for the profiles and their trade-offs). Artifacts
    live under a prefix of the artifact bucket and are served through the server, so clients
    need no S3 permissions. Clients reach it through an internal Application Load Balancer
    (HTTPS with a certificate), open only to the VPC or to the networks and peers you grant.
    Operators connect with Session Manager; there is no SSH. The tracking URI is published as
    an SSM parameter.

    The instance installs MLflow from PyPI with every package pinned by a constraints file (one
    ships for :data:`DEFAULT_MLFLOW_VERSION`), so instances launched months apart run the same
    code. It therefore needs egress through a NAT gateway: isolated subnets (e.g. a foundation
    with ``nat_gateways=0``) are rejected at synth. Alarms on the server's health, its 5xx
    responses and the database's CPU and storage notify :attr:`notification_topic`, which also
    reports instance launches and terminations; ``metric_*`` methods give the same metrics for
    dashboards and alarms of your own. A serverless database's alarm watches its capacity
    instead of its free storage, which Aurora grows on its own.

    Either pass ``foundation`` or the individual resources (``vpc``, ``encryption_key``,
    ``artifact_bucket``, ``access_log_bucket``).

    Data outlives the stack: the database leaves a final snapshot and its log groups
    (``/aws/rds/cluster/mlflow-<id>/postgresql`` for Aurora;
    ``/aws/rds/instance/mlflow-<id>/postgresql`` and ``.../upgrade`` for RDS, where
    ``mlflow-<id>`` is the database's identifier) are retained. Those log groups have fixed
    names, so deploying the same construct again after a destroy fails with "already exists"
    until you delete them (export what you need first). The server's log group and the
    snapshot have generated names and do not block a redeploy.

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
        sizing: the server's instance type, worker count and database (engine and capacity),
            as one choice: :attr:`MlflowSizing.SMALL_TEAM <mlpipes_constructs.mlflow.sizing.
            MlflowSizing.SMALL_TEAM>` (t4g.medium, Aurora Serverless v2 from 0 to 4 ACUs that
            pauses after 5 idle minutes) or :attr:`MlflowSizing.PRODUCTION
            <mlpipes_constructs.mlflow.sizing.MlflowSizing.PRODUCTION>` (m7g.large, provisioned
            Multi-AZ db.t4g.medium), or your own. The individual props below override its
            fields. Default: ``MlflowSizing.SMALL_TEAM``.
        instance_type: EC2 instance type of the server. Default: the sizing's
            (``"t4g.medium"`` for SMALL_TEAM, ``"m7g.large"`` for PRODUCTION).
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
        workers: server worker processes. Default: the sizing's (2 for SMALL_TEAM, 4 for
            PRODUCTION).
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
        database_instance_type: RDS instance class (with or without ``db.``) of a
            provisioned database; an error with a serverless sizing. Default: the sizing's
            (``"t4g.medium"`` for PRODUCTION).
        database_allocated_storage: initial storage in GiB of a provisioned database, 20 to
            16384; storage grows automatically up to 5 times this, at most 64 TiB; an error
            with a serverless sizing (Aurora storage grows on its own). Default: the sizing's
            (20 for PRODUCTION).
        multi_az: a second database zone for compute: the standby of a provisioned database,
            or a serverless reader (in the failover tier that pauses with the writer). The
            data is stored in several zones either way. Default: the sizing's (True for
            PRODUCTION; no reader for a serverless sizing).
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
            5% of requests, database CPU above 80% for 15 minutes, and database free storage
            below 10% of ``database_allocated_storage`` for a provisioned database or capacity
            above 90% of the maximum ACUs for 15 minutes for a serverless one), notifying
            ``notification_topic`` when they go into and out of alarm. A key created in this
            app gets a statement letting CloudWatch publish to the encrypted topic.
            Default: True.
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
        sizing: MlflowSizing = MlflowSizing.SMALL_TEAM,
        instance_type: str | None = None,
        cpu_architecture: ec2.AmazonLinuxCpuType | None = None,
        mlflow_version: str = DEFAULT_MLFLOW_VERSION,
        workers: int | None = None,
        root_volume_size: int = 30,
        certificate: acm.ICertificate | str | None = None,
        domain_name: str | None = None,
        allowed_cidrs: Sequence[str] | None = None,
        admin_username: str = "admin",
        default_permission: str = "READ",
        database_instance_type: str | None = None,
        database_allocated_storage: int | None = None,
        multi_az: bool | None = None,
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
        settings = _settings.resolve(
            self,
            MlflowServer,
            foundation=foundation,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            encryption_key=encryption_key,
            artifact_bucket=artifact_bucket,
            artifact_prefix=artifact_prefix,
            access_log_bucket=access_log_bucket,
            sizing=sizing,
            instance_type=instance_type,
            cpu_architecture=cpu_architecture,
            mlflow_version=mlflow_version,
            workers=workers,
            root_volume_size=root_volume_size,
            certificate=certificate,
            domain_name=domain_name,
            allowed_cidrs=allowed_cidrs,
            admin_username=admin_username,
            default_permission=default_permission,
            database_instance_type=database_instance_type,
            database_allocated_storage=database_allocated_storage,
            multi_az=multi_az,
            backup_retention=backup_retention,
            tracking_uri_parameter_name=tracking_uri_parameter_name,
            requirements_file=requirements_file,
        )
        key = settings.encryption_key
        self.vpc = settings.vpc
        self.encryption_key = key
        self.artifact_bucket = settings.artifact_bucket
        self.artifact_prefix = artifact_prefix
        self.mlflow_version = mlflow_version
        #: The sizing the server was built with, the individual props applied.
        self.sizing: MlflowSizing = settings.sizing
        database_sizing = settings.sizing.database
        #: The constraints file the instance installs with; None when dependencies float.
        self.requirements_file: Path | None = settings.requirements_file
        scheme = "http" if certificate is None else "https"
        listener_port = 80 if certificate is None else 443

        self.admin_secret = _secrets.create_admin_secret(
            self, key=key, admin_username=admin_username
        )
        groups = _network.create_security_groups(self, self.vpc)
        self.load_balancer_security_group = groups.load_balancer
        self.server_security_group = groups.server
        self.database_security_group = groups.database

        if isinstance(database_sizing, ServerlessDatabase):
            database = _database.create_serverless_cluster(
                self,
                vpc=self.vpc,
                subnets=settings.subnets,
                security_group=self.database_security_group,
                key=key,
                min_capacity=database_sizing.min_capacity,
                max_capacity=database_sizing.max_capacity,
                auto_pause=Duration.seconds(database_sizing.auto_pause_seconds),
                reader=settings.multi_az,
                backup_retention=settings.backup_retention,
                iam_authentication=database_iam_authentication,
                deletion_protection=deletion_protection,
                log_retention=log_retention,
            )
        else:
            database = _database.create_database(
                self,
                vpc=self.vpc,
                subnets=settings.subnets,
                security_group=self.database_security_group,
                key=key,
                instance_type=database_sizing.instance_type.removeprefix("db."),
                allocated_storage=database_sizing.allocated_storage,
                multi_az=settings.multi_az,
                backup_retention=settings.backup_retention,
                iam_authentication=database_iam_authentication,
                deletion_protection=deletion_protection,
                log_retention=log_retention,
            )
        self.database_log_groups = database.log_groups
        #: Whether the database also accepts IAM authentication.
        self.database_iam_authentication = database_iam_authentication
        #: The backend store: an Aurora cluster with a serverless sizing, else an RDS instance.
        self.database: rds.DatabaseCluster | rds.DatabaseInstance = database.instance
        self.database.connections.allow_from(
            self.server_security_group, ec2.Port.tcp(DATABASE_PORT), "MLflow server to its database"
        )
        database_secret = self.database.secret
        assert database_secret is not None  # generated credentials
        self.database_secret: secretsmanager.ISecret = database_secret

        self.load_balancer = _load_balancer.create_load_balancer(
            self,
            vpc=self.vpc,
            subnets=settings.subnets,
            security_group=self.load_balancer_security_group,
            deletion_protection=deletion_protection,
            access_log_bucket=settings.access_log_bucket,
        )
        host = domain_name or self.load_balancer.load_balancer_dns_name
        self.tracking_uri: str = f"{scheme}://{host}"
        # The load balancer's security groups, on the port clients connect to.
        self.connections = ec2.Connections(
            security_groups=self.load_balancer.connections.security_groups,
            default_port=ec2.Port.tcp(listener_port),
        )
        self._listener_port = listener_port
        _load_balancer.allow_clients(
            self.connections,
            (
                settings.allowed_cidrs
                if settings.allowed_cidrs is not None
                else [_network.vpc_cidr(self.vpc)]
            ),
            listener_port,
        )

        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            encryption_key=key,
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
        launcher = s3_assets.Asset(self, "Launcher", path=str(_instance.LAUNCHER_SOURCE))
        constraints = (
            None
            if self.requirements_file is None
            else s3_assets.Asset(self, "Requirements", path=str(self.requirements_file))
        )
        self.notification_topic = sns.Topic(
            self,
            "NotificationTopic",
            display_name="MLflow tracking server: instance launches, terminations and alarms",
            master_key=key,
            enforce_ssl=True,
        )
        _instance.add_instance_permissions(
            self.policy,
            stack,
            bucket=self.artifact_bucket,
            prefix=artifact_prefix,
            key=key,
            assets=[asset for asset in (launcher, constraints) if asset is not None],
            secrets=[self.database_secret, self.admin_secret],
            log_group=self.log_group,
        )
        self.auto_scaling_group = _instance.create_auto_scaling_group(
            self,
            vpc=self.vpc,
            subnets=settings.subnets,
            key=key,
            instance_type=settings.sizing.instance_type,
            arm64=settings.arm64,
            root_volume_size=root_volume_size,
            user_data=_instance.user_data(
                launcher=launcher,
                constraints=constraints,
                mlflow_version=mlflow_version,
                workers=settings.sizing.workers,
                default_permission=default_permission,
                host=host,
                scheme=scheme,
                database_secret=self.database_secret,
                admin_secret=self.admin_secret,
                artifact_bucket=self.artifact_bucket,
                artifact_prefix=artifact_prefix,
                log_group=self.log_group,
                server_environment=(
                    AUTO_PAUSE_SERVER_ENVIRONMENT
                    if isinstance(database_sizing, ServerlessDatabase)
                    and database_sizing.auto_pauses
                    else {}
                ),
            ),
            role=self.role,
            security_group=self.server_security_group,
            notification_topic=self.notification_topic,
            policy=self.policy,
        )
        key_policy_changed = _instance.allow_auto_scaling_to_use_key(stack, key)

        self.target_group = _load_balancer.create_target_group(
            self, vpc=self.vpc, auto_scaling_group=self.auto_scaling_group
        )
        self.listener = _load_balancer.create_listener(
            self, self.load_balancer, certificate, self.target_group
        )
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
            self.alarms = _alarms.create_alarms(
                self,
                database=(
                    _alarms.StorageAlarm(
                        allocated_storage=database_sizing.allocated_storage,
                        free_storage=self.metric_database_free_storage(),
                    )
                    if isinstance(database_sizing, ProvisionedDatabase)
                    else _alarms.CapacityAlarm(
                        max_capacity=database_sizing.max_capacity,
                        utilization=self.metric_database_capacity(),
                    )
                ),
                target_group=self.target_group,
                healthy_hosts=self.metric_healthy_hosts(),
                http_5xx=self.metric_http_5xx(),
                database_cpu=self.metric_database_cpu(),
                notification_topic=self.notification_topic,
                auto_scaling_group=self.auto_scaling_group,
            )
            key_policy_changed &= _alarms.allow_alarms_to_notify(
                stack, key, self.notification_topic
            )
        _findings.add_warnings(
            self,
            key_policy_changed=key_policy_changed,
            alarms=alarms,
            mlflow_version=mlflow_version,
            pinned=self.requirements_file is not None,
            certificate=certificate,
            domain_name=domain_name,
        )
        _findings.acknowledge_findings(
            self,
            stack,
            plain_http=certificate is None,
            cidr_unknown=settings.allowed_cidrs is None
            and is_unresolved(_network.vpc_cidr(self.vpc)),
        )

    # --- public API -----------------------------------------------------------------------

    @classmethod
    def from_tracking_server(
        cls,
        scope: Construct,
        construct_id: str,
        *,
        tracking_uri: str,
        credentials_secret: secretsmanager.ISecret,
        security_groups: Sequence[ec2.ISecurityGroup] = (),
        port: int | None = None,
    ) -> IMlflowTrackingServer:
        """An MLflow server that runs elsewhere (another app, another team), for jobs to log to.

        Args:
            tracking_uri: the server's URI, ``http://`` or ``https://`` with a host.
            credentials_secret: the secret with the MLflow user jobs sign in as
                (``username``, ``password``), e.g. ``secretsmanager.Secret.from_secret_attributes``
                with its ``encryption_key``, so grants include decrypting it.
            security_groups: the security groups in front of the server, which
                ``grant_access`` opens to peers. Default: none; ``grant_access`` then raises,
                and peers must be allowed on the server's side.
            port: the port clients connect to. Default: the port of ``tracking_uri``, else 443
                for https and 80 for http.

        Raises:
            PropsValidationError: ``tracking_uri`` is not an http or https URL, or ``port`` is
                out of range.
        """
        return ImportedTrackingServer(
            scope,
            construct_id,
            tracking_uri=tracking_uri,
            credentials_secret=credentials_secret,
            security_groups=security_groups,
            port=port,
        )

    @property
    def admin_secret_arn(self) -> str:
        """The ARN of :attr:`admin_secret`."""
        return self.admin_secret.secret_arn

    @property
    def credentials_secret(self) -> secretsmanager.ISecret:
        """The secret with the admin's MLflow credentials (:attr:`admin_secret`)."""
        return self.admin_secret

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
        """Let ``grantee`` read the admin secret (``username`` and ``password``).

        For a role of this account, in any stack, the statements (reading the secret,
        decrypting it through Secrets Manager) go into the role's own policy, never into the
        key's or the secret's resource policy, so a grant across stacks makes no dependency
        cycle.
        """
        return _grants.grant_secret_read(self.admin_secret, grantee)

    # Each helper takes the fields of ``cloudwatch.MetricOptions`` as keywords (``period``,
    # ``statistic``, ``label``, ...) over its default statistic and period. Other metrics of
    # the parts: ``target_group.metrics.custom(...)`` and ``database.metric(...)``.

    def metric_healthy_hosts(self, **props: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Targets passing the load balancer's health check (``AWS/ApplicationELB``
        ``HealthyHostCount``): 1 while the server answers, 0 while it is down or replaced.
        Default: the minimum over 1 minute."""
        return self.target_group.metrics.healthy_host_count(
            **_monitoring.with_defaults(props, statistic="Minimum", period=_monitoring.HOST_PERIOD)
        )

    def metric_unhealthy_hosts(self, **props: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Registered targets failing the health check (``UnHealthyHostCount``).
        Default: the maximum over 1 minute."""
        return self.target_group.metrics.unhealthy_host_count(
            **_monitoring.with_defaults(props, statistic="Maximum", period=_monitoring.HOST_PERIOD)
        )

    def metric_http_5xx(self, **props: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """5xx responses of the server itself, not of the load balancer
        (``HTTPCode_Target_5XX_Count``). Default: the sum over 5 minutes."""
        return self.target_group.metrics.http_code_target(
            elbv2.HttpCodeTarget.TARGET_5XX_COUNT,
            **_monitoring.with_defaults(props, statistic="Sum", period=_monitoring.DEFAULT_PERIOD),
        )

    def metric_target_response_time(self, **props: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Seconds from the load balancer sending a request to the server until the response
        starts (``TargetResponseTime``). Default: the 90th percentile over 5 minutes, which
        shows slow requests an average hides."""
        return self.target_group.metrics.target_response_time(
            **_monitoring.with_defaults(props, statistic="p90", period=_monitoring.DEFAULT_PERIOD)
        )

    def metric_database_cpu(self, **props: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """CPU utilization of the database in percent (``AWS/RDS`` ``CPUUtilization``, by
        instance, or by cluster for Aurora; no data while a serverless database is paused).
        Default: the average over 5 minutes."""
        return self.database.metric_cpu_utilization(
            **_monitoring.with_defaults(
                props, statistic="Average", period=_monitoring.DEFAULT_PERIOD
            )
        )

    def metric_database_free_storage(self, **props: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Free storage of a provisioned database instance in bytes (``FreeStorageSpace``).
        Default: the minimum over 5 minutes.

        Raises:
            ValueError: the database is Aurora Serverless v2, whose storage grows on its own
                (see :meth:`metric_database_capacity`, or ``database.metric_volume_bytes_used``
                for the bytes stored).
        """
        if not isinstance(self.database, rds.DatabaseInstance):
            raise ValueError(
                f"{self.node.path}: metric_database_free_storage needs a provisioned database, "
                "but the sizing's database is Aurora Serverless v2, whose storage grows on its "
                "own; use metric_database_capacity or database.metric_volume_bytes_used()"
            )
        return self.database.metric_free_storage_space(
            **_monitoring.with_defaults(
                props, statistic="Minimum", period=_monitoring.DEFAULT_PERIOD
            )
        )

    def metric_database_capacity(self, **props: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """How much of its maximum capacity an Aurora Serverless v2 database uses, in percent
        (``AWS/RDS`` ``ACUUtilization`` of the cluster; no data while it is paused).
        Default: the average over 5 minutes.

        Raises:
            ValueError: the database is a provisioned RDS instance, which has no capacity
                units (see :meth:`metric_database_cpu`).
        """
        if not isinstance(self.database, rds.DatabaseCluster):
            raise ValueError(
                f"{self.node.path}: metric_database_capacity needs an Aurora Serverless v2 "
                "database, but the sizing's database is a provisioned RDS instance; use "
                "metric_database_cpu or metric_database_free_storage"
            )
        return self.database.metric_acu_utilization(
            **_monitoring.with_defaults(
                props, statistic="Average", period=_monitoring.DEFAULT_PERIOD
            )
        )
