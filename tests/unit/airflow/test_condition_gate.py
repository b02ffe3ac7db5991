"""The condition gate function against moto's S3: true passes, false raises the fail message."""

from __future__ import annotations

import importlib.util
import json
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import jinja2
import pytest
from moto import mock_aws

from mlpipes_constructs.airflow.serverless_compiler import (
    CONDITION_GATE_DIRECTORY,
    compile_serverless_workflow,
)
from mlpipes_constructs.spec import local_code_paths
from mlpipes_constructs.stacks.mwaa_serverless_stack import serverless_reference_pipeline

BUCKET = "artifacts"
REPORT_KEY = "pipelines/p/0123/Evaluate/output/evaluation/evaluation.json"
REPORT_URI = f"s3://{BUCKET}/{REPORT_KEY}"


def _load_gate() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "condition_gate", CONDITION_GATE_DIRECTORY / "index.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gate = _load_gate()


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        client.put_object(
            Bucket=BUCKET,
            Key=REPORT_KEY,
            Body=json.dumps({"metrics": {"accuracy": {"value": 0.62}}, "scores": [0.5, 0.9]}),
        )
        monkeypatch.setattr(gate, "_s3", client)
        yield client


def accuracy(path: str = "metrics.accuracy.value") -> dict[str, Any]:
    return {"json": {"uri": REPORT_URI, "path": path}}


def event(condition: dict[str, Any]) -> dict[str, Any]:
    return {
        "step": "CheckAccuracy",
        "condition": condition,
        "message": [
            {"const": "Model accuracy "},
            accuracy(),
            {"const": " is below the threshold "},
            {"const": 0.7},
            {"const": "."},
        ],
    }


def test_a_true_condition_returns_its_result(s3: Any) -> None:
    condition = {"compare": ">=", "left": accuracy(), "right": {"const": 0.6}}
    assert gate.handler(event(condition), None) == {"result": True}


def test_a_false_condition_raises_the_fail_message_with_the_report_value(s3: Any) -> None:
    condition = {"compare": ">=", "left": accuracy(), "right": {"const": 0.7}}
    with pytest.raises(gate.ConditionFalseError) as raised:
        gate.handler(event(condition), None)
    assert str(raised.value) == "Model accuracy 0.62 is below the threshold 0.7."


def test_and_or_not_and_list_indexes_combine(s3: Any) -> None:
    high = {"compare": ">", "left": accuracy("scores[1]"), "right": {"const": 0.8}}
    low = {"compare": "<", "left": accuracy("scores[0]"), "right": {"const": 0.1}}
    assert gate.evaluate({"and": [high, {"not": low}]}) is True
    assert gate.evaluate({"or": [low, {"not": high}]}) is False
    assert gate.evaluate({"compare": "==", "left": {"const": "a"}, "right": {"const": "a"}})


def test_a_missing_path_or_report_is_an_error_naming_it(s3: Any) -> None:
    condition = {"compare": ">=", "left": accuracy("metrics.f1"), "right": {"const": 0.7}}
    with pytest.raises(gate.ReportError, match=r"no value at 'metrics.f1' in 's3://artifacts/"):
        gate.handler(event(condition), None)
    missing = {"json": {"uri": f"s3://{BUCKET}/nothing.json", "path": "a"}}
    with pytest.raises(gate.ReportError, match=r"'s3://artifacts/nothing.json' cannot be read: No"):
        gate.evaluate({"compare": "==", "left": missing, "right": {"const": 1}})
    with pytest.raises(gate.ReportError, match=r"'https://x' is not an s3:// URI"):
        gate.json_value("https://x", "a")


def _compiled_gate_event(threshold: float, run_id: str) -> dict[str, Any]:
    """The payload the compiled reference workflow's gate task sends, rendered as Airflow
    renders it (``macros.uuid`` is Python's ``uuid``; params are the run's)."""
    pipeline = serverless_reference_pipeline(input_data_uri=f"s3://{BUCKET}/data/")
    workflow = compile_serverless_workflow(
        pipeline,
        role_arn="arn:aws:iam::123456789012:role/job",
        artifact_bucket_name=BUCKET,
        artifact_prefix="pipelines/p/",
        code_locations={code: f"s3://{BUCKET}/code.zip" for code in local_code_paths(pipeline)},
        condition_function_arn="arn:aws:lambda:us-east-1:123456789012:function:gate",
    )
    template = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(
        workflow.task("CheckAccuracy")["payload"]
    )
    text = template.render(
        macros={"uuid": uuid}, run_id=run_id, params={"AccuracyThreshold": threshold}
    )
    rendered: dict[str, Any] = json.loads(text)
    return rendered


def test_the_compiled_gate_payload_passes_or_fails_with_the_spec_message(s3: Any) -> None:
    run_id = "scheduled__2026-12-01T06:00:00+00:00"
    token = uuid.uuid5(uuid.NAMESPACE_URL, run_id).hex[:20]
    s3.put_object(
        Bucket=BUCKET,
        Key=f"pipelines/p/{token}/Evaluate/output/evaluation/evaluation.json",
        Body=json.dumps({"metrics": {"accuracy": {"value": 0.81}}}),
    )
    assert gate.handler(_compiled_gate_event(0.7, run_id), None) == {"result": True}
    with pytest.raises(gate.ConditionFalseError) as raised:
        gate.handler(_compiled_gate_event(0.9, run_id), None)
    assert str(raised.value) == "Model accuracy 0.81 is below the threshold 0.9."
    # Another run reads its own report, which does not exist.
    with pytest.raises(gate.ReportError, match=r"cannot be read: NoSuchKey"):
        gate.handler(_compiled_gate_event(0.7, "manual__other"), None)
