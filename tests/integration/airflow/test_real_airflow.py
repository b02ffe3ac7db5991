"""Real Airflow 3.0.6 (in its own venv): the DAGs we ship load, run, and fit MWAA Serverless."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from mlpipes_constructs.airflow import ALLOWED_OPERATORS, HEALTH_CHECK_DAGS
from mlpipes_constructs.airflow.serverless_compiler import compile_serverless_workflow
from mlpipes_constructs.airflow.serverless_workflow import definition_yaml
from mlpipes_constructs.compile.naming import is_sagemaker_name
from mlpipes_constructs.spec import local_code_paths
from mlpipes_constructs.spec.graph import step_dependencies
from mlpipes_constructs.stacks.mwaa_serverless_stack import (
    health_check_workflow,
    serverless_reference_pipeline,
)
from tests.integration.airflow.harness import AirflowVenv

pytestmark = pytest.mark.integration


def test_the_dag_folder_the_mwaa_stack_deploys_loads_without_import_errors(
    airflow_venv: AirflowVenv,
) -> None:
    run = airflow_venv.run(
        f"""
        from airflow.models.dagbag import DagBag
        bag = DagBag({str(HEALTH_CHECK_DAGS)!r}, include_examples=False)
        report({{
            "errors": {{path: str(error) for path, error in bag.import_errors.items()}},
            "dags": {{dag_id: sorted(dag.task_ids) for dag_id, dag in bag.dags.items()}},
        }})
        """
    )
    assert run.result["errors"] == {}
    assert run.result["dags"] == {"mlpipes_health_check": ["report_version"]}


PROCESSING_DAG = """
from datetime import datetime

from airflow.providers.amazon.aws.operators.sagemaker import SageMakerProcessingOperator
from airflow.sdk import DAG

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
CONFIG = {
    "ProcessingJobName": "mlpipes-harness-preprocess",
    "RoleArn": "arn:aws:iam::123456789012:role/mlpipes-job",
    "AppSpecification": {
        "ImageUri": IMAGE,
        "ContainerEntrypoint": ["python3", "-c", "print('preprocess')"],
    },
    "ProcessingResources": {
        "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30}
    },
    "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
}

with DAG("mlpipes_harness_processing", schedule=None, start_date=datetime(2025, 1, 1)) as dag:
    SageMakerProcessingOperator(
        task_id="preprocess", config=CONFIG, aws_conn_id=None, check_interval=1
    )
"""


def test_dag_test_runs_a_sagemaker_processing_task_against_moto(
    airflow_with_database: AirflowVenv, tmp_path: Path
) -> None:
    dag_file = tmp_path / "processing_dag.py"
    dag_file.write_text(PROCESSING_DAG, encoding="utf-8")
    started = time.monotonic()
    run = airflow_with_database.run(
        f"""
        import boto3
        from moto import mock_aws
        from airflow.models.dagbag import DagBag

        with mock_aws():
            bag = DagBag({str(dag_file)!r}, include_examples=False)
            assert not bag.import_errors, bag.import_errors
            dag = bag.get_dag("mlpipes_harness_processing")
            dag_run = dag.test(logical_date=None)
            jobs = boto3.client("sagemaker").list_processing_jobs()["ProcessingJobSummaries"]
            report({{
                "state": str(dag_run.state),
                "tasks": {{ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}},
                "jobs": [job["ProcessingJobName"] for job in jobs],
            }})
        """
    )
    elapsed = time.monotonic() - started
    assert run.result["state"] == "success", run.stdout[-4000:]
    assert run.result["tasks"] == {"preprocess": "success"}
    assert len(run.result["jobs"]) == 1
    assert run.result["jobs"][0].startswith("mlpipes-harness-")
    print(f"dag.test() of the processing DAG under moto: {elapsed:.1f} s")


def test_the_serverless_workflow_loads_with_dag_factory_and_uses_allowed_operators_only(
    airflow_venv: AirflowVenv, tmp_path: Path
) -> None:
    definition = health_check_workflow("mlpipes-artifacts-example")
    workflow_file = tmp_path / "workflow.yaml"
    workflow_file.write_text(definition_yaml(definition), encoding="utf-8")
    run = airflow_venv.run(
        f"""
        import dagfactory
        from importlib.metadata import version

        loaded = {{}}
        dagfactory.load_yaml_dags(globals_dict=loaded, config_filepath={str(workflow_file)!r})
        dags = {{}}
        for dag_id, dag in loaded.items():
            dags[dag_id] = {{
                task.task_id: {{
                    "operator": type(task).__module__ + "." + type(task).__name__,
                    "upstream": sorted(task.upstream_task_ids),
                    "retries": task.retries,
                    "timeout": task.execution_timeout.total_seconds()
                    if task.execution_timeout else None,
                }}
                for task in dag.tasks
            }}
            dags[dag_id]["__schedule__"] = dag.timetable.summary
        report({{"dag_factory": version("dag-factory"), "dags": dags}})
        """
    )
    assert run.result["dag_factory"] == "1.0.0"
    dags = run.result["dags"]
    assert list(dags) == ["mlpipes_serverless_health_check"]
    dag = dags["mlpipes_serverless_health_check"]
    assert dag.pop("__schedule__") == "0 6 * * 1"
    operators = {task["operator"] for task in dag.values()}
    assert operators <= ALLOWED_OPERATORS, operators - ALLOWED_OPERATORS
    assert dag["done"]["upstream"] == ["list_data"]
    assert dag["list_data"]["timeout"] == 600
    assert all(task["retries"] == 1 for task in dag.values())
    # The YAML is what the construct uploads: the operators it names are what loaded.
    assert operators == {
        task["operator"] for task in definition[next(iter(definition))]["tasks"].values()
    }
    assert json.loads(json.dumps(definition))  # plain data, no CDK objects


def test_the_serverless_reference_workflow_loads_with_dag_factory_and_renders_valid_names(
    airflow_venv: AirflowVenv, tmp_path: Path
) -> None:
    pipeline = serverless_reference_pipeline(input_data_uri="s3://artifacts/data/")
    workflow = compile_serverless_workflow(
        pipeline,
        role_arn="arn:aws:iam::123456789012:role/job",
        artifact_bucket_name="artifacts",
        artifact_prefix="pipelines/p/",
        code_locations={code: "s3://artifacts/code.zip" for code in local_code_paths(pipeline)},
        condition_function_arn="arn:aws:lambda:us-east-1:123456789012:function:gate",
        schedule="0 6 * * 1",
    )
    workflow_file = tmp_path / "workflow.yaml"
    workflow_file.write_text(definition_yaml(workflow.definition), encoding="utf-8")
    dag_folder = tmp_path / "dags"
    dag_folder.mkdir()
    (dag_folder / "load_workflow.py").write_text(
        "# Builds the airflow DAG of the workflow, as MWAA Serverless does, with dag-factory.\n"
        "import dagfactory\n"
        "dagfactory.load_yaml_dags(globals_dict=globals(), "
        f"config_filepath={str(workflow_file)!r})\n",
        encoding="utf-8",
    )
    run_id = "manual__2026-12-01T06:00:00+00:00"
    started = time.perf_counter()
    run = airflow_venv.run(
        f"""
        import json
        import dagfactory
        from airflow import macros
        from airflow.models.dagbag import DagBag

        bag = DagBag({str(dag_folder)!r}, include_examples=False)
        loaded = {{}}
        dagfactory.load_yaml_dags(globals_dict=loaded, config_filepath={str(workflow_file)!r})
        (dag,) = loaded.values()
        env = dag.get_template_env()
        context = {{"macros": macros, "run_id": {run_id!r}, "params": dag.params.dump()}}
        def render(task_id, value):
            return dag.get_task(task_id).render_template(value, context, jinja_env=env)
        report({{
            "import_errors": {{path: str(error) for path, error in bag.import_errors.items()}},
            "bag": sorted(bag.dags),
            "dag_id": dag.dag_id,
            "schedule": dag.timetable.summary,
            "tasks": {{
                task.task_id: {{
                    "operator": type(task).__module__ + "." + type(task).__name__,
                    "upstream": sorted(task.upstream_task_ids),
                    "retries": task.retries,
                }}
                for task in dag.tasks
            }},
            "names": {{
                "Preprocess": render("Preprocess", dag.get_task("Preprocess").config)[
                    "ProcessingJobName"
                ],
                "Train": render("Train", dag.get_task("Train").config)["TrainingJobName"],
            }},
            "gate": json.loads(render("CheckAccuracy", dag.get_task("CheckAccuracy").payload)),
        }})
        """
    )
    elapsed = time.perf_counter() - started
    result = run.result
    assert result["import_errors"] == {}
    assert result["bag"] == ["mlpipes-review-classifier"]
    assert result["dag_id"] == "mlpipes-review-classifier"
    assert result["schedule"] == "0 6 * * 1"
    tasks = result["tasks"]
    operators = {task["operator"] for task in tasks.values()}
    assert operators <= ALLOWED_OPERATORS, operators - ALLOWED_OPERATORS
    fails = {step.name for step in pipeline.steps if step.kind == "fail"}
    expected = {
        name: sorted(set(deps) - fails)
        for name, deps in step_dependencies(pipeline).items()
        if name not in fails
    }
    assert {task_id: task["upstream"] for task_id, task in tasks.items()} == expected
    assert all(task["retries"] == 0 for task in tasks.values())
    token = uuid.uuid5(uuid.NAMESPACE_URL, run_id).hex[:20]
    for name in result["names"].values():
        assert name.endswith(f"-{token}") and is_sagemaker_name(name), name
    gate = result["gate"]
    assert gate["condition"]["left"]["json"]["uri"] == (
        f"s3://artifacts/pipelines/p/{token}/Evaluate/output/evaluation/evaluation.json"
    )
    assert gate["condition"]["right"] == {"const": 0.7}
    print(f"dag-factory load and render of the Serverless reference workflow: {elapsed:.1f} s")
