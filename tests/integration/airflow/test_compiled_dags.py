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


def compiled(pipeline: Pipeline, *, notification_topic_arn: str | None = None) -> CompiledDag:
    return compile_dag(
        pipeline,
        notification_topic_arn=notification_topic_arn,
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

# dag.test() in Airflow 3.0.6 hands a rescheduled sensor its first reschedule date as text
# (apache/airflow#58777; the scheduler's task runner gets a datetime): parse it.
from datetime import datetime as _datetime
from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
_first_reschedule_date = RuntimeTaskInstance.get_first_reschedule_date
def _parsed_first_reschedule_date(self, context):
    value = _first_reschedule_date(self, context)
    if isinstance(value, str):
        return _datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value
RuntimeTaskInstance.get_first_reschedule_date = _parsed_first_reschedule_date

with mock_aws():
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket={bucket!r})
    fake_a2i = None
    if {review!r} is not None:
        # moto has no A2I: the fake runtime answers at its own endpoint, and writes the
        # reviewers' answers to the (moto) bucket.
        import importlib.util, os
        spec = importlib.util.spec_from_file_location("fake_a2i_runtime", {fake_a2i!r})
        fake_module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(fake_module)
        fake_a2i = fake_module.FakeA2iRuntime(
            {review!r}, s3=s3, output_bucket={bucket!r}, output_prefix={review_output!r},
            in_progress={in_progress!r},
        )
        os.environ[fake_module.ENDPOINT_ENV] = fake_a2i.start()
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
        Body=json.dumps({{"metrics": {{
            name: {{"value": {accuracy}}} for name in ("accuracy", "precision", "recall", "f1")
        }}}}),
    )
    # The model package group exists before runs (the stack creates it).
    boto3.client("sagemaker").create_model_package_group(ModelPackageGroupName={group!r})
    if {topic!r} is not None:
        boto3.client("sns").create_topic(Name={topic!r})
    # Every AWS request the DAG's tasks make, for the permission check.
    import botocore.client
    calls = []
    make_api_call = botocore.client.BaseClient._make_api_call
    def record(client, operation, params):
        if client is s3:
            # The test's own client (the fake A2I writes the reviewers' answers with it).
            return make_api_call(client, operation, params)
        calls.append([
            client.meta.service_model.service_name,
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
        "xcom": {{
            ti.task_id: ti.xcom_pull(task_ids=ti.task_id)
            for ti in dag_run.get_task_instances() if ti.task_id == "Review"
        }},
        "loops": {{
            name: {{"request": loop["request"], "input": loop["input"]}}
            for name, loop in (fake_a2i.loops.items() if fake_a2i else [])
        }},
        "a2i_calls": fake_a2i.calls if fake_a2i else [],
    }})
"""


#: The flow definition of the reviewed reference pipeline, and where A2I writes its output.
FLOW_DEFINITION_ARN = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/model-review"
REVIEW_OUTPUT_PREFIX = "a2i-output/"
FAKE_A2I = Path(__file__).resolve().parents[2] / "fake_a2i_runtime.py"


def reviewed_reference() -> Pipeline:
    return reference_pipeline(
        input_data_uri=f"s3://{BUCKET}/data/",
        human_review_flow_definition_arn=FLOW_DEFINITION_ARN,
    )


def run_reference(
    venv: AirflowVenv,
    tmp_path: Path,
    accuracy: float,
    *,
    review: str | None = None,
    in_progress: int = 0,
    dag: CompiledDag | None = None,
    topic: str | None = None,
) -> Any:
    """A ``dag.test()`` run of the reference DAG (or ``dag``); with ``review`` (a fake A2I
    scenario), of the reviewed reference DAG; with ``topic``, the SNS topic (in moto) the DAG
    publishes failures to."""
    if dag is None:
        pipeline = (
            reviewed_reference()
            if review is not None
            else reference_pipeline(input_data_uri=f"s3://{BUCKET}/data/")
        )
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
            review=review,
            review_output=REVIEW_OUTPUT_PREFIX,
            in_progress=in_progress,
            fake_a2i=str(FAKE_A2I),
            topic=topic,
        )
    )
    print(
        f"dag.test() of the reference DAG (accuracy {accuracy}, review {review}): "
        f"{time.monotonic() - started:.1f} s"
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


@pytest.mark.parametrize("review", [None, "approved"], ids=["reference", "reviewed"])
def test_every_call_of_the_reference_dag_is_one_its_permissions_grant(
    airflow_with_database: AirflowVenv, tmp_path: Path, review: str | None
) -> None:
    run = run_reference(airflow_with_database, tmp_path, 0.93, review=review)
    assert run.result["state"] == "success", run.stdout[-4000:]
    pipeline = (
        reviewed_reference()
        if review
        else reference_pipeline(input_data_uri=f"s3://{BUCKET}/data/")
    )
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
        elif service == "sagemaker-a2i-runtime":
            # grant_human_reviews: StartHumanLoop on the flow definitions, Describe and Stop on
            # the loops named after each review task's prefix.
            assert operation in ("StartHumanLoop", "DescribeHumanLoop", "StopHumanLoop")
            if operation == "StartHumanLoop":
                assert params["FlowDefinitionArn"] == FLOW_DEFINITION_ARN
            prefixes = permissions.human_loop_prefixes
            if not any(fnmatch.fnmatchcase(params["HumanLoopName"], f"{p}*") for p in prefixes):
                missing.append((operation, params["HumanLoopName"]))
        elif service == "s3":
            assert _S3_ACTIONS[operation] in {"s3:ListBucket", "s3:GetObject"}
            assert params["Bucket"] == BUCKET
            if "Key" in params or "Prefix" in params:
                key = params.get("Key") or params["Prefix"]
                if key.startswith(REVIEW_OUTPUT_PREFIX):
                    # The flow definition's output (grant_read_output), by a review task.
                    assert _S3_ACTIONS[operation] == "s3:GetObject", params
                    assert permissions.human_loop_prefixes
                else:
                    assert key.startswith(PREFIX), params
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
    operations = {op for _, op, _ in run.result["calls"]}
    assert operations >= {"CreateProcessingJob", "CreateModelPackage"}
    if review:
        assert operations >= {"StartHumanLoop", "DescribeHumanLoop"}
        assert ("s3", "GetObject") in {
            (service, op)
            for service, op, params in run.result["calls"]
            if params.get("Key", "").startswith(REVIEW_OUTPUT_PREFIX)
        }


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
