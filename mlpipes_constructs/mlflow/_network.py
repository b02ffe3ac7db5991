"""The MLflow server's security groups, and the checks on the subnets it runs in."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from mlpipes_constructs._internal.subnets import select_subnets
from mlpipes_constructs._internal.validation import Problems, is_unresolved


@dataclass(frozen=True)
class SecurityGroups:
    """One security group per tier: clients reach the load balancer, which reaches the server,
    which reaches the database."""

    load_balancer: ec2.SecurityGroup
    server: ec2.SecurityGroup
    database: ec2.SecurityGroup


def create_security_groups(scope: Construct, vpc: ec2.IVpc) -> SecurityGroups:
    """The three groups, with no outbound rule but the server's HTTPS."""
    load_balancer = ec2.SecurityGroup(
        scope,
        "LoadBalancerSecurityGroup",
        vpc=vpc,
        description="MLflow load balancer: clients in",
        allow_all_outbound=False,
    )
    server = ec2.SecurityGroup(
        scope,
        "ServerSecurityGroup",
        vpc=vpc,
        description="MLflow server: load balancer in; HTTPS and database out",
        allow_all_outbound=False,
    )
    # Installs from PyPI and calls AWS APIs (Secrets Manager, S3, logs, SSM).
    server.add_egress_rule(
        ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to package index and AWS APIs"
    )
    database = ec2.SecurityGroup(
        scope,
        "DatabaseSecurityGroup",
        vpc=vpc,
        description="MLflow database: tracking server in",
        allow_all_outbound=False,
    )
    return SecurityGroups(load_balancer=load_balancer, server=server, database=database)


def vpc_cidr(vpc: ec2.IVpc) -> str:
    """The VPC's CIDR block, as a literal when the VPC is defined in this app.

    A literal keeps security group rules readable and checkable; a reference to another
    stack's VPC attribute is only known at deploy time.
    """
    cidr = vpc.vpc_cidr_block
    resource = vpc.node.default_child
    if is_unresolved(cidr) and isinstance(resource, ec2.CfnVPC):
        literal = resource.cidr_block
        if isinstance(literal, str) and not is_unresolved(literal):
            return literal
    return cidr


def check_egress(
    problems: Problems, prop: str, vpc: ec2.IVpc, selection: ec2.SubnetSelection
) -> None:
    """Record a problem when the selected subnets cannot reach the internet through NAT.

    The instance installs MLflow from PyPI and calls Secrets Manager, SSM and CloudFormation
    (cfn-signal) while it boots; without egress the Auto Scaling group times out at deploy.
    Subnets imported by id are taken on trust: their routes are not known at synth.
    """
    needs = (
        "MLflow needs egress through a NAT gateway to install its pinned packages from PyPI and "
        "reach the AWS APIs (Secrets Manager, SSM, CloudFormation's cfn-signal) while it boots; "
        "choose private subnets with egress (PRIVATE_WITH_EGRESS, e.g. a foundation with "
        "nat_gateways >= 1)"
    )
    if selection.subnet_type == ec2.SubnetType.PRIVATE_ISOLATED:
        problems.add(
            f"{prop} selects PRIVATE_ISOLATED subnets, which have no route to a NAT: {needs}"
        )
        return
    try:
        selected = select_subnets(vpc, selection).subnets
    except RuntimeError as error:  # no subnet group of the selected type
        problems.add(f"{prop} selects no subnets of the VPC ({error}): {needs}")
        return
    isolated = {subnet.subnet_id for subnet in vpc.isolated_subnets}
    without_route = [
        subnet.node.path
        for subnet in selected
        if subnet.subnet_id in isolated
        or (isinstance(subnet, ec2.Subnet) and not _has_default_route(subnet))
    ]
    if without_route:
        problems.add(
            f"{prop} selects subnets without a route to a NAT ({', '.join(without_route)}): {needs}"
        )


def _has_default_route(subnet: ec2.Subnet) -> bool:
    """Whether a subnet defined in this app routes 0.0.0.0/0 somewhere (NAT, transit gateway)."""
    return any(
        isinstance(child, ec2.CfnRoute) and child.destination_cidr_block == "0.0.0.0/0"
        for child in subnet.node.children
    )
