"""The Lambda function that evaluates the conditions of an MWAA Serverless workflow."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlpipes_constructs.airflow._source_deployment import BYTECODE, LAMBDA_VPC_ACTIONS
from mlpipes_constructs.airflow.serverless_compiler import CONDITION_GATE_DIRECTORY
from mlpipes_constructs.compliance import acknowledge, acknowledge_wildcard
from mlpipes_constructs.iam import ManagedPolicyRole, depend_only_on_policy


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
        self.role = ManagedPolicyRole(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Reads a pipeline's reports to evaluate its conditions",
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=encryption_key,
            retention=log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Condition gate: HTTPS to S3 only",
            allow_all_outbound=False,
        )
        self.security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to S3 (gateway endpoint or NAT)"
        )
        reports = artifact_bucket.arn_for_objects(f"{artifact_folder}*")
        policy = self.role.managed_policy
        policy.add_statements(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[reports]),
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[encryption_key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"s3.{Stack.of(self).region}.amazonaws.com"}
                },
            ),
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            ),
            iam.PolicyStatement(actions=list(LAMBDA_VPC_ACTIONS), resources=["*"]),
        )
        acknowledge_wildcard(
            policy,
            reports,
            "the reports of each run are below the run's token in this pipeline's folder; only "
            "that folder of the artifact bucket can be named",
        )
        acknowledge_wildcard(
            policy,
            "*",
            "Lambda creates, describes and deletes the function's network interfaces in the "
            "VPC; these EC2 actions take no resource ARN that names one function",
        )
        acknowledge_wildcard(
            policy,
            self.log_group.log_group_arn,
            "log streams of the gate's own log group, which Lambda names per instance",
        )
        self.function = lambda_.Function(
            self,
            "Handler",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.handler",
            code=lambda_.Code.from_asset(str(CONDITION_GATE_DIRECTORY), exclude=list(BYTECODE)),
            role=self.role,
            timeout=Duration.minutes(1),
            memory_size=256,
            description="mlpipes: evaluates a pipeline condition on its reports in S3",
            log_group=self.log_group,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            security_groups=[self.security_group],
        )
        depend_only_on_policy(self.function, policy)
        acknowledge(
            self.function,
            ["HIPAA.Security-LambdaConcurrency", "NIST.800.53.R5-LambdaConcurrency"],
            "the gate runs once per condition task of a workflow run; reserving concurrency "
            "would fail to deploy in accounts at the minimum unreserved concurrency",
        )
        acknowledge(
            self.function,
            ["HIPAA.Security-LambdaDLQ", "NIST.800.53.R5-LambdaDLQ"],
            "the workflow invokes the gate synchronously (RequestResponse) and fails its task on "
            "an error; a dead-letter queue only receives asynchronous invocations",
        )
