"""Shared helpers for the SageMaker construct tests: one synth for several small stacks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from mlpipes_app.config import cdk_json_context
from tests.conftest import TEST_ENV, SynthesizedApp

ACCOUNT = "123456789012"
REGION = "us-east-1"
BUCKET_NAME = "artifacts-bucket"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
JOB_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/job-role"


def new_app(outdir: Path | None = None) -> cdk.App:
    return cdk.App(context=cdk_json_context(), outdir=None if outdir is None else str(outdir))


def new_stack(app: cdk.App, name: str) -> cdk.Stack:
    return cdk.Stack(app, name, env=TEST_ENV)


def imported_platform(
    stack: cdk.Stack,
) -> tuple[s3.IBucket, kms.IKey, iam.IRole]:
    """An artifact bucket, key and job role that exist outside the app (no synth cost)."""
    if stack.node.try_find_child("Bucket") is not None:
        return (
            s3.Bucket.from_bucket_name(stack, f"Bucket{len(stack.node.children)}", BUCKET_NAME),
            kms.Key.from_key_arn(stack, f"Key{len(stack.node.children)}", KEY_ARN),
            iam.Role.from_role_arn(
                stack, f"JobRole{len(stack.node.children)}", JOB_ROLE_ARN, mutable=False
            ),
        )
    bucket = s3.Bucket.from_bucket_name(stack, "Bucket", BUCKET_NAME)
    key = kms.Key.from_key_arn(stack, "Key", KEY_ARN)
    role = iam.Role.from_role_arn(stack, "JobRole", JOB_ROLE_ARN, mutable=False)
    return bucket, key, role


def synthesized_templates(app: cdk.App) -> dict[str, dict[str, Any]]:
    """Synthesize ``app`` once; its templates by stack name."""
    assembly = app.synth()
    return {
        stack.stack_name: json.loads(Path(stack.template_full_path).read_text(encoding="utf-8"))
        for stack in assembly.stacks
    }


def resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_statements(template: dict[str, Any], description_start: str) -> list[dict[str, Any]]:
    """The statements of the one managed policy whose description starts with the text."""
    (policy,) = [
        resource
        for resource in resources(template, "AWS::IAM::ManagedPolicy").values()
        if resource["Properties"].get("Description", "").startswith(description_start)
    ]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


@pytest.fixture(scope="package")
def sagemaker_template(bundled_app: SynthesizedApp) -> dict[str, Any]:
    """The bundled app's SageMaker Pipelines stack (synthesized once per session)."""
    return bundled_app.template("sagemaker")
