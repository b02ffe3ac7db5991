"""The reference jobs log to the real MLflow tracking server, as a tracked pipeline runs them.

Preprocess (subprocess) -> built-in XGBoost stand-in -> Evaluate (subprocess), each job given
the environment the orchestrator compilers give a tracked pipeline's jobs, pointing at the
session's MLflow server (our launcher, PostgreSQL, moto S3; see ``conftest.py``) with basic-auth
credentials in moto's Secrets Manager. The run is read back with MLflow's own client.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import textwrap
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from mlpipes_constructs.reference import (
    XGBOOST_HYPERPARAMETERS,
    reference_pipeline,
    write_reviews_csv,
)
from mlpipes_constructs.reference.local import (
    ProcessingRun,
    run_processing_job,
    train_builtin_xgboost,
)
from mlpipes_constructs.reference.pipeline import PACKAGE_DIRECTORY, SCRIPTS_DIRECTORY
from mlpipes_constructs.spec import ModelArtifacts, Pipeline
from tests.integration.mlflow_harness import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    REGION,
    Aws,
    Server,
    free_port,
)

pytestmark = pytest.mark.integration

JOBS_USER = "pipeline-jobs"
# Characters that base64, URL quoting and JSON would each change, so a leak in any form shows.
JOBS_PASSWORD = 'J0bs+Tracking/Passw0rd=with spaces&"quotes"'
EXECUTION_ID = (
    "arn:aws:sagemaker:us-east-1:123456789012:pipeline/mlpipes-review-classifier/"
    f"execution/{uuid.uuid4().hex[:12]}"
)
MODEL_URI = "s3://mlpipes-artifacts/jobs/Train/output/model.tar.gz"
SCRIPTS = PACKAGE_DIRECTORY / SCRIPTS_DIRECTORY
PYTHON_38 = Path("/root/.pyenv/versions/3.8.18/bin/python")


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _post(server: Server, endpoint: str, body: Mapping[str, object]) -> None:
    request = urllib.request.Request(
        f"{server.url}/api/2.0/mlflow/{endpoint}",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": _basic(ADMIN_USER, ADMIN_PASSWORD),
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


@dataclass(frozen=True)
class Jobs:
    """The tracked pipeline's jobs, run once, and what they were given and printed."""

    pipeline: Pipeline
    environment: dict[str, str]
    runs: dict[str, ProcessingRun]
    splits: dict[str, Path]


def _job_environment(aws: Aws, server: Server, secret_arn: str, **overrides: str) -> dict[str, str]:
    """A tracked job's environment: AWS (moto) plus the compilers' tracking variables."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "MLFLOW_", "MLPIPES_"))
    }
    environment.update(
        {
            "AWS_ENDPOINT_URL": aws.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "MLFLOW_TRACKING_URI": server.url,
            "MLPIPES_MLFLOW_CREDENTIALS_SECRET_ARN": secret_arn,
            "MLPIPES_EXECUTION_ID": EXECUTION_ID,
            "MLPIPES_ORCHESTRATOR": "sagemaker-pipelines",
            "MLPIPES_PIPELINE": "mlpipes-review-classifier",
        }
    )
    environment.update(overrides)
    return environment


@pytest.fixture(scope="module")
def jobs_secret_arn(server: Server, aws: Aws) -> str:
    """A non-admin MLflow user for the jobs, its credentials in a Secrets Manager secret."""
    _post(server, "users/create", {"username": JOBS_USER, "password": JOBS_PASSWORD})
    secret = aws.client("secretsmanager").create_secret(
        Name="mlflow/pipeline-jobs",
        SecretString=json.dumps({"username": JOBS_USER, "password": JOBS_PASSWORD}),
    )
    return str(secret["ARN"])


@pytest.fixture(scope="module")
def jobs(
    server: Server, aws: Aws, jobs_secret_arn: str, tmp_path_factory: pytest.TempPathFactory
) -> Jobs:
    pipeline = reference_pipeline(input_data_uri="s3://example-bucket/reviews/")
    environment = _job_environment(aws, server, jobs_secret_arn)
    work = tmp_path_factory.mktemp("tracked-jobs")
    raw = write_reviews_csv(work / "data" / "reviews.csv", count=2000)
    preprocess = run_processing_job(
        pipeline,
        "Preprocess",
        inputs={"raw": raw.parent},
        work_dir=work / "preprocess",
        environment={**environment, "MLPIPES_STEP": "Preprocess"},
    )
    splits = preprocess.outputs
    model = train_builtin_xgboost(
        pipeline,
        "Train",
        channels={"train": splits["train"], "validation": splits["validation"]},
        output_dir=work / "train",
    )
    evaluate = run_processing_job(
        pipeline,
        "Evaluate",
        inputs={"model": model, "test": splits["test"]},
        work_dir=work / "evaluate",
        references={ModelArtifacts("Train"): MODEL_URI},
        environment={**environment, "MLPIPES_STEP": "Evaluate"},
    )
    return Jobs(
        pipeline=pipeline,
        environment=environment,
        runs={"Preprocess": preprocess, "Evaluate": evaluate},
        splits=splits,
    )


@pytest.fixture()
def admin_client(server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN_USER)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN_PASSWORD)
    yield MlflowClient(tracking_uri=server.url)


def _runs_of(client, experiment_name: str, execution_id: str) -> list:  # type: ignore[no-untyped-def]
    experiment = client.get_experiment_by_name(experiment_name)
    assert experiment is not None, f"no experiment {experiment_name}"
    return list(
        client.search_runs(
            [experiment.experiment_id],
            filter_string=f"tags.`mlpipes.execution_id` = '{execution_id}'",
        )
    )


def _labels(split_dir: Path) -> np.ndarray:
    return np.loadtxt(next(split_dir.glob("*.csv")), delimiter=",")[:, 0]


def test_the_execution_has_one_run_with_every_steps_record(jobs: Jobs, admin_client) -> None:  # type: ignore[no-untyped-def]
    # The experiment defaults to the pipeline's name.
    (run,) = _runs_of(admin_client, jobs.pipeline.name, EXECUTION_ID)
    report = json.loads(
        (jobs.runs["Evaluate"].outputs["evaluation"] / "evaluation.json").read_text()
    )

    assert run.info.run_name == EXECUTION_ID.rsplit("/", 1)[1]
    assert run.info.status == "FINISHED"
    tags = run.data.tags
    assert tags["mlpipes.execution_id"] == EXECUTION_ID
    assert tags["mlpipes.orchestrator"] == "sagemaker-pipelines"
    assert tags["mlpipes.pipeline"] == "mlpipes-review-classifier"
    assert tags["mlpipes.step.Preprocess"] == tags["mlpipes.step.Evaluate"] == "done"

    params = run.data.params
    assert {k: v for k, v in params.items() if k.startswith("Preprocess/")} == {
        "Preprocess/n_features": "1024",
        "Preprocess/validation_fraction": "0.15",
        "Preprocess/test_fraction": "0.15",
        "Preprocess/seed": "42",
    }
    assert params["Evaluate/threshold"] == "0.5"
    assert params["Train/model_uri"] == MODEL_URI
    assert {
        k: v for k, v in params.items() if k.startswith("Train/") and k != "Train/model_uri"
    } == {f"Train/{name}": value for name, value in XGBOOST_HYPERPARAMETERS.items()}

    metrics = run.data.metrics
    assert (metrics["Preprocess/rows"], metrics["Preprocess/rows_train"]) == (2000, 1400)
    assert metrics["Preprocess/rows_validation"] == metrics["Preprocess/rows_test"] == 300
    for split in ("train", "validation", "test"):
        assert metrics[f"Preprocess/positive_fraction_{split}"] == pytest.approx(
            _labels(jobs.splits[split]).mean()
        )
    for name in ("accuracy", "precision", "recall", "f1", "auc"):
        assert metrics[f"Evaluate/{name}"] == pytest.approx(report["metrics"][name]["value"])
    assert metrics["Evaluate/test_rows"] == report["test_rows"] == 300


def test_the_password_reaches_neither_the_jobs_nor_their_output_nor_the_run(
    jobs: Jobs,
    admin_client,  # type: ignore[no-untyped-def]
) -> None:
    leaks = (JOBS_PASSWORD, base64.b64encode(f"{JOBS_USER}:{JOBS_PASSWORD}".encode()).decode())
    (run,) = _runs_of(admin_client, jobs.pipeline.name, EXECUTION_ID)
    for step, job in jobs.runs.items():
        exposed = {
            "argv": "\0".join(job.argv),
            "stdout": job.stdout,
            "stderr": job.stderr,
            "environment": "\0".join(f"{k}={v}" for k, v in job.environment.items()),
        }
        for where, text in exposed.items():
            for leak in leaks:
                assert leak not in text, f"{step} {where}"
        assert "MLflow tracking" not in job.stderr, f"{step} warned: {job.stderr}"
    recorded = [*run.data.params.items(), *run.data.tags.items()]
    for key, value in recorded:
        assert JOBS_PASSWORD not in key and JOBS_PASSWORD not in value, key


def _failure_overrides(failure: str, aws: Aws, jobs_secret_arn: str, password: str) -> dict:  # type: ignore[type-arg]
    if failure == "refused credentials":
        secret = aws.client("secretsmanager").create_secret(
            Name=f"mlflow/wrong-{uuid.uuid4().hex[:8]}",
            SecretString=json.dumps({"username": JOBS_USER, "password": password}),
        )
        return {"MLPIPES_MLFLOW_CREDENTIALS_SECRET_ARN": secret["ARN"]}
    if failure == "unreadable secret":
        missing = jobs_secret_arn.replace("pipeline-jobs", "no-such-secret")
        return {"MLPIPES_MLFLOW_CREDENTIALS_SECRET_ARN": missing}
    assert failure == "no server"
    return {"MLFLOW_TRACKING_URI": f"http://127.0.0.1:{free_port()}"}


@pytest.mark.parametrize("failure", ["refused credentials", "unreadable secret", "no server"])
def test_a_tracking_failure_warns_once_and_the_job_still_succeeds(
    failure: str, server: Server, aws: Aws, jobs_secret_arn: str, tmp_path: Path
) -> None:
    wrong_password = f"Wr0ng-{uuid.uuid4().hex}"
    overrides = _failure_overrides(failure, aws, jobs_secret_arn, wrong_password)
    pipeline = reference_pipeline(input_data_uri="s3://example-bucket/reviews/")
    raw = write_reviews_csv(tmp_path / "data" / "reviews.csv", count=200)

    job = run_processing_job(
        pipeline,
        "Preprocess",
        inputs={"raw": raw.parent},
        work_dir=tmp_path / "preprocess",
        environment=_job_environment(
            aws,
            server,
            jobs_secret_arn,
            MLPIPES_EXECUTION_ID=f"manual__{failure.replace(' ', '-')}",
            **overrides,
        ),
    )

    assert (job.outputs["train"] / "train.csv").is_file()
    assert "MLflow tracking" in job.stderr and "tracking is off" in job.stderr, job.stderr
    assert wrong_password not in job.stderr and JOBS_PASSWORD not in job.stderr
    assert job.stderr.count("MLflow tracking") == 1, job.stderr  # one warning, then quiet


def test_the_client_runs_on_the_containers_python_and_steps_share_the_run(
    server: Server,
    jobs_secret_arn: str,
    admin_client,  # type: ignore[no-untyped-def]
) -> None:
    """Python 3.8, as in the SageMaker scikit-learn 1.2-1 image; credentials come on stdin."""
    if not PYTHON_38.is_file():
        pytest.skip(f"no Python 3.8 at {PYTHON_38}")
    execution_id = f"arn:aws:states:us-east-1:123456789012:execution:reviews:{uuid.uuid4()}"
    program = textwrap.dedent(
        """
        import os, sys
        sys.dont_write_bytecode = True
        sys.path.insert(0, sys.argv[1])
        import tracking
        password = sys.stdin.read()
        auth = tracking.basic_authorization(sys.argv[2], password)
        config = tracking.TrackingConfig.from_environment(os.environ, default_step="First")
        run_ids = []
        for step, ends in (("First", False), ("Second", True)):
            config = tracking.TrackingConfig(**{**config.__dict__, "step": step})
            client = tracking.RestClient(config.tracking_uri, authorization=auth)
            with tracking.StepRun(config, client, secrets=[password], ends_run=ends) as run:
                run.log_metrics({"answer": 42.0, "missing": None})
                run_ids.append(run.run_id)
        print(",".join(run_ids))
        """
    )
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "MLFLOW_TRACKING_URI": server.url,
        "MLFLOW_EXPERIMENT_NAME": "mlpipes-python-3.8",
        "MLPIPES_EXECUTION_ID": execution_id,
        "MLPIPES_ORCHESTRATOR": "step-functions",
        "MLPIPES_PIPELINE": "reviews",
    }

    completed = subprocess.run(
        [str(PYTHON_38), "-I", "-c", program, str(SCRIPTS), JOBS_USER],
        input=JOBS_PASSWORD,
        capture_output=True,
        text=True,
        env=environment,
        check=True,
        timeout=120,
    )

    first, second = completed.stdout.strip().split(",")
    assert first == second, completed.stderr
    (run,) = _runs_of(admin_client, "mlpipes-python-3.8", execution_id)
    assert run.info.run_id == first
    assert run.info.run_name == execution_id.rsplit(":", 1)[1]
    assert run.data.metrics == {"First/answer": 42.0, "Second/answer": 42.0}
    assert run.data.tags["mlpipes.orchestrator"] == "step-functions"
    assert run.info.status == "FINISHED"
    assert completed.stderr == ""
