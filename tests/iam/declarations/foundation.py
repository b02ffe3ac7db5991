"""Run-time calls of the foundation stack: job role, flow logs, key and bucket policies."""

from __future__ import annotations

from collections.abc import Iterator

from tests.iam.calls import OTHER_ACCOUNT, Call, Declaration, Expect, RoleCalls, ServiceCalls
from tests.iam.cfn import ACCOUNT
from tests.iam.declarations._common import (
    ARN,
    DOC_CONFUSED_DEPUTY,
    DOC_LOGS_KMS,
    DOC_SAGEMAKER_DEPUTY,
    JobScope,
    assume_role_calls,
    foundation,
    job_calls,
    log_group_arn,
    other_account_call,
)
from tests.iam.model import AppModel, RoleSelector, Use

DOC_FLOW_LOGS = "https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html"
DOC_ACCESS_LOGS = (
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html"
)
DOC_ALB_LOGS = (
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html"
)
DOC_ASG_KMS = "https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html"
DOC_ALARM_SNS = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html"
)
DOC_LAMBDA_ROLE = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html"
#: The Elastic Load Balancing account that delivers access logs in us-east-1.
ELB_LOG_ACCOUNT = "127311923021"
AUTOSCALING_ROLE = (
    f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/"
    "AWSServiceRoleForAutoScaling"
)
JOB_ROLE = RoleSelector("sagemaker.amazonaws.com")
FLOW_LOG_ROLE = RoleSelector(
    "vpc-flow-logs.amazonaws.com", Use("AWS::EC2::FlowLog", "DeliverLogsPermissionArn")
)


def _job_role(model: AppModel, stack: str) -> Iterator[Call]:
    yield from job_calls(
        model,
        JobScope(
            read_prefix="data/reviews/part-0000.csv",
            write_prefix="pipelines/run-1/output/model.tar.gz",
            outside_prefix="private/salaries.csv",
            job_name="any-job-name",
            security_groups=("sg-0job0security0grp",),
        ),
    )
    role = model.role(stack, JOB_ROLE)
    yield from assume_role_calls(role.arn, "sagemaker.amazonaws.com", DOC_SAGEMAKER_DEPUTY)


def _flow_log_role(model: AppModel, stack: str) -> Iterator[Call]:
    group = foundation(model).flow_log_group
    stream = f"{log_group_arn(group)}:log-stream:eni-0123456789abcdef0-all"
    yield Call("create a flow log stream", "logs:CreateLogStream", stream, DOC_FLOW_LOGS)
    yield Call("put flow log records", "logs:PutLogEvents", stream, DOC_FLOW_LOGS)
    yield Call(
        "describe flow log streams",
        "logs:DescribeLogStreams",
        f"{log_group_arn(group)}:log-stream:",
        DOC_FLOW_LOGS,
    )
    yield Call(
        "write another log group",
        "logs:PutLogEvents",
        f"{log_group_arn('/other/group')}:log-stream:x",
        DOC_FLOW_LOGS,
        expect=Expect.DENIED,
    )
    role = model.role(stack, FLOW_LOG_ROLE)
    yield from assume_role_calls(
        role.arn,
        "vpc-flow-logs.amazonaws.com",
        DOC_FLOW_LOGS,
        source_arn=f"arn:aws:ec2:{ARN}:vpc-flow-log/fl-0123456789abcdef",
    )


def _custom_resource_role(model: AppModel, stack: str) -> Iterator[Call]:
    # The handler revokes the default security group's rules; its group id comes from the VPC.
    role = model.role(
        stack, RoleSelector("lambda.amazonaws.com", Use("AWS::Lambda::Function", "Role"))
    )
    policy = role.identity_policies[0][1]
    group_arn = policy["Statement"][0]["Resource"][0]
    for action in ("ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress"):
        yield Call(
            f"{action} on the default security group",
            action,
            group_arn,
            "https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_ec2.Vpc.html",
        )
    yield Call(
        "revoke rules of another security group",
        "ec2:RevokeSecurityGroupIngress",
        f"arn:aws:ec2:{ARN}:security-group/sg-0other000000000",
        DOC_LAMBDA_ROLE,
        expect=Expect.DENIED,
    )
    yield Call(
        "lambda.amazonaws.com assumes the role",
        "sts:AssumeRole",
        role.arn,
        DOC_LAMBDA_ROLE,
        principal="lambda.amazonaws.com",
    )


def _platform_key_logs(model: AppModel, stack: str) -> Iterator[Call]:
    shared = foundation(model)
    context = {"kms:EncryptionContext:aws:logs:arn": log_group_arn(shared.flow_log_group)}
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        yield Call(
            f"encrypt the flow log group ({action})",
            action,
            shared.key_arn,
            DOC_LOGS_KMS,
            context=context,
        )
    yield Call(
        "encrypt a log group of another account",
        "kms:GenerateDataKey",
        shared.key_arn,
        DOC_LOGS_KMS,
        context={
            "kms:EncryptionContext:aws:logs:arn": (
                f"arn:aws:logs:us-east-1:{OTHER_ACCOUNT}:log-group:stolen"
            )
        },
        expect=Expect.DENIED,
    )
    yield other_account_call("kms:Decrypt", shared.key_arn, DOC_CONFUSED_DEPUTY)


def _autoscaling_volumes(model: AppModel, stack: str) -> Iterator[Call]:
    shared = foundation(model)
    context = {"aws:PrincipalArn": AUTOSCALING_ROLE}
    for action in ("kms:GenerateDataKeyWithoutPlaintext", "kms:Decrypt", "kms:ReEncryptFrom"):
        yield Call(
            f"encrypted instance volumes: {action}",
            action,
            shared.key_arn,
            DOC_ASG_KMS,
            context=context,
        )
    yield Call(
        "grant the key to an instance volume",
        "kms:CreateGrant",
        shared.key_arn,
        DOC_ASG_KMS,
        context={**context, "kms:GrantIsForAWSResource": "true"},
    )


def _alarm_notifications(model: AppModel, stack: str) -> Iterator[Call]:
    shared = foundation(model)
    alarm = f"arn:aws:cloudwatch:{ARN}:alarm:mlflow-server-unhealthy"
    context = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": alarm}
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        yield Call(
            f"alarm to an encrypted topic ({action})",
            action,
            shared.key_arn,
            DOC_ALARM_SNS,
            context=context,
        )
    yield Call(
        "an alarm of another account",
        "kms:GenerateDataKey",
        shared.key_arn,
        DOC_ALARM_SNS,
        expect=Expect.DENIED,
        context={
            "aws:SourceAccount": OTHER_ACCOUNT,
            "aws:SourceArn": alarm.replace(ACCOUNT, OTHER_ACCOUNT),
        },
    )


def _server_access_logs(model: AppModel, stack: str) -> Iterator[Call]:
    shared = foundation(model)
    log_object = f"arn:aws:s3:::{shared.log_bucket}/artifact-bucket/2025-01-01-00-00-00-ABCDEF"
    context = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": shared.bucket_arn}
    call = Call(
        "deliver the artifact bucket's access logs",
        "s3:PutObject",
        log_object,
        DOC_ACCESS_LOGS,
        context=context,
    )
    yield call
    yield call.denied(
        "deliver access logs of another bucket",
        context={**context, "aws:SourceArn": "arn:aws:s3:::someone-elses-bucket"},
    )
    yield call.denied(
        "deliver access logs for another account",
        context={**context, "aws:SourceAccount": OTHER_ACCOUNT},
    )


def _load_balancer_logs(model: AppModel, stack: str) -> Iterator[Call]:
    shared = foundation(model)
    log_object = (
        f"arn:aws:s3:::{shared.log_bucket}/mlflow-alb/AWSLogs/{ACCOUNT}/elasticloadbalancing/"
        "us-east-1/2025/01/01/log.gz"
    )
    yield Call(
        "deliver the MLflow load balancer's access logs",
        "s3:PutObject",
        log_object,
        DOC_ALB_LOGS,
        principal=f"arn:aws:iam::{ELB_LOG_ACCOUNT}:root",
    )
    yield Call(
        "deliver logs under another prefix",
        "s3:PutObject",
        f"arn:aws:s3:::{shared.log_bucket}/artifact-bucket/forged",
        DOC_ALB_LOGS,
        principal=f"arn:aws:iam::{ELB_LOG_ACCOUNT}:root",
        expect=Expect.DENIED,
    )


DECLARATIONS: tuple[Declaration, ...] = (
    RoleCalls("foundation", "job role", JOB_ROLE, _job_role),
    RoleCalls("foundation", "flow log role", FLOW_LOG_ROLE, _flow_log_role),
    RoleCalls(
        "foundation",
        "default security group custom resource",
        RoleSelector("lambda.amazonaws.com", Use("AWS::Lambda::Function", "Role")),
        _custom_resource_role,
    ),
    ServiceCalls(
        "foundation",
        "platform key: CloudWatch Logs",
        "logs.us-east-1.amazonaws.com",
        _platform_key_logs,
    ),
    ServiceCalls(
        "foundation", "platform key: Auto Scaling volumes", AUTOSCALING_ROLE, _autoscaling_volumes
    ),
    ServiceCalls(
        "foundation",
        "platform key: CloudWatch alarms",
        "cloudwatch.amazonaws.com",
        _alarm_notifications,
    ),
    ServiceCalls(
        "foundation",
        "log bucket: S3 server access logs",
        "logging.s3.amazonaws.com",
        _server_access_logs,
    ),
    ServiceCalls(
        "foundation",
        "log bucket: load balancer access logs",
        f"arn:aws:iam::{ELB_LOG_ACCOUNT}:root",
        _load_balancer_logs,
    ),
)
