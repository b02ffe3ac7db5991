"""The permissions of an approval deployment: its state machine's and the model role's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlpipes_constructs.compliance import acknowledge_wildcard
from mlpipes_constructs.sagemaker._deployment_flow import SCALABLE_DIMENSION

if TYPE_CHECKING:
    from mlpipes_constructs.sagemaker.approval_deployment import EndpointDeployment

READ_PACKAGE_ACTIONS: tuple[str, ...] = ("sagemaker:DescribeModelPackage",)
AUTOSCALING_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"
SCALING_ACTIONS: tuple[str, ...] = (
    "application-autoscaling:DeregisterScalableTarget",
    "application-autoscaling:PutScalingPolicy",
    "application-autoscaling:RegisterScalableTarget",
)


def add_deployment_permissions(
    policy: iam.ManagedPolicy,
    *,
    deployment: EndpointDeployment,
    endpoint_arn: str,
    model_package_arns: Sequence[str],
    model_role: iam.IRole,
    key: kms.IKey,
) -> None:
    """What the deployment state machine calls, each scoped to this endpoint's resources."""
    stack = Stack.of(policy)
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
    policy.add_statements(
        iam.PolicyStatement(
            sid="ReadApprovedVersions",
            actions=list(READ_PACKAGE_ACTIONS),
            resources=model_package_arns,
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
            resources=[endpoint_arn, configs],
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
            actions=list(SCALING_ACTIONS),
            resources=[scalable_targets],
            # The Service Authorization Reference lists both keys for the three actions
            # (https://docs.aws.amazon.com/service-authorization/latest/reference/
            # list_applicationautoscaling.html): SageMaker variants only, not the account's
            # ECS services, DynamoDB tables or Aurora clusters.
            conditions={
                "StringEquals": {
                    "application-autoscaling:service-namespace": "sagemaker",
                    "application-autoscaling:scalable-dimension": SCALABLE_DIMENSION,
                }
            },
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
    )
    for arn, reason in (
        *(
            (
                package,
                "approved versions are numbered by SageMaker at registration; the wildcard "
                "stays inside this model package group",
            )
            for package in model_package_arns
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
        acknowledge_wildcard(policy, arn, reason)


def grant_model_role(
    scope: Construct,
    model_role: iam.IRole,
    bucket: s3.IBucket,
    key: kms.IKey,
    capture_prefix: str,
    endpoint: str,
) -> iam.ManagedPolicy:
    """A managed policy on the model's role: data capture and the endpoint's logs."""
    stack = Stack.of(scope)
    captures = bucket.arn_for_objects(f"{capture_prefix}*")
    log_streams = stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name=f"/aws/sagemaker/Endpoints/{endpoint}:log-stream:*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    # CloudWatch Logs authorizes CreateLogGroup and DescribeLogStreams on
    # "log-group:NAME:log-stream:", which only the ":*" form matches.
    log_group = stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name=f"/aws/sagemaker/Endpoints/{endpoint}:*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    model_role_policy = iam.ManagedPolicy(
        scope,
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
        model_role_policy,
        captures,
        "SageMaker names data capture files by variant, date and hour at run time; the "
        "wildcard stays inside this endpoint's data capture folder",
    )
    acknowledge_wildcard(
        model_role_policy,
        log_streams,
        "SageMaker names an endpoint's log streams after its variant and instances at run "
        "time; the wildcard stays inside this endpoint's log group",
    )
    acknowledge_wildcard(
        model_role_policy,
        log_group,
        "CloudWatch Logs authorizes CreateLogGroup and DescribeLogStreams on the group's "
        "'log-stream:' sub-resource, which only the ':*' suffix of this one endpoint group matches",
    )
    return model_role_policy


def _arn(stack: Stack, resource: str, name: str) -> str:
    return stack.format_arn(service="sagemaker", resource=resource, resource_name=name)
