"""The Lambda function that evaluates the conditions of an MWAA Serverless workflow."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlpipes_constructs._internal.python_handler import (
    HandlerNetwork,
    HandlerReasons,
    python_handler,
)
from mlpipes_constructs.airflow.serverless_compiler import CONDITION_GATE_DIRECTORY
from mlpipes_constructs.compliance import acknowledge_wildcard


class ConditionGateFunction(Construct):
    """The gate function (``_condition_gate/index.py``) in private subnets, with a role that
    may read the reports of one pipeline's folder only.

    Args:
        artifact_bucket: the bucket the reports are in.
        artifact_folder: the pipeline's folder in it (``pipelines/<name>/``).
        encryption_key: the key of the bucket's objects (decrypt through S3 only) and of the
            function's log group.
        vpc: the VPC the function runs in.
        vpc_subnets: its subnets (private).
        log_retention: how long the function's logs are kept.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        artifact_bucket: s3.IBucket,
        artifact_folder: str,
        encryption_key: kms.IKey,
        vpc: ec2.IVpc,
        vpc_subnets: ec2.SubnetSelection,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
    ) -> None:
        super().__init__(scope, construct_id)
        reports = artifact_bucket.arn_for_objects(f"{artifact_folder}*")
        parts = python_handler(
            self,
            code_directory=CONDITION_GATE_DIRECTORY,
            handler="index.handler",
            description="mlpipes: evaluates a pipeline condition on its reports in S3",
            role_description="Reads a pipeline's reports to evaluate its conditions",
            timeout=Duration.minutes(1),
            memory_size=256,
            log_key=encryption_key,
            log_retention=log_retention,
            network=HandlerNetwork(
                vpc=vpc,
                vpc_subnets=vpc_subnets,
                description="Condition gate: HTTPS to S3 only",
                egress="HTTPS to S3 (gateway endpoint or NAT)",
            ),
            reasons=HandlerReasons(
                concurrency=(
                    "the gate runs once per condition task of a workflow run; reserving "
                    "concurrency would fail to deploy in accounts at the minimum unreserved "
                    "concurrency"
                ),
                dead_letter_queue=(
                    "the workflow invokes the gate synchronously (RequestResponse) and fails its "
                    "task on an error; a dead-letter queue only receives asynchronous invocations"
                ),
            ),
            statements=[
                iam.PolicyStatement(actions=["s3:GetObject"], resources=[reports]),
                iam.PolicyStatement(
                    actions=["kms:Decrypt"],
                    resources=[encryption_key.key_arn],
                    conditions={
                        "StringEquals": {
                            "kms:ViaService": f"s3.{Stack.of(self).region}.amazonaws.com"
                        }
                    },
                ),
            ],
        )
        acknowledge_wildcard(
            parts.policy,
            reports,
            "the reports of each run are below the run's token in this pipeline's folder; only "
            "that folder of the artifact bucket can be named",
        )
        self.role = parts.role
        self.log_group = parts.log_group
        assert parts.security_group is not None
        self.security_group = parts.security_group
        self.function = parts.function
