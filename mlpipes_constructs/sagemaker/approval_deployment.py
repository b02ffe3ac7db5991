"""Deploying each approved version of a model package group to a real-time endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems
from mlpipes_constructs.core._defaults import job_role_of, require_encryption_key
from mlpipes_constructs.core._state_machine import HardenedStateMachine
from mlpipes_constructs.core._trust import service_role
from mlpipes_constructs.core.placement import JobPlacementOptions, resolve_placement
from mlpipes_constructs.foundation import SageMakerJobRole
from mlpipes_constructs.foundation._s3_access import check_prefixes
from mlpipes_constructs.sagemaker._arns import model_package_arns
from mlpipes_constructs.sagemaker._checks import (
    RESOURCE_NAME_MAX,
    check_instance_type,
    check_name,
)
from mlpipes_constructs.sagemaker._deployment_flow import DeploymentFlow
from mlpipes_constructs.sagemaker._deployment_permissions import (
    add_deployment_permissions,
    grant_model_role,
)

#: Hex characters of the random token that makes each deployment's resource names unique.
NAME_TOKEN_LENGTH = 8
#: Digits of the model package version the resource names leave room for (versions count up
#: from 1 within a group).
VERSION_DIGITS_MAX = 12
#: Endpoint names leave room for ``-v<version>-<token>`` in the names of the models and
#: endpoint configurations each deployment creates (SageMaker allows 63).
ENDPOINT_NAME_MAX = RESOURCE_NAME_MAX - len("-v-") - VERSION_DIGITS_MAX - NAME_TOKEN_LENGTH
MODEL_PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"
#: How long one deployment may take (an endpoint update takes minutes to tens of minutes).
DEPLOYMENT_TIMEOUT = Duration.hours(2)


class IModelPackageGroup(Protocol):
    """What a deployment needs of a model registry: the group's name."""

    @property
    def model_package_group_name(self) -> str: ...


@dataclass(frozen=True)
class EndpointDeployment:
    """A real-time endpoint that serves the latest approved version of a model package group.

    Attributes:
        endpoint_name: the endpoint's name, 1-40 letters, digits and hyphens.
        instance_type: the endpoint's instance type. Default: ``"ml.m5.large"``.
        initial_instance_count: instances when a deployment starts. Default: 1.
        data_capture_percentage: share of requests captured (with responses) to the artifact
            bucket, 0 to 100; 0 turns data capture off. Default: 100.
        data_capture_prefix: bucket folder captures go under (``<prefix><endpoint>/``).
            Default: ``"data-capture/"``.
        min_capacity: fewest instances autoscaling keeps. Default: 1.
        max_capacity: most instances autoscaling adds. Default: 2.
        target_invocations_per_instance: invocations per instance and minute autoscaling
            keeps the variant at. Default: 100.
    """

    endpoint_name: str
    instance_type: str = "ml.m5.large"
    initial_instance_count: int = 1
    data_capture_percentage: int = 100
    data_capture_prefix: str = "data-capture/"
    min_capacity: int = 1
    max_capacity: int = 2
    target_invocations_per_instance: int = 100


class ApprovalDeployment(Construct):
    """Deploys each version of a model package group that is approved to one endpoint.

    Approving a version (``ModelApprovalStatus: Approved``) starts a Step Functions state
    machine through an EventBridge rule. The state machine calls SageMaker directly (SDK
    integrations, no Lambda): it checks the version is still approved, creates a model from it
    and an endpoint configuration (KMS, data capture to the artifact bucket), creates the
    endpoint or updates it in place, waits until it is in service and registers the variant
    with Application Auto Scaling (target tracking on invocations per instance). An update
    first deregisters the variant's autoscaling; when the update fails or SageMaker rolls it
    back, autoscaling is registered again before the execution fails with the cause.
    Rejecting a version or registering a pending one starts nothing.

    Args:
        registry: the model registry (or any object with ``model_package_group_name``).
        deployment: the endpoint and its capacity.
        job_role: the role the deployed model runs as (reads its artifacts, pulls its image,
            writes data capture and endpoint logs; those two are added here).
        artifact_bucket: the bucket data capture goes to.
        encryption_key: the key of the endpoint's volumes, data capture and deployment logs
            (its policy must let CloudWatch Logs use it). Default: ``artifact_bucket``'s KMS
            key; required when the bucket has none.
        placement: the VPC placement of the deployed model. Default: no VPC configuration.
            Without security groups, a new group with no inbound rules is created.
        log_retention: how long deployment logs are kept. Default: one year.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        registry: IModelPackageGroup,
        deployment: EndpointDeployment,
        job_role: SageMakerJobRole | iam.IRole,
        artifact_bucket: s3.IBucket,
        encryption_key: kms.IKey | None = None,
        placement: JobPlacementOptions | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems(self.node.path)
        check_deployment(problems, deployment)
        key = require_encryption_key(problems, encryption_key, artifact_bucket)
        problems.raise_if_any()
        assert key is not None

        stack = Stack.of(self)
        group = registry.model_package_group_name
        model_role = job_role_of(job_role)
        endpoint = deployment.endpoint_name
        self.deployment = deployment
        self.model_package_group_name = group
        self.endpoint_name = endpoint
        self.endpoint_arn = stack.format_arn(
            service="sagemaker", resource="endpoint", resource_name=endpoint.lower()
        )
        self.encryption_key: kms.IKey = key
        capture_prefix = f"{deployment.data_capture_prefix}{endpoint}/"
        self.data_capture_uri = f"s3://{artifact_bucket.bucket_name}/{capture_prefix}"
        self.model_role_policy = grant_model_role(
            self, model_role, artifact_bucket, key, capture_prefix, endpoint
        )

        self.security_groups: list[ec2.ISecurityGroup] = []
        vpc_config = None
        if placement is not None:
            resolved = resolve_placement(
                self,
                placement,
                description=f"Model containers of the endpoint {endpoint}",
                between_instances=False,
                group_id="EndpointSecurityGroup",
            )
            self.security_groups = list(resolved.security_groups)
            vpc_config = {
                "Subnets": list(resolved.placement.subnet_ids),
                "SecurityGroupIds": list(resolved.placement.security_group_ids),
            }

        flow = DeploymentFlow(
            self,
            endpoint_name=endpoint,
            endpoint_arn=self.endpoint_arn,
            data_capture_uri=self.data_capture_uri,
        ).build(deployment, model_role, key, vpc_config)
        # Every permission the state machine needs is written out in the role's policy, so
        # the grants CDK would add for its tasks, logging and tracing are left out.
        self.hardened = HardenedStateMachine(
            self,
            "StateMachine",
            definition=flow,
            encryption_key=key,
            timeout=DEPLOYMENT_TIMEOUT,
            comment=f"Deploys approved versions of {group} to {endpoint}",
            role_description=f"Deploys approved versions of {group}",
            policy_description=f"Permissions of the deployment of {group}",
            task_grants=False,
            log_retention=log_retention,
        )
        self.state_machine: sfn.StateMachine = self.hardened.state_machine
        self.cfn_state_machine: sfn.CfnStateMachine = self.hardened.cfn_state_machine
        self.node.default_child = self.cfn_state_machine
        self.role = self.hardened.role
        self.policy = self.hardened.policy
        self.log_group = self.hardened.log_group
        add_deployment_permissions(
            self.policy,
            deployment=deployment,
            endpoint_arn=self.endpoint_arn,
            model_package_arns=model_package_arns(stack, group),
            model_role=model_role,
            key=key,
        )

        rule_role = service_role(
            self,
            "ApprovalRuleRole",
            service="events.amazonaws.com",
            description=f"Lets EventBridge start the deployment of {group}",
            policy_description=f"Start the deployment of {group}",
            statements=[
                iam.PolicyStatement(
                    actions=["states:StartExecution"],
                    resources=[self.state_machine.state_machine_arn],
                )
            ],
        )
        self.approval_rule = events.Rule(
            self,
            "ApprovalRule",
            description=f"Deploys versions of {group} when approved",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=[MODEL_PACKAGE_STATE_CHANGE],
                detail={
                    "ModelPackageGroupName": [group],
                    "ModelApprovalStatus": ["Approved"],
                },
            ),
            targets=[
                targets.SfnStateMachine(self.state_machine, role=rule_role.without_policy_updates())
            ],
        )


def check_deployment(problems: Problems, deployment: EndpointDeployment) -> None:
    check_name(
        problems, "deploy_on_approval.endpoint_name", deployment.endpoint_name, ENDPOINT_NAME_MAX
    )
    check_instance_type(problems, "deploy_on_approval.instance_type", deployment.instance_type)
    problems.check_int_range(
        "deploy_on_approval.data_capture_percentage", deployment.data_capture_percentage, 0, 100
    )
    problems.check_int_range("deploy_on_approval.min_capacity", deployment.min_capacity, 1, 1000)
    problems.check_int_range("deploy_on_approval.max_capacity", deployment.max_capacity, 1, 1000)
    problems.check_int_range(
        "deploy_on_approval.initial_instance_count", deployment.initial_instance_count, 1, 1000
    )
    problems.check_int_range(
        "deploy_on_approval.target_invocations_per_instance",
        deployment.target_invocations_per_instance,
        1,
        1_000_000,
    )
    if deployment.max_capacity < deployment.min_capacity:
        problems.add(
            f"deploy_on_approval.max_capacity {deployment.max_capacity} must be at least "
            f"min_capacity {deployment.min_capacity}"
        )
    elif not (
        deployment.min_capacity <= deployment.initial_instance_count <= deployment.max_capacity
    ):
        problems.add(
            f"deploy_on_approval.initial_instance_count {deployment.initial_instance_count} "
            f"must be from min_capacity {deployment.min_capacity} to max_capacity "
            f"{deployment.max_capacity}"
        )
    check_prefixes(
        problems, "deploy_on_approval.data_capture_prefix", [deployment.data_capture_prefix]
    )
