"""Grants on the MLflow server's credentials, within a stack and across stacks."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Match, Template

from mlpipes_app.config import cdk_json_context
from mlpipes_constructs.errors import PropsValidationError
from mlpipes_constructs.mlflow import IMlflowTrackingServer, MlflowServer
from mlpipes_constructs.stacks import FoundationStack, MlflowStack
from tests.conftest import TEST_ENV, SynthesizedApp

SECRET_READ = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return list(document["Statement"])


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return sorted([actions] if isinstance(actions, str) else actions)


def _resources_of_type(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def test_grant_to_a_role_of_another_stack_goes_into_the_role_policy_only(tmp_path) -> None:
    """A key policy or secret policy naming the role would make the platform depend on the
    role's stack, which depends on the platform: a dependency cycle at synth."""
    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path))
    platform = FoundationStack(app, "platform", env=TEST_ENV)
    tracking = MlflowStack(app, "tracking", env=TEST_ENV, foundation=platform.resources)
    work = cdk.Stack(app, "work", env=TEST_ENV)
    role = iam.Role(work, "JobRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))

    grant = tracking.server.grant_read_credentials(role)
    assembly = app.synth()  # raised DependencyCycle: 'platform' depends on 'work'

    assert grant.success
    assert grant.resource_statement is None
    templates = {name: assembly.get_stack_by_name(name).template for name in ("platform", "work")}
    (key,) = _resources_of_type(templates["platform"], "AWS::KMS::Key")
    key_principals = [s.get("Principal") for s in _statements(key["Properties"]["KeyPolicy"])]
    assert not [p for p in key_principals if "Fn::ImportValue" in str(p) or "JobRole" in str(p)]
    assert _resources_of_type(templates["platform"], "AWS::SecretsManager::ResourcePolicy") == []
    (policy,) = _resources_of_type(templates["work"], "AWS::IAM::Policy")
    statements = _statements(policy["Properties"]["PolicyDocument"])
    by_actions = {tuple(_actions(s)): s for s in statements}
    assert tuple(SECRET_READ) in by_actions
    decrypt = by_actions[("kms:Decrypt",)]
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
    }
    assert "Fn::ImportValue" in str(decrypt["Resource"]) or "GetStackOutput" in str(
        decrypt["Resource"]
    )


KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:mlflow/jobs-AbCdEf"


def _imported_server(stack: cdk.Stack, **options: Any) -> IMlflowTrackingServer:
    secret = secretsmanager.Secret.from_secret_attributes(
        stack,
        "Credentials",
        secret_complete_arn=SECRET_ARN,
        encryption_key=kms.Key.from_key_arn(stack, "CredentialsKey", KEY_ARN),
    )
    return MlflowServer.from_tracking_server(
        stack,
        "Tracking",
        tracking_uri="https://mlflow.example.internal",
        credentials_secret=secret,
        **options,
    )


def test_imported_server_grants_reading_its_secret_in_the_role_policy(stack: cdk.Stack) -> None:
    server = _imported_server(stack)
    role = iam.Role(stack, "JobRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    grant = server.grant_read_credentials(role)
    assert grant.success and grant.resource_statement is None
    assert isinstance(server, IMlflowTrackingServer)
    assert server.tracking_uri == "https://mlflow.example.internal"
    assert server.credentials_secret.secret_arn == SECRET_ARN
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like({"Action": SECRET_READ, "Resource": SECRET_ARN}),
                        Match.object_like(
                            {
                                "Action": "kms:Decrypt",
                                "Resource": KEY_ARN,
                                "Condition": {
                                    "StringEquals": {
                                        "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"
                                    }
                                },
                            }
                        ),
                    ]
                )
            }
        },
    )


def test_imported_server_opens_its_security_group_on_the_uri_port(stack: cdk.Stack) -> None:
    group = ec2.SecurityGroup.from_security_group_id(
        stack, "ServerGroup", "sg-0123456789abcdef0", mutable=True
    )
    server = _imported_server(stack, security_groups=[group])
    server.grant_access(ec2.Peer.ipv4("10.20.0.0/16"))
    Template.from_stack(stack).has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {
            "GroupId": "sg-0123456789abcdef0",
            "CidrIp": "10.20.0.0/16",
            "FromPort": 443,
            "ToPort": 443,
            "IpProtocol": "tcp",
        },
    )


def test_imported_server_without_security_groups_cannot_grant_access(stack: cdk.Stack) -> None:
    server = _imported_server(stack)
    with pytest.raises(PropsValidationError, match=r"grant_access needs the server's security"):
        server.grant_access(ec2.Peer.ipv4("10.20.0.0/16"))


def test_imported_server_refuses_a_uri_that_is_not_http(stack: cdk.Stack) -> None:
    secret = secretsmanager.Secret.from_secret_complete_arn(stack, "Credentials", SECRET_ARN)
    with pytest.raises(
        PropsValidationError, match=r"tracking_uri 'mlflow.internal:5000' must be an http"
    ):
        MlflowServer.from_tracking_server(
            stack, "Tracking", tracking_uri="mlflow.internal:5000", credentials_secret=secret
        )


def test_mlflow_server_is_a_tracking_server(bundled_app: SynthesizedApp) -> None:
    server = bundled_app.stacks["mlflow"].node.find_child("Server")
    assert isinstance(server, MlflowServer)
    assert isinstance(server, IMlflowTrackingServer)
    assert server.credentials_secret is server.admin_secret
