"""Real Airflow 3.0.6: DAGs compiled from the spec load, match the spec's graph, and run."""

from __future__ import annotations

import fnmatch
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings

from mlpipes_constructs.airflow._task_permissions import dag_permissions
from mlpipes_constructs.airflow.compiler import CompiledDag, compile_dag
from mlpipes_constructs.compile import CompileError
from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.spec import Pipeline, local_code_paths
from mlpipes_constructs.spec.graph import step_dependencies
from tests.integration.airflow.harness import AirflowVenv
from tests.unit.spec.spec_strategies import pipelines

pytestmark = pytest.mark.integration

BUCKET = "mlpipes-artifacts"
PREFIX = "pipelines/review/"
ROLE_ARN = "arn:aws:iam::123456789012:role/mlpipes-job"


def compiled(pipeline: Pipeline) -> CompiledDag:
    return compile_dag(
        pipeline,
        role_arn=ROLE_ARN,
        artifact_bucket_name=BUCKET,
        artifact_prefix=PREFIX,
        code_locations={
            code: f"s3://{BUCKET}/code/{i}.zip" for i, code in enumerate(local_code_paths(pipeline))
        },
    )


LOAD = """
from airflow.models.dagbag import DagBag
bag = DagBag({folder!r}, include_examples=False)
report({{
    "errors": {{path: str(error) for path, error in bag.import_errors.items()}},
    "dags": {{
        dag_id: {{task.task_id: sorted(task.upstream_task_ids) for task in dag.tasks}}
        for dag_id, dag in bag.dags.items()
    }},
}})
"""


def spec_graph(pipeline: Pipeline) -> dict[str, list[str]]:
    return {name: sorted(deps) for name, deps in step_dependencies(pipeline).items()}


def test_the_reference_dag_loads_and_its_task_graph_is_the_specs(
    airflow_venv: AirflowVenv, tmp_path: Path
) -> None:
    pipeline = reference_pipeline(input_data_uri=f"s3://{BUCKET}/data/")
    dag = compiled(pipeline)
    dag.write(tmp_path / dag.dag_id)
    run = airflow_venv.run(LOAD.format(folder=str(tmp_path)))
    assert run.result["errors"] == {}
    assert run.result["dags"] == {dag.dag_id: spec_graph(pipeline)}


def test_dags_compiled_from_random_pipelines_load_with_the_specs_graphs(
    airflow_venv: AirflowVenv, tmp_path: Path
) -> None:
    expected: dict[str, dict[str, list[str]]] = {}

    @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
    @given(pipeline=pipelines())
    def collect(pipeline: Pipeline) -> None:
        dag_id = f"random_{len(expected)}"
        try:
            dag = compile_dag(
                pipeline,
                role_arn=ROLE_ARN,
                artifact_bucket_name=BUCKET,
                artifact_prefix=PREFIX,
                code_locations={c: f"s3://{BUCKET}/code.zip" for c in local_code_paths(pipeline)},
                dag_id=dag_id,
            )
        except CompileError:
            # Refused by the compile core for every orchestrator (e.g. an instance type).
            assume(False)
        dag.write(tmp_path / dag_id)
        expected[dag_id] = spec_graph(pipeline)

    collect()
    run = airflow_venv.run(LOAD.format(folder=str(tmp_path)))
    assert run.result["errors"] == {}
    assert run.result["dags"] == expected


RUN = """
import json
import boto3
from moto import mock_aws
from airflow.models.dagbag import DagBag
from airflow.providers.amazon.aws.hooks import sagemaker as sagemaker_hook

# moto finishes jobs at once; don't wait between polls.
sagemaker_hook.time.sleep = lambda seconds: None

with mock_aws():
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket={bucket!r})
    bag = DagBag({folder!r}, include_examples=False)
    assert not bag.import_errors, bag.import_errors
    dag = bag.get_dag({dag_id!r})
    from datetime import datetime, timezone
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    # What dag.test() names a run with a logical date: "manual__<run_after>".
    run_id = "manual__" + when.isoformat()
    token = dag.user_defined_macros["mlpipes_run_token"](run_id)
    # moto runs no job: the objects the jobs would write are written here, where the operators
    # (which check their inputs exist) and the condition read them.
    for key in {placeholders!r}:
        s3.put_object(Bucket={bucket!r}, Key=key.replace("TOKEN", token), Body=b"1,0.5")
    s3.put_object(
        Bucket={bucket!r},
        Key={report_key!r}.replace("TOKEN", token),
        Body=json.dumps({{"metrics": {{"accuracy": {{"value": {accuracy}}}}}}}),
    )
    # The model package group exists before runs (the stack creates it).
    boto3.client("sagemaker").create_model_package_group(ModelPackageGroupName={group!r})
    # Every AWS request the DAG's tasks make, for the permission check.
    import botocore.client
    calls = []
    make_api_call = botocore.client.BaseClient._make_api_call
    def record(client, operation, params):
        calls.append([
            client.meta.service_model.signing_name,
            operation,
            {{k: v for k, v in params.items() if isinstance(v, str)}},
        ])
        return make_api_call(client, operation, params)
    botocore.client.BaseClient._make_api_call = record
    dag_run = dag.test(logical_date=when, run_after=when)
    botocore.client.BaseClient._make_api_call = make_api_call
    assert dag_run.run_id == run_id, dag_run.run_id
    sm = boto3.client("sagemaker")
    failed = [ti for ti in dag_run.get_task_instances() if str(ti.state) == "failed"]
    report({{
        "state": str(dag_run.state),
        "tasks": {{ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}},
        "transforms": [
            job["TransformJobName"]
            for job in sm.list_transform_jobs()["TransformJobSummaries"]
        ],
        "token": token,
        "calls": calls,
    }})
"""


def run_reference(venv: AirflowVenv, tmp_path: Path, accuracy: float) -> Any:
    pipeline = reference_pipeline(input_data_uri=f"s3://{BUCKET}/data/")
    dag = compiled(pipeline)
    folder = dag.write(tmp_path / "dags" / dag.dag_id)
    report_key = f"{PREFIX}TOKEN/Evaluate/output/evaluation/evaluation.json"
    started = time.monotonic()
    run = venv.run(
        RUN.format(
            bucket=BUCKET,
            folder=str(folder),
            dag_id=dag.dag_id,
            factory=str(folder / f"{dag.dag_id}.py"),
            report_key=report_key,
            group=dag.task("RegisterModel")["config"]["ModelPackageGroupName"],
            placeholders=[
                "data/reviews.csv",
                *(
                    f"{PREFIX}TOKEN/Preprocess/output/{o}/part.csv"
                    for o in ("train", "validation", "test", "transform")
                ),
            ],
            accuracy=accuracy,
        )
    )
    print(
        f"dag.test() of the reference DAG (accuracy {accuracy}): {time.monotonic() - started:.1f} s"
    )
    return run


def test_the_reference_dag_runs_to_batch_transform_when_accurate(
    airflow_with_database: AirflowVenv, tmp_path: Path
) -> None:
    run = run_reference(airflow_with_database, tmp_path, 0.93)
    assert run.result["state"] == "success", run.stdout[-4000:]
    tasks = run.result["tasks"]
    assert tasks["BatchTransform"] == "success"
    assert tasks["RegisterModel"] == "success"
    assert tasks["AccuracyTooLow"] == "skipped"
    assert run.result["transforms"] == [f"mlpipes-review-c-batchtransform-{run.result['token']}"]


#: The IAM action of each request the DAG's tasks made (the S3 checks are HeadBucket and
#: ListObjectsV2 on the bucket, HeadObject and GetObject on objects).
_S3_ACTIONS = {
    "HeadBucket": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "HeadObject": "s3:GetObject",
    "GetObject": "s3:GetObject",
}
#: The request field that names the SageMaker resource each operation is authorized on.
_SAGEMAKER_NAMES = {
    "CreateModelPackage": ("model-package", "ModelPackageGroupName"),
    **{
        f"{verb}{kind}": (resource, f"{kind}Name")
        for verb in ("Create", "Describe")
        for kind, resource in (
            ("ProcessingJob", "processing-job"),
            ("TrainingJob", "training-job"),
            ("TransformJob", "transform-job"),
            ("Model", "model"),
        )
    },
}


def test_every_call_of_the_reference_dag_is_one_its_permissions_grant(
    airflow_with_database: AirflowVenv, tmp_path: Path
) -> None:
    run = run_reference(airflow_with_database, tmp_path, 0.93)
    assert run.result["state"] == "success", run.stdout[-4000:]
    pipeline = reference_pipeline(input_data_uri=f"s3://{BUCKET}/data/")
    permissions = dag_permissions(compiled(pipeline).definition)
    granted: dict[tuple[str, str], list[str]] = {}
    for grant in permissions.sagemaker:
        for action in grant.actions:
            granted.setdefault((grant.resource_type, action), []).append(grant.name_pattern)
    missing = []
    for service, operation, params in run.result["calls"]:
        if service == "sagemaker":
            resource_type, field = _SAGEMAKER_NAMES[operation]
            name = params[field].lower()
            name = f"{name}/1" if resource_type == "model-package" else name
            patterns = granted.get((resource_type, f"sagemaker:{operation}"), [])
            if not any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
                missing.append((operation, name))
        elif service == "s3":
            assert _S3_ACTIONS[operation] in {"s3:ListBucket", "s3:GetObject"}
            assert params["Bucket"] == BUCKET
            if "Key" in params or "Prefix" in params:
                assert (params.get("Key") or params["Prefix"]).startswith(PREFIX), params
            assert permissions.reads_reports and permissions.checks_inputs
        elif service == "logs":
            assert operation in ("DescribeLogStreams", "GetLogEvents")
            stream = params[
                "logStreamNamePrefix" if operation == "DescribeLogStreams" else "logStreamName"
            ]
            assert any(fnmatch.fnmatchcase(stream, p) for p in permissions.training_log_streams)
        else:
            missing.append((service, operation))
    assert missing == []
    assert {op for _, op, _ in run.result["calls"]} >= {"CreateProcessingJob", "CreateModelPackage"}


def test_the_reference_dag_fails_with_the_specs_message_when_inaccurate(
    airflow_with_database: AirflowVenv, tmp_path: Path
) -> None:
    run = run_reference(airflow_with_database, tmp_path, 0.5)
    assert run.result["state"] == "failed"
    tasks = run.result["tasks"]
    assert tasks["AccuracyTooLow"] == "failed"
    assert {tasks[t] for t in ("RegisterModel", "CreateModel", "BatchTransform")} == {"skipped"}
    # The spec's Join: the measured accuracy and the AccuracyThreshold default.
    assert "Model accuracy 0.5 is below the threshold 0.7." in run.stdout + run.stderr
