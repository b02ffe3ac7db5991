"""The MLflow server's instance: its role's permissions, its user data, and its Auto Scaling
group of one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from aws_cdk import Aws, CfnCreationPolicy, CfnResourceSignal, Duration, Stack
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from constructs import Construct

from mlpipes_constructs.foundation._s3_access import (
    prefix_read_statements,
    prefix_write_statements,
)
from mlpipes_constructs.mlflow import _bootstrap, _props
from mlpipes_constructs.mlflow._props import SERVER_PORT

LAUNCHER_SOURCE = Path(__file__).resolve().parent / "launcher.py"
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


def add_instance_permissions(
    policy: iam.ManagedPolicy,
    stack: Stack,
    *,
    bucket: s3.IBucket,
    prefix: str,
    key: kms.IKey,
    assets: Sequence[s3_assets.Asset],
    secrets: Sequence[secretsmanager.ISecret],
    log_group: logs.ILogGroup,
) -> None:
    """What the instance does: artifacts under ``prefix``, its bootstrap files, its secrets,
    its logs, and Session Manager."""
    policy.add_statements(
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
            resources=[secret.secret_arn for secret in secrets],
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
            resources=[log_group.log_group_arn],
        ),
        iam.PolicyStatement(
            sid="SessionManagerAgent",
            actions=["ssm:UpdateInstanceInformation"],
            resources=[instance_arns(stack)],
        ),
        iam.PolicyStatement(
            sid="SessionManagerChannels",
            actions=list(SESSION_MANAGER_ACTIONS),
            resources=["*"],  # ssmmessages actions have no resource type
        ),
    )


def instance_arns(stack: Stack) -> str:
    """Every EC2 instance of the stack's account and region (the group picks the id)."""
    return stack.format_arn(service="ec2", resource="instance", resource_name="*")


def user_data(
    *,
    launcher: s3_assets.Asset,
    constraints: s3_assets.Asset | None,
    mlflow_version: str,
    workers: int,
    default_permission: str,
    host: str,
    scheme: str,
    database_secret: secretsmanager.ISecret,
    admin_secret: secretsmanager.ISecret,
    artifact_bucket: s3.IBucket,
    artifact_prefix: str,
    log_group: logs.ILogGroup,
    server_environment: Mapping[str, str],
) -> ec2.UserData:
    """Install MLflow with its pinned packages, then run the launcher as a service that ships
    its logs. ``server_environment`` holds MLflow variables for ``mlflow server``."""
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
        "MLPIPES_MLFLOW_DB_SECRET_ARN": database_secret.secret_arn,
        "MLPIPES_MLFLOW_ADMIN_SECRET_ARN": admin_secret.secret_arn,
        "MLPIPES_MLFLOW_ARTIFACTS_DESTINATION": (
            f"s3://{artifact_bucket.bucket_name}/{artifact_prefix}"
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
        # MLflow's own settings, passed through by the launcher.
        **server_environment,
    }
    user_data.add_commands(
        *_bootstrap.configure_commands(
            launcher_settings=settings,
            log_group_name=log_group.log_group_name,
            port=SERVER_PORT,
        )
    )
    return user_data


def create_auto_scaling_group(
    scope: Construct,
    *,
    vpc: ec2.IVpc,
    subnets: ec2.SubnetSelection,
    key: kms.IKey,
    instance_type: str,
    arm64: bool,
    root_volume_size: int,
    user_data: ec2.UserData,
    role: iam.IRole,
    security_group: ec2.ISecurityGroup,
    notification_topic: sns.ITopic,
    policy: iam.ManagedPolicy,
) -> autoscaling.AutoScalingGroup:
    """A group of exactly one instance, replaced when the load balancer finds it unhealthy;
    CloudFormation waits for the bootstrap's success signal."""
    cpu = ec2.AmazonLinuxCpuType.ARM_64 if arm64 else ec2.AmazonLinuxCpuType.X86_64
    launch_template = ec2.LaunchTemplate(
        scope,
        "LaunchTemplate",
        # Resolved from the public SSM parameter at deploy time: no context look-up.
        machine_image=ec2.MachineImage.latest_amazon_linux2023(cpu_type=cpu),
        instance_type=ec2.InstanceType(instance_type),
        role=role,
        security_group=security_group,
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
        scope,
        "AutoScalingGroup",
        vpc=vpc,
        vpc_subnets=subnets,
        launch_template=launch_template,
        min_capacity=1,
        max_capacity=1,
        notifications=[autoscaling.NotificationConfiguration(topic=notification_topic)],
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
    logical_id = Stack.of(scope).get_logical_id(cfn_group)
    user_data.add_on_exit_commands(
        f"/opt/aws/bin/cfn-signal --stack {Aws.STACK_NAME} --resource {logical_id} "
        f"--region {Aws.REGION} -e $exitCode || echo 'Failed to send CloudFormation signal'"
    )
    policy.add_statements(
        iam.PolicyStatement(
            sid="SignalBootstrapResult",
            actions=["cloudformation:SignalResource"],
            resources=[Aws.STACK_ID],
        )
    )
    return group


def allow_auto_scaling_to_use_key(stack: Stack, key: kms.IKey) -> bool:
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
