"""Real Airflow 3.0.6: the reviewed reference DAG's human review under ``dag.test()``.

SageMaker and S3 are moto; A2I is the fake runtime of ``tests/fake_a2i_runtime.py`` at its own
endpoint, which the review task's boto3 client calls over HTTP with botocore's real model.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from mlpipes_constructs.airflow.compiler import CompiledDag
from mlpipes_constructs.compile.human_review import human_loop_name, human_loop_prefix
from tests.integration.airflow.harness import AirflowVenv
from tests.integration.airflow.test_compiled_dags import (
    BUCKET,
    FLOW_DEFINITION_ARN,
    PREFIX,
    compiled,
    reviewed_reference,
    run_reference,
)

pytestmark = pytest.mark.integration

RUN_ID = "manual__2026-01-01T00:00:00+00:00"
TOPIC = "mlpipes-failures"
TOPIC_ARN = f"arn:aws:sns:us-east-1:123456789012:{TOPIC}"
#: Where the decision leads: the register branch, or the spec's ReviewRejected fail step.
REGISTER = ("RegisterModel", "CreateModel", "BatchTransform")


def _log(run: Any) -> str:
    return str(run.stdout) + str(run.stderr)


def _published(run: Any) -> list[str]:
    return [
        params["TargetArn"]
        for service, operation, params in run.result["calls"]
        if (service, operation) == ("sns", "Publish")
    ]


def test_an_approved_review_registers_the_model(
    airflow_with_database: AirflowVenv, tmp_path: Path
) -> None:
    run = run_reference(airflow_with_database, tmp_path, 0.93, review="approved")
    assert run.result["state"] == "success", _log(run)[-4000:]
    tasks = run.result["tasks"]
    assert tasks["Review"] == tasks["CheckReview"] == "success"
    assert {tasks[t] for t in REGISTER} == {"success"}
    assert tasks["ReviewRejected"] == "skipped"
    assert run.result["xcom"] == {"Review": "Approved"}
    # One loop, named for this run, task and try, started with the core's request rendered.
    prefix = human_loop_prefix("mlpipes-review-c", "Review")
    name = human_loop_name(prefix, f"{RUN_ID}/Review/1")
    assert list(run.result["loops"]) == [name]
    request = run.result["loops"][name]["request"]
    assert request["FlowDefinitionArn"] == FLOW_DEFINITION_ARN
    token = run.result["token"]
    assert json.loads(request["HumanLoopInput"]["InputContent"]) == {
        "pipeline_execution": RUN_ID,
        "step": "Review",
        "report_uri": f"s3://{BUCKET}/{PREFIX}{token}/Evaluate/output/evaluation/evaluation.json",
        # Typed: the report's numbers and the float parameter stay numbers.
        "metrics": [
            ["accuracy", 0.93],
            ["precision", 0.93],
            ["recall", 0.93],
            ["f1", 0.93],
            ["accuracy threshold", 0.7],
        ],
        "model_name": "mlpipes-review-classifier",
        # What the training operator returned (moto's ModelArtifacts).
        "model_artifacts": f"s3://{BUCKET}/{PREFIX}{token}/Train/"
        f"mlpipes-review-c-train-{token}/output/model.tar.gz",
    }
    assert [op for op, _ in run.result["a2i_calls"]] == [
        "DescribeHumanLoop",
        "StartHumanLoop",
        "DescribeHumanLoop",
    ]


def test_a_rejected_review_fails_the_run_at_review_rejected(
    airflow_with_database: AirflowVenv, tmp_path: Path
) -> None:
    run = run_reference(airflow_with_database, tmp_path, 0.93, review="rejected")
    assert run.result["state"] == "failed"
    tasks = run.result["tasks"]
    assert tasks["Review"] == tasks["CheckReview"] == "success"
    assert run.result["xcom"] == {"Review": "Rejected"}
    assert tasks["ReviewRejected"] == "failed"
    assert {tasks[t] for t in REGISTER} == {"skipped"}
    assert "The reviewers rejected the model." in _log(run)


@pytest.mark.parametrize(
    ("scenario", "reason"),
    [
        ("stopped", "ended Stopped without a decision"),
        ("expired", "expired before a reviewer answered"),
    ],
)
def test_a_loop_without_a_decision_fails_the_run_with_its_reason_and_notifies(
    airflow_with_database: AirflowVenv, tmp_path: Path, scenario: str, reason: str
) -> None:
    dag = compiled(reviewed_reference(), notification_topic_arn=TOPIC_ARN)
    run = run_reference(
        airflow_with_database, tmp_path, 0.93, review=scenario, dag=dag, topic=TOPIC
    )
    assert run.result["state"] == "failed"
    tasks = run.result["tasks"]
    assert tasks["Review"] == "failed"
    assert tasks["CheckReview"] == "upstream_failed"
    assert {tasks[t] for t in (*REGISTER, "ReviewRejected")} == {"upstream_failed"}
    (name,) = run.result["loops"]
    assert f"step 'Review': human loop {name} {reason}" in _log(run)
    # The DAG's failure callback published the failed run, as for any other failure.
    assert _published(run) == [TOPIC_ARN]


def _with_review_timing(dag: CompiledDag, *, poll: int, wait: int) -> CompiledDag:
    definition = copy.deepcopy(dict(dag.definition))
    for task in definition["tasks"]:
        if task["operator"] == "human_review":
            task["poll_interval_seconds"], task["wait_seconds"] = poll, wait
    return CompiledDag(dag_id=dag.dag_id, definition=definition)


def test_the_sensor_is_rescheduled_while_the_loop_runs_and_starts_it_once(
    airflow_with_database: AirflowVenv, tmp_path: Path
) -> None:
    # The spec's shortest poll interval is 10 s; 1 s keeps the run short.
    dag = _with_review_timing(compiled(reviewed_reference()), poll=1, wait=600)
    run = run_reference(
        airflow_with_database, tmp_path, 0.93, review="approved", in_progress=2, dag=dag
    )
    assert run.result["state"] == "success", _log(run)[-4000:]
    assert run.result["xcom"] == {"Review": "Approved"}
    (name,) = run.result["loops"]
    assert [tuple(call) for call in run.result["a2i_calls"]] == [
        ("DescribeHumanLoop", name),
        ("StartHumanLoop", name),
        ("DescribeHumanLoop", name),
        ("DescribeHumanLoop", name),
        ("DescribeHumanLoop", name),
    ]
    assert "up_for_reschedule" in _log(run).lower()


def test_a_loop_without_a_decision_in_time_is_stopped_and_fails_the_run(
    airflow_with_database: AirflowVenv, tmp_path: Path
) -> None:
    dag = _with_review_timing(compiled(reviewed_reference()), poll=1, wait=2)
    run = run_reference(airflow_with_database, tmp_path, 0.93, review="never", dag=dag)
    assert run.result["state"] == "failed"
    assert run.result["tasks"]["Review"] == "failed"
    (name,) = run.result["loops"]
    operations = [operation for operation, _ in run.result["a2i_calls"]]
    assert operations[:2] == ["DescribeHumanLoop", "StartHumanLoop"]
    assert operations[-1] == "StopHumanLoop"
    assert operations.count("StartHumanLoop") == 1
    assert f"human loop {name} had no decision after 2 seconds; it was stopped" in _log(run)
