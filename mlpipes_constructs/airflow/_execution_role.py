"""The statements of an MWAA execution role, as the MWAA user guide lists them.

Source: "Amazon MWAA execution role", sample policy for a customer managed key
(https://docs.aws.amazon.com/mwaa/latest/userguide/mwaa-create-role.html). Differences, all
narrower: S3 actions are named one by one (the guide uses ``s3:GetObject*``, ``s3:GetBucket*``
and ``s3:List*``) and object reads are limited to the environment's own keys; CloudWatch
metrics are limited to MWAA's ``AmazonMWAA`` namespace.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

#: What MWAA reads from its source bucket about the bucket itself.
BUCKET_CHECK_ACTIONS: tuple[str, ...] = (
    "s3:GetBucketLocation",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketVersioning",
    "s3:GetEncryptionConfiguration",
)
OBJECT_READ_ACTIONS: tuple[str, ...] = ("s3:GetObject", "s3:GetObjectVersion")
LOG_ACTIONS: tuple[str, ...] = (
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:GetLogEvents",
    "logs:GetLogGroupFields",
    "logs:GetLogRecord",
    "logs:GetQueryResults",
    "logs:PutLogEvents",
)
#: The Celery queue actions; the queue lives in an account MWAA owns.
QUEUE_ACTIONS: tuple[str, ...] = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
    "sqs:SendMessage",
)
KEY_ACTIONS: tuple[str, ...] = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
)
METRIC_NAMESPACE = "AmazonMWAA"
#: The log types MWAA writes, one log group each: ``airflow-<environment name>-<type>``.
LOG_TYPES: tuple[str, ...] = ("DAGProcessing", "Scheduler", "Task", "WebServer", "Worker")


def log_group_arns(scope: Construct, environment_name: str) -> list[str]:
    """``arn:…:log-group:airflow-<name>-<type>:*`` for each of the five log types: the log
    groups MWAA writes, with their streams. Not ``airflow-<name>-*``, which also matches the
    groups of another environment whose name starts with ``<name>-``."""
    return [
        Stack.of(scope).format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"airflow-{environment_name}-{log_type}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        for log_type in LOG_TYPES
    ]


def celery_queue_pattern(scope: Construct) -> str:
    """``arn:…:sqs:<region>:*:airflow-celery-*``: MWAA's queue, in an account it owns."""
    stack = Stack.of(scope)
    return f"arn:{stack.partition}:sqs:{stack.region}:*:airflow-celery-*"


def environment_arn(scope: Construct, environment_name: str) -> str:
    return Stack.of(scope).format_arn(
        service="airflow", resource="environment", resource_name=environment_name
    )


def execution_statements(
    scope: Construct,
    *,
    environment_name: str,
    bucket: s3.IBucket,
    object_keys: Sequence[str],
    keys: Sequence[kms.IKey],
) -> list[iam.PolicyStatement]:
    """What the environment itself needs: its metrics, bucket, logs, queue and keys.

    Args:
        object_keys: object key patterns MWAA reads, e.g. ``["dags/*", "requirements.txt"]``.
        keys: the environment's key and, if different, the source bucket's key.
    """
    stack = Stack.of(scope)
    via = [f"sqs.{stack.region}.amazonaws.com", f"s3.{stack.region}.amazonaws.com"]
    logs_arns = log_group_arns(scope, environment_name)
    return [
        iam.PolicyStatement(
            actions=["airflow:PublishMetrics"],
            resources=[environment_arn(scope, environment_name)],
        ),
        iam.PolicyStatement(
            effect=iam.Effect.DENY,
            actions=["s3:ListAllMyBuckets"],
            resources=[bucket.bucket_arn, bucket.arn_for_objects("*")],
        ),
        iam.PolicyStatement(
            actions=list(OBJECT_READ_ACTIONS),
            resources=[bucket.arn_for_objects(key) for key in object_keys],
        ),
        iam.PolicyStatement(
            actions=["s3:ListBucket"],
            resources=[bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": list(object_keys)}},
        ),
        iam.PolicyStatement(actions=list(BUCKET_CHECK_ACTIONS), resources=[bucket.bucket_arn]),
        # MWAA checks the account's public access block, which has no resource ARN.
        iam.PolicyStatement(actions=["s3:GetAccountPublicAccessBlock"], resources=["*"]),
        iam.PolicyStatement(actions=list(LOG_ACTIONS), resources=logs_arns),
        iam.PolicyStatement(actions=["logs:DescribeLogGroups"], resources=["*"]),
        iam.PolicyStatement(
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}},
        ),
        iam.PolicyStatement(actions=list(QUEUE_ACTIONS), resources=[celery_queue_pattern(scope)]),
        iam.PolicyStatement(
            actions=list(KEY_ACTIONS),
            resources=sorted({key.key_arn for key in keys}, key=str),
            conditions={"StringLike": {"kms:ViaService": via}},
        ),
    ]
