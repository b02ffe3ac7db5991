"""The platform VPC: private subnets for SageMaker jobs, MWAA, EKS and MLflow."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.compliance import acknowledge
from mlpipes_constructs.iam import ManagedPolicyRole

#: Interface endpoints a NAT-less VPC needs for SageMaker jobs to start, pull images and log.
INTERFACE_ENDPOINT_SERVICES: Mapping[str, ec2.InterfaceVpcEndpointAwsService] = MappingProxyType(
    {
        "sagemaker-api": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API,
        "sagemaker-runtime": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME,
        "sts": ec2.InterfaceVpcEndpointAwsService.STS,
        "ecr-api": ec2.InterfaceVpcEndpointAwsService.ECR,
        "ecr-docker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
        "logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    }
)

PRIVATE_SUBNET_GROUP = "Private"
PUBLIC_SUBNET_GROUP = "Public"
PRIVATE_SUBNET_MASK = 20
PUBLIC_SUBNET_MASK = 24
PRIVATE_SUBNET_SIZE = 2 ** (32 - PRIVATE_SUBNET_MASK)
PUBLIC_SUBNET_SIZE = 2 ** (32 - PUBLIC_SUBNET_MASK)


@dataclass(frozen=True)
class NetworkSettings:
    """The settings a new VPC is built with, after defaults are applied."""

    cidr: str
    max_azs: int
    nat_gateways: int
    interface_endpoints: tuple[str, ...]


def network_settings(
    *,
    cidr: str | None,
    max_azs: int | None,
    nat_gateways: int | None,
    interface_endpoints: Sequence[str] | None,
) -> NetworkSettings:
    """Apply defaults: a /16 across 2 AZs with one NAT gateway (the cheapest egress), and the
    interface endpoints only when there is no NAT gateway to reach the AWS APIs through."""
    nat = 1 if nat_gateways is None else nat_gateways
    endpoints = (
        tuple(interface_endpoints)
        if interface_endpoints is not None
        else (tuple(INTERFACE_ENDPOINT_SERVICES) if nat == 0 else ())
    )
    return NetworkSettings(
        cidr=cidr or "10.0.0.0/16",
        max_azs=2 if max_azs is None else max_azs,
        nat_gateways=nat,
        interface_endpoints=endpoints,
    )


class MlNetwork(Construct):
    """A VPC for ML workloads, or your own VPC.

    A new VPC spans ``max_azs`` availability zones, each with a private subnet (with egress
    through NAT, or isolated when ``nat_gateways`` is 0) and, when there is a NAT gateway, a
    public subnet that holds only the NAT gateway (no public IPs on launch). All traffic is
    logged by a VPC flow log to a KMS-encrypted log group, S3 is reached through a gateway
    endpoint, and interface endpoints can be added for deployments without NAT.

    Args:
        vpc: an existing VPC to use. Nothing is added to it. Default: a new VPC.
        encryption_key: key for the flow log group. Required unless ``vpc`` is given.
        cidr: IPv4 range of the new VPC, /16 to /18, large enough for a /20 private subnet
            (and, with NAT, a /24 public one) per AZ. Default: ``10.0.0.0/16``.
        max_azs: availability zones of the new VPC, 2 to 6. Default: 2.
        nat_gateways: NAT gateways of the new VPC, 0 to ``max_azs``; one per AZ survives an AZ
            outage, one in all costs less. Default: 1.
        interface_endpoints: names from :data:`INTERFACE_ENDPOINT_SERVICES` to create as
            interface endpoints. Default: all of them when ``nat_gateways`` is 0, else none.
        flow_log_retention: how long flow log records are kept. Default: one year.
        flow_log_removal_policy: what happens to the flow log group when it leaves the stack.
            Default: ``RemovalPolicy.RETAIN``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc | None = None,
        encryption_key: kms.IKey | None = None,
        cidr: str | None = None,
        max_azs: int | None = None,
        nat_gateways: int | None = None,
        interface_endpoints: Sequence[str] | None = None,
        flow_log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        flow_log_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems(self.node.path)
        if vpc is not None:
            for name, value in (
                ("cidr", cidr),
                ("max_azs", max_azs),
                ("nat_gateways", nat_gateways),
                ("interface_endpoints", interface_endpoints),
            ):
                if value is not None:
                    problems.conflict("vpc", name, f"'{name}' only applies to a new VPC")
        else:
            problems.require(
                encryption_key is not None,
                "encryption_key is required for a new VPC (its flow log group is encrypted)",
            )
        settings = network_settings(
            cidr=cidr,
            max_azs=max_azs,
            nat_gateways=nat_gateways,
            interface_endpoints=interface_endpoints,
        )
        problems.check_cidr("cidr", cidr, min_prefix=16, max_prefix=18)
        problems.check_int_range("max_azs", max_azs, 2, 6)
        problems.check_int_range("nat_gateways", nat_gateways, 0, settings.max_azs)
        if vpc is None and not problems.has("cidr"):
            _check_address_space(problems, settings)
        if vpc is None and max_azs is not None:
            offered = len(Stack.of(self).availability_zones)
            problems.require(
                max_azs <= offered,
                f"max_azs {max_azs} is more than the {offered} availability zones the stack "
                "offers; raise MlpipesStack(availability_zone_count=...)",
            )
        for name in settings.interface_endpoints:
            problems.require(
                name in INTERFACE_ENDPOINT_SERVICES,
                f"interface_endpoints entry '{name}' is not a known endpoint; expected one of "
                f"{', '.join(INTERFACE_ENDPOINT_SERVICES)}",
            )
        problems.raise_if_any()

        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        self.flow_log_group: logs.ILogGroup | None = None
        if vpc is not None:
            self.vpc: ec2.IVpc = vpc
            return
        assert encryption_key is not None  # checked above
        self.vpc = self._create_vpc(settings)
        self.flow_log_group = logs.LogGroup(
            self,
            "FlowLogGroup",
            encryption_key=encryption_key,
            retention=flow_log_retention,
            removal_policy=flow_log_removal_policy,
        )
        self.flow_log = self._create_flow_log(self.flow_log_group)
        if settings.interface_endpoints:
            self._add_interface_endpoints(settings.interface_endpoints, settings.cidr)

    @property
    def private_subnets(self) -> ec2.SubnetSelection:
        """The subnets workloads run in: private with egress, or isolated without NAT."""
        if self.vpc.private_subnets:
            return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)

    def _create_flow_log(self, log_group: logs.LogGroup) -> ec2.CfnFlowLog:
        """A flow log of all traffic, written by a role whose only policy is a managed one."""
        role = ManagedPolicyRole(
            self,
            "FlowLogRole",
            service="vpc-flow-logs.amazonaws.com",
            policy_description="Lets VPC flow logs write to the flow log group",
            statements=[
                iam.PolicyStatement(
                    actions=[
                        "logs:CreateLogStream",
                        "logs:DescribeLogStreams",
                        "logs:PutLogEvents",
                    ],
                    resources=[log_group.log_group_arn],
                )
            ],
        )
        return ec2.CfnFlowLog(
            self,
            "FlowLog",
            resource_id=self.vpc.vpc_id,
            resource_type="VPC",
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_group_name=log_group.log_group_name,
            deliver_logs_permission_arn=role.role_arn,
        )

    def _create_vpc(self, settings: NetworkSettings) -> ec2.Vpc:
        private_type = (
            ec2.SubnetType.PRIVATE_WITH_EGRESS
            if settings.nat_gateways
            else ec2.SubnetType.PRIVATE_ISOLATED
        )
        subnets = [
            ec2.SubnetConfiguration(
                name=PRIVATE_SUBNET_GROUP, subnet_type=private_type, cidr_mask=PRIVATE_SUBNET_MASK
            )
        ]
        if settings.nat_gateways:
            subnets.insert(
                0,
                ec2.SubnetConfiguration(
                    name=PUBLIC_SUBNET_GROUP,
                    subnet_type=ec2.SubnetType.PUBLIC,
                    cidr_mask=PUBLIC_SUBNET_MASK,
                    map_public_ip_on_launch=False,
                ),
            )
        vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(settings.cidr),
            max_azs=settings.max_azs,
            nat_gateways=settings.nat_gateways,
            subnet_configuration=subnets,
            restrict_default_security_group=True,
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
            },
        )
        for subnet in vpc.public_subnets:
            acknowledge(
                subnet,
                [
                    "HIPAA.Security-VPCNoUnrestrictedRouteToIGW",
                    "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW",
                ],
                "public subnets hold only the NAT gateways (nothing launched there gets a public "
                "IP); their default route to the internet gateway is the private subnets' egress",
            )
        return vpc

    def _add_interface_endpoints(self, names: Sequence[str], cidr: str) -> None:
        security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="HTTPS from inside the VPC to its interface endpoints",
            allow_all_outbound=False,
        )
        security_group.add_ingress_rule(
            # The literal range rather than the VPC's CidrBlock attribute: compliance rules can
            # only check a rule whose source they can read at synth time.
            ec2.Peer.ipv4(cidr),
            ec2.Port.tcp(443),
            "HTTPS from the VPC",
        )
        self.endpoint_security_group = security_group
        for name in names:
            self.interface_endpoints[name] = self.vpc.add_interface_endpoint(
                _endpoint_id(name),
                service=INTERFACE_ENDPOINT_SERVICES[name],
                subnets=self.private_subnets,
                security_groups=[security_group],
                private_dns_enabled=True,
                open=False,  # the security group already admits HTTPS from the VPC
            )


def _check_address_space(problems: Problems, settings: NetworkSettings) -> None:
    """Each AZ takes a /20 private subnet, plus a /24 public one when there is a NAT gateway."""
    if is_unresolved(settings.cidr):
        return
    prefix = ipaddress.IPv4Network(settings.cidr).prefixlen
    needed = settings.max_azs * PRIVATE_SUBNET_SIZE
    if settings.nat_gateways:
        needed += settings.max_azs * PUBLIC_SUBNET_SIZE
    available = 2 ** (32 - prefix)
    problems.require(
        needed <= available,
        f"cidr '{settings.cidr}' has {available} addresses but {settings.max_azs} availability "
        f"zones need {needed} (a /{PRIVATE_SUBNET_MASK} private subnet each"
        + (f" and a /{PUBLIC_SUBNET_MASK} public one" if settings.nat_gateways else "")
        + "); use a larger range such as /16",
    )


def _endpoint_id(name: str) -> str:
    """``ecr-docker`` -> ``EcrDockerEndpoint``."""
    return "".join(part.capitalize() for part in name.split("-")) + "Endpoint"
