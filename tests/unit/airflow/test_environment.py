"""MwaaEnvironment: defaults, validation, object-version wiring and least privilege."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_mwaa as mwaa
from aws_cdk.assertions import Annotations, Match, Template

from mlpipes_constructs.airflow import (
    HEALTH_CHECK_DAGS,
    MwaaEnvironment,
    MwaaLogging,
    MwaaSourceFiles,
    WebserverAccessMode,
)
from mlpipes_constructs.errors import PropsValidationError
from tests.unit.airflow.helpers import as_list, only, resources_of, statements_of, vpc_stack

NAME = "test-env"
LOG_TYPES = ("DAGProcessing", "Scheduler", "Task", "WebServer", "Worker")


def _requirements(tmp_path: Path, text: str, name: str = "requirements.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _environment(tmp_path: Path, requirements: str = "boto3\n", **props: Any) -> Template:
    stack, vpc = vpc_stack()
    source = MwaaSourceFiles(
        dags_folder=HEALTH_CHECK_DAGS, requirements_file=_requirements(tmp_path, requirements)
    )
    MwaaEnvironment(stack, "Airflow", vpc=vpc, environment_name=NAME, source=source, **props)
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def default_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return _environment(tmp_path_factory.mktemp("env"))


def test_defaults_are_private_encrypted_and_fully_logged(default_template: Template) -> None:
    _, environment = only(default_template, "AWS::MWAA::Environment")
    props = environment["Properties"]
    assert props["WebserverAccessMode"] == "PRIVATE_ONLY"
    assert props["EndpointManagement"] == "SERVICE"
    assert props["AirflowVersion"] == "3.0.6"
    assert props["EnvironmentClass"] == "mw1.small"
    assert (props["Schedulers"], props["MinWebservers"], props["MaxWebservers"]) == (2, 2, 2)
    assert (props["MinWorkers"], props["MaxWorkers"]) == (1, 10)
    assert props["WeeklyMaintenanceWindowStart"] == "SUN:03:00"
    assert props["WorkerReplacementStrategy"] == "GRACEFUL"
    logging = props["LoggingConfiguration"]
    assert sorted(logging) == sorted(
        ["DagProcessingLogs", "SchedulerLogs", "TaskLogs", "WebserverLogs", "WorkerLogs"]
    )
    assert all(entry == {"Enabled": True, "LogLevel": "INFO"} for entry in logging.values())
    key_id, _ = only(default_template, "AWS::KMS::Key")
    assert props["KmsKey"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert len(props["NetworkConfiguration"]["SubnetIds"]) == 2


def test_log_groups_are_named_for_mwaa_and_kept_encrypted(default_template: Template) -> None:
    key_id, _ = only(default_template, "AWS::KMS::Key")
    groups = {
        group["Properties"].get("LogGroupName"): group
        for group in resources_of(default_template, "AWS::Logs::LogGroup").values()
    }
    for log_type in LOG_TYPES:
        group = groups[f"airflow-{NAME}-{log_type}"]
        assert group["Properties"]["RetentionInDays"] == 365
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
        assert group["DeletionPolicy"] == "Retain"
    _, environment = only(default_template, "AWS::MWAA::Environment")
    log_ids = {
        logical_id
        for logical_id, group in resources_of(default_template, "AWS::Logs::LogGroup").items()
        if str(group["Properties"].get("LogGroupName", "")).startswith("airflow-")
    }
    assert log_ids <= set(environment["DependsOn"])


def test_source_bucket_is_versioned_kms_encrypted_and_retained(default_template: Template) -> None:
    _, environment = only(default_template, "AWS::MWAA::Environment")
    bucket_id = environment["Properties"]["SourceBucketArn"]["Fn::GetAtt"][0]
    bucket = default_template.to_json()["Resources"][bucket_id]
    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    rule = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert "LoggingConfiguration" in bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"


def test_security_group_admits_only_itself(default_template: Template) -> None:
    ingress = resources_of(default_template, "AWS::EC2::SecurityGroupIngress")
    _, environment = only(default_template, "AWS::MWAA::Environment")
    group = environment["Properties"]["NetworkConfiguration"]["SecurityGroupIds"][0]
    rules = [
        rule["Properties"] for rule in ingress.values() if rule["Properties"]["GroupId"] == group
    ]
    assert rules and all(rule["SourceSecurityGroupId"] == group for rule in rules)
    group_id = group["Fn::GetAtt"][0]
    inline = default_template.to_json()["Resources"][group_id]["Properties"]
    assert "SecurityGroupIngress" not in inline


def test_default_child_is_the_cfn_environment(tmp_path: Path) -> None:
    stack, vpc = vpc_stack()
    environment = MwaaEnvironment(stack, "Airflow", vpc=vpc, environment_name=NAME)
    assert isinstance(environment.node.default_child, mwaa.CfnEnvironment)
    assert environment.node.default_child.node.id == "Resource"
    assert environment.webserver_url == environment.resource.attr_webserver_url


def _deployment_resource(template: Template, key: str) -> tuple[str, dict[str, Any]]:
    matches = [
        (logical_id, resource)
        for logical_id, resource in resources_of(template, "Custom::MlpipesS3Deployment").items()
        if resource["Properties"].get("DestinationKey") == key
    ]
    assert len(matches) == 1
    return matches[0]


def test_requirements_version_comes_from_the_deployed_object(default_template: Template) -> None:
    logical_id, resource = _deployment_resource(default_template, "requirements.txt")
    _, environment = only(default_template, "AWS::MWAA::Environment")
    props = environment["Properties"]
    assert props["RequirementsS3Path"] == "requirements.txt"
    assert props["RequirementsS3ObjectVersion"] == {"Fn::GetAtt": [logical_id, "VersionId"]}
    assert resource["Properties"]["Kind"] == "File"
    assert resource["Properties"]["SourceKey"].endswith(".txt")


def test_changed_requirements_change_the_template_and_unchanged_ones_do_not(
    tmp_path: Path,
) -> None:
    for folder in ("a", "b", "c"):
        (tmp_path / folder).mkdir()
    first = _environment(tmp_path / "a", "boto3==1.40.0\n")
    same = _environment(tmp_path / "b", "boto3==1.40.0\n")
    changed = _environment(tmp_path / "c", "boto3==1.40.1\n")
    assert json.dumps(first.to_json(), sort_keys=True) == json.dumps(same.to_json(), sort_keys=True)
    _, before = _deployment_resource(first, "requirements.txt")
    _, after = _deployment_resource(changed, "requirements.txt")
    assert before["Properties"]["SourceKey"] != after["Properties"]["SourceKey"]
    # Nothing else of the environment changes: only the copied object (and so its version).
    assert only(first, "AWS::MWAA::Environment") == only(changed, "AWS::MWAA::Environment")


def test_dags_are_deployed_before_the_environment_starts(default_template: Template) -> None:
    folders = [
        (logical_id, resource)
        for logical_id, resource in resources_of(
            default_template, "Custom::MlpipesS3Deployment"
        ).items()
        if resource["Properties"]["Kind"] == "Folder"
    ]
    assert len(folders) == 1
    logical_id, folder = folders[0]
    assert folder["Properties"]["DestinationPrefix"] == "dags/"
    _, environment = only(default_template, "AWS::MWAA::Environment")
    assert logical_id in environment["DependsOn"]
    assert environment["Properties"]["DagS3Path"] == "dags"


def _execution_policy(template: Template) -> list[dict[str, Any]]:
    _, environment = only(template, "AWS::MWAA::Environment")
    role_id = environment["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]
    policies = [
        logical_id
        for logical_id, policy in resources_of(template, "AWS::IAM::ManagedPolicy").items()
        if {"Ref": role_id} in policy["Properties"].get("Roles", [])
    ]
    assert len(policies) == 1
    return statements_of(template, policies[0])


def test_execution_role_is_least_privilege(default_template: Template) -> None:
    statements = _execution_policy(default_template)
    actions = [action for statement in statements for action in as_list(statement["Action"])]
    assert not [action for action in actions if "*" in action]
    unscoped = {
        action
        for statement in statements
        if statement["Effect"] == "Allow" and "*" in as_list(statement["Resource"])
        for action in as_list(statement["Action"])
    }
    assert unscoped == {
        "s3:GetAccountPublicAccessBlock",
        "logs:DescribeLogGroups",
        "cloudwatch:PutMetricData",
    }
    by_action = {
        action: statement for statement in statements for action in as_list(statement["Action"])
    }
    assert by_action["cloudwatch:PutMetricData"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "AmazonMWAA"}
    }
    assert "airflow-celery-*" in json.dumps(by_action["sqs:SendMessage"]["Resource"])
    via = by_action["kms:GenerateDataKey"]["Condition"]["StringLike"]["kms:ViaService"]
    assert sorted(via) == ["s3.us-east-1.amazonaws.com", "sqs.us-east-1.amazonaws.com"]
    assert f"environment/{NAME}" in json.dumps(by_action["airflow:PublishMetrics"]["Resource"])
    reads = json.dumps(by_action["s3:GetObject"]["Resource"])
    assert "/dags/*" in reads and "/requirements.txt" in reads and "/plugins.zip" not in reads
    assert not resources_of(default_template, "AWS::IAM::Policy")


def test_execution_role_writes_only_the_environments_five_log_groups(
    default_template: Template,
) -> None:
    """Not ``airflow-<name>-*``: that also matches ``airflow-<name>-staging-Task``, a group of
    another environment whose name starts with this one's."""
    statements = _execution_policy(default_template)
    by_action = {
        action: statement for statement in statements for action in as_list(statement["Action"])
    }
    for action in ("logs:CreateLogStream", "logs:PutLogEvents", "logs:GetLogEvents"):
        resources = json.dumps(by_action[action]["Resource"])
        for log_type in LOG_TYPES:
            assert f"log-group:airflow-{NAME}-{log_type}:*" in resources
        assert f"airflow-{NAME}-*" not in resources


def test_execution_role_trusts_both_airflow_principals(default_template: Template) -> None:
    _, environment = only(default_template, "AWS::MWAA::Environment")
    role_id = environment["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]
    role = default_template.to_json()["Resources"][role_id]
    services = {
        service
        for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        for service in as_list(statement["Principal"]["Service"])
    }
    assert services == {"airflow.amazonaws.com", "airflow-env.amazonaws.com"}


def test_task_permissions_go_to_the_managed_policy(tmp_path: Path) -> None:
    stack, vpc = vpc_stack()
    environment = MwaaEnvironment(stack, "Airflow", vpc=vpc, environment_name=NAME)
    environment.add_to_execution_policy(
        iam.PolicyStatement(actions=["sagemaker:CreateProcessingJob"], resources=["arn:aws:x"])
    )
    template = Template.from_stack(stack)
    actions = [a for s in _execution_policy(template) for a in as_list(s["Action"])]
    assert "sagemaker:CreateProcessingJob" in actions


def test_grants_name_the_environment_and_airflow_role(tmp_path: Path) -> None:
    stack, vpc = vpc_stack()
    environment = MwaaEnvironment(stack, "Airflow", vpc=vpc, environment_name=NAME)
    user = iam.Role(stack, "User", assumed_by=iam.AccountRootPrincipal())
    grant = environment.grant_web_login_token(user, "Op")
    assert isinstance(grant, iam.Grant) and grant.success
    environment.grant_cli_token(user)
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "airflow:CreateWebLoginToken",
                                "Resource": (
                                    f"arn:aws:airflow:us-east-1:123456789012:role/{NAME}/Op"
                                ),
                            }
                        ),
                        Match.object_like({"Action": "airflow:CreateCliToken"}),
                    ]
                )
            }
        },
    )
    with pytest.raises(PropsValidationError, match="airflow_role 'Root' is not an Apache Airflow"):
        environment.grant_web_login_token(user, "Root")


def test_metrics_are_in_the_mwaa_namespace_for_this_environment() -> None:
    stack, vpc = vpc_stack()
    environment = MwaaEnvironment(stack, "Airflow", vpc=vpc, environment_name=NAME)
    heartbeat = environment.metric_scheduler_heartbeat(period=cdk.Duration.minutes(1))
    assert heartbeat.namespace == "AmazonMWAA"
    assert heartbeat.dimensions == {"Environment": NAME, "Function": "Scheduler"}
    assert heartbeat.period.to_seconds() == 60
    queued = environment.metric("QueuedTasks", dimensions_map={"Function": "Executor"})
    assert queued.dimensions == {"Environment": NAME, "Function": "Executor"}
    assert environment.metric_queued_tasks().statistic == "Maximum"


def test_public_webserver_is_an_explicit_choice_that_warns() -> None:
    stack, vpc = vpc_stack()
    MwaaEnvironment(
        stack,
        "Airflow",
        vpc=vpc,
        environment_name=NAME,
        webserver_access_mode=WebserverAccessMode.PUBLIC_ONLY,
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::MWAA::Environment", {"WebserverAccessMode": "PUBLIC_ONLY"}
    )
    Annotations.from_stack(stack).has_warning(
        "/AirflowTest/Airflow", Match.string_like_regexp("reachable from the internet")
    )


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"airflow_version": "2.4.3"},
            r"airflow_version '2\.4\.3' is not a version MWAA documents",
        ),
        ({"environment_class": "mw1.huge"}, r"environment_class 'mw1\.huge' is not an MWAA"),
        (
            {"environment_class": "mw1.micro", "schedulers": 2},
            r"schedulers 2 must be exactly 1 for environment_class 'mw1\.micro'",
        ),
        ({"schedulers": 6}, r"schedulers 6 must be a whole number from 2 to 5"),
        ({"min_webservers": 1}, r"min_webservers 1 must be a whole number from 2 to 5"),
        ({"max_workers": 26}, r"max_workers 26 must be a whole number from 1 to 25"),
        ({"min_workers": 5, "max_workers": 2}, r"min_workers 5 must not exceed max_workers 2"),
        (
            {"weekly_maintenance_window_start": "SUN:03:15"},
            r"weekly_maintenance_window_start 'SUN:03:15' must be DAY:HH:MM",
        ),
        ({"logging": MwaaLogging(task="VERBOSE")}, r"logging\.task 'VERBOSE' is not a log level"),
        ({"environment_name": "1-env"}, r"environment_name '1-env' must start with a letter"),
        (
            {"source": MwaaSourceFiles(plugins_file=__file__)},
            r"source\.plugins_file '.*' must be a \.zip archive",
        ),
        (
            {"source": MwaaSourceFiles(dags_folder="/no/such/folder")},
            r"source\.dags_folder '/no/such/folder' is not a folder",
        ),
    ],
)
def test_bad_props_name_the_prop_the_value_and_the_rule(
    props: dict[str, Any], message: str
) -> None:
    stack, vpc = vpc_stack()
    props.setdefault("environment_name", NAME)
    with pytest.raises(PropsValidationError, match=message):
        MwaaEnvironment(stack, "Airflow", vpc=vpc, **props)


def test_an_unlisted_version_needs_the_explicit_override() -> None:
    stack, vpc = vpc_stack()
    MwaaEnvironment(
        stack,
        "Airflow",
        vpc=vpc,
        environment_name=NAME,
        airflow_version="3.1.0",
        allow_unlisted_airflow_version=True,
    )
    Template.from_stack(stack).has_resource_properties(
        "AWS::MWAA::Environment", {"AirflowVersion": "3.1.0"}
    )


def test_one_availability_zone_is_refused() -> None:
    stack, vpc = vpc_stack(max_azs=1)
    with pytest.raises(PropsValidationError, match="MWAA needs two private subnets in two"):
        MwaaEnvironment(stack, "Airflow", vpc=vpc, environment_name=NAME)


def test_every_problem_is_reported_at_once() -> None:
    stack, vpc = vpc_stack()
    with pytest.raises(PropsValidationError) as raised:
        MwaaEnvironment(
            stack,
            "Airflow",
            vpc=vpc,
            environment_name=NAME,
            airflow_version="1.10.12",
            schedulers=9,
        )
    assert len(raised.value.problems) == 2
