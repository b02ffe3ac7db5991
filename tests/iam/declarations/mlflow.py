"""Run-time calls of the MLflow stack: the tracking server instance and its alarm topic."""

from __future__ import annotations

from collections.abc import Iterator

from tests.iam.calls import OTHER_ACCOUNT, Call, Declaration, Expect, RoleCalls, ServiceCalls
from tests.iam.cfn import ACCOUNT
from tests.iam.declarations._common import (
    ARN,
    OTHER_BUCKET,
    foundation,
    log_group_arn,
    other_account_call,
)
from tests.iam.model import AppModel, RoleSelector, Use

DOC_SSM = (
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-instance-permissions.html"
)
DOC_AGENT = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/"
    "create-iam-roles-for-cloudwatch-agent.html"
)
DOC_SECRETS_KMS = (
    "https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html"
)
DOC_SIGNAL = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-signal.html"
DOC_MLFLOW_S3 = "https://mlflow.org/docs/latest/self-hosting/architecture/artifact-store/"
DOC_ALARM_SNS = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html"
)
DOC_EC2_ROLE = "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/iam-roles-for-amazon-ec2.html"
INSTANCE_ROLE = RoleSelector("ec2.amazonaws.com", Use("AWS::IAM::InstanceProfile", "Roles"))


def _instance_role(model: AppModel, stack: str) -> Iterator[Call]:
    shared = foundation(model)
    artifact = f"{shared.bucket_arn}/mlflow/1/run-id/artifacts/model.pkl"
    via_s3 = {"kms:ViaService": "s3.us-east-1.amazonaws.com", "kms:CallerAccount": ACCOUNT}
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        yield Call(f"artifact store: {action}", action, artifact, DOC_MLFLOW_S3)
    yield Call(
        "list artifacts",
        "s3:ListBucket",
        shared.bucket_arn,
        DOC_MLFLOW_S3,
        context={"s3:prefix": "mlflow/1/"},
    )
    yield Call(
        "read outside the artifact prefix",
        "s3:GetObject",
        f"{shared.bucket_arn}/data/reviews/x.csv",
        DOC_MLFLOW_S3,
        expect=Expect.DENIED,
    )
    yield Call(
        "read another bucket",
        "s3:GetObject",
        f"{OTHER_BUCKET}/mlflow/x",
        DOC_MLFLOW_S3,
        expect=Expect.DENIED,
    )
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        yield Call(
            f"artifact encryption: {action}", action, shared.key_arn, DOC_MLFLOW_S3, context=via_s3
        )
    for logical_id, _ in model.resources(stack, "AWS::SecretsManager::Secret"):
        secret = model.ref(stack, logical_id)
        yield Call(
            f"read secret {logical_id}", "secretsmanager:GetSecretValue", secret, DOC_SECRETS_KMS
        )
    yield Call(
        "decrypt a secret",
        "kms:Decrypt",
        shared.key_arn,
        DOC_SECRETS_KMS,
        context={
            "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com",
            "kms:CallerAccount": ACCOUNT,
        },
    )
    yield Call(
        "read another secret",
        "secretsmanager:GetSecretValue",
        f"arn:aws:secretsmanager:{ARN}:secret:other-AbCdEf",
        DOC_SECRETS_KMS,
        expect=Expect.DENIED,
    )
    group_id, _ = model.only(stack, "AWS::Logs::LogGroup", lambda p: "LogGroupName" not in p)
    name = model.ref(stack, group_id)
    stream = f"{log_group_arn(name)}:log-stream:i-0123456789abcdef0/bootstrap"
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        yield Call(f"ship server logs: {action}", action, stream, DOC_AGENT)
    yield Call(
        "describe the log streams",
        "logs:DescribeLogStreams",
        f"{log_group_arn(name)}:log-stream:",
        DOC_AGENT,
    )
    yield Call(
        "Session Manager: UpdateInstanceInformation",
        "ssm:UpdateInstanceInformation",
        f"arn:aws:ec2:{ARN}:instance/i-0123456789abcdef0",
        DOC_SSM,
    )
    for action in (
        "CreateControlChannel",
        "CreateDataChannel",
        "OpenControlChannel",
        "OpenDataChannel",
    ):
        yield Call(f"Session Manager: {action}", f"ssmmessages:{action}", "*", DOC_SSM)
    stack_id = model.app.stacks[model.stack_names[stack]].stack_id
    yield Call("signal the bootstrap result", "cloudformation:SignalResource", stack_id, DOC_SIGNAL)
    yield Call(
        "ec2.amazonaws.com assumes the role",
        "sts:AssumeRole",
        model.role(stack, INSTANCE_ROLE).arn,
        DOC_EC2_ROLE,
        principal="ec2.amazonaws.com",
    )


def _alarm_topic(model: AppModel, stack: str) -> Iterator[Call]:
    topic_id, _ = model.only(stack, "AWS::SNS::Topic")
    topic = model.ref(stack, topic_id)
    alarm_id, _ = next(iter(model.resources(stack, "AWS::CloudWatch::Alarm")))
    alarm = model.arn(stack, alarm_id)
    context = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": alarm}
    call = Call("an alarm notifies", "sns:Publish", topic, DOC_ALARM_SNS, context=context)
    yield call
    yield call.denied(
        "an alarm of another account notifies",
        context={
            "aws:SourceAccount": OTHER_ACCOUNT,
            "aws:SourceArn": alarm.replace(ACCOUNT, OTHER_ACCOUNT),
        },
    )
    yield other_account_call("sns:Publish", topic, DOC_ALARM_SNS)


DECLARATIONS: tuple[Declaration, ...] = (
    RoleCalls("mlflow", "tracking server instance", INSTANCE_ROLE, _instance_role),
    ServiceCalls("mlflow", "alarm topic", "cloudwatch.amazonaws.com", _alarm_topic),
)
