"""MwaaServerlessPipeline: the compiled workflow, the gate function and the tasks' grants."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import yaml
from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from mlpipes_constructs.airflow import ALLOWED_OPERATORS, MwaaServerlessPipeline
from mlpipes_constructs.compile import CompileError
from mlpipes_constructs.core import JobPlacementOptions
from mlpipes_constructs.errors import PropsValidationError
from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.spec import ConditionStep, FailStep
from mlpipes_constructs.stacks.mwaa_serverless_stack import serverless_reference_pipeline
from tests.unit.airflow.helpers import as_list, resources_of, vpc_stack


def _stack(**props: Any) -> tuple[Stack, MwaaServerlessPipeline]:
    stack, vpc = vpc_stack()
    key = kms.Key(stack, "Key")
    bucket = s3.Bucket(stack, "Artifacts", encryption_key=key, versioned=True)
    job_role = iam.Role(
        stack, "JobRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
    )
    settings: dict[str, Any] = {
        "pipeline": serverless_reference_pipeline(input_data_uri="s3://data/reviews/"),
        "job_role": job_role,
        "artifact_bucket": bucket,
        "vpc": vpc,
        "placement": JobPlacementOptions(vpc=vpc),
    }
    settings.update(props)
    return stack, MwaaServerlessPipeline(stack, "Review", **settings)


@pytest.fixture(scope="module")
def built() -> tuple[Stack, MwaaServerlessPipeline, dict[str, Any]]:
    stack, pipeline = _stack(schedule="0 6 * * 1", schedule_input={"AccuracyThreshold": 0.8})
    return stack, pipeline, Template.from_stack(stack).to_json()["Resources"]


def _task_statements(resources: dict[str, Any]) -> list[dict[str, Any]]:
    (policy,) = [
        r
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and logical_id.startswith("ReviewTaskPolicy")
    ]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_the_uploaded_definition_is_the_compiled_workflow(built: Any) -> None:
    stack, pipeline, resources = built
    (upload,) = [r for r in resources.values() if r["Type"] == "Custom::MlpipesS3Deployment"]
    body = stack.resolve(upload["Properties"]["Body"])
    # The body embeds deploy-time ARNs (Fn::Join); its structure is the compiled mapping.
    assert isinstance(body, dict) and "Fn::Join" in body
    dag = pipeline.compiled.dag
    assert dag["schedule"] == "0 6 * * 1"
    assert dag["params"]["AccuracyThreshold"] == 0.8
    operators = {task["operator"] for task in dag["tasks"].values()}
    assert operators <= ALLOWED_OPERATORS
    assert "AccuracyTooLow" not in dag["tasks"]
    text = "".join(p if isinstance(p, str) else "<token>" for p in body["Fn::Join"][1])
    assert yaml.safe_load(text.replace("<token>", "x"))  # one YAML document


def test_the_gate_function_runs_the_packaged_handler_in_the_vpc(built: Any) -> None:
    _, pipeline, resources = built
    assert pipeline.gate is not None
    functions = {
        logical_id: r["Properties"]
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::Lambda::Function"
    }
    (gate,) = [
        p for p in functions.values() if "evaluates a pipeline condition" in p["Description"]
    ]
    assert gate["Handler"] == "index.handler"
    assert gate["VpcConfig"]["SubnetIds"]
    gate_task = pipeline.compiled.task("CheckAccuracy")
    assert gate_task["function_name"] == pipeline.gate.function.function_arn


def test_the_workflow_role_gets_the_tasks_calls_and_invoking_the_gate_only(built: Any) -> None:
    stack, pipeline, resources = built
    statements = _task_statements(resources)
    by_action = {action: s for s in statements for action in as_list(s["Action"])}
    assert "sagemaker:CreateModelPackage" not in by_action
    invoke = by_action["lambda:InvokeFunction"]
    assert pipeline.gate is not None
    assert invoke["Resource"] == stack.resolve(pipeline.gate.function.function_arn)
    assert all("*" not in action for s in statements for action in as_list(s["Action"]))
    processing = by_action["sagemaker:CreateProcessingJob"]["Resource"]
    assert sorted(processing) == [
        "arn:aws:sagemaker:us-east-1:123456789012:processing-job/mlpipes-review-c-evaluate-*",
        "arn:aws:sagemaker:us-east-1:123456789012:processing-job/mlpipes-review-c-preprocess-*",
    ]
    assert by_action["iam:PassRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    (policy,) = [
        r
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and logical_id.startswith("ReviewTaskPolicy")
    ]
    workflow_role = stack.resolve(pipeline.workflow.execution_role.role_name)
    assert policy["Properties"]["Roles"] == [workflow_role]


def test_a_spec_without_a_condition_gets_no_gate_function() -> None:
    base = serverless_reference_pipeline(input_data_uri="s3://data/reviews/")
    drop = {s.name for s in base.steps if isinstance(s, ConditionStep | FailStep)}
    steps = tuple(
        dataclasses.replace(s, depends_on=tuple(d for d in s.depends_on if d not in drop))
        for s in base.steps
        if s.name not in drop
    )
    stack, pipeline = _stack(pipeline=dataclasses.replace(base, steps=steps))
    assert pipeline.gate is None
    assert pipeline.compiled.condition_steps == ()
    descriptions = [
        r["Properties"].get("Description", "")
        for r in resources_of(Template.from_stack(stack), "AWS::Lambda::Function").values()
    ]
    assert not [d for d in descriptions if "evaluates a pipeline condition" in d]
    assert "LambdaInvokeFunctionOperator" not in str(pipeline.compiled.definition)


def test_bad_props_each_give_their_error() -> None:
    with pytest.raises(PropsValidationError) as raised:
        _stack(schedule="@daily", schedule_input={"Nope": 1}, dag_id="bad id!")
    message = str(raised.value)
    assert "schedule '@daily' must be a five-field cron expression" in message
    assert "dag_id 'bad id!' must be" in message
    assert "Nope" in message
    with pytest.raises(
        PropsValidationError, match=r"'schedule_input' and 'schedule=None' cannot be used together"
    ):
        _stack(schedule_input={"AccuracyThreshold": 0.8})
    with pytest.raises(PropsValidationError, match=r"'vpc' .* 'foundation'|one of 'vpc'"):
        _stack(vpc=None)


def test_a_spec_serverless_cannot_run_is_refused_naming_the_step() -> None:
    with pytest.raises(CompileError, match=r"step 'RegisterModel': register_model is not"):
        _stack(pipeline=reference_pipeline(input_data_uri="s3://data/reviews/"))


def test_grant_start_execution_allows_starting_runs_of_this_workflow(built: Any) -> None:
    stack, pipeline, _ = built
    user = iam.Role(stack, "Starter", assumed_by=iam.AccountRootPrincipal())
    pipeline.grant_start_execution(user)
    policy = user.node.find_child("DefaultPolicy")
    assert isinstance(policy, iam.Policy)
    statements = stack.resolve(policy.document.to_json())["Statement"]
    assert statements == [
        {
            "Action": "airflow-serverless:StartWorkflowRun",
            "Effect": "Allow",
            "Resource": stack.resolve(pipeline.workflow.workflow_arn),
        }
    ]
