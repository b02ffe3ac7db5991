"""The compiled reference pipeline runs end to end with ``kfp.local`` against a moto server.

Every task runs the real step component in a subprocess (``SubprocessRunner``), which calls
SageMaker and S3 through boto3 at the moto server (``AWS_ENDPOINT_URL``). moto runs no job, so
the test plays the processing jobs' part: when a processing job is created, the objects it
would write appear under its outputs, and the evaluation writes the report with the accuracy
the test chooses.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import kfp.local
import pytest
from kfp.local.orchestrator.enhanced_dag_orchestrator import ConditionEvaluator
from moto.backends import get_backend
from moto.sagemaker.models import SageMakerModelBackend
from moto.server import ThreadedMotoServer

from mlpipes_constructs.compile.human_review import human_loop_prefix
from mlpipes_constructs.kubeflow.compiler import CompiledKfpPipeline, compile_kfp_pipeline
from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.spec import local_code_paths
from tests.fake_a2i_runtime import ENDPOINT_ENV, FakeA2iRuntime

pytestmark = pytest.mark.integration

BUCKET = "artifacts"
PREFIX = "pipelines/mlpipes-review-classifier/"
ACCOUNT = "123456789012"
REGION = "us-east-1"
GROUP = "mlpipes-review-classifier"
FLOW_DEFINITION_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:flow-definition/model-review"
REVIEW_OUTPUT_PREFIX = "a2i-output/"


_CHANNEL = re.compile(r"inputs\.parameter_values\['(pipelinechannel--[A-Za-z0-9_-]+)'\]")


@pytest.fixture(autouse=True)
def _kfp_local_reads_ir_conditions(monkeypatch: pytest.MonkeyPatch) -> None:
    """kfp.local 2.16 substitutes a channel's value into the condition text and evaluates it
    as Python, but the IR writes a channel as ``inputs.parameter_values['<channel>']`` (CEL),
    which it cannot read, so every condition is false. The channel is written bare here, which
    kfp.local's evaluator then substitutes and evaluates itself."""
    evaluate = ConditionEvaluator.evaluate_condition

    def evaluate_ir_condition(condition: str, io_store: Any) -> bool:
        return bool(evaluate(_CHANNEL.sub(r"\1", condition), io_store))

    monkeypatch.setattr(
        ConditionEvaluator, "evaluate_condition", staticmethod(evaluate_ir_condition)
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Jobs:
    """What the processing jobs write, as the test wants it."""

    accuracy = 0.93


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    original = SageMakerModelBackend.create_processing_job

    def create_processing_job(self: SageMakerModelBackend, **kwargs: Any) -> Any:
        job = original(self, **kwargs)
        s3 = get_backend("s3")[self.account_id]["global"]
        for output in (kwargs.get("processing_output_config") or {}).get("Outputs", []):
            bucket, _, key = output["S3Output"]["S3Uri"].removeprefix("s3://").partition("/")
            if output["OutputName"] == "evaluation":
                report = {
                    "metrics": {
                        name: {"value": _Jobs.accuracy}
                        for name in ("accuracy", "precision", "recall", "f1")
                    }
                }
                s3.put_object(bucket, f"{key}/evaluation.json", json.dumps(report).encode())
            else:
                s3.put_object(bucket, f"{key}/part.csv", b"1,0.5\n")
        return job

    SageMakerModelBackend.create_processing_job = create_processing_job  # type: ignore[method-assign,assignment]
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        SageMakerModelBackend.create_processing_job = original  # type: ignore[method-assign]


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # The task subprocesses inherit these: boto3 honours AWS_ENDPOINT_URL.
    for name, value in {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    # The model package group exists before runs (the stack creates it).
    sagemaker = boto3.client("sagemaker")
    groups = sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
    if not any(group["ModelPackageGroupName"] == GROUP for group in groups):
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    yield moto_endpoint


def _compiled(*, reviewed: bool = False) -> CompiledKfpPipeline:
    pipeline = reference_pipeline(
        input_data_uri=f"s3://{BUCKET}/data/",
        human_review_flow_definition_arn=FLOW_DEFINITION_ARN if reviewed else None,
    )
    return compile_kfp_pipeline(
        pipeline,
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/job",
        artifact_bucket_name=BUCKET,
        artifact_prefix=PREFIX,
        code_locations={code: f"s3://{BUCKET}/code.zip" for code in local_code_paths(pipeline)},
        image="public.ecr.aws/docker/library/python:3.11-slim",
        region=REGION,
        poll_interval_seconds=0,
    )


def _run(tmp_path: Path, accuracy: float, *, reviewed: bool = False) -> tuple[Any, float]:
    _Jobs.accuracy = accuracy
    kfp.local.init(
        runner=kfp.local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root")
    )
    started = time.monotonic()
    try:
        outcome: Any = _compiled(reviewed=reviewed).component()()
    except RuntimeError as error:
        outcome = error
    elapsed = time.monotonic() - started
    print(f"kfp.local run of the reference pipeline (accuracy {accuracy}): {elapsed:.1f} s")
    return outcome, elapsed


def _transform_jobs() -> list[str]:
    summaries = boto3.client("sagemaker").list_transform_jobs()["TransformJobSummaries"]
    return sorted(summary["TransformJobName"] for summary in summaries)


def test_the_reference_pipeline_reaches_batch_transform_when_accurate(
    aws: str, tmp_path: Path
) -> None:
    before = _transform_jobs()
    outcome, _ = _run(tmp_path, 0.93)
    assert not isinstance(outcome, Exception), outcome
    transforms = sorted(set(_transform_jobs()) - set(before))
    assert len(transforms) == 1
    assert transforms[0].startswith("mlpipes-review-c-batchtransform-")
    sagemaker = boto3.client("sagemaker")
    job = sagemaker.describe_transform_job(TransformJobName=transforms[0])
    token = transforms[0].rsplit("-", 1)[1]
    # The model the transform uses is the one this run created, from this run's training job.
    assert job["ModelName"] == f"mlpipes-review-c-createmodel-{token}"
    model = sagemaker.describe_model(ModelName=job["ModelName"])
    trained = sagemaker.describe_training_job(TrainingJobName=f"mlpipes-review-c-train-{token}")
    assert (
        model["PrimaryContainer"]["ModelDataUrl"] == (trained["ModelArtifacts"]["S3ModelArtifacts"])
    )
    assert job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == (
        f"s3://{BUCKET}/{PREFIX}{token}/Preprocess/output/transform"
    )
    packages = sagemaker.list_model_packages(ModelPackageGroupName=GROUP)
    statuses = {p["ModelApprovalStatus"] for p in packages["ModelPackageSummaryList"]}
    assert statuses == {"PendingManualApproval"}


def test_the_reference_pipeline_fails_with_the_specs_message_when_inaccurate(
    aws: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    before = _transform_jobs()
    outcome, _ = _run(tmp_path, 0.5)
    assert isinstance(outcome, RuntimeError)
    assert "FAILURE" in str(outcome)
    output = capfd.readouterr()
    log = output.out + output.err
    # The fail step's task failed, with the spec's Join: the measured accuracy and the
    # AccuracyThreshold default.
    assert re.search(r"Task \S*'accuracytoolow'\S* finished with status \S*FAILURE", log)
    assert "RuntimeError: Model accuracy 0.5 is below the threshold 0.7." in log
    assert _transform_jobs() == before


# --- Human review ----------------------------------------------------------------------------


@pytest.fixture
def a2i(aws: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The fake A2I runtime playing ``request.param``; the tasks' boto3 reach it through
    ``AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME``, and it writes output.json to moto's S3."""
    fake = FakeA2iRuntime(
        request.param,
        s3=boto3.client("s3"),
        output_bucket=BUCKET,
        output_prefix=REVIEW_OUTPUT_PREFIX,
    )
    monkeypatch.setenv(ENDPOINT_ENV, fake.start())
    yield fake
    fake.stop()


def _model_packages() -> int:
    packages = boto3.client("sagemaker").list_model_packages(ModelPackageGroupName=GROUP)
    return len(packages["ModelPackageSummaryList"])


@pytest.mark.parametrize("a2i", ["approved"], indirect=True)
def test_an_approved_review_registers_and_uses_the_model(
    a2i: FakeA2iRuntime, tmp_path: Path
) -> None:
    before, packages = _transform_jobs(), _model_packages()
    outcome, _ = _run(tmp_path, 0.93, reviewed=True)
    assert not isinstance(outcome, Exception), outcome
    assert _model_packages() == packages + 1
    (transform,) = sorted(set(_transform_jobs()) - set(before))
    token = transform.rsplit("-", 1)[1]
    (name,) = a2i.loops
    assert name.startswith(human_loop_prefix("mlpipes-review-c", "Review") + "-")
    assert [op for op, _ in a2i.calls] == ["StartHumanLoop", "DescribeHumanLoop"]
    loop = a2i.loops[name]
    assert loop["request"]["FlowDefinitionArn"] == FLOW_DEFINITION_ARN
    task_input = loop["input"]
    assert task_input["metrics"] == [
        ["accuracy", 0.93],
        ["precision", 0.93],
        ["recall", 0.93],
        ["f1", 0.93],
        ["accuracy threshold", 0.7],
    ]
    assert task_input["report_uri"] == (
        f"s3://{BUCKET}/{PREFIX}{token}/Evaluate/output/evaluation/evaluation.json"
    )
    trained = boto3.client("sagemaker").describe_training_job(
        TrainingJobName=f"mlpipes-review-c-train-{token}"
    )
    assert task_input["model_artifacts"] == trained["ModelArtifacts"]["S3ModelArtifacts"]
    assert task_input["step"] == "Review" and task_input["pipeline_execution"]


@pytest.mark.parametrize("a2i", ["rejected"], indirect=True)
def test_a_rejected_review_fails_the_run_at_review_rejected(
    a2i: FakeA2iRuntime, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    before, packages = _transform_jobs(), _model_packages()
    outcome, _ = _run(tmp_path, 0.93, reviewed=True)
    assert isinstance(outcome, RuntimeError)
    log = "".join(capfd.readouterr())
    assert re.search(r"Task \S*'review'\S* finished with status \S*SUCCESS", log)
    assert re.search(r"Task \S*'reviewrejected'\S* finished with status \S*FAILURE", log)
    assert "RuntimeError: The reviewers rejected the model." in log
    assert _transform_jobs() == before
    assert _model_packages() == packages


@pytest.mark.parametrize(
    ("a2i", "reason"),
    [
        ("stopped", "ended Stopped without a decision"),
        ("expired", "expired before a reviewer answered"),
    ],
    indirect=["a2i"],
)
def test_a_loop_without_a_decision_fails_the_run_with_its_reason(
    a2i: FakeA2iRuntime, reason: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    before, packages = _transform_jobs(), _model_packages()
    outcome, _ = _run(tmp_path, 0.93, reviewed=True)
    assert isinstance(outcome, RuntimeError)
    log = "".join(capfd.readouterr())
    (name,) = a2i.loops
    assert re.search(r"Task \S*'review'\S* finished with status \S*FAILURE", log)
    assert f"RuntimeError: step 'Review': human loop {name} {reason}" in log
    assert "'reviewrejected'" not in log
    assert _transform_jobs() == before
    assert _model_packages() == packages
