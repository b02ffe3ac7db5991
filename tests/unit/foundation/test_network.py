from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Match, Template

from mlpipes_constructs.errors import PropsValidationError
from mlpipes_constructs.foundation import INTERFACE_ENDPOINT_SERVICES, MlNetwork, PlatformKey
from mlpipes_constructs.foundation.network import network_settings
from mlpipes_constructs.stacks import MlpipesStack
from tests.conftest import TEST_ENV, SynthesizedApp


@pytest.fixture(scope="module")
def foundation(bundled_app: SynthesizedApp) -> Template:
    return Template.from_json(bundled_app.template("foundation"))


def test_default_vpc_spans_two_azs_with_one_nat_and_private_subnets(foundation: Template) -> None:
    foundation.resource_count_is("AWS::EC2::NatGateway", 1)
    foundation.resource_count_is("AWS::EC2::Subnet", 4)
    foundation.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": "10.0.0.0/16"})
    # Availability zones are resolved at deploy time: no context look-up at synth.
    foundation.has_resource_properties(
        "AWS::EC2::Subnet",
        {"AvailabilityZone": {"Fn::Select": [1, {"Fn::GetAZs": ""}]}, "MapPublicIpOnLaunch": False},
    )


def test_public_subnets_never_assign_public_ips(foundation: Template) -> None:
    subnets = foundation.find_resources("AWS::EC2::Subnet")
    assert all(not s["Properties"].get("MapPublicIpOnLaunch", False) for s in subnets.values())


def test_flow_log_captures_all_traffic_into_an_encrypted_retained_log_group(
    foundation: Template,
) -> None:
    foundation.has_resource_properties(
        "AWS::EC2::FlowLog",
        {"ResourceType": "VPC", "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"},
    )
    foundation.has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {"KmsKeyId": Match.any_value(), "RetentionInDays": 365},
            "DeletionPolicy": "Retain",
        },
    )


def test_s3_is_reached_through_a_gateway_endpoint(foundation: Template) -> None:
    foundation.has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {
            "VpcEndpointType": "Gateway",
            "ServiceName": {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".s3"]]},
        },
    )


def test_nat_less_network_gets_isolated_subnets_and_every_interface_endpoint(
    stack: cdk.Stack,
) -> None:
    key = PlatformKey(stack, "Key").key
    network = MlNetwork(stack, "Net", encryption_key=key, nat_gateways=0)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    template.resource_count_is("AWS::EC2::InternetGateway", 0)
    template.resource_count_is("AWS::EC2::VPCEndpoint", 1 + len(INTERFACE_ENDPOINT_SERVICES))
    template.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "SecurityGroupIngress": [
                Match.object_like({"FromPort": 443, "ToPort": 443, "CidrIp": Match.any_value()})
            ]
        },
    )
    assert network.private_subnets.subnet_type == ec2.SubnetType.PRIVATE_ISOLATED
    assert set(network.interface_endpoints) == set(INTERFACE_ENDPOINT_SERVICES)


def test_endpoints_default_to_none_with_nat_and_all_without() -> None:
    with_nat = network_settings(
        cidr=None, max_azs=None, nat_gateways=None, interface_endpoints=None
    )
    without = network_settings(cidr=None, max_azs=None, nat_gateways=0, interface_endpoints=None)
    assert with_nat.interface_endpoints == ()
    assert without.interface_endpoints == tuple(INTERFACE_ENDPOINT_SERVICES)
    assert (with_nat.cidr, with_nat.max_azs, with_nat.nat_gateways) == ("10.0.0.0/16", 2, 1)


def test_existing_vpc_is_used_as_is(stack: cdk.Stack) -> None:
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Existing",
        vpc_id="vpc-12345678",
        availability_zones=["us-east-1a", "us-east-1b"],
        private_subnet_ids=["subnet-1", "subnet-2"],
    )
    network = MlNetwork(stack, "Net", vpc=vpc)
    assert network.vpc is vpc
    assert network.flow_log_group is None
    Template.from_stack(stack).resource_count_is("AWS::EC2::VPC", 0)


def test_all_bad_props_are_reported_at_once(stack: cdk.Stack) -> None:
    key = PlatformKey(stack, "Key").key
    with pytest.raises(PropsValidationError) as error:
        MlNetwork(
            stack,
            "Net",
            encryption_key=key,
            cidr="10.0.0.0/8",
            max_azs=2,
            nat_gateways=3,
            interface_endpoints=["sagemaker-api", "s3-interface"],
        )
    assert error.value.problems == [
        "cidr '10.0.0.0/8' must have a prefix length from /16 to /18",
        "nat_gateways 3 must be a whole number from 0 to 2",
        "interface_endpoints entry 's3-interface' is not a known endpoint; expected one of "
        + ", ".join(INTERFACE_ENDPOINT_SERVICES),
    ]
    assert "Net" in str(error.value)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"cidr": "10.0.0.300/16"}, "cidr '10.0.0.300/16' is not an IPv4 CIDR block"),
        ({"max_azs": 1}, "max_azs 1 must be a whole number from 2 to 6"),
        ({"nat_gateways": -1}, "nat_gateways -1 must be a whole number from 0 to 2"),
    ],
)
def test_bad_props_name_prop_value_and_rule(
    stack: cdk.Stack, props: dict[str, object], message: str
) -> None:
    key = PlatformKey(stack, "Key").key
    with pytest.raises(PropsValidationError, match=message):
        MlNetwork(stack, "Net", encryption_key=key, **props)


def test_existing_vpc_conflicts_with_new_vpc_settings(stack: cdk.Stack) -> None:
    vpc = ec2.Vpc.from_vpc_attributes(
        stack, "Existing", vpc_id="vpc-12345678", availability_zones=["us-east-1a", "us-east-1b"]
    )
    with pytest.raises(
        PropsValidationError, match="'vpc' and 'nat_gateways' cannot be used together"
    ):
        MlNetwork(stack, "Net", vpc=vpc, nat_gateways=2)


def test_new_vpc_needs_a_key_for_its_flow_logs(stack: cdk.Stack) -> None:
    with pytest.raises(PropsValidationError, match="encryption_key is required for a new VPC"):
        MlNetwork(stack, "Net")


def test_a_range_too_small_for_the_subnets_is_refused(stack: cdk.Stack) -> None:
    key = PlatformKey(stack, "Key").key
    with pytest.raises(PropsValidationError) as error:
        MlNetwork(stack, "Net", encryption_key=key, cidr="10.0.0.0/18", max_azs=4)
    assert error.value.problems == [
        "cidr '10.0.0.0/18' has 16384 addresses but 4 availability zones need 17408 (a /20 "
        "private subnet each and a /24 public one); use a larger range such as /16",
        "max_azs 4 is more than the 3 availability zones the stack offers; raise "
        "MlpipesStack(availability_zone_count=...)",
    ]


def test_max_azs_beyond_the_zones_of_an_mlpipes_stack_is_refused() -> None:
    app = cdk.App()
    stack = MlpipesStack(app, "Stack", env=TEST_ENV)
    key = PlatformKey(stack, "Key").key
    with pytest.raises(PropsValidationError, match=r"max_azs 3 is more than the 2 availability"):
        MlNetwork(stack, "Net", encryption_key=key, max_azs=3)
