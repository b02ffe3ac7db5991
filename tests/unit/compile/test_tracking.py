"""The MLflow tracking variables every job of a tracked pipeline gets."""

from __future__ import annotations

from typing import Any

from mlpipes_constructs.compile import JobContext
from mlpipes_constructs.compile.requests.processing import processing_job
from mlpipes_constructs.compile.requests.training import training_job, tuning_job
from mlpipes_constructs.compile.tracking import Tracking, tracking_environment
from mlpipes_constructs.spec import (
    IntegerRange,
    ObjectiveType,
    ParameterRef,
    ProcessingStep,
    TrainingStep,
    TuningStep,
)
from tests.sagemaker_api import check_request

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:mlflow-admin-AbCdEf"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/job:1"


class _Renderer:
    def value(self, value: object) -> Any:
        return f"<{value.name}>" if isinstance(value, ParameterRef) else value

    def text(self, value: object) -> Any:
        return str(self.value(value))

    def location(self, destination: object | None, *default_keys: str) -> Any:
        return "s3://artifacts/" + "/".join(default_keys)

    def code_location(self, step: ProcessingStep) -> Any:
        return "s3://artifacts/code.zip"


def _job(tracking: Tracking | None) -> JobContext:
    environment = tracking_environment(
        tracking, pipeline_name="reviews", orchestrator="Airflow", execution_id="<run id>"
    )
    return JobContext(role_arn="arn:aws:iam::123456789012:role/job", environment=environment)


TRACKED = Tracking(tracking_uri="https://mlflow.internal", credentials_secret_arn=SECRET_ARN)


def test_a_tracked_pipeline_gives_the_server_the_experiment_and_the_execution() -> None:
    assert tracking_environment(
        TRACKED, pipeline_name="reviews", orchestrator="Step Functions", execution_id="<id>"
    ) == {
        "MLFLOW_TRACKING_URI": "https://mlflow.internal",
        "MLFLOW_EXPERIMENT_NAME": "reviews",
        "MLPIPES_EXECUTION_ID": "<id>",
        "MLPIPES_ORCHESTRATOR": "step-functions",
        "MLPIPES_PIPELINE": "reviews",
        "MLPIPES_MLFLOW_CREDENTIALS_SECRET_ARN": SECRET_ARN,
    }


def test_the_experiment_and_the_secret_are_optional() -> None:
    environment = tracking_environment(
        Tracking(tracking_uri="http://mlflow:5000", experiment_name="team"),
        pipeline_name="reviews",
        orchestrator="Kubeflow Pipelines",
        execution_id="<id>",
    )

    assert environment["MLFLOW_EXPERIMENT_NAME"] == "team"
    assert environment["MLPIPES_ORCHESTRATOR"] == "kubeflow"
    assert "MLPIPES_MLFLOW_CREDENTIALS_SECRET_ARN" not in environment


def test_an_untracked_pipeline_gets_no_variables_and_jobs_keep_their_own() -> None:
    step = ProcessingStep(
        name="Prep",
        image_uri=IMAGE,
        code="scripts",
        entry_point="prep.py",
        instance_type="ml.m5.xlarge",
        environment={"MODE": "full"},
    )

    request = processing_job(step, _job(None), _Renderer())

    assert request["Environment"] == {"MODE": "full"}
    assert "Environment" not in processing_job(
        ProcessingStep(
            name="Prep",
            image_uri=IMAGE,
            code="scripts",
            entry_point="prep.py",
            instance_type="ml.m5.xlarge",
        ),
        _job(None),
        _Renderer(),
    )


def test_every_processing_training_and_tuning_job_of_a_tracked_pipeline_gets_them() -> None:
    processing = ProcessingStep(
        name="Prep",
        image_uri=IMAGE,
        code="scripts",
        entry_point="prep.py",
        instance_type="ml.m5.xlarge",
        # A step's own variable wins over the pipeline's.
        environment={"MLFLOW_EXPERIMENT_NAME": "prep-experiments"},
    )
    training = TrainingStep(name="Train", image_uri=IMAGE, instance_type="ml.m5.xlarge")
    tuning = TuningStep(
        name="Tune",
        image_uri=IMAGE,
        instance_type="ml.m5.xlarge",
        parameter_ranges=(IntegerRange(name="depth", min_value=2, max_value=8),),
        objective_metric="validation:auc",
        objective_type=ObjectiveType.MAXIMIZE,
    )
    job = _job(TRACKED)

    requests = {
        "CreateProcessingJob": processing_job(processing, job, _Renderer()),
        "CreateTrainingJob": training_job(training, job, _Renderer()),
    }
    tuning_request = tuning_job(tuning, job, _Renderer())
    environments = {
        "Prep": requests["CreateProcessingJob"]["Environment"],
        "Train": requests["CreateTrainingJob"]["Environment"],
        "Tune": tuning_request["TrainingJobDefinition"]["Environment"],
    }

    for step, environment in environments.items():
        assert environment["MLPIPES_STEP"] == step
        assert environment["MLPIPES_EXECUTION_ID"] == "<run id>"
        assert environment["MLFLOW_TRACKING_URI"] == "https://mlflow.internal"
        assert list(environment) == sorted(environment)
    assert environments["Prep"]["MLFLOW_EXPERIMENT_NAME"] == "prep-experiments"
    assert environments["Train"]["MLFLOW_EXPERIMENT_NAME"] == "reviews"
    for operation, request in requests.items():
        assert (
            check_request(
                operation, request, runtime_fields=["ProcessingJobName", "TrainingJobName"]
            )
            == []
        )
