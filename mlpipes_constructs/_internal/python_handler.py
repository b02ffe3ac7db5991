"""A small Python Lambda function of the package: its own role, encrypted logs and network.

The deployment handler and condition gate of the Airflow constructs and the A2I custom
resource handlers are all this shape: code from a directory of the package (no Docker
bundling), a role whose only policy is a customer-managed one, a retained log group encrypted
with the platform key, and, in a VPC, a security group with HTTPS egress only.
"""

from __future__ import annotations

from collections.abc import Sequence
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
#: Bytecode Python writes next to a module the tests import: never deployed, and it would
#: change the assets' hashes.
BYTECODE: tuple[str, ...] = ("__pycache__", "*.pyc")
#: Why a custom resource handler needs no dead-letter queue.
CUSTOM_RESOURCE_DLQ_REASON = (
    "a custom resource handler reports every failure to CloudFormation, which fails and rolls "
    "back the stack operation; a dead-letter queue would hold no new event"
)


@dataclass(frozen=True)
class HandlerNetwork:
    """Where a handler runs, and what its security group is for.

    Attributes:
        vpc: the VPC.
        vpc_subnets: its subnets (private).
        description: the security group's description.
        egress: why it may reach port 443 anywhere (the APIs it calls).
    """

    vpc: ec2.IVpc
    vpc_subnets: ec2.SubnetSelection
    description: str
    egress: str


@dataclass(frozen=True)
class HandlerReasons:
    """Why the function's cdk-nag findings do not apply to it.

    Attributes:
        concurrency: why it reserves no concurrency.
        dead_letter_queue: why it has no dead-letter queue.
        outside_vpc: why it runs outside a VPC; required without a network.
    """

    concurrency: str
    dead_letter_queue: str
    outside_vpc: str | None = None


@dataclass(frozen=True)
class PythonHandler:
    """What :func:`python_handler` created."""

    role: ManagedPolicyRole
    log_group: logs.LogGroup
    security_group: ec2.SecurityGroup | None
    function: lambda_.Function

    @property
    def policy(self) -> iam.ManagedPolicy:
        """The customer-managed policy with the function's permissions."""
        return self.role.managed_policy


def python_handler(
    scope: Construct,
    *,
    code_directory: Path,
    handler: str,
    description: str,
    role_description: str,
    timeout: Duration,
    memory_size: int,
    log_key: kms.IKey,
    log_retention: logs.RetentionDays,
    network: HandlerNetwork | None,
    reasons: HandlerReasons,
    statements: Sequence[iam.PolicyStatement] = (),
) -> PythonHandler:
    """Create the function's parts as children of ``scope`` (``Role``, ``Logs``,
    ``SecurityGroup``, ``Handler``), its policy holding ``statements`` and what Lambda needs:
    its log streams and, in a VPC, its network interfaces."""
    role = ManagedPolicyRole(
        scope,
        "Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=role_description,
    )
    log_group = logs.LogGroup(
        scope,
        "Logs",
        encryption_key=log_key,
        retention=log_retention,
        removal_policy=RemovalPolicy.RETAIN,
    )
    policy = role.managed_policy
    policy.add_statements(
        *statements,
        iam.PolicyStatement(
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[log_group.log_group_arn],
        ),
    )
    acknowledge_wildcard(
        policy,
        log_group.log_group_arn,
        "log streams of the function's own log group, which Lambda names per instance",
    )
    security_group: ec2.SecurityGroup | None = None
    if network is not None:
        security_group = ec2.SecurityGroup(
            scope,
            "SecurityGroup",
            vpc=network.vpc,
            description=network.description,
            allow_all_outbound=False,
        )
        security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), network.egress)
        policy.add_statements(
            iam.PolicyStatement(actions=list(LAMBDA_VPC_ACTIONS), resources=["*"])
        )
        acknowledge_wildcard(
            policy,
            "*",
            "Lambda creates, describes and deletes the function's network interfaces in the "
            "VPC; these EC2 actions take no resource ARN that names one function",
        )
    function = lambda_.Function(
        scope,
        "Handler",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler=handler,
        code=lambda_.Code.from_asset(str(code_directory), exclude=list(BYTECODE)),
        role=role,
        timeout=timeout,
        memory_size=memory_size,
        description=description,
        log_group=log_group,
        vpc=network.vpc if network else None,
        vpc_subnets=network.vpc_subnets if network else None,
        security_groups=[security_group] if security_group else None,
    )
    # Lambda checks the network interface permissions when it creates the function.
    depend_only_on_policy(function, policy)
    if network is None:
        if reasons.outside_vpc is None:
            raise ValueError("a handler outside a VPC needs reasons.outside_vpc")
        acknowledge(
            function,
            ["HIPAA.Security-LambdaInsideVPC", "NIST.800.53.R5-LambdaInsideVPC"],
            reasons.outside_vpc,
        )
    acknowledge(
        function,
        ["HIPAA.Security-LambdaConcurrency", "NIST.800.53.R5-LambdaConcurrency"],
        reasons.concurrency,
    )
    acknowledge(
        function,
        ["HIPAA.Security-LambdaDLQ", "NIST.800.53.R5-LambdaDLQ"],
        reasons.dead_letter_queue,
    )
    return PythonHandler(role, log_group, security_group, function)
