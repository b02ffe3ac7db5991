from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from mlpipes_constructs.errors import PropsValidationError
from mlpipes_constructs.foundation import ArtifactStorage, PlatformKey, SageMakerJobRole
from mlpipes_constructs.images import framework_repository_arn
from tests.conftest import TEST_ENV, SynthesizedApp


def _statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    policies = [
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::ManagedPolicy"
        and resource["Properties"].get("Description") == "Permissions of mlpipes SageMaker jobs"
    ]
    (policy,) = policies
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _resources(statement: dict[str, Any]) -> list[Any]:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


@pytest.fixture(scope="module")
def job_statements(bundled_app: SynthesizedApp) -> list[dict[str, Any]]:
    return _statements(bundled_app.template("foundation"))


def test_no_wildcard_actions_and_no_s3_or_managed_full_access(
    bundled_app: SynthesizedApp, job_statements: list[dict[str, Any]]
) -> None:
    actions = [a for s in job_statements for a in _actions(s)]
    assert all("*" not in action for action in actions)
    assert not any(action.startswith("s3:Delete") for action in actions)
    role = next(
        r
        for r in bundled_app.template("foundation")["Resources"].values()
        if r["Type"] == "AWS::IAM::Role"
        and r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        == {"Service": "sagemaker.amazonaws.com"}
    )
    assert "ManagedPolicyArns" not in role["Properties"] or all(
        "AmazonSageMakerFullAccess" not in str(arn)
        for arn in role["Properties"]["ManagedPolicyArns"]
    )
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"}
    }


def test_star_resources_only_for_actions_without_resource_types(
    job_statements: list[dict[str, Any]],
) -> None:
    star_actions = {a for s in job_statements if "*" in _resources(s) for a in _actions(s)}
    assert star_actions == {
        "ecr:GetAuthorizationToken",
        "cloudwatch:PutMetricData",
        "ec2:DescribeDhcpOptions",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
    }
    metrics = next(s for s in job_statements if "cloudwatch:PutMetricData" in _actions(s))
    assert metrics["Condition"] == {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}}


def test_images_are_pulled_only_from_the_aws_framework_repositories(
    job_statements: list[dict[str, Any]],
) -> None:
    pull = next(s for s in job_statements if s.get("Sid") == "PullJobImages")
    assert sorted(pull["Resource"]) == sorted(
        framework_repository_arn(repo, "us-east-1")
        for repo in ("sagemaker-scikit-learn", "sagemaker-xgboost")
    )


def test_objects_are_scoped_to_prefixes(job_statements: list[dict[str, Any]]) -> None:
    reads = next(s for s in job_statements if "s3:GetObject" in _actions(s))
    writes = next(s for s in job_statements if "s3:PutObject" in _actions(s))
    read_suffixes = sorted(r["Fn::Join"][1][-1] for r in _resources(reads))
    write_suffixes = [r["Fn::Join"][1][-1] for r in _resources(writes)]
    assert read_suffixes == ["/code/*", "/data/*", "/pipelines/*"]
    assert write_suffixes == ["/pipelines/*"]


def test_network_interfaces_are_limited_to_the_job_vpc(
    job_statements: list[dict[str, Any]],
) -> None:
    by_sid = {s.get("Sid"): s for s in job_statements}
    # The new interface has no ec2:Vpc key; its subnet and security groups do.
    create = by_sid["CreateJobNetworkInterfaces"]
    assert _actions(create) == ["ec2:CreateNetworkInterface"]
    assert _resources(create) == ["arn:aws:ec2:us-east-1:123456789012:network-interface/*"]
    assert "Condition" not in create
    placed = by_sid["PlaceJobNetworkInterfacesInVpc"]
    assert sorted(_resources(placed)) == [
        "arn:aws:ec2:us-east-1:123456789012:security-group/*",
        "arn:aws:ec2:us-east-1:123456789012:subnet/*",
    ]
    managed = by_sid["ManageJobNetworkInterfaces"]
    assert "ec2:CreateNetworkInterface" not in _actions(managed)
    assert _resources(managed) == ["arn:aws:ec2:us-east-1:123456789012:network-interface/*"]
    for statement in (placed, managed):
        assert list(statement["Condition"]) == ["ArnEquals"]
        assert "ec2:Vpc" in statement["Condition"]["ArnEquals"]


def _job_role(stack: cdk.Stack, **props: Any) -> SageMakerJobRole:
    key = PlatformKey(stack, "Key").key
    storage = ArtifactStorage(stack, "Storage", encryption_key=key)
    return SageMakerJobRole(stack, "JobRole", bucket=storage.bucket, encryption_key=key, **props)


def test_job_name_prefix_narrows_log_streams_and_no_vpc_means_no_ec2(stack: cdk.Stack) -> None:
    _job_role(stack, job_name_prefix="churn-")
    statements = _statements(Template.from_stack(stack).to_json())
    logs = next(s for s in statements if s.get("Sid") == "WriteJobLogStreams")
    assert all(str(r).endswith(":log-stream:churn-*") for r in _resources(logs))
    assert not any(a.startswith("ec2:") for s in statements for a in _actions(s))


def test_environment_agnostic_stack_resolves_image_registry_from_a_mapping() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Agnostic")
    _job_role(stack)
    template = Template.from_stack(stack).to_json()
    assert template["Mappings"]["MlpipesFrameworkRegistries"]["eu-west-1"] == {
        "account": "141502667606"
    }


def test_grant_pass_role_only_to_sagemaker(stack: cdk.Stack) -> None:
    job_role = _job_role(stack)
    orchestrator = iam.Role(
        stack, "Orchestrator", assumed_by=iam.ServicePrincipal("states.amazonaws.com")
    )
    job_role.grant_pass_role(orchestrator)
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "iam:PassRole",
                        "Effect": "Allow",
                        "Condition": {
                            "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
                        },
                        "Resource": stack.resolve(job_role.role_arn),
                    }
                ]
            }
        },
    )


def test_bad_prefixes_and_job_name_prefix_are_reported_together(stack: cdk.Stack) -> None:
    with pytest.raises(PropsValidationError) as error:
        _job_role(stack, read_prefixes=["data"], write_prefixes="out/", job_name_prefix="bad_name")
    assert error.value.problems == [
        "read_prefixes entry 'data' must be a folder such as 'data/': not empty, ending with '/', "
        "not starting with '/', without '*'",
        "write_prefixes must be a list of prefixes, not the string 'out/'",
        "job_name_prefix 'bad_name' must be 1 to 32 letters, digits or '-'",
    ]


def test_a_region_missing_from_the_image_table_needs_the_registry_account() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "New", env=cdk.Environment(account="123456789012", region="ca-west-1"))
    with pytest.raises(PropsValidationError, match="region 'ca-west-1' has no known SageMaker"):
        _job_role(stack)


def test_registry_account_names_the_image_repositories_in_any_region() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "New", env=cdk.Environment(account="123456789012", region="ca-west-1"))
    _job_role(stack, framework_registry_account="210987654321")
    statements = _statements(Template.from_stack(stack).to_json())
    pull = next(s for s in statements if s.get("Sid") == "PullJobImages")
    assert ":ecr:ca-west-1:210987654321:repository/sagemaker-xgboost" in json.dumps(pull)
    with pytest.raises(PropsValidationError, match="must be a 12-digit AWS account id"):
        _job_role(cdk.Stack(app, "Bad", env=TEST_ENV), framework_registry_account="12345")


def test_log_group_calls_match_the_form_cloudwatch_logs_authorizes(
    job_statements: list[dict[str, Any]],
) -> None:
    """CreateLogGroup and DescribeLogStreams are authorized on 'log-group:NAME:log-stream:'."""
    groups = next(s for s in job_statements if s.get("Sid") == "CreateJobLogGroups")
    assert sorted(_resources(groups)) == [
        f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/{kind}:*"
        for kind in ("ProcessingJobs", "TrainingJobs", "TransformJobs")
    ]


def test_job_role_is_grantable_and_grants_land_in_the_job_policy(stack: cdk.Stack) -> None:
    job_role = _job_role(stack)
    assert job_role.grant_principal is job_role.role
    extra = s3.Bucket(stack, "Extra")
    grant = extra.grant_read(job_role)
    grant.assert_success()
    statements = _statements(Template.from_stack(stack).to_json())
    reads = [s for s in statements if "s3:GetObject*" in _actions(s)]
    assert len(reads) == 1
    assert Template.from_stack(stack).find_resources("AWS::IAM::Policy") == {}
