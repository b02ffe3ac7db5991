"""Kubeflow Pipelines 2.17.0 installed into a :class:`KubeflowCluster`, on RDS and S3."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jsii
from aws_cdk import Duration, IStableAnyProducer, Lazy, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.compliance import acknowledge, acknowledge_wildcard
from mlpipes_constructs.iam import ManagedPolicyRole
from mlpipes_constructs.kubeflow import _manifests as manifests
from mlpipes_constructs.kubeflow._pod_identity import pipeline_service_account
from mlpipes_constructs.kubeflow.cluster import KubeflowCluster

#: MySQL 8.4 LTS, the major version of KFP 2.17.0's own in-cluster MySQL (``mysql:8.4``).
#: The major only: RDS picks and keeps up the current minor (``auto_minor_version_upgrade``).
MYSQL_VERSION = rds.MysqlEngineVersion.of("8.4", "8.4")
#: The port the rendered install's pipeline-install-config names.
DATABASE_PORT = 3306
DATABASE_USERNAME = "kfp"
DATABASE_LOG_EXPORTS: tuple[str, ...] = ("error", "slowquery")
#: The in-cluster URL of the KFP API (REST on 8888, gRPC on 8887).
API_URL = f"http://ml-pipeline.{manifests.KFP_NAMESPACE}.svc.cluster.local:8888"
#: How the UI is reached: privately, through the Kubernetes API (see the README).
UI_PORT_FORWARD = f"kubectl port-forward -n {manifests.KFP_NAMESPACE} svc/ml-pipeline-ui 8080:80"


@dataclass(frozen=True)
class MetadataDatabaseOptions:
    """The RDS for MySQL instance of KFP's metadata (pipelines, runs, ML Metadata, cache).

    Attributes:
        instance_type: the RDS instance class, without ``db.``. Default: ``"t4g.medium"``.
        allocated_storage: GiB of gp3 storage (autoscaling up to 5 times). Default: 20.
        multi_az: a standby in a second zone. Default: True.
        backup_retention: automated backups with point-in-time recovery. Default: 7 days.
        deletion_protection: refuse deletion until turned off. Default: True.
    """

    instance_type: str = "t4g.medium"
    allocated_storage: int = 20
    multi_az: bool = True
    backup_retention: Duration = field(default_factory=lambda: Duration.days(7))
    deletion_protection: bool = True


class KubeflowPipelines(Construct):
    """KFP 2.17.0 (standalone, single user) installed into ``cluster`` on AWS storage.

    - The install is KFP's ``env/platform-agnostic`` and its cluster-scoped resources,
      rendered offline from the vendored upstream manifests with our overlay
      (``kustomize/kfp-aws``) and applied as one Helm chart asset: the kubectl provider gets
      an S3 location and four values, not the 943 KB of manifests (its payload limit is
      262,144 bytes and the largest Argo CRD alone is 238 KB as a template string).
    - Metadata is in RDS for MySQL 8.4: encrypted with the platform key, Multi-AZ, backed up,
      deletion-protected, snapshotted on removal, reachable only from the cluster.
    - Its password is generated in Secrets Manager and copied into the cluster's
      ``mysql-secret`` by a Kubernetes job running as a Pod Identity role that can read that one
      secret: it is never in the template.
    - Artifacts and pipeline packages go to ``artifact_bucket`` under ``artifact_prefix``, with
      the AWS SDK credentials EKS Pod Identity gives KFP's service accounts; no static keys,
      no in-cluster MySQL or SeaweedFS.
    - The UI and API have ClusterIP services only: reach them with
      ``kubectl port-forward`` (:data:`UI_PORT_FORWARD`) as a principal with an access entry.

    Args:
        cluster: the cluster to install into.
        artifact_bucket: the bucket for pipeline roots, packages and logs.
        artifact_prefix: the folder of ``artifact_bucket`` KFP uses. Default: ``"kfp"``.
        encryption_key: the key the database, its secret and the artifacts are encrypted
            with. Default: the cluster's key.
        database: the RDS instance. Default: :class:`MetadataDatabaseOptions` defaults.
        credentials_sync_image: the AWS CLI image of the credentials job. Default:
            :data:`~mlpipes_constructs.kubeflow._manifests.DEFAULT_CREDENTIALS_SYNC_IMAGE`.
        log_retention: retention of the database's log exports. Default: one year.
    """

    namespace = manifests.KFP_NAMESPACE
    api_url = API_URL
    pipeline_runner_service_account = manifests.PIPELINE_RUNNER_SERVICE_ACCOUNT
    version = manifests.KFP_VERSION

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: KubeflowCluster,
        artifact_bucket: s3.IBucket,
        artifact_prefix: str = "kfp",
        encryption_key: kms.IKey | None = None,
        database: MetadataDatabaseOptions | None = None,
        credentials_sync_image: str = manifests.DEFAULT_CREDENTIALS_SYNC_IMAGE,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
    ) -> None:
        super().__init__(scope, construct_id)
        options = database or MetadataDatabaseOptions()
        _validate(self, artifact_prefix, options, credentials_sync_image)
        self.cluster = cluster
        self.artifact_bucket = artifact_bucket
        self.artifact_prefix = artifact_prefix
        self.encryption_key = encryption_key or cluster.encryption_key
        self.pipeline_root = f"s3://{artifact_bucket.bucket_name}/{artifact_prefix}/artifacts"

        self.namespace_manifest = cluster.cluster.add_manifest(
            "Namespace", manifests.namespace_manifest()
        )
        self.database_secret = secretsmanager.Secret(
            self,
            "DatabaseSecret",
            description="Kubeflow Pipelines metadata database password (RDS for MySQL)",
            encryption_key=self.encryption_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=32, exclude_punctuation=True
            ),
        )
        self.database_security_group = ec2.SecurityGroup(
            self,
            "DatabaseSecurityGroup",
            vpc=cluster.vpc,
            description="Kubeflow Pipelines metadata database: MySQL from the cluster only",
            allow_all_outbound=False,
        )
        self.database_security_group.add_ingress_rule(
            cluster.cluster.cluster_security_group,
            ec2.Port.tcp(DATABASE_PORT),
            "MySQL from the cluster's nodes and pods",
        )
        self.database = self._create_database(options, log_retention)

        self.api_server_role = self._kfp_role(
            "ApiServerRole", manifests.API_SERVER_SERVICE_ACCOUNT, "the KFP API server"
        )
        self._grant_artifacts(self.api_server_role, write=True)
        self.pipeline_runner_role = self._kfp_role(
            "PipelineRunnerRole", manifests.PIPELINE_RUNNER_SERVICE_ACCOUNT, "KFP pipeline tasks"
        )
        self._grant_artifacts(self.pipeline_runner_role, write=True)
        self.ui_role = self._kfp_role("UiRole", manifests.UI_SERVICE_ACCOUNT, "the KFP UI")
        self._grant_artifacts(self.ui_role, write=False)

        self.chart_asset = s3_assets.Asset(self, "ChartAsset", path=str(manifests.CHART_DIRECTORY))
        self.chart = eks.HelmChart(
            self,
            "Chart",
            cluster=cluster.cluster_ref,
            chart_asset=self.chart_asset,
            release="kubeflow-pipelines",
            namespace=manifests.KFP_NAMESPACE,
            create_namespace=False,
            values={
                "dbHost": self.database.db_instance_endpoint_address,
                "bucket": artifact_bucket.bucket_name,
                "prefix": artifact_prefix,
                "region": Stack.of(self).region,
            },
            timeout=Duration.minutes(15),
        )
        self.chart.node.add_dependency(self.namespace_manifest)
        _narrow_chart_read(self, cluster.cluster_ref, self.chart_asset)
        self._sync_credentials(credentials_sync_image)

    # -- building blocks -----------------------------------------------------------------

    def _create_database(
        self, options: MetadataDatabaseOptions, log_retention: logs.RetentionDays
    ) -> rds.DatabaseInstance:
        engine = rds.DatabaseInstanceEngine.mysql(version=MYSQL_VERSION)
        identifier = f"kfp-{self.node.addr[:12]}"
        # The export log groups exist (encrypted, with retention) before RDS writes to them.
        log_groups = [
            logs.LogGroup(
                self,
                f"DatabaseLogGroup{export.capitalize()}",
                log_group_name=f"/aws/rds/instance/{identifier}/{export}",
                encryption_key=self.encryption_key,
                retention=log_retention,
                removal_policy=RemovalPolicy.RETAIN,
            )
            for export in DATABASE_LOG_EXPORTS
        ]
        instance = rds.DatabaseInstance(
            self,
            "Database",
            instance_identifier=identifier,
            engine=engine,
            port=DATABASE_PORT,
            instance_type=ec2.InstanceType(options.instance_type),
            vpc=self.cluster.vpc,
            vpc_subnets=self.cluster.vpc_subnets,
            security_groups=[self.database_security_group],
            credentials=rds.Credentials.from_password(
                DATABASE_USERNAME, self.database_secret.secret_value
            ),
            storage_encrypted=True,
            storage_encryption_key=self.encryption_key,
            storage_type=rds.StorageType.GP3,
            allocated_storage=options.allocated_storage,
            max_allocated_storage=options.allocated_storage * 5,
            multi_az=options.multi_az,
            backup_retention=options.backup_retention,
            copy_tags_to_snapshot=True,
            deletion_protection=options.deletion_protection,
            removal_policy=RemovalPolicy.SNAPSHOT,
            cloudwatch_logs_exports=list(DATABASE_LOG_EXPORTS),
            auto_minor_version_upgrade=True,
            publicly_accessible=False,
            monitoring_interval=Duration.seconds(60),
        )
        for log_group in log_groups:
            instance.node.add_dependency(log_group)
        cfn_instance = instance.node.default_child
        assert isinstance(cfn_instance, rds.CfnDBInstance)
        # cfn-lint's engine data lists only full minor versions, so it reports the major-only
        # "8.4" as unknown (E3691); CreateDBInstance accepts a major version and creates the
        # default minor, which auto_minor_version_upgrade keeps current (a pinned minor would
        # stop deploying once RDS retires it).
        cfn_instance.add_metadata("cfn-lint", {"config": {"ignore_checks": ["E3691", "W3691"]}})
        self._acknowledge_database(instance)
        return instance

    def _acknowledge_database(self, instance: rds.DatabaseInstance) -> None:
        both = ("HIPAA.Security", "NIST.800.53.R5")
        cfn_instance = instance.node.default_child
        assert cfn_instance is not None
        acknowledge(
            cfn_instance,
            "AwsSolutions-RDS11",
            "KFP's API server, cache server and ML Metadata server connect on the port the "
            "pinned pipeline-install-config names (3306); only the cluster's security group "
            "may connect",
        )
        acknowledge(
            cfn_instance,
            "AwsSolutions-RDS6",
            "KFP 2.17.0's MySQL clients (API server, ML Metadata server) authenticate with a "
            "password only; it is generated in Secrets Manager and never in the template",
        )
        acknowledge(
            cfn_instance,
            [
                f"{pack}-RDSLoggingEnabled[LogExport::{export}]"
                for pack in both
                for export in ("audit", "general")
            ],
            "the error and slow query logs are exported; the audit export needs an option "
            "group with the MariaDB Audit Plugin, and the general log would record every "
            "statement of KFP's controllers, which poll the database continuously",
        )
        acknowledge(
            cfn_instance,
            [f"{pack}-RDSInBackupPlan" for pack in both],
            "the instance has automated backups with point-in-time recovery (7 days by "
            "default), deletion protection and a final snapshot on removal; an AWS Backup "
            "plan would add a second copy of the same data, which a platform can still add",
        )
        monitoring_role = instance.node.try_find_child("MonitoringRole")
        if monitoring_role is not None:
            acknowledge(
                monitoring_role,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonRDSEnhancedMonitoringRole]",
                "RDS enhanced monitoring requires this AWS-maintained policy, which only lets "
                "RDS write the instance's OS metrics to CloudWatch Logs",
            )
        acknowledge(
            self.database_secret,
            "AwsSolutions-SMG4",
            "KFP reads the password from the cluster's mysql-secret, which the credentials job "
            "writes once; a scheduled rotation would change the database password under "
            "running KFP pods",
        )
        acknowledge(
            self.database_secret,
            [f"{pack}-SecretsManagerRotationEnabled" for pack in both],
            "the password never leaves Secrets Manager, the credentials job's Pod Identity role "
            "and the cluster's envelope-encrypted secret store; rotate it in a maintenance "
            "window and re-run the job",
        )

    def _kfp_role(self, construct_id: str, service_account: str, who: str) -> ManagedPolicyRole:
        return self.cluster.add_pod_identity_role(
            f"{self.node.id}{construct_id}",
            namespace=manifests.KFP_NAMESPACE,
            service_account=service_account,
            description=f"Pod Identity role of {who} ({manifests.KFP_NAMESPACE}/{service_account})",
        )

    def _grant_artifacts(self, role: ManagedPolicyRole, *, write: bool) -> iam.Grant:
        """Objects under the KFP prefix (read, or read and write), and the keys they use."""
        objects = self.artifact_bucket.arn_for_objects(f"{self.artifact_prefix}/*")
        actions = ["s3:GetObject", "s3:GetObjectVersion"]
        if write:
            actions += ["s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"]
        grant = iam.Grant.add_to_principal(grantee=role, actions=actions, resource_arns=[objects])
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.artifact_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{self.artifact_prefix}/*"]}},
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetBucketLocation"], resources=[self.artifact_bucket.bucket_arn]
            )
        )
        keys = {self.encryption_key.key_arn}
        if self.artifact_bucket.encryption_key is not None:
            keys.add(self.artifact_bucket.encryption_key.key_arn)
        key_actions = ["kms:Decrypt", "kms:DescribeKey"]
        if write:
            key_actions += ["kms:Encrypt", "kms:GenerateDataKey"]
        role.add_to_policy(iam.PolicyStatement(actions=key_actions, resources=sorted(keys)))
        acknowledge_wildcard(
            role.managed_policy,
            objects,
            f"KFP names artifacts, pipeline packages and logs at run time, all under the "
            f"'{self.artifact_prefix}/' prefix of the artifact bucket",
        )
        return grant

    def _sync_credentials(self, image: str) -> None:
        role = self.cluster.add_pod_identity_role(
            f"{self.node.id}CredentialsSyncRole",
            namespace=manifests.KFP_NAMESPACE,
            service_account=manifests.CREDENTIALS_SYNC_NAME,
            description="Pod Identity role of the job that copies the KFP database password",
        )
        self.credentials_sync_role = role
        # In the role's policy, not the key's: the key may be another stack's (no cycle).
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                resources=[self.database_secret.secret_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[self.encryption_key.key_arn],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": f"secretsmanager.{Stack.of(self).region}.amazonaws.com"
                    }
                },
            )
        )
        self.credentials_sync = self.cluster.cluster.add_manifest(
            f"{self.node.id}CredentialsSync",
            *manifests.credentials_sync_manifests(
                secret_arn=self.database_secret.secret_arn,
                username=DATABASE_USERNAME,
                image=image,
            ),
        )
        self.credentials_sync.node.add_dependency(self.namespace_manifest)

    # -- for pipelines -------------------------------------------------------------------

    def grant_pipeline_root(self, role: ManagedPolicyRole) -> iam.Grant:
        """Let ``role`` read and write what KFP's launcher stores for a run: the objects under
        ``artifact_prefix`` (the pipeline root :attr:`pipeline_root` included), listing that
        prefix, and the keys they are encrypted with.

        Every service account runs execute as needs it; :class:`KubeflowPipeline` and
        :meth:`add_pipeline_service_account` grant it. Returns the grant of the objects.
        """
        return self._grant_artifacts(role, write=True)

    def add_pipeline_service_account(
        self,
        construct_id: str,
        *,
        name: str,
        namespace: str = manifests.KFP_NAMESPACE,
        scope: Construct | None = None,
    ) -> ManagedPolicyRole:
        """A service account for runs of a pipeline compiled and registered elsewhere, with
        its Pod Identity role returned to grant to.

        The account is bound to KFP's ``pipeline-runner`` Role (what the run's pods do in the
        namespace), and the role may read and write the pipeline root
        (:meth:`grant_pipeline_root`); grant it what the tasks call. Start the runs with this
        ``service_account``. :class:`KubeflowPipeline` makes its own account the same way (give
        it ``kfp=``), with the role scoped to its spec's jobs: use this only for pipelines it
        does not build.

        Args:
            construct_id: the id of the role; its association and manifest are named after it.
            name: the service account.
            namespace: its namespace. Default: ``"kubeflow"``.
            scope: where the role and manifest are created. Default: the cluster construct.
        """
        role, manifest = pipeline_service_account(
            scope or self.cluster,
            construct_id,
            cluster=self.cluster.cluster_ref,
            namespace=namespace,
            name=name,
            description=f"Pod Identity role of pipeline tasks ({namespace}/{name})",
        )
        manifest.node.add_dependency(self.namespace_manifest)
        self.grant_pipeline_root(role)
        return role


def _validate(
    construct: Construct, prefix: str, options: MetadataDatabaseOptions, image: str
) -> None:
    problems = Problems(construct.node.path)
    if not is_unresolved(prefix) and (
        not prefix or prefix.startswith("/") or prefix.endswith("/") or "*" in prefix
    ):
        problems.add(
            f"artifact_prefix '{prefix}' must be a folder name such as 'kfp': not empty, "
            "without a leading or trailing '/', without '*'"
        )
    problems.check_int_range("database.allocated_storage", options.allocated_storage, 20, 13107)
    days = problems.check_whole_days("database.backup_retention", options.backup_retention)
    if days is not None and not 1 <= days <= 35:
        problems.add(
            f"database.backup_retention of {days} days must be from 1 to 35 days (RDS's "
            "automated backup range; 0 would turn backups off)"
        )
    if not options.instance_type or options.instance_type.startswith("db."):
        problems.add(
            f"database.instance_type '{options.instance_type}' must be an instance class "
            "without the 'db.' prefix, e.g. 't4g.medium'"
        )
    if not image or any(character.isspace() for character in image):
        problems.add(f"credentials_sync_image '{image}' must be an image reference")
    problems.raise_if_any()


#: What ``aws_eks_v2.HelmChart`` grants the kubectl handler on the whole asset bucket
#: (``Bucket.grant_read``): wildcard actions on every asset of the account.
_BUCKET_READ_ACTIONS = ["s3:GetBucket*", "s3:GetObject*", "s3:List*"]


def _narrow_chart_read(scope: Construct, cluster: eks.ICluster, asset: s3_assets.Asset) -> None:
    """Replace HelmChart's read grant on the asset bucket with ``s3:GetObject`` on the chart's
    object: the handler only copies that one object (``aws s3 cp <ChartAssetURL>``)."""
    provider = eks.KubectlProvider.get_kubectl_provider(scope, cluster)
    handler = provider.node.try_find_child("Handler") if provider else None
    role = handler.node.try_find_child("ServiceRole") if handler else None
    policy = role.node.try_find_child("DefaultPolicy") if role else None
    if not isinstance(policy, iam.Policy):
        raise ValueError("the kubectl handler of aws_eks_v2 has no default policy to narrow")
    cfn_policy = policy.node.default_child
    assert isinstance(cfn_policy, iam.CfnPolicy)
    chart_object = asset.bucket.arn_for_objects(asset.s3_object_key)
    cfn_policy.add_property_override(
        "PolicyDocument.Statement", Lazy.any(_NarrowedStatements(policy, chart_object))
    )


@jsii.implements(IStableAnyProducer)
class _NarrowedStatements:
    def __init__(self, policy: iam.Policy, chart_object: str) -> None:
        self._policy = policy
        self._chart_object = chart_object

    def produce(self) -> Any:
        statements = []
        for statement in self._policy.document.to_json()["Statement"]:
            actions = statement.get("Action")
            if sorted(actions if isinstance(actions, list) else [actions]) == _BUCKET_READ_ACTIONS:
                statement = {
                    "Action": "s3:GetObject",
                    "Effect": "Allow",
                    "Resource": self._chart_object,
                }
            statements.append(statement)
        return statements
