"""Idle-cost benchmark: what each stack of the bundled app costs a month while nothing runs.

Run with ``make cost`` (or ``.venv/bin/python benchmarks/cost_benchmark.py``). The app is
synthesized in-process with every catalog stack (opt-in ones included) at the settings of
``cdk.json``, in us-east-1 and with no credentials; each stack is then costed from its template
alone, with the list prices of ``benchmarks/prices.json``.

Idle means deployed and unused: instances, databases, load balancers, NAT gateways, addresses,
keys, secrets, alarms, control planes and environments bill by the hour or month whether work
runs or not. Traffic, requests, storage that grows with use and jobs that run are usage and are
not summed. A resource type the costing does not know is listed as unpriced, never dropped.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import textwrap
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PRICES_FILE = Path(__file__).resolve().parent / "prices.json"

#: Resource types that bill nothing while idle, with why. Anything not here and not costed
#: below is reported as unpriced.
NO_IDLE_COST: Mapping[str, str] = {
    "AWS::AutoScaling::LaunchConfiguration": "billed through the instances launched from it",
    "AWS::CDK::Metadata": "CDK bookkeeping",
    "AWS::CloudFormation::CustomResource": "a custom resource: its handler runs at deploy time",
    "AWS::Cognito::UserPool": "billed per monthly active user",
    "AWS::Cognito::UserPoolClient": "no charge",
    "AWS::Cognito::UserPoolDomain": "no charge",
    "AWS::Cognito::UserPoolGroup": "no charge",
    "AWS::EC2::FlowLog": "log delivery is usage",
    "AWS::EC2::InternetGateway": "no charge",
    "AWS::EC2::LaunchTemplate": "billed through the instances launched from it",
    "AWS::EC2::Route": "no charge",
    "AWS::EC2::RouteTable": "no charge",
    "AWS::EC2::SecurityGroup": "no charge",
    "AWS::EC2::SecurityGroupEgress": "no charge",
    "AWS::EC2::SecurityGroupIngress": "no charge",
    "AWS::EC2::Subnet": "no charge",
    "AWS::EC2::SubnetRouteTableAssociation": "no charge",
    "AWS::EC2::VPC": "no charge",
    "AWS::EC2::VPCGatewayAttachment": "no charge",
    "AWS::EKS::AccessEntry": "no charge",
    "AWS::EKS::PodIdentityAssociation": "no charge",
    "AWS::ElasticLoadBalancingV2::Listener": "billed through its load balancer",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "billed through its load balancer",
    "AWS::Events::Rule": "billed per event",
    "AWS::IAM::InstanceProfile": "no charge",
    "AWS::IAM::ManagedPolicy": "no charge",
    "AWS::IAM::Policy": "no charge",
    "AWS::IAM::Role": "no charge",
    "AWS::KMS::Alias": "no charge",
    "AWS::Lambda::Function": "billed per request and GB-second",
    "AWS::Lambda::EventSourceMapping": "no charge beyond the queue's requests",
    "AWS::Lambda::LayerVersion": "no charge beyond code storage",
    "AWS::Lambda::Permission": "no charge",
    "AWS::Logs::LogGroup": "ingestion and storage are usage",
    "AWS::MWAAServerless::Workflow": "billed per task-minute run",
    "AWS::RDS::DBParameterGroup": "no charge",
    "AWS::RDS::DBClusterParameterGroup": "no charge",
    "AWS::RDS::DBSubnetGroup": "no charge",
    "AWS::S3::Bucket": "storage and requests are usage",
    "AWS::S3::BucketPolicy": "no charge",
    "AWS::SNS::Topic": "billed per request and delivery",
    "AWS::SNS::TopicPolicy": "no charge",
    "AWS::SQS::Queue": (
        "billed per request; Lambda's pollers long-poll an idle queue (about 0.65 million "
        "requests a month, within SQS's free million)"
    ),
    "AWS::SQS::QueuePolicy": "no charge",
    "AWS::SSM::Parameter": "standard parameters are free",
    "AWS::SageMaker::FeatureGroup": "reads, writes and storage are usage",
    "AWS::SageMaker::HumanTaskUi": "A2I bills per reviewed object",
    "AWS::SageMaker::ModelPackageGroup": "no charge",
    "AWS::SageMaker::Pipeline": "the jobs it starts bill while they run",
    "AWS::SageMaker::Workforce": "no charge",
    "AWS::SageMaker::Workteam": "A2I bills per reviewed object",
    "AWS::SecretsManager::SecretTargetAttachment": "no charge",
    "AWS::StepFunctions::StateMachine": "billed per state transition",
}
#: ``Custom::*`` types are custom resources: their handler runs at deploy time.
CUSTOM_RESOURCE_PREFIX = "Custom::"


@dataclass(frozen=True)
class EksIdleNodes:
    """The nodes an EKS Auto Mode cluster is assumed to keep running while idle.

    Auto Mode starts nodes for the pods scheduled on the cluster, so the template does not
    say how many there are. The Kubeflow stack's Helm chart runs 12 Deployments that request
    about 0.5 vCPU and 2 GiB in all (no persistent volumes, no load balancer services), which
    fits on one 2-vCPU, 8-GiB node of the general-purpose pool. Auto Mode may choose a cheaper
    instance type; pipeline runs add nodes while they run (usage).
    """

    count: int = 1
    instance_type: str = "m6i.large"
    root_volume_gb: int = 80
    root_volume_type: str = "gp3"

    def describe(self) -> str:
        return (
            f"EKS Auto Mode: {self.count} idle node(s) of {self.instance_type}, each with a "
            f"{self.root_volume_type} volume of {self.root_volume_gb} GB, assumed (the chart's "
            "pods fit on one general-purpose node; Auto Mode picks the type at run time)"
        )


@dataclass(frozen=True)
class AuroraIdleStorage:
    """The data an Aurora cluster is assumed to hold while idle.

    Aurora bills the bytes stored, not an allocation, so the template does not say how much.
    The default is the 20 GB a provisioned RDS database of the same stack allocates (the MLflow
    server's ``MlflowSizing.PRODUCTION``), so the two compare like for like; a new MLflow store
    holds far less. Backups up to the cluster's size are included in the price.
    """

    gb: float = 20

    def describe(self) -> str:
        return (
            f"Aurora storage: {self.gb:g} GB stored, assumed (the allocation of the provisioned "
            "RDS alternative; Aurora bills what is stored and grows on its own)"
        )


@dataclass(frozen=True)
class Price:
    """One list price of the table."""

    key: str
    unit: str
    value: float
    billing: str
    source: str
    taken: str
    checked: str
    note: str = ""


@dataclass(frozen=True)
class PriceTable:
    """The price table of ``prices.json``: us-east-1 on-demand list prices."""

    region: str
    hours_per_month: float
    prices: Mapping[str, Price]

    @classmethod
    def load(cls, path: Path = PRICES_FILE) -> PriceTable:
        document = json.loads(path.read_text(encoding="utf-8"))
        return cls.from_document(document)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> PriceTable:
        prices = {
            key: Price(
                key=key,
                unit=entry["unit"],
                value=float(entry["value"]),
                billing=entry["billing"],
                source=entry["source"],
                taken=entry["taken"],
                checked=entry["checked"],
                note=entry.get("note", ""),
            )
            for key, entry in document["prices"].items()
        }
        return cls(
            region=str(document["region"]),
            hours_per_month=float(document["hours_per_month"]),
            prices=prices,
        )

    def get(self, key: str) -> Price | None:
        return self.prices.get(key)


@dataclass(frozen=True)
class LineItem:
    """``quantity`` of a priced unit for ``hours`` a month (1 for a monthly unit)."""

    description: str
    price: Price
    quantity: float
    hours: float

    @property
    def monthly(self) -> float:
        return self.quantity * self.price.value * self.hours


@dataclass(frozen=True)
class Unpriced:
    """A resource that may cost money while idle but that the table cannot price."""

    logical_id: str
    resource_type: str
    reason: str


@dataclass
class StackCost:
    """The idle monthly cost of one template."""

    name: str
    items: list[LineItem] = field(default_factory=list)
    unpriced: list[Unpriced] = field(default_factory=list)
    usage_only: Counter[str] = field(default_factory=Counter)
    assumptions: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(item.monthly for item in self.items)


class _Costing:
    """Costs one template's resources into a ``StackCost``."""

    def __init__(
        self,
        name: str,
        template: Mapping[str, Any],
        prices: PriceTable,
        eks_nodes: EksIdleNodes,
        aurora_storage: AuroraIdleStorage,
    ) -> None:
        self.resources: Mapping[str, Any] = template.get("Resources", {})
        self.prices = prices
        self.eks_nodes = eks_nodes
        self.aurora_storage = aurora_storage
        self.cost = StackCost(name)
        self.handlers: dict[str, Callable[[str, Mapping[str, Any]], None]] = {
            "AWS::EC2::NatGateway": self._nat_gateway,
            "AWS::EC2::EIP": self._elastic_ip,
            "AWS::EC2::VPCEndpoint": self._vpc_endpoint,
            "AWS::EC2::Instance": self._instance,
            "AWS::EC2::Volume": self._volume,
            "AWS::AutoScaling::AutoScalingGroup": self._auto_scaling_group,
            "AWS::RDS::DBInstance": self._db_instance,
            "AWS::RDS::DBCluster": self._db_cluster,
            "AWS::ElasticLoadBalancingV2::LoadBalancer": self._load_balancer,
            "AWS::KMS::Key": self._monthly("kms_key", "KMS key"),
            "AWS::SecretsManager::Secret": self._monthly("secretsmanager_secret", "secret"),
            "AWS::CloudWatch::Alarm": self._alarm,
            "AWS::EKS::Cluster": self._eks_cluster,
            "AWS::MWAA::Environment": self._mwaa_environment,
        }

    def run(self) -> StackCost:
        for logical_id, resource in self.resources.items():
            resource_type = resource["Type"]
            properties = resource.get("Properties", {})
            handler = self.handlers.get(resource_type)
            if handler is not None:
                handler(logical_id, properties)
            elif resource_type in NO_IDLE_COST or resource_type.startswith(CUSTOM_RESOURCE_PREFIX):
                self.cost.usage_only[resource_type] += 1
            else:
                self._unpriced(
                    logical_id,
                    resource_type,
                    "no price in the table and not known to be free while idle",
                )
        return self.cost

    # -- helpers

    def _add(
        self, logical_id: str, resource_type: str, key: str, quantity: float, what: str
    ) -> bool:
        """Add ``quantity`` of price ``key``; an unknown key makes the resource unpriced."""
        price = self.prices.get(key)
        if price is None:
            self._unpriced(logical_id, resource_type, f"no price '{key}' in the table")
            return False
        hours = self.prices.hours_per_month if price.unit.endswith("hour") else 1.0
        self.cost.items.append(LineItem(f"{what} ({logical_id:.32})", price, quantity, hours))
        return True

    def _unpriced(self, logical_id: str, resource_type: str, reason: str) -> None:
        self.cost.unpriced.append(Unpriced(logical_id, resource_type, reason))

    def _monthly(self, key: str, what: str) -> Callable[[str, Mapping[str, Any]], None]:
        def handler(logical_id: str, properties: Mapping[str, Any]) -> None:
            resource_type = self.resources[logical_id]["Type"]
            self._add(logical_id, resource_type, key, 1, what)

        return handler

    def _volumes(
        self, logical_id: str, resource_type: str, mappings: Iterable[Any], count: float
    ) -> None:
        for mapping in mappings:
            ebs = mapping.get("Ebs") if isinstance(mapping, Mapping) else None
            if not isinstance(ebs, Mapping):
                continue
            size = _number(ebs.get("VolumeSize"))
            if size is None:
                self._unpriced(logical_id, resource_type, "an EBS volume without a literal size")
                continue
            kind = str(ebs.get("VolumeType", "gp2"))
            self._add(
                logical_id,
                resource_type,
                f"ebs_volume:{kind}",
                count * size,
                f"EBS {kind}, {count:g} x {size:g} GB",
            )

    # -- handlers

    def _nat_gateway(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        self._add(logical_id, "AWS::EC2::NatGateway", "nat_gateway", 1, "NAT gateway")

    def _elastic_ip(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        self._add(logical_id, "AWS::EC2::EIP", "public_ipv4_address", 1, "Elastic IP (IPv4)")

    def _vpc_endpoint(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        kind = properties.get("VpcEndpointType", "Gateway")
        if kind == "Gateway":
            self.cost.usage_only["AWS::EC2::VPCEndpoint (Gateway)"] += 1
            return
        subnets = properties.get("SubnetIds")
        if kind != "Interface" or not isinstance(subnets, list):
            self._unpriced(
                logical_id, "AWS::EC2::VPCEndpoint", f"a {kind} endpoint without a subnet list"
            )
            return
        self._add(
            logical_id,
            "AWS::EC2::VPCEndpoint",
            "vpc_interface_endpoint",
            len(subnets),
            f"interface endpoint x {len(subnets)} AZ",
        )

    def _instance(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        self._instances(logical_id, "AWS::EC2::Instance", properties, 1)

    def _instances(
        self, logical_id: str, resource_type: str, data: Mapping[str, Any], count: float
    ) -> None:
        instance_type = data.get("InstanceType")
        if not isinstance(instance_type, str):
            self._unpriced(logical_id, resource_type, "no literal instance type")
            return
        self._add(
            logical_id,
            resource_type,
            f"ec2_instance:{instance_type}",
            count,
            f"EC2 {instance_type} x {count:g}",
        )
        self._volumes(logical_id, resource_type, data.get("BlockDeviceMappings", []), count)

    def _volume(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        self._volumes(logical_id, "AWS::EC2::Volume", [{"Ebs": properties}], 1)

    def _auto_scaling_group(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        resource_type = "AWS::AutoScaling::AutoScalingGroup"
        count = _number(properties.get("DesiredCapacity", properties.get("MinSize")))
        template_ref = properties.get("LaunchTemplate", {}).get("LaunchTemplateId", {})
        launch_template = self.resources.get(
            template_ref.get("Ref", "") if isinstance(template_ref, Mapping) else "", {}
        )
        data = launch_template.get("Properties", {}).get("LaunchTemplateData")
        if count is None or not isinstance(data, Mapping):
            self._unpriced(
                logical_id,
                resource_type,
                "no literal desired capacity, or no launch template in this stack",
            )
            return
        self._instances(logical_id, resource_type, data, count)

    def _db_instance(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        resource_type = "AWS::RDS::DBInstance"
        engine = str(properties.get("Engine", ""))
        instance_class = str(properties.get("DBInstanceClass", ""))
        if "DBClusterIdentifier" in properties or engine.startswith("aurora"):
            if instance_class == "db.serverless":
                self.cost.usage_only["AWS::RDS::DBInstance (Aurora Serverless v2)"] += 1
                return
            flavour = "postgres" if "postgres" in engine else "mysql"
            self._add(
                logical_id,
                resource_type,
                f"aurora_instance:{flavour}:{instance_class}",
                1,
                f"Aurora {engine} {instance_class}",
            )
            return
        placement = "multi-az" if properties.get("MultiAZ") in (True, "true") else "single-az"
        self._add(
            logical_id,
            resource_type,
            f"rds_instance:{engine}:{instance_class}:{placement}",
            1,
            f"RDS {engine} {instance_class} {placement}",
        )
        storage = _number(properties.get("AllocatedStorage"))
        kind = str(properties.get("StorageType", "io1" if "Iops" in properties else "gp2"))
        if storage is None:
            self._unpriced(logical_id, resource_type, "no literal allocated storage")
            return
        if "Iops" in properties and kind != "gp3":
            self._unpriced(logical_id, resource_type, "provisioned IOPS are not in the table")
        self._add(
            logical_id,
            resource_type,
            f"rds_storage:{kind}:{placement}",
            storage,
            f"RDS {kind} storage {storage:g} GB {placement}",
        )

    def _db_cluster(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        resource_type = "AWS::RDS::DBCluster"
        engine = str(properties.get("Engine", ""))
        if not engine.startswith("aurora"):
            self._unpriced(logical_id, resource_type, f"a {engine} Multi-AZ DB cluster")
            return
        scaling = properties.get("ServerlessV2ScalingConfiguration")
        if isinstance(scaling, Mapping):
            minimum = _number(scaling.get("MinCapacity"))
            if minimum is None:
                self._unpriced(logical_id, resource_type, "no literal minimum capacity")
            else:
                paused = " (pauses when idle)" if minimum == 0 else ""
                self._add(
                    logical_id,
                    resource_type,
                    "aurora_serverless_v2_acu",
                    minimum,
                    f"Aurora Serverless v2 at its minimum {minimum:g} ACU{paused}",
                )
        # Aurora Standard unless the template says I/O-Optimized (``aurora-iopt1``).
        storage_type = str(properties.get("StorageType", "aurora"))
        kind = {"aurora": "standard", "aurora-iopt1": "io-optimized"}.get(
            storage_type, storage_type
        )
        gb = self.aurora_storage.gb
        if self._add(
            logical_id,
            resource_type,
            f"aurora_storage:{kind}",
            gb,
            f"Aurora {kind} storage {gb:g} GB (assumed)",
        ):
            self.cost.assumptions.append(f"{logical_id}: {self.aurora_storage.describe()}")
        if kind == "standard":
            self.cost.usage_only["AWS::RDS::DBCluster (Aurora Standard I/O)"] += 1

    def _load_balancer(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        resource_type = "AWS::ElasticLoadBalancingV2::LoadBalancer"
        kind = str(properties.get("Type", "application"))
        if not self._add(
            logical_id, resource_type, f"load_balancer:{kind}", 1, f"{kind} load balancer"
        ):
            return
        if properties.get("Scheme", "internet-facing") == "internet-facing":
            subnets = properties.get("Subnets", properties.get("SubnetMappings"))
            if not isinstance(subnets, list):
                self._unpriced(logical_id, resource_type, "internet-facing without a subnet list")
                return
            self._add(
                logical_id,
                resource_type,
                "public_ipv4_address",
                len(subnets),
                f"load balancer public IPv4 x {len(subnets)} AZ",
            )

    def _alarm(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        metrics = properties.get("Metrics")
        if isinstance(metrics, list):
            stats = [metric["MetricStat"] for metric in metrics if "MetricStat" in metric]
            count = len(stats)
            periods = [_number(stat.get("Period")) for stat in stats]
        else:
            count = 1
            periods = [_number(properties.get("Period"))]
        fast = any(period is not None and period < 60 for period in periods)
        kind = "high_resolution" if fast else "standard"
        self._add(
            logical_id,
            "AWS::CloudWatch::Alarm",
            f"cloudwatch_alarm:{kind}",
            count,
            f"alarm, {count} metric(s), {kind.replace('_', ' ')}",
        )

    def _eks_cluster(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        resource_type = "AWS::EKS::Cluster"
        self._add(logical_id, resource_type, "eks_cluster:standard", 1, "EKS control plane")
        compute = properties.get("ComputeConfig")
        if not (isinstance(compute, Mapping) and compute.get("Enabled") in (True, "true")):
            return
        nodes = self.eks_nodes
        self.cost.assumptions.append(f"{logical_id}: {nodes.describe()}")
        self._add(
            logical_id,
            resource_type,
            f"ec2_instance:{nodes.instance_type}",
            nodes.count,
            f"EKS Auto Mode node {nodes.instance_type} x {nodes.count} (assumed)",
        )
        self._add(
            logical_id,
            resource_type,
            f"eks_auto_mode:{nodes.instance_type}",
            nodes.count,
            f"EKS Auto Mode fee {nodes.instance_type} x {nodes.count} (assumed)",
        )
        self._add(
            logical_id,
            resource_type,
            f"ebs_volume:{nodes.root_volume_type}",
            nodes.count * nodes.root_volume_gb,
            f"EKS Auto Mode node volume {nodes.count} x {nodes.root_volume_gb} GB (assumed)",
        )

    def _mwaa_environment(self, logical_id: str, properties: Mapping[str, Any]) -> None:
        resource_type = "AWS::MWAA::Environment"
        environment_class = str(properties.get("EnvironmentClass", "mw1.small"))
        micro = environment_class == "mw1.micro"
        self._add(
            logical_id,
            resource_type,
            f"mwaa_environment:{environment_class}",
            1,
            f"MWAA environment {environment_class}",
        )
        # What the environment price includes (MWAA's defaults); more bills as extra capacity.
        included = {"worker": 1, "scheduler": 1 if micro else 2, "web_server": 1 if micro else 2}
        configured = {
            "worker": _number(properties.get("MinWorkers", 1)),
            "scheduler": _number(properties.get("Schedulers", included["scheduler"])),
            "web_server": _number(properties.get("MinWebservers", included["web_server"])),
        }
        for part, count in configured.items():
            if count is None:
                self._unpriced(logical_id, resource_type, f"no literal {part} count")
                continue
            extra = count - included[part]
            if extra > 0:
                self._add(
                    logical_id,
                    resource_type,
                    f"mwaa_additional_{part}:{environment_class}",
                    extra,
                    f"MWAA additional {part.replace('_', ' ')} x {extra:g}",
                )
        self.cost.usage_only["AWS::MWAA::Environment (metadata storage, extra workers)"] += 1


def _number(value: Any) -> float | None:
    """A literal number of a template (CloudFormation often writes them as strings)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def cost_template(
    name: str,
    template: Mapping[str, Any],
    prices: PriceTable,
    *,
    eks_nodes: EksIdleNodes | None = None,
    aurora_storage: AuroraIdleStorage | None = None,
) -> StackCost:
    """The idle monthly cost of a synthesized template, from the template alone.

    Args:
        name: the stack's name, for the report.
        template: the CloudFormation template.
        prices: the price table.
        eks_nodes: the nodes an EKS Auto Mode cluster keeps while idle. Default: one
            m6i.large node with an 80 GB gp3 volume (see ``EksIdleNodes``).
        aurora_storage: the data an Aurora cluster holds while idle. Default: 20 GB (see
            ``AuroraIdleStorage``).
    """
    return _Costing(
        name, template, prices, eks_nodes or EksIdleNodes(), aurora_storage or AuroraIdleStorage()
    ).run()


@dataclass(frozen=True)
class SizingCost:
    """The MLflow stack at one sizing profile, with the foundation stack it needs."""

    sizing: str
    mlflow: StackCost
    foundation: StackCost

    @property
    def total(self) -> float:
        return self.mlflow.total + self.foundation.total


def format_sizings(rows: Iterable[SizingCost], *, baseline: str) -> str:
    """Each sizing's Mlflow, Foundation and combined idle cost, and its share of ``baseline``'s."""
    rows = list(rows)
    reference = next(row.total for row in rows if row.sizing == baseline)
    lines = [
        "MLflow idle cost by sizing profile (the Mlflow stack plus the Foundation stack it "
        "runs on: VPC, NAT gateway, key)",
        f"  {'sizing':<32}{'Mlflow':>12}{'Foundation':>12}{'together':>12}  of {baseline}",
    ]
    for row in rows:
        amounts = "".join(
            f"{f'${amount:,.2f}':>12}"
            for amount in (row.mlflow.total, row.foundation.total, row.total)
        )
        lines.append(f"  {row.sizing:<32}{amounts}  {100 * row.total / reference:.1f}%")
    return "\n".join(lines)


def format_stack(cost: StackCost) -> str:
    """A stack's line items, total, unpriced resources and assumptions as text."""
    lines = [cost.name]
    for item in cost.items:
        hours = f" x {item.hours:g} h" if item.hours != 1 else ""
        per = f"/{item.price.unit}{hours}"
        lines.append(
            f"  {item.description:<64.64}{item.quantity:>6g} x ${item.price.value:<8g}"
            f"{per:<34}${item.monthly:>9.2f}"
        )
    lines.append(f"  {'total per month':<115}${cost.total:>9.2f}")
    for unpriced in cost.unpriced:
        lines.append(
            f"  UNPRICED {unpriced.resource_type} {unpriced.logical_id}: {unpriced.reason}"
        )
    for assumption in cost.assumptions:
        lines.extend(
            textwrap.wrap(
                f"assumption: {assumption}",
                124,
                initial_indent="  ",
                subsequent_indent="    ",
                break_on_hyphens=False,
            )
        )
    if cost.usage_only:
        usage = ", ".join(f"{kind}={count}" for kind, count in sorted(cost.usage_only.items()))
        lines.extend(
            textwrap.wrap(
                f"usage-billed or free, not summed: {usage}",
                124,
                initial_indent="  ",
                subsequent_indent="    ",
                break_on_hyphens=False,
            )
        )
    return "\n".join(lines)


def synthesize_all(outdir: Path) -> tuple[dict[str, Path], tuple[str, ...]]:
    """Synthesize every catalog stack at cdk.json's settings in us-east-1.

    Returns each stack key's template path, and the stack keys of cdk.json's default list.
    """
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    os.environ.setdefault("CDK_VALIDATION", "false")
    sys.path.insert(0, str(ROOT))
    import aws_cdk as cdk

    from mlpipes_app import STACK_CATALOG, AppConfig, build_app
    from mlpipes_app.config import PLACEHOLDER_ACCOUNT, cdk_json_context

    app = cdk.App(context=cdk_json_context(), outdir=str(outdir))
    configured = AppConfig.from_context(app)
    # cdk-nag adds findings, not resources: leave the packs out of a costing run.
    config = dataclasses.replace(
        configured,
        stacks=tuple(entry.key for entry in STACK_CATALOG),
        compliance_checks=False,
    )
    env = cdk.Environment(account=PLACEHOLDER_ACCOUNT, region="us-east-1")
    stacks = build_app(app, config, env=env)
    app.synth()
    paths = {
        entry.key: outdir / stack.template_file
        for entry, stack in zip(STACK_CATALOG, stacks, strict=True)
    }
    return paths, configured.stacks


def synthesize_mlflow_sizing(outdir: Path, sizing_name: str) -> tuple[Path, Path]:
    """The Foundation and Mlflow stacks at cdk.json's settings in us-east-1, the MLflow server at
    ``MlflowSizing.<sizing_name>``; returns their template paths."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    os.environ.setdefault("CDK_VALIDATION", "false")
    sys.path.insert(0, str(ROOT))
    import aws_cdk as cdk

    from mlpipes_app.config import PLACEHOLDER_ACCOUNT, cdk_json_context
    from mlpipes_constructs.mlflow import MlflowSizing
    from mlpipes_constructs.stacks import FoundationStack, MlflowStack

    app = cdk.App(context=cdk_json_context(), outdir=str(outdir))
    env = cdk.Environment(account=PLACEHOLDER_ACCOUNT, region="us-east-1")
    foundation = FoundationStack(app, f"mlpipes-Foundation-{sizing_name}", env=env)
    mlflow = MlflowStack(
        app,
        f"mlpipes-Mlflow-{sizing_name}",
        env=env,
        foundation=foundation.resources,
        sizing=getattr(MlflowSizing, sizing_name),
    )
    app.synth()
    return outdir / foundation.template_file, outdir / mlflow.template_file


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prices", type=Path, default=PRICES_FILE, help="the price table")
    args = parser.parse_args()
    prices = PriceTable.load(args.prices)
    with tempfile.TemporaryDirectory(prefix="mlpipes-cost-") as outdir:
        paths, default_stacks = synthesize_all(Path(outdir))
        costs = {
            key: cost_template(path.name.removesuffix(".template.json"), _load(path), prices)
            for key, path in paths.items()
        }
    with tempfile.TemporaryDirectory(prefix="mlpipes-cost-production-") as outdir:
        foundation_path, mlflow_path = synthesize_mlflow_sizing(Path(outdir), "PRODUCTION")
        production = SizingCost(
            "PRODUCTION (before)",
            cost_template("mlpipes-Mlflow (PRODUCTION)", _load(mlflow_path), prices),
            cost_template("mlpipes-Foundation", _load(foundation_path), prices),
        )
    print(
        f"idle monthly cost, {prices.region} on-demand list prices of {args.prices.name}, "
        f"{prices.hours_per_month:g} h a month, every stack at cdk.json's settings"
    )
    print()
    for cost in costs.values():
        print(format_stack(cost))
        print()
    print(f"{'stack':<32}{'per month':>12}  in cdk.json's default list")
    for key, cost in costs.items():
        marker = "yes" if key in default_stacks else "opt-in"
        print(f"{cost.name:<32}${cost.total:>11.2f}  {marker}")
    default_total = sum(cost.total for key, cost in costs.items() if key in default_stacks)
    print(f"{'default stacks':<32}${default_total:>11.2f}  ({', '.join(default_stacks)})")
    print(f"{'every stack':<32}${sum(cost.total for cost in costs.values()):>11.2f}")
    unpriced = sum(len(cost.unpriced) for cost in costs.values())
    print(f"unpriced resources: {unpriced}")
    print()
    print(format_stack(production.mlflow))
    print()
    default = SizingCost("SMALL_TEAM (default, after)", costs["mlflow"], costs["foundation"])
    print(format_sizings([production, default], baseline=production.sizing))


if __name__ == "__main__":
    main()
