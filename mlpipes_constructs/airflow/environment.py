"""An Amazon MWAA environment that is private, encrypted and logged by default."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Unpack

from aws_cdk import Annotations, CustomResource, Names, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_mwaa as mwaa
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlpipes_constructs._internal.subnets import select_subnets
from mlpipes_constructs._internal.validation import Problems
from mlpipes_constructs.airflow import _execution_role
from mlpipes_constructs.airflow._metrics import environment_metric
from mlpipes_constructs.airflow._options import (
    DAGS_PREFIX,
    PIPELINE_DAGS_PREFIX,
    PLUGINS_KEY,
    REQUIREMENTS_KEY,
    STARTUP_SCRIPT_KEY,
    EndpointManagement,
    MwaaLogging,
    MwaaSourceFiles,
    WebserverAccessMode,
    WorkerReplacementStrategy,
)
from mlpipes_constructs.airflow._rules import (
    DEFAULT_AIRFLOW_VERSION,
    DEFAULT_MAINTENANCE_WINDOW,
    MAX_ENVIRONMENT_NAME,
    check_airflow_version,
    check_capacity,
    check_environment_class,
    check_environment_name,
    check_maintenance_window,
    default_capacity,
    default_environment_name,
)
from mlpipes_constructs.airflow._source_deployment import SourceDeployment
from mlpipes_constructs.compliance import acknowledge, acknowledge_wildcards
from mlpipes_constructs.core.metrics import MetricOptions
from mlpipes_constructs.foundation import ArtifactStorage, FoundationResources, PlatformKey
from mlpipes_constructs.iam import ManagedPolicyRole

DEFAULT_ENVIRONMENT_CLASS = "mw1.small"
#: The Apache Airflow roles MWAA maps IAM principals to.
AIRFLOW_ROLES: tuple[str, ...] = ("Admin", "Op", "User", "Viewer", "Public")
PUBLIC_WEBSERVER_WARNING = "mlpipes:mwaa-public-webserver"
_DAG_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*\.(py|json)")


class MwaaEnvironment(Construct):
    """An Amazon MWAA environment (``AWS::MWAA::Environment``) and what it needs to run.

    Secure by default: the web server is reachable only from the VPC (``PRIVATE_ONLY``); data
    is encrypted with a customer-managed key; all five Apache Airflow log types are on, in log
    groups with a retention, encrypted with the same key and retained on stack deletion; the
    environment runs in two private subnets of two availability zones with a security group
    whose only ingress is itself; the source bucket is versioned, KMS-encrypted, TLS-only and
    access-logged; the execution role holds only the permissions MWAA documents, scoped to this
    environment (see :attr:`execution_role`).

    Local DAGs, ``requirements.txt``, ``plugins.zip`` and a startup script (``source``) are
    deployed to the source bucket, and the S3 versions of the last three are wired into the
    environment: changing ``requirements.txt`` updates the environment, an unchanged file
    leaves the template, and so the environment, untouched (see ``_source_deployment``).

    Log retention: CloudFormation only reports the environment's log group ARNs
    (``LoggingConfiguration.*.CloudWatchLogGroupArn`` is output-only, aws-cdk #30645), so no
    property can point MWAA at a log group. MWAA writes to groups named
    ``airflow-<environment name>-<DAGProcessing|Scheduler|Task|WebServer|Worker>`` and uses
    them when they already exist (as they do after an environment of the same name was
    deleted). So the five groups are created here first, with the retention and the key, and
    the environment depends on them. This is why ``environment_name`` must be a literal.

    Args:
        vpc: the VPC the environment runs in. Give this or ``foundation``.
        vpc_subnets: the private subnets to choose from; the first subnet of each of the first
            two availability zones is used. Default: the foundation's private subnets, else
            the VPC's private subnets.
        foundation: the platform to build on: its VPC, private subnets and key.
            Default: none (give ``vpc``).
        environment_name: the MWAA environment name (a letter, then letters, digits, '-'
            and '_'; at most 80). Default: a name unique to this construct in the app.
        airflow_version: the Apache Airflow version. Default: ``"3.0.6"``.
        allow_unlisted_airflow_version: accept an ``airflow_version`` that is not among the
            versions MWAA documents today (for a version released later). Default: False.
        environment_class: ``mw1.micro``, ``mw1.small``, ``mw1.medium``, ``mw1.large``,
            ``mw1.xlarge`` or ``mw1.2xlarge``. Default: ``mw1.small``.
        schedulers: scheduler count (1 for ``mw1.micro``, else 2-5). Default: the class's
            default (1 for ``mw1.micro``, else 2).
        min_webservers: fewest web servers (1 for ``mw1.micro``, else 2-5). Default: as
            ``schedulers``.
        max_webservers: most web servers, at least ``min_webservers``. Default: as
            ``schedulers``.
        min_workers: fewest workers (1 for ``mw1.micro``, else 1-25). Default: 1.
        max_workers: most workers, at least ``min_workers``. Default: 1 for ``mw1.micro``,
            else 10.
        encryption_key: the customer-managed key for the environment, its logs and a new
            source bucket. Its policy must let CloudWatch Logs use it (``PlatformKey``'s does).
            Default: the foundation's key when ``foundation`` is given, else a new
            ``PlatformKey`` with rotation.
        source: local files to deploy. Default: nothing is deployed.
        source_bucket: an existing, versioned source bucket (MWAA requires versioning and
            blocked public access). Default: a new bucket (``ArtifactStorage``: versioned,
            KMS, TLS-only, access-logged, retained).
        source_bucket_key: the key of ``source_bucket``, if not ``encryption_key``.
            Default: the bucket is taken to be encrypted with ``encryption_key`` or an S3 key.
        webserver_access_mode: ``PRIVATE_ONLY`` or ``PUBLIC_ONLY``. Public access is only an
            explicit choice and adds the ``mlpipes:mwaa-public-webserver`` warning.
            Default: ``PRIVATE_ONLY``.
        endpoint_management: ``SERVICE`` (MWAA creates the VPC endpoints) or ``CUSTOMER``
            (you create them for :attr:`database_vpc_endpoint_service` and
            :attr:`webserver_vpc_endpoint_service`). Default: ``SERVICE``.
        logging: log levels and retention. Default: every type at ``INFO``, kept one year.
        weekly_maintenance_window_start: ``DAY:HH:MM`` (UTC, minutes 00 or 30).
            Default: ``"SUN:03:00"``.
        worker_replacement_strategy: how workers are replaced on updates.
            Default: ``GRACEFUL`` (running tasks may finish).
        airflow_configuration_options: Apache Airflow configuration overrides, e.g.
            ``{"core.default_timezone": "utc"}``. Default: none.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        foundation: FoundationResources | None = None,
        environment_name: str | None = None,
        airflow_version: str = DEFAULT_AIRFLOW_VERSION,
        allow_unlisted_airflow_version: bool = False,
        environment_class: str = DEFAULT_ENVIRONMENT_CLASS,
        schedulers: int | None = None,
        min_webservers: int | None = None,
        max_webservers: int | None = None,
        min_workers: int | None = None,
        max_workers: int | None = None,
        encryption_key: kms.IKey | None = None,
        source: MwaaSourceFiles | None = None,
        source_bucket: s3.IBucket | None = None,
        source_bucket_key: kms.IKey | None = None,
        webserver_access_mode: WebserverAccessMode = WebserverAccessMode.PRIVATE_ONLY,
        endpoint_management: EndpointManagement = EndpointManagement.SERVICE,
        logging: MwaaLogging | None = None,
        weekly_maintenance_window_start: str = DEFAULT_MAINTENANCE_WINDOW,
        worker_replacement_strategy: WorkerReplacementStrategy = (
            WorkerReplacementStrategy.GRACEFUL
        ),
        airflow_configuration_options: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        source = source or MwaaSourceFiles()
        logging = logging or MwaaLogging()
        name = environment_name or default_environment_name(
            Names.unique_resource_name(self, max_length=MAX_ENVIRONMENT_NAME, separator="-")
        )
        capacity = default_capacity(
            environment_class,
            schedulers=schedulers,
            min_webservers=min_webservers,
            max_webservers=max_webservers,
            min_workers=min_workers,
            max_workers=max_workers,
        )
        problems = Problems(self.node.path)
        if vpc is not None and foundation is not None:
            problems.conflict("vpc", "foundation", "the foundation already names the VPC")
        elif vpc is None and foundation is None:
            problems.add("one of 'vpc' or 'foundation' is required")
        if source_bucket is None and source_bucket_key is not None:
            problems.conflict(
                "source_bucket_key",
                "source_bucket",
                "'source_bucket_key' describes 'source_bucket'",
            )
        check_environment_name(problems, name)
        check_airflow_version(
            problems, airflow_version, allow_unlisted=allow_unlisted_airflow_version
        )
        check_environment_class(problems, environment_class)
        check_capacity(problems, environment_class, capacity)
        check_maintenance_window(problems, weekly_maintenance_window_start)
        for prop, value, choices in (
            ("webserver_access_mode", webserver_access_mode, WebserverAccessMode),
            ("endpoint_management", endpoint_management, EndpointManagement),
            ("worker_replacement_strategy", worker_replacement_strategy, WorkerReplacementStrategy),
        ):
            if value not in set(choices):
                expected = ", ".join(choice.value for choice in choices)
                problems.add(f"{prop} '{value}' is not one of {expected}")
        logging.check(problems)
        source.check(problems)
        network_vpc = vpc if vpc is not None else foundation.vpc if foundation else None
        subnets: list[ec2.ISubnet] = []
        if network_vpc is not None:
            selection = vpc_subnets or (foundation.private_subnets if foundation else None)
            subnets = _two_subnets(problems, network_vpc, selection)
        problems.raise_if_any()
        assert network_vpc is not None

        self.environment_name = name
        if webserver_access_mode == WebserverAccessMode.PUBLIC_ONLY:
            Annotations.of(self).add_warning_v2(
                PUBLIC_WEBSERVER_WARNING,
                f"the Airflow web server of '{name}' is reachable from the internet "
                "(PUBLIC_ONLY); only IAM and Airflow login protect it. Use PRIVATE_ONLY and "
                "reach it from the VPC unless the internet must reach it.",
            )

        # Encryption: the given key, else the foundation's, else a new one.
        self.platform_key: PlatformKey | None = None
        if encryption_key is None and foundation is not None:
            encryption_key = foundation.encryption_key
        if encryption_key is None:
            self.platform_key = PlatformKey(
                self, "Key", description=f"mlpipes MWAA environment {name}"
            )
            encryption_key = self.platform_key.key
        self.encryption_key: kms.IKey = encryption_key

        # Source bucket: the given one, else a new versioned, encrypted, logged one.
        self.source_storage: ArtifactStorage | None = None
        if source_bucket is None:
            self.source_storage = ArtifactStorage(
                self, "SourceBucket", encryption_key=encryption_key
            )
            source_bucket = self.source_storage.bucket
            source_bucket_key = encryption_key
        self.source_bucket: s3.IBucket = source_bucket

        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=network_vpc,
            description=f"MWAA environment {name}: its own components only",
            allow_all_outbound=False,
        )
        self.security_group.add_ingress_rule(
            self.security_group, ec2.Port.all_traffic(), "Between the environment's components"
        )
        self.security_group.add_egress_rule(
            self.security_group, ec2.Port.all_traffic(), "Between the environment's components"
        )
        self.security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS APIs and the Python index"
        )
        acknowledge(
            self.security_group,
            ["HIPAA.Security-EC2RestrictedCommonPorts", "NIST.800.53.R5-EC2RestrictedCommonPorts"],
            "the only ingress rule's source is the security group itself, not an address "
            "range: MWAA requires all traffic between the environment's own components",
        )

        self.log_groups: dict[str, logs.LogGroup] = {
            log_type: logs.LogGroup(
                self,
                f"{log_type}Logs",
                log_group_name=f"airflow-{name}-{log_type}",
                encryption_key=encryption_key,
                retention=logging.retention,
                removal_policy=RemovalPolicy.RETAIN,
            )
            for log_type in logging.levels()
        }

        object_keys = [DAGS_PREFIX.rstrip("/"), f"{DAGS_PREFIX}*"]
        object_keys += [
            key
            for key, path in (
                (REQUIREMENTS_KEY, source.requirements_file),
                (PLUGINS_KEY, source.plugins_file),
                (STARTUP_SCRIPT_KEY, source.startup_script),
            )
            if path is not None
        ]
        role = ManagedPolicyRole(
            self,
            "ExecutionRole",
            service="airflow-env.amazonaws.com",
            description=f"Execution role of the MWAA environment {name}",
        )
        assert role.assume_role_policy is not None
        role.assume_role_policy.add_statements(
            iam.PolicyStatement(
                actions=["sts:AssumeRole"],
                principals=[
                    iam.ServicePrincipal(
                        "airflow.amazonaws.com",
                        conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
                    )
                ],
            )
        )
        keys = [encryption_key] + ([source_bucket_key] if source_bucket_key is not None else [])
        role.managed_policy.add_statements(
            *_execution_role.execution_statements(
                self,
                environment_name=name,
                bucket=source_bucket,
                object_keys=object_keys,
                keys=keys,
            )
        )
        self._role = role
        self._acknowledge_execution_wildcards(source_bucket)

        versions: dict[str, str] = {}
        self.source_deployment: SourceDeployment | None = None
        self._deployment_settings = (
            source_bucket_key,
            network_vpc,
            ec2.SubnetSelection(subnets=subnets),
            logging.retention,
        )
        deployed_dags = None
        files = {
            "Requirements": (source.requirements_file, REQUIREMENTS_KEY),
            "Plugins": (source.plugins_file, PLUGINS_KEY),
            "StartupScript": (source.startup_script, STARTUP_SCRIPT_KEY),
        }
        if source.dags_folder is not None or any(path for path, _ in files.values()):
            deployment = self._source_deployment()
            for label, (path, key) in files.items():
                if path is not None:
                    resource = deployment.add_file(label, Path(path), key)
                    versions[label] = resource.get_att_string("VersionId")
            if source.dags_folder is not None:
                deployed_dags = deployment.add_folder(
                    "Dags",
                    Path(source.dags_folder),
                    DAGS_PREFIX,
                    keep_prefixes=(PIPELINE_DAGS_PREFIX,),
                )

        levels = logging.levels()
        module = mwaa.CfnEnvironment.ModuleLoggingConfigurationProperty
        self.resource = mwaa.CfnEnvironment(
            self,
            "Resource",
            name=name,
            airflow_version=airflow_version,
            environment_class=environment_class,
            execution_role_arn=role.role_arn,
            kms_key=encryption_key.key_arn,
            source_bucket_arn=source_bucket.bucket_arn,
            dag_s3_path=DAGS_PREFIX.rstrip("/"),
            requirements_s3_path=REQUIREMENTS_KEY if "Requirements" in versions else None,
            requirements_s3_object_version=versions.get("Requirements"),
            plugins_s3_path=PLUGINS_KEY if "Plugins" in versions else None,
            plugins_s3_object_version=versions.get("Plugins"),
            startup_script_s3_path=STARTUP_SCRIPT_KEY if "StartupScript" in versions else None,
            startup_script_s3_object_version=versions.get("StartupScript"),
            network_configuration=mwaa.CfnEnvironment.NetworkConfigurationProperty(
                subnet_ids=[subnet.subnet_id for subnet in subnets],
                security_group_ids=[self.security_group.security_group_id],
            ),
            webserver_access_mode=str(webserver_access_mode),
            endpoint_management=str(endpoint_management),
            schedulers=capacity.schedulers,
            min_webservers=capacity.min_webservers,
            max_webservers=capacity.max_webservers,
            min_workers=capacity.min_workers,
            max_workers=capacity.max_workers,
            weekly_maintenance_window_start=weekly_maintenance_window_start,
            worker_replacement_strategy=str(worker_replacement_strategy),
            airflow_configuration_options=dict(airflow_configuration_options or {}) or None,
            logging_configuration=mwaa.CfnEnvironment.LoggingConfigurationProperty(
                dag_processing_logs=module(enabled=True, log_level=levels["DAGProcessing"]),
                scheduler_logs=module(enabled=True, log_level=levels["Scheduler"]),
                task_logs=module(enabled=True, log_level=levels["Task"]),
                webserver_logs=module(enabled=True, log_level=levels["WebServer"]),
                worker_logs=module(enabled=True, log_level=levels["Worker"]),
            ),
        )
        # MWAA needs its permissions and log groups while it creates the environment, and
        # reads the DAGs when it starts.
        self.resource.node.add_dependency(role.managed_policy, *self.log_groups.values())
        if deployed_dags is not None:
            self.resource.node.add_dependency(deployed_dags)

        self.environment_arn = self.resource.attr_arn
        self.webserver_url = self.resource.attr_webserver_url
        self.database_vpc_endpoint_service = self.resource.attr_database_vpc_endpoint_service
        self.webserver_vpc_endpoint_service = self.resource.attr_webserver_vpc_endpoint_service
        self.celery_executor_queue = self.resource.attr_celery_executor_queue

    def add_dag_file(
        self,
        construct_id: str,
        *,
        file_name: str,
        source: Path | None = None,
        content: str | None = None,
    ) -> CustomResource:
        """Deploy one DAG file to ``dags/mlpipes/<file_name>``: a local file (``source``) or
        text that may hold deploy-time values (``content``, which travels in the template).

        The file is removed from the bucket when the resource leaves the stack (or
        ``file_name`` changes), so the DAG stops being scheduled. ``MwaaPipeline`` deploys its
        DAG this way.

        Raises:
            PropsValidationError: not exactly one of ``source`` and ``content``, or a
                ``file_name`` that is not a plain ``.py`` or ``.json`` file name.
        """
        problems = Problems(f"{self.node.path}/{construct_id}")
        if (source is None) == (content is None):
            problems.add("give exactly one of 'source' and 'content'")
        problems.require(
            _DAG_FILE_NAME.fullmatch(file_name) is not None,
            f"file_name '{file_name}' must be a file name (letters, digits, '.', '-', '_') "
            "ending in .py or .json",
        )
        problems.raise_if_any()
        key = f"{PIPELINE_DAGS_PREFIX}{file_name}"
        deployment = self._source_deployment()
        if source is not None:
            return deployment.add_file(construct_id, source, key, remove_on_delete=True)
        assert content is not None
        return deployment.add_content(construct_id, content, key, remove_on_delete=True)

    def _source_deployment(self) -> SourceDeployment:
        if self.source_deployment is None:
            key, vpc, subnets, retention = self._deployment_settings
            self.source_deployment = SourceDeployment(
                self,
                "SourceDeployment",
                bucket=self.source_bucket,
                encryption_key=key,
                log_key=self.encryption_key,
                vpc=vpc,
                subnets=subnets,
                log_retention=retention,
            )
        return self.source_deployment

    @property
    def execution_role(self) -> iam.IRole:
        """The role Airflow and its tasks run as; grant task permissions to it
        (it is ``iam.IGrantable``) or with :meth:`add_to_execution_policy`."""
        return self._role

    @property
    def execution_policy(self) -> iam.ManagedPolicy:
        """The customer-managed policy that holds every statement of the execution role."""
        return self._role.managed_policy

    def add_to_execution_policy(self, statement: iam.PolicyStatement) -> None:
        """Add a permission the DAGs' tasks need (e.g. starting SageMaker jobs)."""
        self._role.managed_policy.add_statements(statement)

    # Grants go into the grantee's identity policy.

    def grant_web_login_token(
        self, grantee: iam.IGrantable, airflow_role: str = "Viewer"
    ) -> iam.Grant:
        """Let ``grantee`` open the Airflow UI as ``airflow_role`` (``CreateWebLoginToken``)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["airflow:CreateWebLoginToken"],
            resource_arns=[self._airflow_role_arn(airflow_role)],
        )

    def grant_cli_token(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` run Airflow CLI commands (``CreateCliToken``)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["airflow:CreateCliToken"],
            resource_arns=[self.environment_arn],
        )

    def grant_invoke_rest_api(
        self, grantee: iam.IGrantable, airflow_role: str = "User"
    ) -> iam.Grant:
        """Let ``grantee`` call the Airflow REST API as ``airflow_role`` (``InvokeRestApi``)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["airflow:InvokeRestApi"],
            resource_arns=[self._airflow_role_arn(airflow_role)],
        )

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` describe the environment (``GetEnvironment``)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["airflow:GetEnvironment"],
            resource_arns=[self.environment_arn],
        )

    def metric(self, metric_name: str, **props: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """A metric of this environment in ``AmazonMWAA`` (dimension ``Environment``).
        Default: the sum over 5 minutes."""
        return environment_metric(self.environment_name, metric_name, props)

    def metric_scheduler_heartbeat(self, **props: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Scheduler heartbeats (``SchedulerHeartbeat``); 0 means no scheduler is running.
        Default: the sum over 5 minutes."""
        return environment_metric(
            self.environment_name,
            "SchedulerHeartbeat",
            props,
            dimensions={"Function": "Scheduler"},
        )

    def metric_queued_tasks(self, **props: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Tasks waiting for a worker (``QueuedTasks``). Default: the maximum over 5 minutes."""
        return environment_metric(
            self.environment_name,
            "QueuedTasks",
            props,
            dimensions={"Function": "Executor"},
            statistic="Maximum",
        )

    def metric_running_tasks(self, **props: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Tasks running on workers (``RunningTasks``). Default: the maximum over 5 minutes."""
        return environment_metric(
            self.environment_name,
            "RunningTasks",
            props,
            dimensions={"Function": "Executor"},
            statistic="Maximum",
        )

    def _airflow_role_arn(self, airflow_role: str) -> str:
        if airflow_role not in AIRFLOW_ROLES:
            problems = Problems(self.node.path)
            problems.add(
                f"airflow_role '{airflow_role}' is not an Apache Airflow role; expected one of "
                f"{', '.join(AIRFLOW_ROLES)}"
            )
            problems.raise_if_any()
        return Stack.of(self).format_arn(
            service="airflow",
            resource="role",
            resource_name=f"{self.environment_name}/{airflow_role}",
        )

    def _acknowledge_execution_wildcards(self, bucket: s3.IBucket) -> None:
        policy = self._role.managed_policy

        def reasons() -> list[tuple[str, str]]:
            return [
                (
                    "*",
                    "s3:GetAccountPublicAccessBlock, logs:DescribeLogGroups and "
                    "cloudwatch:PutMetricData take no resource ARN; metrics are limited to the "
                    "AmazonMWAA namespace by condition",
                ),
                *(
                    (
                        arn,
                        "a log group MWAA names airflow-<environment>-<type>, and its "
                        "streams, which MWAA names at run time",
                    )
                    for arn in _execution_role.log_group_arns(self, self.environment_name)
                ),
                (
                    _execution_role.celery_queue_pattern(self),
                    "MWAA's Celery queue lives in an account MWAA owns and is named at "
                    "creation; the environment needs it before its own ARN exists",
                ),
                (
                    bucket.arn_for_objects("*"),
                    "an explicit Deny of s3:ListAllMyBuckets over the source bucket, as the "
                    "MWAA user guide gives it; it grants nothing",
                ),
                (
                    bucket.arn_for_objects(f"{DAGS_PREFIX}*"),
                    "the DAG files MWAA syncs from the environment's own dags/ folder",
                ),
            ]

        acknowledge_wildcards(policy, reasons)


def _two_subnets(
    problems: Problems, vpc: ec2.IVpc, selection: ec2.SubnetSelection | None
) -> list[ec2.ISubnet]:
    """The first subnet in each of the first two availability zones of ``selection``."""
    selection = selection or ec2.SubnetSelection()
    selected = select_subnets(
        vpc,
        ec2.SubnetSelection(
            availability_zones=selection.availability_zones,
            one_per_az=True,
            subnet_filters=selection.subnet_filters,
            subnet_group_name=selection.subnet_group_name,
            subnets=selection.subnets,
            subnet_type=selection.subnet_type,
        ),
    )
    subnets = list(selected.subnets)
    if len(subnets) < 2:
        problems.add(
            f"vpc_subnets selects {len(subnets)} subnet(s) in distinct availability zones; "
            "MWAA needs two private subnets in two availability zones"
        )
    return subnets[:2]
