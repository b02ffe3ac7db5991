"""The MWAA Serverless compiler on plain specs: the dag-factory mapping (no Airflow, no synth)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import uuid
from typing import Any

import pytest

from mlpipes_constructs.airflow._serverless_rules import (
    ALLOWED_OPERATORS,
    operators_of,
    workflow_problems,
)
from mlpipes_constructs.airflow.serverless_compiler import (
    SERVERLESS_RUN_TOKEN,
    CompiledWorkflow,
    compile_serverless_workflow,
)
from mlpipes_constructs.compile import CompileError
from mlpipes_constructs.compile.naming import is_sagemaker_name
from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.spec import (
    FailStep,
    JsonValue,
    MetricDefinition,
    Pipeline,
    ProcessingStep,
    TrainingMetric,
    local_code_paths,
)
from mlpipes_constructs.spec.graph import step_dependencies
from mlpipes_constructs.stacks.mwaa_serverless_stack import without_registration
from tests.contract.pipelines import every_step_kind
from tests.contract.test_serverless import compilable

ROLE_ARN = "arn:aws:iam::123456789012:role/job"
GATE_ARN = "arn:aws:lambda:us-east-1:123456789012:function:gate"
TOKEN_TEMPLATE = "{{ " + SERVERLESS_RUN_TOKEN + " }}"


REFERENCE = without_registration(reference_pipeline(input_data_uri="s3://artifacts/data/"))
EVERY_KIND = compilable(every_step_kind())


def compiled(pipeline: Pipeline, **options: Any) -> CompiledWorkflow:
    arguments: dict[str, Any] = {
        "role_arn": ROLE_ARN,
        "artifact_bucket_name": "artifacts",
        "artifact_prefix": "pipelines/p/",
        "code_locations": {code: "s3://artifacts/code.zip" for code in local_code_paths(pipeline)},
        "condition_function_arn": GATE_ARN,
        **options,
    }
    return compile_serverless_workflow(pipeline, **arguments)


def run_token(run_id: str) -> str:
    """What ``SERVERLESS_RUN_TOKEN`` renders to (Airflow's ``macros.uuid`` is ``uuid``)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, run_id).hex[:20]


def test_every_task_uses_an_operator_on_the_allow_list_and_the_definition_passes_its_rules() -> (
    None
):
    workflow = compiled(EVERY_KIND)
    assert operators_of(workflow.definition) <= ALLOWED_OPERATORS
    assert workflow_problems(workflow.definition) == []
    assert workflow.task_kinds()["Deploy"] == "endpoint"
    assert workflow.task("Deploy")["operator"].endswith(".SageMakerEndpointOperator")
    assert workflow.task("CheckAccuracy")["operator"] == (
        "airflow.providers.amazon.aws.operators.lambda_function.LambdaInvokeFunctionOperator"
    )


def test_the_task_graph_is_the_spec_graph_minus_its_fail_steps() -> None:
    workflow = compiled(REFERENCE)
    spec = step_dependencies(REFERENCE)
    fails = {s.name for s in REFERENCE.steps if isinstance(s, FailStep)}
    assert fails == {"AccuracyTooLow"}
    graph = {
        task_id: task.get("dependencies", []) for task_id, task in workflow.dag["tasks"].items()
    }
    assert graph == {
        name: [d for d in deps if d not in fails]
        for name, deps in spec.items()
        if name not in fails
    }
    assert graph["CreateModel"] == ["Train", "CheckAccuracy"]
    assert workflow.condition_steps == ("CheckAccuracy",)


def test_names_end_with_a_run_token_of_builtin_macros_and_render_to_valid_sagemaker_names() -> None:
    workflow = compiled(EVERY_KIND)
    name_fields = {
        "CreateProcessingJob": "ProcessingJobName",
        "CreateTrainingJob": "TrainingJobName",
        "CreateHyperParameterTuningJob": "HyperParameterTuningJobName",
        "CreateModel": "ModelName",
        "CreateTransformJob": "TransformJobName",
        "CreateEndpointConfig": "EndpointConfigName",
    }
    names = {
        (task_id, operation): request[name_fields[operation]]
        for task_id, operation, request in workflow.requests()
        if operation in name_fields
    }
    assert names, "no names found"
    token = run_token("manual__2026-12-01T00:00:00+00:00")
    assert re.fullmatch(r"[0-9a-f]{20}", token)
    assert len(names) == 10, sorted(names)
    for (task_id, _), name in names.items():
        assert name.endswith("-" + TOKEN_TEMPLATE), (task_id, name)
        rendered = name.replace(TOKEN_TEMPLATE, token)
        limit = 32 if task_id == "Tune" else 63
        assert is_sagemaker_name(rendered, limit), (task_id, rendered)
    # No macro of the DAG factory: MWAA Serverless runs no custom Python.
    assert "mlpipes_" not in json.dumps(workflow.definition).replace("mlpipes-", "")


def test_the_token_is_stable_per_run_and_differs_between_runs() -> None:
    assert run_token("scheduled__1") == run_token("scheduled__1")
    assert run_token("scheduled__1") != run_token("scheduled__2")
    assert run_token("a") != hashlib.sha256(b"a").hexdigest()[:20]  # not the factory's token


def test_the_gate_payload_renders_to_the_condition_and_the_fail_message() -> None:
    import jinja2

    workflow = compiled(REFERENCE)
    payload = workflow.task("CheckAccuracy")["payload"]
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    text = env.from_string(payload).render(
        macros={"uuid": uuid}, run_id="manual__1", params={"AccuracyThreshold": 0.7}
    )
    token = run_token("manual__1")
    report = {
        "uri": f"s3://artifacts/pipelines/p/{token}/Evaluate/output/evaluation/evaluation.json",
        "path": "metrics.accuracy.value",
    }
    assert json.loads(text) == {
        "step": "CheckAccuracy",
        "condition": {"compare": ">=", "left": {"json": report}, "right": {"const": 0.7}},
        "message": [
            {"const": "Model accuracy "},
            {"json": report},
            {"const": " is below the threshold "},
            {"const": 0.7},
            {"const": "."},
        ],
    }
    assert workflow.task("CheckAccuracy")["function_name"] == GATE_ARN


def test_schedules_are_cron_only_and_params_keep_the_spec_defaults() -> None:
    workflow = compiled(REFERENCE, schedule="0 6 * * 1")
    assert workflow.dag["schedule"] == "0 6 * * 1"
    assert workflow.dag["params"]["AccuracyThreshold"] == 0.7
    with pytest.raises(CompileError, match=r"schedule '@daily' must be a cron expression"):
        compiled(REFERENCE, schedule="@daily")


def test_register_model_is_refused_naming_the_step_and_why() -> None:
    with pytest.raises(CompileError) as raised:
        compiled(reference_pipeline(input_data_uri="s3://artifacts/data/"))
    message = str(raised.value)
    assert "step 'RegisterModel': register_model is not supported" in message
    assert "does not template 'extras'" in message


def test_a_condition_needs_the_gate_function() -> None:
    with pytest.raises(CompileError, match=r"step 'CheckAccuracy': condition_function_arn is"):
        compiled(REFERENCE, condition_function_arn=None)


def _replace(pipeline: Pipeline, name: str, **changes: Any) -> Pipeline:
    steps = tuple(
        dataclasses.replace(s, **changes) if s.name == name else s for s in pipeline.steps
    )
    return dataclasses.replace(pipeline, steps=steps)


def test_an_else_branch_that_is_not_one_fail_step_is_refused() -> None:
    pipeline = _replace(REFERENCE, "CheckAccuracy", if_steps=(), else_steps=("CreateModel",))
    pipeline = dataclasses.replace(
        pipeline, steps=tuple(s for s in pipeline.steps if s.name != "AccuracyTooLow")
    )
    with pytest.raises(CompileError) as raised:
        compiled(pipeline)
    assert "step 'CheckAccuracy' (else_steps ['CreateModel'])" in str(raised.value)
    assert "exactly one fail step" in str(raised.value)


def test_a_fail_step_in_the_if_branch_or_outside_a_condition_is_refused() -> None:
    pipeline = _replace(
        REFERENCE, "CheckAccuracy", if_steps=("AccuracyTooLow",), else_steps=("CreateModel",)
    )
    with pytest.raises(CompileError) as raised:
        compiled(pipeline)
    assert "(if_steps): fail step 'AccuracyTooLow' in the if branch" in str(raised.value)
    assert "step 'AccuracyTooLow': a fail step compiles for MWAA Serverless only" in str(
        raised.value
    )


def test_json_values_in_requests_and_training_metrics_are_refused_naming_the_field() -> None:
    evaluate = EVERY_KIND.step("Evaluate")
    assert isinstance(evaluate, ProcessingStep)
    report = dataclasses.replace(
        evaluate,
        name="Report",
        description=None,
        depends_on=("Evaluate",),
        arguments=(
            JsonValue("Evaluate", "EvaluationReport", "metrics.accuracy.value"),
            TrainingMetric("SpotTrain", "validation:auc"),
        ),
        property_files=(),
    )
    base = _replace(
        EVERY_KIND,
        "SpotTrain",
        metric_definitions=(MetricDefinition(name="validation:auc", regex="auc=([0-9.]+)"),),
    )
    pipeline = dataclasses.replace(base, steps=(*base.steps, report))
    with pytest.raises(CompileError) as raised:
        compiled(pipeline)
    message = str(raised.value)
    assert "step 'Report' (arguments[0]): JsonValue is supported by MWAA Serverless only" in message
    assert "step 'Report' (arguments[1]): TrainingMetric is not supported" in message
