"""Building blocks for the airflow unit tests: a stack with a small two-AZ private VPC."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template

from mlpipes_app.config import cdk_json_context
from tests.conftest import TEST_ENV


def vpc_stack(max_azs: int = 2) -> tuple[cdk.Stack, ec2.Vpc]:
    app = cdk.App(context=cdk_json_context())
    stack = cdk.Stack(app, "AirflowTest", env=TEST_ENV)
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=max_azs,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(
                name="private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
            )
        ],
    )
    return stack, vpc


def resources_of(template: Template, resource_type: str) -> dict[str, Any]:
    found: dict[str, Any] = template.find_resources(resource_type)
    return found


def only(template: Template, resource_type: str) -> tuple[str, dict[str, Any]]:
    found = resources_of(template, resource_type)
    assert len(found) == 1, sorted(found)
    return next(iter(found.items()))


def statements_of(template: Template, policy_logical_id: str) -> list[dict[str, Any]]:
    policy = template.to_json()["Resources"][policy_logical_id]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
