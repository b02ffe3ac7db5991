"""The resolver and the evaluator the simulation is built on, checked on small inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.iam.calls import Batch, Call, Expect, RoleCalls, ServiceCalls, run_evaluator
from tests.iam.cfn import ResolutionError, ResolvedApp, Stack
from tests.iam.model import AppModel, RoleSelector

REPOSITORY = Path(__file__).resolve().parents[2]
VPC = "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1"


def _app(**templates: dict[str, Any]) -> ResolvedApp:
    return ResolvedApp({name: Stack(name, template) for name, template in templates.items()})


def test_intrinsics_resolve_across_stacks() -> None:
    producer = {
        "Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "b"}}},
        "Outputs": {
            "Arn": {"Value": {"Fn::GetAtt": ["Bucket", "Arn"]}, "Export": {"Name": "bucket"}}
        },
        "Mappings": {"Accounts": {"us-east-1": {"id": "683313688378"}}},
    }
    consumer: dict[str, Any] = {"Resources": {}}
    app = _app(producer=producer, consumer=consumer)
    assert app.resolve("consumer", {"Fn::ImportValue": "bucket"}) == "arn:aws:s3:::b"
    assert (
        app.resolve(
            "consumer", {"Fn::GetStackOutput": {"StackName": "producer", "OutputName": "Arn"}}
        )
        == "arn:aws:s3:::b"
    )
    assert app.resolve("consumer", {"Fn::Sub": "arn:${AWS::Partition}:x:${AWS::Region}"}) == (
        "arn:aws:x:us-east-1"
    )
    assert app.resolve("consumer", {"Fn::Select": [1, {"Fn::Split": ["/", "a/b/c"]}]}) == "b"
    assert (
        app.resolve("producer", {"Fn::FindInMap": ["Accounts", {"Ref": "AWS::Region"}, "id"]})
        == "683313688378"
    )
    assert app.resolve("consumer", ["x", {"Ref": "AWS::NoValue"}]) == ["x"]


def test_unknown_references_are_errors() -> None:
    app = _app(only={"Resources": {}})
    with pytest.raises(ResolutionError, match="unknown 'Missing'"):
        app.resolve("only", {"Ref": "Missing"})
    with pytest.raises(ResolutionError, match="no stack of the app exports 'nothing'"):
        app.resolve("only", {"Fn::ImportValue": "nothing"})


def test_generated_names_are_deterministic_and_distinct() -> None:
    template = {
        "Resources": {
            "One": {"Type": "AWS::S3::Bucket"},
            "Two": {"Type": "AWS::S3::Bucket"},
        }
    }
    first, second = _app(s=template), _app(s=template)
    assert first.ref("s", "One") == second.ref("s", "One")
    assert first.ref("s", "One") != first.ref("s", "Two")


def _role_template(statement: dict[str, Any]) -> dict[str, Any]:
    return {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "sagemaker.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                },
            },
            "Policy": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "Roles": [{"Ref": "Role"}],
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]},
                },
            },
        }
    }


ROOT_KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ],
}


def _model(statement: dict[str, Any]) -> AppModel:
    template = _role_template(statement)
    template["Resources"]["Key"] = {
        "Type": "AWS::KMS::Key",
        "Properties": {"KeyPolicy": ROOT_KEY_POLICY},
    }
    return AppModel(_app(s=template), {"key": "s"})


def _evaluate(statement: dict[str, Any], *calls: Call) -> list[str]:
    model = _model(statement)
    declaration = RoleCalls("key", "role", RoleSelector("sagemaker.amazonaws.com"), lambda m, s: ())
    batch = Batch()
    for call in calls:
        batch.add(model, declaration, call)
    return [outcome.result for outcome in run_evaluator(batch, REPOSITORY)]


def test_context_keeps_only_the_keys_listed_for_the_action_and_resource_type() -> None:
    """ec2:Vpc exists on network-interface resources, but CreateNetworkInterface does not put
    it in the interface's part of the request; the subnet's part has it."""
    statement = {
        "Effect": "Allow",
        "Action": "ec2:CreateNetworkInterface",
        "Resource": "*",
        "Condition": {"ArnEquals": {"ec2:Vpc": VPC}},
    }
    interface = Call(
        "interface",
        "ec2:CreateNetworkInterface",
        "arn:aws:ec2:us-east-1:123456789012:network-interface/*",
        "doc",
        context={"ec2:Vpc": VPC},
    )
    subnet = Call(
        "subnet",
        "ec2:CreateNetworkInterface",
        "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-1",
        "doc",
        context={"ec2:Vpc": VPC},
    )
    assert _evaluate(statement, interface, subnet) == ["ImplicitlyDenied", "Allowed"]


def test_encryption_context_keys_are_evaluated() -> None:
    statement = {
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::b"}},
    }
    key = _model(statement).arn("key", "Key")
    calls = [
        Call(
            f"context {value}",
            "kms:Decrypt",
            key,
            "doc",
            context={"kms:EncryptionContext:aws:s3:arn": value},
        )
        for value in ("arn:aws:s3:::b", "arn:aws:s3:::other")
    ]
    assert _evaluate(statement, *calls) == ["Allowed", "ImplicitlyDenied"]


def test_other_account_principals_are_refused_without_a_resource_policy() -> None:
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    call = Call(
        "intruder",
        "s3:GetObject",
        "arn:aws:s3:::b/key",
        "doc",
        principal="arn:aws:iam::210987654321:role/intruder",
        expect=Expect.DENIED,
    )
    assert _evaluate(statement, call) == ["ImplicitlyDenied"]


def test_service_calls_use_no_identity_policy() -> None:
    model = AppModel(
        _app(s=_role_template({"Effect": "Allow", "Action": "*", "Resource": "*"})), {"key": "s"}
    )
    batch = Batch()
    batch.add(
        model,
        ServiceCalls("key", "svc", "events.amazonaws.com", lambda m, s: ()),
        Call("publish", "sns:Publish", "arn:aws:sns:us-east-1:123456789012:t", "doc"),
    )
    assert batch.requests[0]["identityPolicies"] == []
    assert [o.result for o in run_evaluator(batch, REPOSITORY)] == ["ImplicitlyDenied"]
