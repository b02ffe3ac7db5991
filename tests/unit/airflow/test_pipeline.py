"""MwaaPipeline: the compiled DAG deployed into the environment, and exactly its tasks' grants."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from mlpipes_constructs.airflow import MwaaEnvironment, MwaaPipeline
from mlpipes_constructs.airflow._task_permissions import dag_permissions, name_pattern
from mlpipes_constructs.core import FailureNotifications, JobPlacementOptions
from mlpipes_constructs.errors import PropsValidationError
from mlpipes_constructs.reference import reference_pipeline
from tests.unit.airflow.helpers import as_list, resources_of, vpc_stack

GROUP = "review-models"


def _stack(**props: Any) -> tuple[Stack, MwaaPipeline]:
    stack, vpc = vpc_stack()
    environment = MwaaEnvironment(stack, "Airflow", vpc=vpc, environment_name="test-env")
    key = kms.Key(stack, "Key")
    bucket = s3.Bucket(stack, "Artifacts", encryption_key=key)
    job_role = iam.Role(
        stack, "JobRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
    )
    settings: dict[str, Any] = {
        "environment": environment,
        "pipeline": reference_pipeline(
            input_data_uri="s3://data/reviews/", model_package_group_name=GROUP
        ),
        "job_role": job_role,
        "artifact_bucket": bucket,
        "placement": JobPlacementOptions(vpc=vpc),
    }
    settings.update(props)
    pipeline = MwaaPipeline(stack, "Review", **settings)
    return stack, pipeline


@pytest.fixture(scope="module")
def built() -> tuple[Stack, MwaaPipeline, dict[str, Any]]:
    stack, pipeline = _stack()
    return stack, pipeline, Template.from_stack(stack).to_json()["Resources"]


def _task_statements(resources: dict[str, Any]) -> list[dict[str, Any]]:
    (policy,) = [
        r
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and logical_id.startswith("ReviewTaskPolicy")
    ]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _rendered(value: Any) -> str:
    return json.dumps(value)


def test_the_dag_factory_and_definition_are_deployed_and_removed_with_the_pipeline(
    built: tuple[Stack, MwaaPipeline, dict[str, Any]],
) -> None:
    _, pipeline, resources = built
    deployments = [r for r in resources.values() if r["Type"] == "Custom::MlpipesS3Deployment"]
    keys = {r["Properties"]["DestinationKey"]: r["Properties"] for r in deployments}
    dag_id = pipeline.dag_id
    assert set(keys) == {f"dags/mlpipes/{dag_id}.py", f"dags/mlpipes/{dag_id}.json"}
    assert {p["RemoveOnDelete"] for p in keys.values()} == {"true"}
    assert keys[f"dags/mlpipes/{dag_id}.py"]["Kind"] == "File"
    body = keys[f"dags/mlpipes/{dag_id}.json"]["Body"]
    # The definition holds deploy-time values (the job role ARN), resolved by CloudFormation.
    assert "Fn::Join" in body or "Fn::GetAtt" in _rendered(body)


def test_the_execution_role_gets_the_tasks_sagemaker_resources_by_slug(
    built: tuple[Stack, MwaaPipeline, dict[str, Any]],
) -> None:
    _, _, resources = built
    statements = _task_statements(resources)
    by_action: dict[str, list[str]] = {}
    for statement in statements:
        for action in as_list(statement["Action"]):
            for resource in as_list(statement["Resource"]):
                by_action.setdefault(action, []).append(_rendered(resource))
    assert any(
        "processing-job/mlpipes-review-c-preprocess-*" in r
        for r in by_action["sagemaker:CreateProcessingJob"]
    )
    assert any(
        "processing-job/mlpipes-review-c-evaluate-*" in r
        for r in by_action["sagemaker:CreateProcessingJob"]
    )
    assert all(
        "training-job/mlpipes-review-c-train-*" in r
        for r in by_action["sagemaker:CreateTrainingJob"]
    )
    assert by_action["sagemaker:CreateModelPackage"]
    assert all(f"model-package/{GROUP}/*" in r for r in by_action["sagemaker:CreateModelPackage"])
    # The reference pipeline has no tuning or endpoint step: nothing of theirs is granted.
    assert not {a for a in by_action if "Endpoint" in a or "HyperParameter" in a}
    every_action = set(by_action)
    assert all(":" in action and "*" not in action for action in every_action)


def test_pass_role_is_the_job_role_to_sagemaker_only(
    built: tuple[Stack, MwaaPipeline, dict[str, Any]],
) -> None:
    _, _, resources = built
    (pass_role,) = [s for s in _task_statements(resources) if s["Action"] == "iam:PassRole"]
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    assert "JobRole" in _rendered(pass_role["Resource"])


def test_reports_are_read_in_the_pipelines_folder_only(
    built: tuple[Stack, MwaaPipeline, dict[str, Any]],
) -> None:
    _, _, resources = built
    (read,) = [s for s in _task_statements(resources) if s["Action"] == "s3:GetObject"]
    assert _rendered(read["Resource"]).endswith('"/pipelines/mlpipes-review-classifier/*"]]}')


def test_failures_go_to_an_encrypted_topic_the_execution_role_may_publish_to(
    built: tuple[Stack, MwaaPipeline, dict[str, Any]],
) -> None:
    _, pipeline, resources = built
    topics = [r for r in resources.values() if r["Type"] == "AWS::SNS::Topic"]
    assert len(topics) == 1 and "KmsMasterKeyId" in topics[0]["Properties"]
    assert any(s["Action"] == "sns:Publish" for s in _task_statements(resources))
    assert pipeline.compiled.definition["notification_topic_arn"]


def test_notifications_can_be_turned_off() -> None:
    stack, pipeline = _stack(notifications=FailureNotifications(enabled=False))
    assert not resources_of(Template.from_stack(stack), "AWS::SNS::Topic")
    assert "notification_topic_arn" not in pipeline.compiled.definition
    assert pipeline.notification_topic is None


def test_schedule_input_becomes_the_dag_params_defaults() -> None:
    _, pipeline = _stack(schedule="0 6 * * 1", schedule_input={"AccuracyThreshold": 0.8})
    definition = pipeline.compiled.definition
    assert definition["schedule"] == "0 6 * * 1"
    assert definition["params"]["AccuracyThreshold"]["default"] == 0.8


def test_metrics_are_the_dags_in_the_mwaa_namespace(
    built: tuple[Stack, MwaaPipeline, dict[str, Any]],
) -> None:
    _, pipeline, _ = built
    failed = pipeline.metric_failed()
    assert (failed.namespace, failed.metric_name, failed.statistic) == (
        "AmazonMWAA",
        "DAGDurationFailed",
        "SampleCount",
    )
    assert failed.dimensions == {"Environment": "test-env", "DAG": pipeline.dag_id}
    assert pipeline.metric_duration().statistic == "Average"
    assert pipeline.metric_started().metric_name == "FirstTaskSchedulingDelay"


def test_grant_start_execution_is_a_cli_token_and_the_rest_api_as_user(
    built: tuple[Stack, MwaaPipeline, dict[str, Any]],
) -> None:
    stack, pipeline, _ = built
    role = iam.Role(stack, "Operator", assumed_by=iam.AccountRootPrincipal())
    grant = pipeline.grant_start_execution(role)
    assert grant.success
    document = stack.resolve(role.node.find_child("DefaultPolicy").document.to_json())  # type: ignore[attr-defined]
    actions = {a for s in document["Statement"] for a in as_list(s["Action"])}
    assert actions == {"airflow:CreateCliToken", "airflow:InvokeRestApi"}
    assert "role/test-env/User" in _rendered(document)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"schedule": "every monday"}, "schedule 'every monday' must be a five-field cron"),
        ({"dag_id": "bad id!"}, "dag_id 'bad id!' must be 1-250 letters"),
        ({"schedule_input": {"AccuracyThreshold": 0.8}}, "schedule_input.*schedule=None"),
        (
            {"schedule": "@daily", "schedule_input": {"Nope": 1}},
            "schedule_input names unknown parameter 'Nope'",
        ),
        ({"pipeline": object()}, "is not a spec"),
    ],
)
def test_bad_props_name_the_prop_the_value_and_the_rule(
    props: dict[str, Any], message: str
) -> None:
    with pytest.raises(PropsValidationError, match=message):
        _stack(**props)


def test_name_patterns_keep_the_fixed_start_only() -> None:
    assert name_pattern("Mlpipes-Train-{{ mlpipes_run_token(run_id) }}") == "mlpipes-train-*"
    assert name_pattern("{{ params.EndpointName }}") == "*"
    assert name_pattern("Group-A") == "group-a"
    assert name_pattern({"not": "a name"}) == "*"


def test_permissions_follow_the_step_kinds_of_the_definition() -> None:
    definition = {
        "tasks": [
            {
                "operator": "endpoint",
                "config": {
                    "EndpointConfig": {"EndpointConfigName": "ep-{{ t }}"},
                    "Endpoint": {"EndpointName": "review"},
                },
            },
            {"operator": "tuning", "config": {"HyperParameterTuningJobName": "tune-{{ t }}"}},
        ]
    }
    permissions = dag_permissions(definition)
    grants = {(g.resource_type, g.name_pattern): g.actions for g in permissions.sagemaker}
    assert "sagemaker:UpdateEndpoint" in grants[("endpoint", "review")]
    assert "sagemaker:CreateEndpoint" in grants[("endpoint-config", "ep-*")]
    assert (
        "sagemaker:CreateHyperParameterTuningJob"
        in grants[("hyper-parameter-tuning-job", "tune-*")]
    )
    assert grants[("training-job", "tune-*")] == ("sagemaker:DescribeTrainingJob",)
    assert permissions.passes_job_role and not permissions.reads_reports
