"""The Lambda function behind an A2I custom resource: its role, logs and network."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from mlpipes_constructs.compliance import acknowledge, acknowledge_wildcard
from mlpipes_constructs.iam import ManagedPolicyRole, depend_only_on_policy

#: The asset directory: the ``a2i_handlers`` package, one module per custom resource.
HANDLER_DIRECTORY = Path(__file__).resolve().parent / "_lambda"
#: Bytecode the tests leave next to the handlers: never deployed, and it would change the hash.
BYTECODE: tuple[str, ...] = ("__pycache__", "*.pyc")
#: The actions a Lambda function in a VPC needs for its network interfaces (Lambda's
#: documented set); EC2 does not scope them to a function.
LAMBDA_VPC_ACTIONS: tuple[str, ...] = (
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:UnassignPrivateIpAddresses",
)


@dataclass(frozen=True)
class HandlerPlacement:
    """Where the custom resource handlers of the A2I constructs run.

    Attributes:
        vpc: the VPC the handler functions run in; they call the SageMaker and Cognito APIs,
            so its subnets need a NAT gateway or interface endpoints for both.
        vpc_subnets: which subnets of ``vpc``. Default: the VPC's private subnets.
    """

    vpc: ec2.IVpc
    vpc_subnets: ec2.SubnetSelection | None = None


class HandlerFunction(Construct):
    """A Python function of ``a2i_handlers`` with a role of its own and encrypted logs.

    Args:
        entry_point: ``<module>.handler`` inside ``a2i_handlers``.
        description: what the function does.
        timeout: the function's timeout.
        log_key: the key the log group is encrypted with.
        log_retention: how long the logs are kept.
        placement: the VPC the function runs in. Default: no VPC (acknowledged with the
            reason: the function calls only AWS control-plane APIs).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        entry_point: str,
        description: str,
        timeout: Duration,
        log_key: kms.IKey,
        log_retention: logs.RetentionDays,
        placement: HandlerPlacement | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = ManagedPolicyRole(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=description,
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=log_key,
            retention=log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        policy = self.role.managed_policy
        policy.add_statements(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        acknowledge_wildcard(
            policy,
            self.log_group.log_group_arn,
            "log streams of the handler's own log group, which Lambda names per instance",
        )
        self.security_group: ec2.SecurityGroup | None = None
        vpc: ec2.IVpc | None = None
        subnets: ec2.SubnetSelection | None = None
        if placement is not None:
            self.security_group = ec2.SecurityGroup(
                self,
                "SecurityGroup",
                vpc=placement.vpc,
                description="A2I custom resource handler: HTTPS to AWS APIs and CloudFormation",
                allow_all_outbound=False,
            )
            self.security_group.add_egress_rule(
                ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to the SageMaker and Cognito APIs"
            )
            policy.add_statements(
                iam.PolicyStatement(actions=list(LAMBDA_VPC_ACTIONS), resources=["*"])
            )
            acknowledge_wildcard(
                policy,
                "*",
                "Lambda creates, describes and deletes the function's network interfaces in "
                "the VPC; these EC2 actions take no resource ARN that names one function",
            )
            vpc = placement.vpc
            subnets = placement.vpc_subnets or ec2.SubnetSelection(
                subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
            )
        self.function = lambda_.Function(
            self,
            "Handler",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler=f"a2i_handlers.{entry_point}",
            code=lambda_.Code.from_asset(str(HANDLER_DIRECTORY), exclude=list(BYTECODE)),
            role=self.role,
            timeout=timeout,
            memory_size=256,
            description=f"mlpipes: {description}",
            log_group=self.log_group,
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[self.security_group] if self.security_group else None,
        )
        depend_only_on_policy(self.function, policy)
        if placement is None:
            acknowledge(
                self.function,
                ["HIPAA.Security-LambdaInsideVPC", "NIST.800.53.R5-LambdaInsideVPC"],
                "the custom resource handler calls only the SageMaker and Cognito control "
                "plane APIs during stack operations and no VPC was given for it",
            )
        acknowledge(
            self.function,
            ["HIPAA.Security-LambdaConcurrency", "NIST.800.53.R5-LambdaConcurrency"],
            "the handler runs only during stack operations, once per changed resource; "
            "reserving concurrency would fail in accounts at the minimum unreserved concurrency",
        )
        acknowledge(
            self.function,
            ["HIPAA.Security-LambdaDLQ", "NIST.800.53.R5-LambdaDLQ"],
            "a custom resource handler reports every failure to CloudFormation, which fails "
            "and rolls back the stack operation; a dead-letter queue would hold no new event",
        )

    @property
    def policy(self) -> iam.ManagedPolicy:
        """The customer-managed policy with the function's permissions."""
        return self.role.managed_policy
