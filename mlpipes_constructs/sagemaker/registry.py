"""A model registry (model package group) that can deploy approved versions to an endpoint."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.core._defaults import require_encryption_key
from mlpipes_constructs.core.placement import JobPlacementOptions
from mlpipes_constructs.foundation import SageMakerJobRole
from mlpipes_constructs.sagemaker._arns import model_package_arns, model_package_group_arns
from mlpipes_constructs.sagemaker._checks import RESOURCE_NAME_MAX, check_name
from mlpipes_constructs.sagemaker.approval_deployment import (
    ApprovalDeployment,
    EndpointDeployment,
    check_deployment,
)

_ACCOUNT_ID = re.compile(r"\d{12}")
READ_GROUP_ACTIONS: tuple[str, ...] = ("sagemaker:DescribeModelPackageGroup",)
READ_PACKAGE_ACTIONS: tuple[str, ...] = ("sagemaker:DescribeModelPackage",)
#: AWS authorizes CreateModelPackage on the new version (``model-package``) only.
REGISTER_PACKAGE_ACTIONS: tuple[str, ...] = (
    "sagemaker:CreateModelPackage",
    *READ_PACKAGE_ACTIONS,
)
APPROVE_PACKAGE_ACTIONS: tuple[str, ...] = ("sagemaker:UpdateModelPackage", *READ_PACKAGE_ACTIONS)


class IModelRegistry(Protocol):
    """A model package group, defined here or imported with
    :meth:`ModelRegistry.from_model_package_group_name`."""

    @property
    def model_package_group_name(self) -> str: ...

    @property
    def model_package_group_arn(self) -> str: ...

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant: ...

    def grant_register(self, grantee: iam.IGrantable) -> iam.Grant: ...

    def grant_approve(self, grantee: iam.IGrantable) -> iam.Grant: ...


class _RegistryBase(Construct):
    """The grants of a model package group, whether defined here or imported."""

    _group_name: str

    @property
    def model_package_group_name(self) -> str:
        return self._group_name

    @property
    def model_package_group_arn(self) -> str:
        return model_package_group_arns(Stack.of(self), self._group_name)[0]

    @property
    def model_package_arns(self) -> list[str]:
        """ARN patterns of every version of the group (both casings SageMaker uses)."""
        return model_package_arns(Stack.of(self), self._group_name)

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` describe the group and its versions."""
        return self._grant(grantee, READ_GROUP_ACTIONS, READ_PACKAGE_ACTIONS)

    def grant_register(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` register new versions in the group (and describe the group and
        them)."""
        return self._grant(grantee, READ_GROUP_ACTIONS, REGISTER_PACKAGE_ACTIONS)

    def grant_approve(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` approve or reject versions (which may deploy them)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(APPROVE_PACKAGE_ACTIONS),
            resource_arns=self.model_package_arns,
        )

    def _grant(
        self,
        grantee: iam.IGrantable,
        group_actions: Sequence[str],
        package_actions: Sequence[str],
    ) -> iam.Grant:
        """One grant of both statements: group actions on the group, the rest on versions."""
        on_group = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(group_actions),
            resource_arns=model_package_group_arns(Stack.of(self), self._group_name),
        )
        on_versions = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(package_actions),
            resource_arns=self.model_package_arns,
        )
        return on_group.combine(on_versions)


class _ImportedModelRegistry(_RegistryBase):
    def __init__(self, scope: Construct, construct_id: str, name: str) -> None:
        super().__init__(scope, construct_id)
        self._group_name = name


class ModelRegistry(_RegistryBase):
    """A SageMaker model package group, retained on stack deletion, and optional deployment.

    With ``deploy_on_approval``, approving a version deploys it to a real-time endpoint: see
    :class:`ApprovalDeployment` (created here as the child ``Deployment``).

    Args:
        model_package_group_name: the group's name, 1-63 letters, digits and hyphens.
        description: the group's description. Default: none.
        cross_account_read_ids: AWS accounts that may read the group and its versions (a
            ``ModelPackageGroupPolicy``). Default: no cross-account access.
        deploy_on_approval: the endpoint approved versions go to. Default: no deployment.
        job_role: the role the deployed model runs as (reads its artifacts, pulls its
            image, writes data capture and endpoint logs). Required with
            ``deploy_on_approval``.
        artifact_bucket: the bucket data capture goes to. Required with
            ``deploy_on_approval``.
        encryption_key: the key of the endpoint's volumes, data capture and deployment logs.
            Default: ``artifact_bucket``'s KMS key with ``deploy_on_approval``; required when
            the bucket has none.
        placement: the VPC placement of the deployed model. Default: no VPC configuration.
        log_retention: how long deployment logs are kept. Default: one year.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_package_group_name: str,
        description: str | None = None,
        cross_account_read_ids: Sequence[str] = (),
        deploy_on_approval: EndpointDeployment | None = None,
        job_role: SageMakerJobRole | iam.IRole | None = None,
        artifact_bucket: s3.IBucket | None = None,
        encryption_key: kms.IKey | None = None,
        placement: JobPlacementOptions | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems(self.node.path)
        check_name(
            problems, "model_package_group_name", model_package_group_name, RESOURCE_NAME_MAX
        )
        if isinstance(cross_account_read_ids, str):
            problems.add("cross_account_read_ids must be a list of account ids, not a string")
            cross_account_read_ids = [cross_account_read_ids]
        for account in cross_account_read_ids:
            if not is_unresolved(account) and not _ACCOUNT_ID.fullmatch(account):
                problems.add(
                    f"cross_account_read_ids entry '{account}' is not a 12-digit account id"
                )
        if description is not None and len(description) > 1024:
            problems.add("description must be at most 1024 characters")
        if deploy_on_approval is not None:
            check_deployment(problems, deploy_on_approval)
            for prop, value in (("job_role", job_role), ("artifact_bucket", artifact_bucket)):
                if value is None:
                    problems.add(f"{prop} is required with deploy_on_approval")
            require_encryption_key(problems, encryption_key, artifact_bucket)
        else:
            for prop, unused in (
                ("job_role", job_role),
                ("artifact_bucket", artifact_bucket),
                ("encryption_key", encryption_key),
                ("placement", placement),
            ):
                if unused is not None:
                    problems.conflict(prop, "deploy_on_approval=None", "it configures deployment")
        problems.raise_if_any()

        self._group_name = model_package_group_name
        self.cfn_model_package_group = sagemaker.CfnModelPackageGroup(
            self,
            "Resource",
            model_package_group_name=model_package_group_name,
            model_package_group_description=description,
            model_package_group_policy=(
                self._cross_account_policy(cross_account_read_ids)
                if cross_account_read_ids
                else None
            ),
        )
        # Registered versions are the record of what was trained and approved: keep them.
        self.cfn_model_package_group.apply_removal_policy(RemovalPolicy.RETAIN)

        self.deployment = deploy_on_approval
        self.approval_deployment: ApprovalDeployment | None = None
        self.state_machine: sfn.StateMachine | None = None
        self.approval_rule: events.Rule | None = None
        self.security_groups: list[ec2.ISecurityGroup] = []
        if deploy_on_approval is not None:
            assert job_role is not None and artifact_bucket is not None
            self.approval_deployment = ApprovalDeployment(
                self,
                "Deployment",
                registry=self,
                deployment=deploy_on_approval,
                job_role=job_role,
                artifact_bucket=artifact_bucket,
                encryption_key=encryption_key,
                placement=placement,
                log_retention=log_retention,
            )
            self.state_machine = self.approval_deployment.state_machine
            self.approval_rule = self.approval_deployment.approval_rule
            self.security_groups = self.approval_deployment.security_groups

    @classmethod
    def from_model_package_group_name(
        cls, scope: Construct, construct_id: str, model_package_group_name: str
    ) -> IModelRegistry:
        """A model package group of this account and region that exists already."""
        problems = Problems(f"{scope.node.path}/{construct_id}")
        check_name(
            problems, "model_package_group_name", model_package_group_name, RESOURCE_NAME_MAX
        )
        problems.raise_if_any()
        return _ImportedModelRegistry(scope, construct_id, model_package_group_name)

    @property
    def model_package_group_arn(self) -> str:
        """The group's ARN, as CloudFormation returns it."""
        return self.cfn_model_package_group.attr_model_package_group_arn

    def _cross_account_policy(self, accounts: Sequence[str]) -> dict[str, Any]:
        stack = Stack.of(self)
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "CrossAccountRead",
                    "Effect": "Allow",
                    "Principal": {
                        "AWS": [
                            f"arn:{stack.partition}:iam::{account}:root" for account in accounts
                        ]
                    },
                    "Action": [
                        *READ_GROUP_ACTIONS,
                        *READ_PACKAGE_ACTIONS,
                        "sagemaker:ListModelPackages",
                    ],
                    "Resource": [
                        *model_package_group_arns(stack, self.model_package_group_name),
                        *model_package_arns(stack, self.model_package_group_name),
                    ],
                }
            ],
        }
