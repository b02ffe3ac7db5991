"""Kubeflow stacks synthesized once per session, on the bundled app's context."""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CDK_VALIDATION", "false")

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from mlpipes_app.config import cdk_json_context
from mlpipes_constructs.foundation import FoundationResources
from mlpipes_constructs.kubeflow import KubeflowCluster
from mlpipes_constructs.stacks.foundation_stack import FoundationStack
from mlpipes_constructs.stacks.kubeflow_stack import KubeflowStack
from tests.conftest import TEST_ENV

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666"


@dataclass(frozen=True)
class Built:
    stack: cdk.Stack
    template: Template

    @property
    def json(self) -> dict[str, Any]:
        return self.template.to_json()


def imported_foundation(stack: cdk.Stack) -> FoundationResources:
    """A foundation made of imported resources (no synth of a foundation stack needed)."""
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0123456789abcdef0",
        vpc_cidr_block="10.0.0.0/16",
        availability_zones=["us-east-1a", "us-east-1b"],
        private_subnet_ids=["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
    )
    return FoundationResources(
        vpc=vpc,
        private_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        encryption_key=kms.Key.from_key_arn(stack, "Key", KEY_ARN),
        artifact_bucket=s3.Bucket.from_bucket_name(stack, "Bucket", "mlpipes-artifacts"),
    )


@pytest.fixture(scope="session")
def kubeflow_stack() -> Built:
    """The Kubeflow stack with default props, on a foundation stack (as the app builds it)."""
    app = cdk.App(context=cdk_json_context())
    foundation = FoundationStack(app, "Foundation", env=TEST_ENV)
    stack = KubeflowStack(app, "Kubeflow", env=TEST_ENV, foundation=foundation.resources)
    return Built(stack, Template.from_stack(stack))


@pytest.fixture(scope="session")
def node_group_cluster() -> Built:
    """A cluster on a managed node group instead of Auto Mode."""
    app = cdk.App(context=cdk_json_context())
    stack = cdk.Stack(app, "NodeGroups", env=TEST_ENV)
    KubeflowCluster(stack, "Cluster", foundation=imported_foundation(stack), auto_mode=False)
    return Built(stack, Template.from_stack(stack))
