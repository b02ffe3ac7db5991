"""The idle-cost benchmark: costing templates from the price table, and the table itself."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from benchmarks.cost_benchmark import (
    PRICES_FILE,
    AuroraIdleStorage,
    EksIdleNodes,
    PriceTable,
    SizingCost,
    StackCost,
    cost_template,
    format_sizings,
    format_stack,
    synthesize_mlflow_sizing,
)
from tests.conftest import SynthesizedApp

HOURS = 730


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    return PriceTable.load()


def _value(prices: PriceTable, key: str) -> float:
    price = prices.get(key)
    assert price is not None, key
    return price.value


def _cost(prices: PriceTable, resources: dict[str, Any], **options: Any) -> StackCost:
    return cost_template("Test", {"Resources": resources}, prices, **options)


def _keys(cost: StackCost) -> list[str]:
    return sorted(item.price.key for item in cost.items)


NAT_EIP_RDS_ALB: dict[str, Any] = {
    "Eip": {"Type": "AWS::EC2::EIP", "Properties": {"Domain": "vpc"}},
    "Nat": {"Type": "AWS::EC2::NatGateway", "Properties": {"AllocationId": "x"}},
    "Database": {
        "Type": "AWS::RDS::DBInstance",
        "Properties": {
            "Engine": "postgres",
            "DBInstanceClass": "db.t4g.medium",
            "MultiAZ": True,
            "AllocatedStorage": "20",
            "StorageType": "gp3",
        },
    },
    "Balancer": {
        "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "Properties": {"Scheme": "internal", "Subnets": ["a", "b"]},
    },
    "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
    "Handler": {"Type": "Custom::Anything", "Properties": {}},
}


def test_nat_eip_multi_az_database_and_load_balancer_sum_to_the_table_prices(
    prices: PriceTable,
) -> None:
    cost = _cost(prices, NAT_EIP_RDS_ALB)

    expected = HOURS * (
        _value(prices, "nat_gateway")
        + _value(prices, "public_ipv4_address")
        + _value(prices, "rds_instance:postgres:db.t4g.medium:multi-az")
        + _value(prices, "load_balancer:application")
    ) + 20 * _value(prices, "rds_storage:gp3:multi-az")
    assert cost.total == pytest.approx(expected)
    assert _keys(cost) == [
        "load_balancer:application",
        "nat_gateway",
        "public_ipv4_address",
        "rds_instance:postgres:db.t4g.medium:multi-az",
        "rds_storage:gp3:multi-az",
    ]
    assert cost.unpriced == []
    assert cost.usage_only == {"AWS::IAM::Role": 1, "Custom::Anything": 1}


def test_a_single_az_database_costs_the_single_az_rates(prices: PriceTable) -> None:
    single = {
        "Database": {
            **NAT_EIP_RDS_ALB["Database"],
            "Properties": {**NAT_EIP_RDS_ALB["Database"]["Properties"], "MultiAZ": False},
        }
    }
    cost = _cost(prices, single)
    assert _keys(cost) == [
        "rds_instance:postgres:db.t4g.medium:single-az",
        "rds_storage:gp3:single-az",
    ]
    assert cost.total == pytest.approx(
        HOURS * _value(prices, "rds_instance:postgres:db.t4g.medium:single-az")
        + 20 * _value(prices, "rds_storage:gp3:single-az")
    )


def test_unknown_types_and_classes_are_reported_unpriced_not_dropped(prices: PriceTable) -> None:
    cost = _cost(
        prices,
        {
            "Warehouse": {
                "Type": "AWS::Redshift::Cluster",
                "Properties": {"NodeType": "ra3.large"},
            },
            "Big": {
                "Type": "AWS::RDS::DBInstance",
                "Properties": {
                    "Engine": "postgres",
                    "DBInstanceClass": "db.x2g.16xlarge",
                    "AllocatedStorage": "20",
                    "StorageType": "gp3",
                },
            },
            "Nat": {"Type": "AWS::EC2::NatGateway", "Properties": {}},
        },
    )

    assert [(u.logical_id, u.resource_type) for u in cost.unpriced] == [
        ("Warehouse", "AWS::Redshift::Cluster"),
        ("Big", "AWS::RDS::DBInstance"),
    ]
    assert "rds_instance:postgres:db.x2g.16xlarge:single-az" in cost.unpriced[1].reason
    # What is known is still summed; the report names what is not.
    assert cost.total == pytest.approx(
        HOURS * _value(prices, "nat_gateway") + 20 * _value(prices, "rds_storage:gp3:single-az")
    )
    assert "UNPRICED AWS::Redshift::Cluster Warehouse" in format_stack(cost)


def test_internet_facing_balancers_pay_an_address_per_zone_and_endpoints_per_subnet(
    prices: PriceTable,
) -> None:
    cost = _cost(
        prices,
        {
            "Public": {
                "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "Properties": {"Type": "network", "Subnets": ["a", "b", "c"]},
            },
            "Sts": {
                "Type": "AWS::EC2::VPCEndpoint",
                "Properties": {"VpcEndpointType": "Interface", "SubnetIds": ["a", "b"]},
            },
            "S3": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"VpcEndpointType": "Gateway"}},
        },
    )

    assert [(item.price.key, item.quantity) for item in cost.items] == [
        ("load_balancer:network", 1),
        ("public_ipv4_address", 3),
        ("vpc_interface_endpoint", 2),
    ]
    assert cost.total == pytest.approx(
        HOURS
        * (
            _value(prices, "load_balancer:network")
            + 3 * _value(prices, "public_ipv4_address")
            + 2 * _value(prices, "vpc_interface_endpoint")
        )
    )
    assert cost.usage_only == {"AWS::EC2::VPCEndpoint (Gateway)": 1}


def test_an_auto_scaling_group_costs_its_launch_template_instances_and_volumes(
    prices: PriceTable,
) -> None:
    cost = _cost(
        prices,
        {
            "Template": {
                "Type": "AWS::EC2::LaunchTemplate",
                "Properties": {
                    "LaunchTemplateData": {
                        "InstanceType": "t4g.small",
                        "BlockDeviceMappings": [{"Ebs": {"VolumeSize": 30, "VolumeType": "gp3"}}],
                    }
                },
            },
            "Group": {
                "Type": "AWS::AutoScaling::AutoScalingGroup",
                "Properties": {
                    "MinSize": "2",
                    "MaxSize": "4",
                    "LaunchTemplate": {"LaunchTemplateId": {"Ref": "Template"}},
                },
            },
        },
    )

    assert [(item.price.key, item.quantity) for item in cost.items] == [
        ("ec2_instance:t4g.small", 2),
        ("ebs_volume:gp3", 60),
    ]
    assert cost.total == pytest.approx(
        2 * HOURS * _value(prices, "ec2_instance:t4g.small") + 60 * _value(prices, "ebs_volume:gp3")
    )


def test_an_alarm_pays_per_metric_and_more_at_high_resolution(prices: PriceTable) -> None:
    math = {
        "Metrics": [
            {"Id": "e", "Expression": "a + b"},
            {"Id": "a", "MetricStat": {"Period": 60}},
            {"Id": "b", "MetricStat": {"Period": 60}},
        ]
    }
    cost = _cost(
        prices,
        {
            "Math": {"Type": "AWS::CloudWatch::Alarm", "Properties": math},
            "Fast": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Period": 10}},
        },
    )

    assert [(item.price.key, item.quantity) for item in cost.items] == [
        ("cloudwatch_alarm:standard", 2),
        ("cloudwatch_alarm:high_resolution", 1),
    ]


def test_an_mwaa_environment_pays_for_capacity_beyond_what_its_class_includes(
    prices: PriceTable,
) -> None:
    def environment(**properties: Any) -> dict[str, Any]:
        return {
            "Environment": {
                "Type": "AWS::MWAA::Environment",
                "Properties": {"EnvironmentClass": "mw1.small", **properties},
            }
        }

    defaults = _cost(prices, environment(MinWorkers=1, Schedulers=2, MinWebservers=2))
    assert _keys(defaults) == ["mwaa_environment:mw1.small"]

    larger = _cost(prices, environment(MinWorkers=3, Schedulers=3, MinWebservers=2))
    assert [(item.price.key, item.quantity) for item in larger.items] == [
        ("mwaa_environment:mw1.small", 1),
        ("mwaa_additional_worker:mw1.small", 2),
        ("mwaa_additional_scheduler:mw1.small", 1),
    ]


def test_an_auto_mode_cluster_states_its_assumed_idle_nodes(prices: PriceTable) -> None:
    cluster = {"Type": "AWS::EKS::Cluster", "Properties": {"ComputeConfig": {"Enabled": True}}}
    nodes = EksIdleNodes(count=2, instance_type="m5.large", root_volume_gb=40)
    cost = _cost(prices, {"Cluster": cluster}, eks_nodes=nodes)

    assert [(item.price.key, item.quantity) for item in cost.items] == [
        ("eks_cluster:standard", 1),
        ("ec2_instance:m5.large", 2),
        ("eks_auto_mode:m5.large", 2),
        ("ebs_volume:gp3", 80),
    ]
    assert len(cost.assumptions) == 1
    assert "2 idle node(s) of m5.large" in cost.assumptions[0]

    plain = _cost(prices, {"Cluster": {"Type": "AWS::EKS::Cluster", "Properties": {}}})
    assert _keys(plain) == ["eks_cluster:standard"]
    assert plain.assumptions == []


def test_every_price_has_a_unit_a_positive_value_a_source_and_a_date() -> None:
    table = PriceTable.load(PRICES_FILE)
    assert table.region == "us-east-1"
    assert table.hours_per_month == HOURS
    problems = []
    for key, price in table.prices.items():
        if not price.unit or price.value <= 0:
            problems.append(f"{key}: unit {price.unit!r}, value {price.value}")
        if not price.source.startswith("https://aws.amazon.com/"):
            problems.append(f"{key}: source {price.source!r} is not an AWS pricing page")
        if price.billing not in ("idle", "usage"):
            problems.append(f"{key}: billing {price.billing!r}")
        if not (
            price.checked == "not verified" or re.fullmatch(r"search: https://\S+", price.checked)
        ):
            problems.append(f"{key}: checked {price.checked!r}")
        date.fromisoformat(price.taken)
    assert problems == []


def test_the_table_covers_the_idle_charges_the_issue_names(prices: PriceTable) -> None:
    required = [
        "nat_gateway",
        "public_ipv4_address",
        "rds_instance:postgres:db.t4g.medium:multi-az",
        "rds_instance:mysql:db.t4g.medium:multi-az",
        "rds_storage:gp3:multi-az",
        "aurora_serverless_v2_acu",
        "aurora_storage:standard",
        "ec2_instance:m7g.large",
        "ec2_instance:t4g.medium",
        "ebs_volume:gp3",
        "load_balancer:application",
        "load_balancer:network",
        "kms_key",
        "secretsmanager_secret",
        "cloudwatch_alarm:standard",
        "vpc_interface_endpoint",
        "eks_cluster:standard",
        *(f"mwaa_environment:mw1.{size}" for size in ("micro", "small", "medium", "large")),
        *(f"mwaa_environment:mw1.{size}" for size in ("xlarge", "2xlarge")),
    ]
    assert [key for key in required if prices.get(key) is None] == []


def test_every_bundled_stack_is_costed_without_unpriced_resources(
    bundled_app: SynthesizedApp, prices: PriceTable
) -> None:
    unpriced = {
        key: [(u.resource_type, u.logical_id, u.reason) for u in cost.unpriced]
        for key in bundled_app.stacks
        if (cost := cost_template(key, bundled_app.template(key), prices)).unpriced
    }
    assert unpriced == {}


SERVERLESS_CLUSTER: dict[str, Any] = {
    "Cluster": {
        "Type": "AWS::RDS::DBCluster",
        "Properties": {
            "Engine": "aurora-postgresql",
            "ServerlessV2ScalingConfiguration": {"MinCapacity": 0, "MaxCapacity": 4},
            "StorageType": "aurora",
        },
    },
    "Writer": {
        "Type": "AWS::RDS::DBInstance",
        "Properties": {
            "Engine": "aurora-postgresql",
            "DBInstanceClass": "db.serverless",
            "DBClusterIdentifier": {"Ref": "Cluster"},
        },
    },
}


def test_a_pausing_serverless_cluster_costs_its_assumed_storage_only(prices: PriceTable) -> None:
    cost = _cost(prices, SERVERLESS_CLUSTER)
    assert _keys(cost) == ["aurora_serverless_v2_acu", "aurora_storage:standard"]
    assert cost.total == pytest.approx(20 * _value(prices, "aurora_storage:standard"))
    assert "pauses when idle" in cost.items[0].description
    assert cost.items[0].monthly == 0
    (assumption,) = cost.assumptions
    assert assumption.startswith("Cluster: Aurora storage: 20 GB stored, assumed")
    assert cost.usage_only["AWS::RDS::DBInstance (Aurora Serverless v2)"] == 1
    assert cost.usage_only["AWS::RDS::DBCluster (Aurora Standard I/O)"] == 1

    smaller = _cost(prices, SERVERLESS_CLUSTER, aurora_storage=AuroraIdleStorage(gb=2))
    assert smaller.total == pytest.approx(2 * _value(prices, "aurora_storage:standard"))


def test_a_serverless_minimum_above_zero_bills_every_hour_and_io_optimized_storage_its_rate(
    prices: PriceTable,
) -> None:
    cluster = json.loads(json.dumps(SERVERLESS_CLUSTER))
    properties = cluster["Cluster"]["Properties"]
    properties["ServerlessV2ScalingConfiguration"]["MinCapacity"] = 0.5
    properties["StorageType"] = "aurora-iopt1"
    cost = _cost(prices, cluster)
    assert _keys(cost) == ["aurora_serverless_v2_acu", "aurora_storage:io-optimized"]
    assert cost.total == pytest.approx(
        0.5 * HOURS * _value(prices, "aurora_serverless_v2_acu")
        + 20 * _value(prices, "aurora_storage:io-optimized")
    )
    assert "AWS::RDS::DBCluster (Aurora Standard I/O)" not in cost.usage_only


def test_sizings_print_each_stack_the_sum_and_the_share_of_the_baseline(
    prices: PriceTable,
) -> None:
    nat = {"Nat": NAT_EIP_RDS_ALB["Nat"]}
    foundation = _cost(prices, nat)
    rows = [
        SizingCost("PRODUCTION", _cost(prices, NAT_EIP_RDS_ALB), foundation),
        SizingCost("SMALL_TEAM", _cost(prices, SERVERLESS_CLUSTER), foundation),
    ]
    text = format_sizings(rows, baseline="PRODUCTION")
    header, columns, production, small = text.splitlines()
    assert "Foundation" in header and columns.split()[-1] == "PRODUCTION"
    assert production.split()[-1] == "100.0%"
    share = 100 * rows[1].total / rows[0].total
    assert small.split() == [
        "SMALL_TEAM",
        f"${rows[1].mlflow.total:,.2f}",
        f"${foundation.total:,.2f}",
        f"${rows[1].total:,.2f}",
        f"{share:.1f}%",
    ]


@pytest.fixture(scope="module")
def production_costs(tmp_path_factory: pytest.TempPathFactory, prices: PriceTable) -> SizingCost:
    outdir = tmp_path_factory.mktemp("production")
    foundation, mlflow = synthesize_mlflow_sizing(outdir, "PRODUCTION")

    def cost(path: Path) -> StackCost:
        return cost_template(path.name, json.loads(path.read_text(encoding="utf-8")), prices)

    return SizingCost("PRODUCTION", cost(mlflow), cost(foundation))


def test_default_mlflow_costs_at_most_40_percent_of_the_production_sizing_idle(
    bundled_app: SynthesizedApp, prices: PriceTable, production_costs: SizingCost
) -> None:
    """Issue 14's goal: the default MLflow server with its foundation idles at no more than
    40% of the provisioned, always-on profile, counted the same way."""
    default = SizingCost(
        "SMALL_TEAM",
        cost_template("mlflow", bundled_app.template("mlflow"), prices),
        cost_template("foundation", bundled_app.template("foundation"), prices),
    )
    assert default.mlflow.unpriced == []
    assert production_costs.mlflow.unpriced == []
    assert default.foundation.total == pytest.approx(production_costs.foundation.total)
    assert default.total <= 0.4 * production_costs.total
    keys = set(_keys(production_costs.mlflow))
    assert "rds_instance:postgres:db.t4g.medium:multi-az" in keys
    assert "ec2_instance:m7g.large" in keys
    default_keys = set(_keys(default.mlflow))
    assert {"aurora_serverless_v2_acu", "ec2_instance:t4g.medium"} <= default_keys
    assert not any(key.startswith("rds_instance:") for key in default_keys)
