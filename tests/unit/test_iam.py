"""ManagedPolicyRole: a service role whose every permission, CDK's grants too, is in one policy."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from mlpipes_constructs.errors import PropsValidationError
from mlpipes_constructs.iam import ManagedPolicyRole, depend_only_on_policy


def _resources(stack: cdk.Stack, resource_type: str) -> dict[str, Any]:
    return Template.from_stack(stack).find_resources(resource_type)


def test_service_role_trusts_the_service_for_this_account_only(stack: cdk.Stack) -> None:
    role = ManagedPolicyRole(
        stack, "Role", service="sagemaker.amazonaws.com", description="Runs jobs"
    )
    role.add_to_policy(iam.PolicyStatement(actions=["sagemaker:ListModels"], resources=["*"]))
    (role,) = _resources(stack, "AWS::IAM::Role").values()
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
        }
    ]
    assert role["Properties"]["Description"] == "Runs jobs"
    (policy,) = _resources(stack, "AWS::IAM::ManagedPolicy").values()
    assert policy["Properties"]["Description"] == "Permissions: Runs jobs"


def test_cdk_grants_and_added_statements_go_to_the_managed_policy(stack: cdk.Stack) -> None:
    role = ManagedPolicyRole(
        stack,
        "Role",
        assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
        policy_description="What the instance may do",
        statements=[iam.PolicyStatement(actions=["s3:ListAllMyBuckets"], resources=["*"])],
    )
    s3.Bucket(stack, "Bucket").grant_read(role)
    queue_arn = "arn:aws:sqs:us-east-1:123456789012:jobs"
    role.add_to_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[queue_arn]))
    assert _resources(stack, "AWS::IAM::Policy") == {}
    (policy,) = _resources(stack, "AWS::IAM::ManagedPolicy").values()
    actions = [s["Action"] for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    assert actions[0] == "s3:ListAllMyBuckets"
    assert ["s3:GetBucket*", "s3:GetObject*", "s3:List*"] in actions
    assert actions[-1] == "sqs:SendMessage"
    assert policy["Properties"]["Description"] == "What the instance may do"
    (role_resource,) = _resources(stack, "AWS::IAM::Role").values()
    assert (
        "Condition" not in role_resource["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    )


def test_a_resource_can_wait_for_the_policy_alone(stack: cdk.Stack) -> None:
    role = ManagedPolicyRole(stack, "Role", service="sqs.amazonaws.com")
    role.add_to_policy(iam.PolicyStatement(actions=["sqs:ListQueues"], resources=["*"]))
    queue = sqs.Queue(stack, "Queue")
    queue.node.add_dependency(role)
    depend_only_on_policy(queue, role.managed_policy)
    (queue_resource,) = _resources(stack, "AWS::SQS::Queue").values()
    (policy_id,) = _resources(stack, "AWS::IAM::ManagedPolicy")
    assert queue_resource["DependsOn"] == [policy_id]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "one of 'service' or 'assumed_by' is required"),
        (
            {"service": "sagemaker.amazonaws.com", "assumed_by": iam.AccountRootPrincipal()},
            "'service' and 'assumed_by' cannot be used together",
        ),
    ],
)
def test_the_principal_is_given_exactly_once(
    stack: cdk.Stack, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(PropsValidationError, match=message):
        ManagedPolicyRole(stack, "Role", **kwargs)
