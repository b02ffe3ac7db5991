"""Synthesized MLflow servers, once per session: the bundled app's stack (via ``bundled_app``),
an HTTPS server built from individual resources and a server with its own constraints file."""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CDK_VALIDATION", "false")

from dataclasses import dataclass

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from mlpipes_app.config import cdk_json_context
from mlpipes_constructs.mlflow import MlflowServer, MlflowSizing
from mlpipes_constructs.stacks import FoundationStack, MlflowStack
from tests.conftest import TEST_ENV, SynthesizedApp

CERTIFICATE_ARN = (
    "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"
)


@dataclass(frozen=True)
class BuiltServer:
    server: MlflowServer
    template: Template
    stack: cdk.Stack


@pytest.fixture(scope="session")
def bundled_mlflow(bundled_app: SynthesizedApp) -> Template:
    """The bundled app's MLflow stack (default props, on the foundation stack)."""
    return Template.from_json(bundled_app.template("mlflow"))


@pytest.fixture(scope="session")
def bundled_foundation(bundled_app: SynthesizedApp) -> Template:
    return Template.from_json(bundled_app.template("foundation"))


@pytest.fixture(scope="session")
def production_mlflow() -> Template:
    """The MLflow stack at ``MlflowSizing.PRODUCTION`` on a foundation stack."""
    app = cdk.App(context=cdk_json_context())
    foundation = FoundationStack(app, "Production-Foundation", env=TEST_ENV)
    stack = MlflowStack(
        app,
        "Production-Mlflow",
        env=TEST_ENV,
        foundation=foundation.resources,
        sizing=MlflowSizing.PRODUCTION,
    )
    return Template.from_stack(stack)


@pytest.fixture(scope="session")
def https_server() -> BuiltServer:
    """A PRODUCTION-sized server from individual resources with a certificate, domain name and
    allowed CIDRs."""
    app = cdk.App(context=cdk_json_context())
    stack = cdk.Stack(app, "HttpsMlflow", env=TEST_ENV)
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
    server = MlflowServer(
        stack,
        "Mlflow",
        vpc=vpc,
        encryption_key=key,
        artifact_bucket=s3.Bucket(stack, "Artifacts", encryption_key=key),
        access_log_bucket=s3.Bucket(stack, "Logs", encryption=s3.BucketEncryption.S3_MANAGED),
        artifact_prefix="tracking/",
        sizing=MlflowSizing.PRODUCTION,
        instance_type="m7i.large",
        certificate=CERTIFICATE_ARN,
        domain_name="mlflow.example.com",
        allowed_cidrs=["10.20.0.0/16", "192.168.10.0/24"],
        multi_az=False,
        backup_retention=cdk.Duration.days(14),
        mlflow_version="3.1.4",
        tracking_uri_parameter_name="/team/mlflow/uri",
    )
    server.grant_access(ec2.Peer.ipv4("172.16.5.0/24"))
    return BuiltServer(server=server, template=Template.from_stack(stack), stack=stack)


#: A user's constraints file for MLflow 3.1.4, as ``requirements_file`` receives it.
CUSTOM_CONSTRAINTS = """\
# pip freeze of a python3.11 virtualenv
alembic==1.16.4
boto3==1.44.8
mlflow==3.1.4
mlflow-skinny==3.1.4
psycopg2-binary==2.9.13
"""


@pytest.fixture(scope="session")
def custom_server(tmp_path_factory: pytest.TempPathFactory) -> BuiltServer:
    """A non-default MLflow version with the user's own constraints file and no alarms."""
    constraints = tmp_path_factory.mktemp("constraints") / "mlflow-3.1.4.txt"
    constraints.write_text(CUSTOM_CONSTRAINTS, encoding="utf-8")
    app = cdk.App(context=cdk_json_context())
    stack = cdk.Stack(app, "CustomMlflow", env=TEST_ENV)
    key = kms.Key.from_key_arn(
        stack, "ImportedKey", "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-aaaa-bbbb-cccc"
    )
    server = MlflowServer(
        stack,
        "Mlflow",
        vpc=ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1),
        encryption_key=key,
        artifact_bucket=s3.Bucket(stack, "Artifacts", encryption_key=key),
        access_log_bucket=s3.Bucket(stack, "Logs", encryption=s3.BucketEncryption.S3_MANAGED),
        mlflow_version="3.1.4",
        requirements_file=constraints,
        alarms=False,
    )
    return BuiltServer(server=server, template=Template.from_stack(stack), stack=stack)
