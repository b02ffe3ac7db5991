"""The execution role SageMaker jobs run as, scoped to what the jobs touch."""

from __future__ import annotations

from collections.abc import Sequence

import jsii
from aws_cdk import ArnFormat, Aws, CfnMapping, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.compliance import acknowledge, acknowledge_wildcard
from mlpipes_constructs.foundation._s3_access import (
    check_prefixes,
    prefix_read_statements,
    prefix_write_statements,
)
from mlpipes_constructs.iam import ManagedPolicyRole
from mlpipes_constructs.images import (
    FRAMEWORK_REGISTRY_ACCOUNTS,
    FRAMEWORK_REPOSITORIES,
    framework_repository_arn,
)

#: CloudWatch log groups SageMaker writes job logs to, by job type.
JOB_LOG_GROUPS: tuple[str, ...] = (
    "/aws/sagemaker/ProcessingJobs",
    "/aws/sagemaker/TrainingJobs",
    "/aws/sagemaker/TransformJobs",
)
IMAGE_PULL_ACTIONS: tuple[str, ...] = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)
#: What SageMaker does with the key on the job's behalf: encrypt data, attach encrypted volumes.
JOB_KEY_ACTIONS: tuple[str, ...] = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
)
#: What a job needs to place its network interfaces in the VPC (SageMaker's documented set).
VPC_DESCRIBE_ACTIONS: tuple[str, ...] = (
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
)
#: What SageMaker does with a job's existing network interfaces (authorized on the interface).
VPC_INTERFACE_ACTIONS: tuple[str, ...] = (
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
)
_JOB_NAME_PREFIX_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
)


@jsii.implements(iam.IGrantable)
class SageMakerJobRole(Construct):
    """The IAM role SageMaker processing, training and transform jobs run as.

    It is an ``iam.IGrantable``: ``bucket.grant_read(job_role)`` and other CDK grants add
    their statements to the job policy.

    Least privilege by construction: objects under the given artifact bucket prefixes (read,
    or read and write; never delete), the platform key for data and volume encryption, the
    jobs' own CloudWatch log streams, pulls from the AWS-owned scikit-learn and XGBoost image
    repositories (plus repositories you name), SageMaker metrics, and, when jobs run in a
    VPC, the network interfaces in that VPC. No managed policy, no ``s3:*``.

    Args:
        bucket: the artifact bucket jobs read and write.
        encryption_key: the key the bucket and job volumes are encrypted with.
        read_prefixes: bucket folders jobs read. Default: ``("data/", "code/", "pipelines/")``.
        write_prefixes: bucket folders jobs write (and read). Default: ``("pipelines/",)``.
        job_name_prefix: when set, log permissions are limited to jobs whose names start
            with it (letters, digits, '-'). Default: the job log groups' streams of any job.
        framework_registry_account: the AWS account that hosts the SageMaker scikit-learn and
            XGBoost images in the stack's region, for a region the built-in table does not
            know yet (see the SageMaker SDK's ``image_uri_config``). Default: the table's
            account for the region.
        image_repositories: more ECR repositories jobs pull images from. Default: none
            beyond the AWS-owned SageMaker scikit-learn and XGBoost repositories.
        vpc: the VPC jobs run in, to allow their network interfaces there. Default: jobs
            run without VPC configuration and get no EC2 permissions.
        role_name: a physical name for the role. Default: a generated name.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        encryption_key: kms.IKey,
        read_prefixes: Sequence[str] = ("data/", "code/", "pipelines/"),
        write_prefixes: Sequence[str] = ("pipelines/",),
        job_name_prefix: str | None = None,
        image_repositories: Sequence[ecr.IRepository] = (),
        framework_registry_account: str | None = None,
        vpc: ec2.IVpc | None = None,
        role_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems(self.node.path)
        check_prefixes(problems, "read_prefixes", read_prefixes)
        check_prefixes(problems, "write_prefixes", write_prefixes)
        if job_name_prefix is not None and not is_unresolved(job_name_prefix):
            problems.require(
                0 < len(job_name_prefix) <= 32 and set(job_name_prefix) <= _JOB_NAME_PREFIX_CHARS,
                f"job_name_prefix '{job_name_prefix}' must be 1 to 32 letters, digits or '-'",
            )
        region = Stack.of(self).region
        if framework_registry_account is not None:
            problems.require(
                is_unresolved(framework_registry_account)
                or (framework_registry_account.isdigit() and len(framework_registry_account) == 12),
                f"framework_registry_account '{framework_registry_account}' must be a 12-digit "
                "AWS account id",
            )
        elif not is_unresolved(region) and region not in FRAMEWORK_REGISTRY_ACCOUNTS:
            problems.add(
                f"the stack's region '{region}' has no known SageMaker framework image registry; "
                "pass framework_registry_account (the account of the sagemaker-scikit-learn "
                "images there, from the SageMaker SDK's image_uri_config)"
            )
        problems.raise_if_any()

        self.bucket = bucket
        self.encryption_key = encryption_key
        stack = Stack.of(self)
        self.role = ManagedPolicyRole(
            self,
            "Resource",
            service="sagemaker.amazonaws.com",
            role_name=role_name,
            description="Execution role of mlpipes SageMaker jobs",
            policy_description="Permissions of mlpipes SageMaker jobs",
        )
        self.policy = self.role.managed_policy
        readable = [*read_prefixes, *(p for p in write_prefixes if p not in read_prefixes)]
        if readable:
            self.policy.add_statements(*prefix_read_statements(bucket, readable, None))
        if write_prefixes:
            self.policy.add_statements(*prefix_write_statements(bucket, write_prefixes, None))
        self.policy.add_statements(
            iam.PolicyStatement(
                sid="UsePlatformKey",
                actions=list(JOB_KEY_ACTIONS),
                resources=[encryption_key.key_arn],
            ),
            # Encrypted ML storage volumes are attached through a grant SageMaker creates.
            iam.PolicyStatement(
                sid="GrantKeyToJobVolumes",
                actions=["kms:CreateGrant"],
                resources=[encryption_key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
        )
        self._add_log_permissions(stack, job_name_prefix)
        self._add_image_pull_permissions(stack, image_repositories, framework_registry_account)
        self.policy.add_statements(
            iam.PolicyStatement(
                sid="PutSageMakerMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],  # PutMetricData has no resource type; scoped by namespace
                conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            )
        )
        self._network_arns: list[str] = []
        if vpc is not None:
            self._add_vpc_permissions(stack, vpc)
        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken, cloudwatch:PutMetricData (limited to the /aws/sagemaker/ "
            "namespace by condition) and the ec2:Describe* calls SageMaker makes to place a job "
            "in the VPC have no resource type, so AWS accepts only '*' for them",
        )
        self._acknowledge_scoped_wildcards(readable)

    @property
    def role_arn(self) -> str:
        return self.role.role_arn

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The role, whose grants land in the job policy (``iam.IGrantable``)."""
        return self.role

    def add_to_policy(self, statement: iam.PolicyStatement) -> None:
        """Add a statement to the job policy (for permissions a job needs beyond the defaults)."""
        self.policy.add_statements(statement)

    def grant_pass_role(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` (an orchestrator) pass this role to SageMaker, and only to it."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["iam:PassRole"],
            resource_arns=[self.role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        )

    def _acknowledge_scoped_wildcards(self, prefixes: Sequence[str]) -> None:
        for prefix in prefixes:
            acknowledge_wildcard(
                self.policy,
                self.bucket.arn_for_objects(f"{prefix}*"),
                f"jobs read and write objects whose keys SageMaker and the job code choose at "
                f"run time, inside the '{prefix}' folder of the artifact bucket only",
            )
        for resource in self._log_group_arns:
            acknowledge_wildcard(
                self.policy,
                resource,
                "CloudWatch Logs authorizes CreateLogGroup and DescribeLogStreams on the "
                "group's 'log-group:NAME:log-stream:' form, which only 'NAME:*' matches; the "
                "wildcard covers that one SageMaker job log group",
            )
        for resource in self._log_stream_arns:
            acknowledge_wildcard(
                self.policy,
                resource,
                "SageMaker names a job's log streams after the job and its instances at run "
                "time; the wildcard stays inside one SageMaker job log group",
            )
        for resource in self._network_arns:
            acknowledge_wildcard(
                self.policy,
                resource,
                "SageMaker creates the job's network interfaces at run time; the ec2:Vpc "
                "condition keeps the subnets and security groups of new interfaces, and every "
                "change to an existing interface, inside the job VPC",
            )

    def _add_log_permissions(self, stack: Stack, job_name_prefix: str | None) -> None:
        group_arns = [
            stack.format_arn(
                service="logs",
                resource="log-group",
                resource_name=group,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            for group in JOB_LOG_GROUPS
        ]
        # Stream names start with the job name, which SageMaker makes unique per run.
        stream_pattern = f"{job_name_prefix or ''}*"
        # CloudWatch Logs authorizes CreateLogGroup and DescribeLogStreams on
        # "log-group:NAME:log-stream:", which only the ":*" form of the group ARN matches.
        self._log_group_arns = [f"{arn}:*" for arn in group_arns]
        self.policy.add_statements(
            iam.PolicyStatement(
                sid="CreateJobLogGroups",
                actions=["logs:CreateLogGroup", "logs:DescribeLogStreams"],
                resources=self._log_group_arns,
            )
        )
        self._log_stream_arns = [f"{arn}:log-stream:{stream_pattern}" for arn in group_arns]
        self.policy.add_statements(
            iam.PolicyStatement(
                sid="WriteJobLogStreams",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=self._log_stream_arns,
            )
        )

    def _add_image_pull_permissions(
        self,
        stack: Stack,
        image_repositories: Sequence[ecr.IRepository],
        registry_account: str | None,
    ) -> None:
        repository_arns = _framework_repository_arns(stack, registry_account)
        repository_arns += [repository.repository_arn for repository in image_repositories]
        self.policy.add_statements(
            iam.PolicyStatement(
                sid="PullJobImages", actions=list(IMAGE_PULL_ACTIONS), resources=repository_arns
            )
        )
        self.policy.add_statements(
            iam.PolicyStatement(
                sid="GetRegistryToken",
                actions=["ecr:GetAuthorizationToken"],
                resources=["*"],  # GetAuthorizationToken has no resource type
            )
        )

    def _add_vpc_permissions(self, stack: Stack, vpc: ec2.IVpc) -> None:
        interfaces, subnets, groups = (
            stack.format_arn(service="ec2", resource=resource, resource_name="*")
            for resource in ("network-interface", "subnet", "security-group")
        )
        self._network_arns = [interfaces, subnets, groups]
        in_vpc = {"ArnEquals": {"ec2:Vpc": vpc.vpc_arn}}
        self.policy.add_statements(
            iam.PolicyStatement(
                sid="DescribeJobNetwork",
                actions=list(VPC_DESCRIBE_ACTIONS),
                resources=["*"],  # EC2 Describe* actions have no resource type
            ),
            # IAM authorizes each resource of CreateNetworkInterface on its own. The new
            # interface carries no ec2:Vpc key, so it cannot be confined by VPC; the subnet and
            # the security groups it is created with can, which keeps the interface in the VPC.
            iam.PolicyStatement(
                sid="CreateJobNetworkInterfaces",
                actions=["ec2:CreateNetworkInterface"],
                resources=[interfaces],
            ),
            iam.PolicyStatement(
                sid="PlaceJobNetworkInterfacesInVpc",
                actions=["ec2:CreateNetworkInterface"],
                resources=[subnets, groups],
                conditions=in_vpc,
            ),
            # An existing interface carries ec2:Vpc.
            iam.PolicyStatement(
                sid="ManageJobNetworkInterfaces",
                actions=list(VPC_INTERFACE_ACTIONS),
                resources=[interfaces],
                conditions=in_vpc,
            ),
        )


def _framework_repository_arns(stack: Stack, registry_account: str | None) -> list[str]:
    """ARNs of the AWS-owned framework image repositories in the stack's region.

    An environment-agnostic stack resolves the registry account at deploy time from a
    CloudFormation mapping of the same table.
    """
    if registry_account is not None:
        return [
            stack.format_arn(
                service="ecr",
                account=registry_account,
                resource="repository",
                resource_name=repository,
            )
            for repository in FRAMEWORK_REPOSITORIES
        ]
    if not is_unresolved(stack.region):
        return [
            framework_repository_arn(repository, stack.region)
            for repository in FRAMEWORK_REPOSITORIES
        ]
    mapping = _registry_mapping(stack)
    account = mapping.find_in_map(Aws.REGION, "account")
    return [
        f"arn:{Aws.PARTITION}:ecr:{Aws.REGION}:{account}:repository/{repository}"
        for repository in FRAMEWORK_REPOSITORIES
    ]


def _registry_mapping(stack: Stack) -> CfnMapping:
    existing = stack.node.try_find_child("MlpipesFrameworkRegistries")
    if isinstance(existing, CfnMapping):
        return existing
    return CfnMapping(
        stack,
        "MlpipesFrameworkRegistries",
        mapping={
            region: {"account": account} for region, account in FRAMEWORK_REGISTRY_ACCOUNTS.items()
        },
    )
