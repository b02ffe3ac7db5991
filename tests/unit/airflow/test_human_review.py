"""The human review step in a compiled DAG, and MwaaPipeline's grants for it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

import jinja2
import pytest
from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from mlpipes_constructs.a2i import FlowDefinition
from mlpipes_constructs.airflow import MwaaEnvironment, MwaaPipeline
from mlpipes_constructs.airflow._task_permissions import dag_permissions
from mlpipes_constructs.airflow.compiler import HUMAN_LOOP_UNIQUE, CompiledDag, compile_dag
from mlpipes_constructs.compile.human_review import (
    DEFAULT_WAIT_SECONDS,
    human_loop_name,
    human_loop_prefix,
)
from mlpipes_constructs.errors import PropsValidationError
from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.spec import HumanReviewStep, Pipeline, local_code_paths
from tests.unit.airflow.helpers import vpc_stack
from tests.unit.airflow.test_pipeline import _stack

ARN = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/model-review"
BUCKET = "artifacts"


def _reviewed(**review: Any) -> Pipeline:
    pipeline = reference_pipeline(
        input_data_uri="s3://data/reviews/", human_review_flow_definition_arn=ARN
    )
    steps = tuple(
        dataclasses.replace(step, **review) if isinstance(step, HumanReviewStep) else step
        for step in pipeline.steps
    )
    return dataclasses.replace(pipeline, steps=steps)


def _compiled(pipeline: Pipeline) -> CompiledDag:
    return compile_dag(
        pipeline,
        role_arn="arn:aws:iam::123456789012:role/job",
        artifact_bucket_name=BUCKET,
        artifact_prefix="p/",
        code_locations={code: f"s3://{BUCKET}/code.zip" for code in local_code_paths(pipeline)},
        job_name_prefix="review",
    )


def test_the_review_is_a_sensor_task_with_the_cores_request_and_timing() -> None:
    dag = _compiled(_reviewed(timeout_seconds=3600, poll_interval_seconds=30))
    task = dag.task("Review")
    prefix = human_loop_prefix("review", "Review")
    assert task["operator"] == "human_review"
    assert task["upstream"] == ["Evaluate", "Train", "CheckAccuracy"]
    assert (task["human_loop_prefix"], task["approve_field"]) == (prefix, "approve")
    assert (task["poll_interval_seconds"], task["wait_seconds"]) == (30, 3600)
    config = task["config"]
    assert config["HumanLoopName"] == (
        f"{{{{ mlpipes_human_loop_name({prefix!r}, {HUMAN_LOOP_UNIQUE}) }}}}"
    )
    assert config["FlowDefinitionArn"] == "{{ params.HumanReviewFlowDefinitionArn }}"
    assert ("Review", "StartHumanLoop", config) in list(dag.requests())


def test_without_a_timeout_the_sensor_waits_the_cores_longest() -> None:
    assert _compiled(_reviewed()).task("Review")["wait_seconds"] == DEFAULT_WAIT_SECONDS


def _render(template: str, **context: Any) -> str:
    return (
        jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(template).render(**context)
    )


class _Ti:
    try_number = 2

    def xcom_pull(self, task_ids: str) -> Any:
        assert task_ids == "Train"
        return {"Training": {"ModelArtifacts": {"S3ModelArtifacts": "s3://m/model.tar.gz"}}}


def test_the_name_and_the_task_input_render_to_the_cores_values() -> None:
    config = _compiled(_reviewed()).task("Review")["config"]
    run_id = "manual__2026-01-01T00:00:00+00:00"
    token = hashlib.sha256(run_id.encode()).hexdigest()[:20]
    reads: list[tuple[str, str]] = []

    def json_value(uri: str, path: str) -> float:
        reads.append((uri, path))
        return 0.9

    context = {
        "run_id": run_id,
        "ti": _Ti(),
        "task": type("Task", (), {"task_id": "Review"}),
        "params": {"AccuracyThreshold": 0.7, "HumanReviewFlowDefinitionArn": ARN},
        "mlpipes_run_token": lambda _: token,
        "mlpipes_json_value": json_value,
        "mlpipes_json": json.dumps,
        "mlpipes_human_loop_name": human_loop_name,
    }
    name = _render(config["HumanLoopName"], **context)
    assert name == human_loop_name(human_loop_prefix("review", "Review"), f"{run_id}/Review/2")
    assert len(name) <= 63
    content = json.loads(_render(config["HumanLoopInput"]["InputContent"], **context))
    report = f"s3://{BUCKET}/p/{token}/Evaluate/output/evaluation/evaluation.json"
    assert content == {
        "pipeline_execution": run_id,
        "step": "Review",
        "report_uri": report,
        "metrics": [
            ["accuracy", 0.9],
            ["precision", 0.9],
            ["recall", 0.9],
            ["f1", 0.9],
            ["accuracy threshold", 0.7],
        ],
        "model_name": "mlpipes-review-classifier",
        "model_artifacts": "s3://m/model.tar.gz",
    }
    assert {uri for uri, _ in reads} == {report}


def test_the_decision_condition_reads_the_review_tasks_xcom() -> None:
    task = _compiled(_reviewed()).task("CheckReview")
    assert task["condition"] == {
        "compare": "==",
        "left": {"template": "{{ ti.xcom_pull(task_ids='Review') }}"},
        "right": {"const": "Approved"},
    }
    assert (task["if_follow"], task["else_follow"]) == (
        ["RegisterModel", "CreateModel"],
        ["ReviewRejected"],
    )


def test_the_permissions_name_the_loops_prefix_and_the_reports_read() -> None:
    reviewed = dag_permissions(_compiled(_reviewed()).definition)
    assert reviewed.human_loop_prefixes == (human_loop_prefix("review", "Review"),)
    plain = dag_permissions(_compiled(reference_pipeline(input_data_uri="s3://d/")).definition)
    assert plain.human_loop_prefixes == ()


# --- MwaaPipeline ---------------------------------------------------------------------------


def _execution_role_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for resource in template["Resources"].values()
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        if any("HumanLoop" in action for action in _actions(statement))
        or "a2i-output" in json.dumps(statement)
    ]


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return actions if isinstance(actions, list) else [actions]


def _reviewed_stack() -> tuple[Stack, MwaaPipeline]:
    stack, vpc = vpc_stack()
    environment = MwaaEnvironment(stack, "Airflow", vpc=vpc, environment_name="test-env")
    key = kms.Key(stack, "Key")
    flow = FlowDefinition.from_flow_definition_arn(
        stack,
        "Flow",
        ARN,
        output_bucket=s3.Bucket.from_bucket_name(stack, "Reviews", "reviews"),
        output_prefix="a2i-output/",
    )
    pipeline = MwaaPipeline(
        stack,
        "Review",
        environment=environment,
        pipeline=_reviewed(),
        job_role=iam.Role(
            stack, "JobRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
        ),
        artifact_bucket=s3.Bucket(stack, "Artifacts", encryption_key=key),
        flow_definitions=[flow],
    )
    return stack, pipeline


def test_the_execution_role_may_run_the_reviews_loops_and_read_their_answers() -> None:
    stack, pipeline = _reviewed_stack()
    statements = _execution_role_statements(Template.from_stack(stack).to_json())
    by_action = {action: s["Resource"] for s in statements for action in _actions(s)}
    assert by_action["sagemaker:StartHumanLoop"] == ARN
    prefix = human_loop_prefix("mlpipes-review-c", "Review")
    loops = json.dumps(by_action["sagemaker:DescribeHumanLoop"])
    assert f":human-loop/{prefix}*" in loops
    assert by_action["sagemaker:StopHumanLoop"] == by_action["sagemaker:DescribeHumanLoop"]
    assert "reviews/a2i-output/*" in json.dumps(by_action["s3:GetObject"])
    assert pipeline.human_review_grant is not None
    # The loops the grant names are the ones the compiled DAG starts.
    assert pipeline.permissions.human_loop_prefixes == (prefix,)
    assert pipeline.compiled.task("Review")["human_loop_prefix"] == prefix


def test_a_reviewed_pipeline_without_flow_definitions_is_refused_naming_the_prop() -> None:
    with pytest.raises(PropsValidationError, match=r"flow_definitions is empty.*'Review'"):
        _stack(pipeline=_reviewed())


def test_the_reference_pipeline_grants_no_review() -> None:
    stack, pipeline = _stack()
    assert pipeline.human_review_grant is None
    assert _execution_role_statements(Template.from_stack(stack).to_json()) == []
