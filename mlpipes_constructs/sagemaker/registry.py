"""A model registry (model package group) that can deploy approved versions to an endpoint."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from mlpipes_constructs._internal.subnets import select_subnets
from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.compliance import acknowledge, acknowledge_wildcard
from mlpipes_constructs.foundation import SageMakerJobRole
from mlpipes_constructs.foundation._s3_access import check_prefixes
from mlpipes_constructs.iam import ManagedPolicyRole, depend_only_on_policy
from mlpipes_constructs.sagemaker._arns import model_package_arns, model_package_group_arns
from mlpipes_constructs.sagemaker._checks import (
    RESOURCE_NAME_MAX,
    check_instance_type,
    check_name,
)

#: Hex characters of the random token that makes each deployment's resource names unique.
NAME_TOKEN_LENGTH = 8
#: Digits of the model package version the resource names leave room for (versions count up
#: from 1 within a group).
VERSION_DIGITS_MAX = 12
#: Endpoint names leave room for ``-v<version>-<token>`` in the names of the models and
#: endpoint configurations each deployment creates (SageMaker allows 63).
ENDPOINT_NAME_MAX = RESOURCE_NAME_MAX - len("-v-") - VERSION_DIGITS_MAX - NAME_TOKEN_LENGTH
VARIANT_NAME = "AllTraffic"
MODEL_PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"
_ACCOUNT_ID = re.compile(r"\d{12}")
#: Step Functions names an SDK integration error ``<Service>.<Exception>``; a SageMaker
#: validation error (such as describing an endpoint that does not exist) has no modeled
#: exception and arrives under one of these names.
SAGEMAKER_API_ERRORS: tuple[str, ...] = (
    "SageMaker.SageMakerException",
    "SageMaker.AmazonSageMakerException",
    "SageMaker.ResourceNotFoundException",
)
READ_GROUP_ACTIONS: tuple[str, ...] = ("sagemaker:DescribeModelPackageGroup",)
READ_PACKAGE_ACTIONS: tuple[str, ...] = ("sagemaker:DescribeModelPackage",)
#: Vended log delivery and X-Ray tracing of a state machine; none has a resource type.
STATE_MACHINE_LOG_ACTIONS: tuple[str, ...] = (
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
)
XRAY_ACTIONS: tuple[str, ...] = (
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
)
AUTOSCALING_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"


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


class ModelRegistry(Construct):
    """A SageMaker model package group, retained on stack deletion, and optional deployment.

    With ``deploy_on_approval``, approving a version (``ModelApprovalStatus: Approved``)
    starts a Step Functions state machine through an EventBridge rule. The state machine calls
    SageMaker directly (SDK integrations, no Lambda): it checks the version is still approved,
    creates a model from it and an endpoint configuration (KMS, data capture to the artifact
    bucket), creates the endpoint or updates it in place, waits until it is in service and
    registers the variant with Application Auto Scaling (target tracking on invocations per
    instance). Rejecting a version or registering a pending one starts nothing.

    Args:
        model_package_group_name: the group's name, 1-63 letters, digits and hyphens.
        description: the group's description. Default: none.
        cross_account_read_ids: AWS accounts that may read the group and its versions (a
            ``ModelPackageGroupPolicy``). Default: no cross-account access.
        deploy_on_approval: the endpoint approved versions go to. Default: no deployment.
        model_role: the role the deployed model runs as (reads its artifacts, pulls its
            image, writes data capture and endpoint logs). Required with
            ``deploy_on_approval``. Default: none.
        artifact_bucket: the bucket data capture goes to. Required with
            ``deploy_on_approval``. Default: none.
        encryption_key: the key of the endpoint's volumes, data capture and deployment logs.
            Required with ``deploy_on_approval``. Default: none.
        vpc: the VPC the deployed model runs in. Default: no VPC configuration.
        vpc_subnets: subnets of ``vpc`` for the model. Default: the VPC's private subnets.
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
        model_role: SageMakerJobRole | iam.IRole | None = None,
        artifact_bucket: s3.IBucket | None = None,
        encryption_key: kms.IKey | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
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
            _check_deployment(problems, deploy_on_approval)
            for prop, value in (
                ("model_role", model_role),
                ("artifact_bucket", artifact_bucket),
                ("encryption_key", encryption_key),
            ):
                if value is None:
                    problems.add(f"{prop} is required with deploy_on_approval")
        else:
            for prop, unused in (
                ("model_role", model_role),
                ("artifact_bucket", artifact_bucket),
                ("encryption_key", encryption_key),
                ("vpc", vpc),
            ):
                if unused is not None:
                    problems.conflict(prop, "deploy_on_approval=None", "it configures deployment")
        if vpc_subnets is not None and vpc is None:
            problems.conflict("vpc_subnets", "vpc", "'vpc_subnets' needs 'vpc'")
        problems.raise_if_any()

        stack = Stack.of(self)
        self.model_package_group_name = model_package_group_name
        self.group = sagemaker.CfnModelPackageGroup(
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
        self.group.apply_removal_policy(RemovalPolicy.RETAIN)
        self.model_package_group_arn = self.group.attr_model_package_group_arn
        self.model_package_arns = model_package_arns(stack, model_package_group_name)

        self.deployment = deploy_on_approval
        self.state_machine: sfn.StateMachine | None = None
        self.approval_rule: events.Rule | None = None
        self.security_groups: list[ec2.ISecurityGroup] = []
        if deploy_on_approval is not None:
            assert model_role is not None and artifact_bucket is not None
            assert encryption_key is not None
            self._add_deployment(
                deploy_on_approval,
                model_role.role if isinstance(model_role, SageMakerJobRole) else model_role,
                artifact_bucket,
                encryption_key,
                vpc,
                vpc_subnets,
                log_retention,
            )

    # --- Grants ------------------------------------------------------------------------------

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` describe the group and its versions."""
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(READ_GROUP_ACTIONS),
            resource_arns=self._group_arns_for_policies(),
        )
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(READ_PACKAGE_ACTIONS),
            resource_arns=self.model_package_arns,
        )

    def grant_register(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` register new versions in the group (and describe them)."""
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:CreateModelPackage", *READ_GROUP_ACTIONS],
            resource_arns=self._group_arns_for_policies(),
        )
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:CreateModelPackage", *READ_PACKAGE_ACTIONS],
            resource_arns=self.model_package_arns,
        )

    def grant_approve(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` approve or reject versions (which may deploy them)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:UpdateModelPackage", *READ_PACKAGE_ACTIONS],
            resource_arns=self.model_package_arns,
        )

    def _group_arns_for_policies(self) -> list[str]:
        return model_package_group_arns(Stack.of(self), self.model_package_group_name)

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

    # --- Deployment on approval ------------------------------------------------------------

    def _add_deployment(
        self,
        deployment: EndpointDeployment,
        model_role: iam.IRole,
        bucket: s3.IBucket,
        key: kms.IKey,
        vpc: ec2.IVpc | None,
        vpc_subnets: ec2.SubnetSelection | None,
        log_retention: logs.RetentionDays,
    ) -> None:
        stack = Stack.of(self)
        endpoint = deployment.endpoint_name
        self.endpoint_name = endpoint
        self.endpoint_arn = _arn(stack, "endpoint", endpoint.lower())
        capture_prefix = f"{deployment.data_capture_prefix}{endpoint}/"
        self.data_capture_uri = f"s3://{bucket.bucket_name}/{capture_prefix}"
        self._grant_model_role(stack, model_role, bucket, key, capture_prefix, endpoint)

        vpc_config = None
        if vpc is not None:
            group = ec2.SecurityGroup(
                self,
                "EndpointSecurityGroup",
                vpc=vpc,
                description=f"Model containers of the endpoint {endpoint}",
                allow_all_outbound=True,
            )
            self.security_groups = [group]
            subnets = select_subnets(vpc, vpc_subnets)
            vpc_config = {
                "Subnets": subnets.subnet_ids,
                "SecurityGroupIds": [group.security_group_id],
            }

        definition = self._deployment_flow(deployment, model_role, bucket, key, vpc_config)
        log_group = logs.LogGroup(
            self,
            "DeploymentLogs",
            encryption_key=key,
            retention=log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.deployment_role = ManagedPolicyRole(
            self,
            "DeploymentRole",
            service="states.amazonaws.com",
            description=f"Deploys approved versions of {self.model_package_group_name}",
            policy_description=(
                f"Permissions of the deployment of {self.model_package_group_name}"
            ),
        )
        self.deployment_policy = self.deployment_role.managed_policy
        self._add_deployment_permissions(stack, deployment, model_role, key)
        # Every permission the state machine needs is written out in the role's policy, so
        # the grants CDK would add for its tasks, logging and tracing are left out.
        self.state_machine = sfn.StateMachine(
            self,
            "Deployment",
            comment=f"Deploys approved versions of {self.model_package_group_name} to {endpoint}",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            role=self.deployment_role.without_policy_updates(),
            logs=sfn.LogOptions(
                destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True
            ),
            tracing_enabled=True,
            timeout=Duration.hours(2),
        )
        depend_only_on_policy(self.state_machine, self.deployment_policy)
        self.log_group = log_group

        events_role = ManagedPolicyRole(
            self,
            "ApprovalRuleRole",
            service="events.amazonaws.com",
            description=f"Lets EventBridge start the deployment of {self.model_package_group_name}",
            policy_description=f"Start the deployment of {self.model_package_group_name}",
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
            description=f"Deploys versions of {self.model_package_group_name} when approved",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=[MODEL_PACKAGE_STATE_CHANGE],
                detail={
                    "ModelPackageGroupName": [self.model_package_group_name],
                    "ModelApprovalStatus": ["Approved"],
                },
            ),
            targets=[
                targets.SfnStateMachine(
                    self.state_machine, role=events_role.without_policy_updates()
                )
            ],
        )

    def _deployment_flow(
        self,
        deployment: EndpointDeployment,
        model_role: iam.IRole,
        bucket: s3.IBucket,
        key: kms.IKey,
        vpc_config: dict[str, Any] | None,
    ) -> sfn.IChainable:
        endpoint = deployment.endpoint_name
        resource_name = sfn.JsonPath.format(
            f"{endpoint}-v{{}}-{{}}",
            sfn.JsonPath.string_at("$.package.version"),
            # The first group of a random UUID: 8 hex characters whatever the execution's
            # name (which may be 80 characters without a hyphen).
            sfn.JsonPath.array_get_item(sfn.JsonPath.string_split(sfn.JsonPath.uuid(), "-"), 0),
        )
        describe_package = self._sagemaker_call(
            "DescribeModelPackage",
            "describeModelPackage",
            {"ModelPackageName": sfn.JsonPath.string_at("$.detail.ModelPackageArn")},
            result_path="$.package",
            result_selector={
                "arn": sfn.JsonPath.string_at("$.ModelPackageArn"),
                "status": sfn.JsonPath.string_at("$.ModelApprovalStatus"),
                "version": sfn.JsonPath.number_at("$.ModelPackageVersion"),
            },
        )
        names = sfn.Pass(
            self,
            "NameResources",
            parameters={"name": resource_name},
            result_path="$.names",
        )
        model: dict[str, Any] = {
            "ModelName": sfn.JsonPath.string_at("$.names.name"),
            "ExecutionRoleArn": model_role.role_arn,
            "PrimaryContainer": {"ModelPackageName": sfn.JsonPath.string_at("$.package.arn")},
        }
        if vpc_config is not None:
            model["VpcConfig"] = vpc_config
        create_model = self._sagemaker_call(
            "CreateModel", "createModel", model, result_path=sfn.JsonPath.DISCARD
        )
        endpoint_config: dict[str, Any] = {
            "EndpointConfigName": sfn.JsonPath.string_at("$.names.name"),
            "KmsKeyId": key.key_arn,
            "ProductionVariants": [
                {
                    "VariantName": VARIANT_NAME,
                    "ModelName": sfn.JsonPath.string_at("$.names.name"),
                    "InstanceType": deployment.instance_type,
                    "InitialInstanceCount": deployment.initial_instance_count,
                }
            ],
        }
        if deployment.data_capture_percentage > 0:
            endpoint_config["DataCaptureConfig"] = {
                "EnableCapture": True,
                "InitialSamplingPercentage": deployment.data_capture_percentage,
                "DestinationS3Uri": self.data_capture_uri,
                "KmsKeyId": key.key_arn,
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            }
        create_config = self._sagemaker_call(
            "CreateEndpointConfig",
            "createEndpointConfig",
            endpoint_config,
            result_path=sfn.JsonPath.DISCARD,
        )
        find_endpoint = self._sagemaker_call(
            "FindEndpoint",
            "describeEndpoint",
            {"EndpointName": endpoint},
            result_path="$.endpoint",
            result_selector={"status": sfn.JsonPath.string_at("$.EndpointStatus")},
        )
        endpoint_call = {
            "EndpointName": endpoint,
            "EndpointConfigName": sfn.JsonPath.string_at("$.names.name"),
        }
        create_endpoint = self._sagemaker_call(
            "CreateEndpoint", "createEndpoint", endpoint_call, result_path=sfn.JsonPath.DISCARD
        )
        # Application Auto Scaling must let go of the variant before its endpoint is updated.
        release_scaling = self._autoscaling_call(
            "DeregisterScalableTarget", "deregisterScalableTarget", {}
        )
        update_endpoint = self._sagemaker_call(
            "UpdateEndpoint", "updateEndpoint", endpoint_call, result_path=sfn.JsonPath.DISCARD
        )
        # An endpoint still updating from an earlier approval cannot be updated yet.
        update_endpoint.add_retry(
            errors=list(SAGEMAKER_API_ERRORS),
            interval=Duration.minutes(1),
            max_attempts=10,
            backoff_rate=1,
        )
        wait = sfn.Wait(self, "WaitForEndpoint", time=sfn.WaitTime.duration(Duration.minutes(1)))
        # The whole description is kept: EndpointConfigName and FailureReason are not always
        # present, and a result selector naming a missing field fails the state.
        check_endpoint = self._sagemaker_call(
            "CheckEndpoint",
            "describeEndpoint",
            {"EndpointName": endpoint},
            result_path="$.endpoint",
        )
        register_scaling = self._autoscaling_call(
            "RegisterScalableTarget",
            "registerScalableTarget",
            {"MinCapacity": deployment.min_capacity, "MaxCapacity": deployment.max_capacity},
        )
        scaling_policy = self._autoscaling_call(
            "PutScalingPolicy",
            "putScalingPolicy",
            {
                "PolicyName": f"{endpoint}-invocations-per-instance",
                "PolicyType": "TargetTrackingScaling",
                "TargetTrackingScalingPolicyConfiguration": {
                    "TargetValue": deployment.target_invocations_per_instance,
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                    },
                    "ScaleInCooldown": 300,
                    "ScaleOutCooldown": 60,
                },
            },
        )
        deployed = sfn.Succeed(self, "Deployed")
        failed = sfn.Fail(
            self,
            "EndpointFailed",
            error="EndpointFailed",
            cause=f"The endpoint {endpoint} did not reach InService",
        )
        # A failed UpdateEndpoint is rolled back: the endpoint is InService again, on the old
        # configuration, so InService alone does not mean this version was deployed.
        rolled_back = sfn.Fail(
            self,
            "EndpointRolledBack",
            error="EndpointRolledBack",
            cause_path=sfn.JsonPath.format(
                f"Updating the endpoint {endpoint} to the endpoint config {{}} failed and "
                "SageMaker rolled it back to {}: {}",
                sfn.JsonPath.string_at("$.names.name"),
                sfn.JsonPath.string_at("$.endpoint.EndpointConfigName"),
                sfn.JsonPath.string_at("$.endpoint.FailureReason"),
            ),
        )
        replaced = sfn.Fail(
            self,
            "EndpointConfigReplaced",
            error="EndpointConfigReplaced",
            cause_path=sfn.JsonPath.format(
                f"The endpoint {endpoint} runs the endpoint config {{}} instead of {{}}; "
                "a later deployment may have replaced it",
                sfn.JsonPath.string_at("$.endpoint.EndpointConfigName"),
                sfn.JsonPath.string_at("$.names.name"),
            ),
        )
        no_longer_approved = sfn.Succeed(
            self, "NoLongerApproved", comment="The version was rejected before deployment"
        )

        find_endpoint.add_catch(
            create_endpoint, errors=list(SAGEMAKER_API_ERRORS), result_path="$.lookupError"
        )
        release_scaling.add_catch(
            update_endpoint,
            errors=["ApplicationAutoScaling.ObjectNotFoundException"],
            result_path=sfn.JsonPath.DISCARD,
        )
        live_config = (
            sfn.Choice(self, "NewConfigLive?")
            .when(
                sfn.Condition.string_equals_json_path(
                    "$.endpoint.EndpointConfigName", "$.names.name"
                ),
                register_scaling.next(scaling_policy).next(deployed),
            )
            .when(sfn.Condition.is_present("$.endpoint.FailureReason"), rolled_back)
            .otherwise(replaced)
        )
        wait_loop = wait.next(check_endpoint).next(
            sfn.Choice(self, "EndpointInService?")
            .when(
                sfn.Condition.string_equals("$.endpoint.EndpointStatus", "InService"), live_config
            )
            .when(sfn.Condition.string_equals("$.endpoint.EndpointStatus", "Failed"), failed)
            .otherwise(wait)
        )
        create_endpoint.next(wait_loop)
        release_scaling.next(update_endpoint)
        update_endpoint.next(wait_loop)
        return describe_package.next(
            sfn.Choice(self, "StillApproved?")
            .when(
                sfn.Condition.string_equals("$.package.status", "Approved"),
                names.next(create_model)
                .next(create_config)
                .next(find_endpoint)
                .next(
                    sfn.Choice(self, "EndpointExists?")
                    .when(sfn.Condition.is_present("$.endpoint.status"), release_scaling)
                    .otherwise(create_endpoint)
                ),
            )
            .otherwise(no_longer_approved)
        )

    def _sagemaker_call(
        self,
        state_id: str,
        action: str,
        parameters: dict[str, Any],
        *,
        result_path: str,
        result_selector: dict[str, Any] | None = None,
    ) -> tasks.CallAwsService:
        # iam_resources is required by the task class; the permissions themselves are in the
        # deployment's managed policy (the state machine role takes no inline grants).
        return tasks.CallAwsService(
            self,
            state_id,
            service="sagemaker",
            action=action,
            iam_resources=[self.endpoint_arn],
            parameters=parameters,
            result_path=result_path,
            result_selector=result_selector,
        )

    def _autoscaling_call(
        self, state_id: str, action: str, parameters: dict[str, Any]
    ) -> tasks.CallAwsService:
        return tasks.CallAwsService(
            self,
            state_id,
            service="applicationautoscaling",
            action=action,
            iam_action=f"application-autoscaling:{action[0].upper()}{action[1:]}",
            iam_resources=[self.endpoint_arn],
            parameters={
                "ServiceNamespace": "sagemaker",
                "ResourceId": f"endpoint/{self.endpoint_name}/variant/{VARIANT_NAME}",
                "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
                **parameters,
            },
            result_path=sfn.JsonPath.DISCARD,
        )

    def _add_deployment_permissions(
        self,
        stack: Stack,
        deployment: EndpointDeployment,
        model_role: iam.IRole,
        key: kms.IKey,
    ) -> None:
        endpoint = deployment.endpoint_name.lower()
        versioned = _arn(stack, "model", f"{endpoint}-v*")
        configs = _arn(stack, "endpoint-config", f"{endpoint}-v*")
        scalable_targets = stack.format_arn(
            service="application-autoscaling",
            resource="scalable-target",
            resource_name="*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        alarms = stack.format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name=f"TargetTracking-endpoint/{deployment.endpoint_name}/*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        service_linked_role = stack.format_arn(
            service="iam",
            region="",
            resource="role",
            resource_name=f"aws-service-role/{AUTOSCALING_SERVICE}/"
            "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
        )
        self.deployment_policy.add_statements(
            iam.PolicyStatement(
                sid="ReadApprovedVersions",
                actions=list(READ_PACKAGE_ACTIONS),
                resources=self.model_package_arns,
            ),
            iam.PolicyStatement(
                sid="CreateModels", actions=["sagemaker:CreateModel"], resources=[versioned]
            ),
            iam.PolicyStatement(
                sid="PassModelRole",
                actions=["iam:PassRole"],
                resources=[model_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                sid="CreateEndpointConfigs",
                actions=["sagemaker:CreateEndpointConfig", "sagemaker:DescribeEndpointConfig"],
                resources=[configs],
            ),
            iam.PolicyStatement(
                sid="DeployEndpoint",
                actions=[
                    "sagemaker:CreateEndpoint",
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:UpdateEndpoint",
                    "sagemaker:UpdateEndpointWeightsAndCapacities",
                ],
                resources=[self.endpoint_arn, configs],
            ),
            iam.PolicyStatement(
                sid="EncryptEndpointStorage",
                actions=["kms:CreateGrant"],
                resources=[key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
            iam.PolicyStatement(
                sid="DescribeEncryptionKey", actions=["kms:DescribeKey"], resources=[key.key_arn]
            ),
            iam.PolicyStatement(
                sid="ScaleEndpointVariant",
                actions=[
                    "application-autoscaling:DeregisterScalableTarget",
                    "application-autoscaling:PutScalingPolicy",
                    "application-autoscaling:RegisterScalableTarget",
                ],
                resources=[scalable_targets],
            ),
            iam.PolicyStatement(
                sid="ManageScalingAlarms",
                actions=[
                    "cloudwatch:DeleteAlarms",
                    "cloudwatch:DescribeAlarms",
                    "cloudwatch:PutMetricAlarm",
                ],
                resources=[alarms],
            ),
            iam.PolicyStatement(
                sid="CreateAutoScalingServiceRole",
                actions=["iam:CreateServiceLinkedRole"],
                resources=[service_linked_role],
                conditions={"StringLike": {"iam:AWSServiceName": AUTOSCALING_SERVICE}},
            ),
            iam.PolicyStatement(
                sid="DeliverExecutionLogs",
                actions=list(STATE_MACHINE_LOG_ACTIONS),
                resources=["*"],  # vended log delivery APIs have no resource type
            ),
            iam.PolicyStatement(
                sid="WriteTraces",
                actions=list(XRAY_ACTIONS),
                resources=["*"],  # X-Ray trace and sampling APIs have no resource type
            ),
        )
        acknowledge(
            self.deployment_policy,
            "AwsSolutions-IAM5[Resource::*]",
            "CloudWatch Logs vended log delivery (how Step Functions writes execution logs) and "
            "X-Ray trace submission have no resource type, so AWS accepts only '*' for them",
        )
        for arn, reason in (
            *(
                (
                    package,
                    "approved versions are numbered by SageMaker at registration; the wildcard "
                    "stays inside this model package group",
                )
                for package in self.model_package_arns
            ),
            (
                versioned,
                "each deployment creates a model named after the endpoint, the version and "
                "the execution; the wildcard covers only this endpoint's models",
            ),
            (
                configs,
                "each deployment creates an endpoint configuration named after the endpoint, "
                "the version and the execution; the wildcard covers only this endpoint's",
            ),
            (
                scalable_targets,
                "Application Auto Scaling gives a scalable target a random id when it is "
                "registered at deployment time, so its ARN cannot be named in advance",
            ),
            (
                alarms,
                "target tracking names its alarms after the endpoint variant plus a random "
                "suffix; the wildcard covers only this endpoint's scaling alarms",
            ),
        ):
            acknowledge_wildcard(self.deployment_policy, arn, reason)

    def _grant_model_role(
        self,
        stack: Stack,
        model_role: iam.IRole,
        bucket: s3.IBucket,
        key: kms.IKey,
        capture_prefix: str,
        endpoint: str,
    ) -> None:
        captures = bucket.arn_for_objects(f"{capture_prefix}*")
        log_streams = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"/aws/sagemaker/Endpoints/{endpoint}:log-stream:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        log_group = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"/aws/sagemaker/Endpoints/{endpoint}",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.model_role_policy = iam.ManagedPolicy(
            self,
            "EndpointModelPolicy",
            roles=[model_role],
            description=f"Lets the model behind {endpoint} capture data and write logs",
            statements=[
                iam.PolicyStatement(
                    sid="WriteDataCapture",
                    actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                    resources=[captures],
                ),
                iam.PolicyStatement(
                    sid="EncryptDataCapture",
                    actions=["kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[key.key_arn],
                ),
                iam.PolicyStatement(
                    sid="CreateEndpointLogGroup",
                    actions=["logs:CreateLogGroup", "logs:DescribeLogStreams"],
                    resources=[log_group],
                ),
                iam.PolicyStatement(
                    sid="WriteEndpointLogs",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[log_streams],
                ),
            ],
        )
        acknowledge_wildcard(
            self.model_role_policy,
            captures,
            "SageMaker names data capture files by variant, date and hour at run time; the "
            "wildcard stays inside this endpoint's data capture folder",
        )
        acknowledge_wildcard(
            self.model_role_policy,
            log_streams,
            "SageMaker names an endpoint's log streams after its variant and instances at run "
            "time; the wildcard stays inside this endpoint's log group",
        )


def _check_deployment(problems: Problems, deployment: EndpointDeployment) -> None:
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


def _arn(stack: Stack, resource: str, name: str) -> str:
    return stack.format_arn(service="sagemaker", resource=resource, resource_name=name)
