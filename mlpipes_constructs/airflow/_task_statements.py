"""The IAM statements of what a compiled DAG's tasks call, for the role the tasks run as.

Shared by :class:`~mlpipes_constructs.airflow.MwaaPipeline` (the environment's execution role)
and :class:`~mlpipes_constructs.airflow.MwaaServerlessPipeline` (the workflow's role).
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from mlpipes_constructs.airflow._task_permissions import (
    DEPLOY_CONFIG_ACTIONS,
    TRAINING_LOG_GROUP,
    DagPermissions,
)


def task_statements(
    scope: Construct,
    permissions: DagPermissions,
    *,
    job_role: iam.IRole,
    artifact_bucket: s3.IBucket,
    artifact_folder: str,
    encryption_key: kms.IKey,
    notification_topic: sns.ITopic | None = None,
) -> list[iam.PolicyStatement]:
    """SageMaker on each task's name patterns, PassRole of the job role to SageMaker only,
    the training log streams, reading the pipeline's folder, and publishing failures."""
    stack = Stack.of(scope)
    statements: list[iam.PolicyStatement] = []
    by_actions: dict[tuple[str, ...], list[str]] = {}
    for grant in permissions.sagemaker:
        arn = stack.format_arn(
            service="sagemaker",
            resource=grant.resource_type,
            resource_name=grant.name_pattern,
        )
        by_actions.setdefault(grant.actions, []).append(arn)
    for actions, arns in sorted(by_actions.items()):
        statements.append(iam.PolicyStatement(actions=list(actions), resources=sorted(arns)))
    if permissions.passes_job_role:
        statements.append(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[job_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
    if permissions.training_log_streams:
        # DescribeLogStreams is authorized on the log group, GetLogEvents on the stream.
        statements += [
            iam.PolicyStatement(
                actions=["logs:DescribeLogStreams"],
                resources=[_log_arn(stack, TRAINING_LOG_GROUP)],
            ),
            iam.PolicyStatement(
                actions=["logs:GetLogEvents"],
                resources=[
                    _log_arn(stack, f"{TRAINING_LOG_GROUP}:log-stream:{pattern}")
                    for pattern in permissions.training_log_streams
                ],
            ),
        ]
    bucket = artifact_bucket
    if permissions.reads_reports or permissions.checks_inputs:
        folder = bucket.arn_for_objects(f"{artifact_folder}*")
        statements += [
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[folder]),
            # HeadBucket and ListObjectsV2 of the operators' input checks.
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn]),
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[encryption_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
            ),
        ]
    if permissions.sagemaker and any(
        set(DEPLOY_CONFIG_ACTIONS) <= set(grant.actions) for grant in permissions.sagemaker
    ):
        # An encrypted endpoint's storage: SageMaker creates a grant on the caller's behalf.
        statements.append(
            iam.PolicyStatement(
                actions=["kms:CreateGrant"],
                resources=[encryption_key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )
    if notification_topic is not None:
        statements.append(
            iam.PolicyStatement(actions=["sns:Publish"], resources=[notification_topic.topic_arn])
        )
        topic_key = notification_topic.master_key
        if topic_key is not None:
            statements.append(
                iam.PolicyStatement(
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[topic_key.key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"sns.{stack.region}.amazonaws.com"}
                    },
                )
            )
    return statements


def _log_arn(stack: Stack, resource_name: str) -> str:
    return stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name=resource_name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
