"""The Lambda function behind an A2I custom resource: its role, logs and network."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from mlpipes_constructs._internal.python_handler import (
    CUSTOM_RESOURCE_DLQ_REASON,
    HandlerNetwork,
    HandlerReasons,
    python_handler,
)

#: The asset directory: the ``a2i_handlers`` package, one module per custom resource.
HANDLER_DIRECTORY = Path(__file__).resolve().parent / "_lambda"


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
        network = None
        if placement is not None:
            network = HandlerNetwork(
                vpc=placement.vpc,
                vpc_subnets=placement.vpc_subnets
                or ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
                description="A2I custom resource handler: HTTPS to AWS APIs and CloudFormation",
                egress="HTTPS to the SageMaker and Cognito APIs",
            )
        parts = python_handler(
            self,
            code_directory=HANDLER_DIRECTORY,
            handler=f"a2i_handlers.{entry_point}",
            description=f"mlpipes: {description}",
            role_description=description,
            timeout=timeout,
            memory_size=256,
            log_key=log_key,
            log_retention=log_retention,
            network=network,
            reasons=HandlerReasons(
                concurrency=(
                    "the handler runs only during stack operations, once per changed resource; "
                    "reserving concurrency would fail in accounts at the minimum unreserved "
                    "concurrency"
                ),
                dead_letter_queue=CUSTOM_RESOURCE_DLQ_REASON,
                outside_vpc=(
                    "the custom resource handler calls only the SageMaker and Cognito control "
                    "plane APIs during stack operations and no VPC was given for it"
                ),
            ),
        )
        self.role = parts.role
        self.log_group = parts.log_group
        self.security_group: ec2.SecurityGroup | None = parts.security_group
        self.function = parts.function

    @property
    def policy(self) -> iam.ManagedPolicy:
        """The customer-managed policy with the function's permissions."""
        return self.role.managed_policy
