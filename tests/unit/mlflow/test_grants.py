"""Grants on the MLflow server's credentials, within a stack and across stacks."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from mlpipes_app.config import cdk_json_context
from mlpipes_constructs.stacks import FoundationStack, MlflowStack
from tests.conftest import TEST_ENV

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
