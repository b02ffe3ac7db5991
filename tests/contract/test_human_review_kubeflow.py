"""The KFP step component's review decision is the compile core's.

``run_step`` (the function every KFP task runs, self-contained, so it carries its own copy of
the rule) runs here as a task would: it starts the loop through boto3 at the fake A2I runtime,
which ends it as each case says, reads output.json from S3 (moto), and returns the decision or
fails; the result must be what ``review_outcome`` decides on the same loop.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlpipes_constructs.compile.human_review import (
    HumanReviewFailedError,
    human_loop_name,
    review_outcome,
)
from mlpipes_constructs.kubeflow._components import run_step
from mlpipes_constructs.kubeflow.compiler import compile_kfp_pipeline
from mlpipes_constructs.spec import HumanReviewStep, Pipeline
from tests.contract.review_cases import CASES, output_json
from tests.fake_a2i_runtime import ENDPOINT_ENV, FakeA2iRuntime

ARN = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/f"
RUN_ID = "0b5e4c1e-run"
POD = "pod-uid-1"


def _document(**review: Any) -> dict[str, Any]:
    """The compiled step document of a pipeline of one review step."""
    return json.loads(_compiled_document(tuple(sorted(review.items()))))


@functools.cache
def _compiled_document(review: tuple[tuple[str, Any], ...]) -> str:
    pipeline = Pipeline(
        name="review-only",
        steps=(HumanReviewStep(name="Review", flow_definition_arn=ARN, **dict(review)),),
    )
    compiled = compile_kfp_pipeline(
        pipeline,
        role_arn="arn:aws:iam::123456789012:role/job",
        artifact_bucket_name="artifacts",
        artifact_prefix="",
        code_locations={},
        image="python:3.11",
        region="us-east-1",
    )
    return json.dumps(compiled.task("Review").spec)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "KFP_POD_UID": POD,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="reviews")
        yield s3


def _run(
    s3: Any, scenario: Any, monkeypatch: pytest.MonkeyPatch, **review: Any
) -> tuple[FakeA2iRuntime, tuple[str, str]]:
    fake = FakeA2iRuntime(scenario, s3=s3, output_bucket="reviews")
    monkeypatch.setenv(ENDPOINT_ENV, fake.start())
    try:
        document = _document(**review)
        try:
            result = (
                "outcome",
                run_step("Review", "human_review", json.dumps(document), {}, RUN_ID),
            )
        except RuntimeError as error:
            result = ("failed", str(error))
    finally:
        fake.stop()
    return fake, result


@pytest.mark.parametrize(("case", "scenario"), CASES, ids=[case for case, _ in CASES])
def test_the_components_decision_is_the_cores(
    aws: Any, monkeypatch: pytest.MonkeyPatch, case: str, scenario: dict[str, Any]
) -> None:
    fake, result = _run(aws, scenario, monkeypatch)
    (name,) = fake.loops
    # The describe response the component got, as A2I answered it.
    _, describe = fake.describe_human_loop(name)
    try:
        expected = ("outcome", review_outcome(describe, output_json(scenario), "approve"))
    except HumanReviewFailedError as error:
        expected = ("failed", f"step 'Review': {error}")
    assert result == expected


def test_the_loop_is_named_for_the_run_the_step_and_the_pod(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, result = _run(aws, "approved", monkeypatch)
    assert result == ("outcome", "Approved")
    prefix = _document()["human_loop_prefix"]
    assert list(fake.loops) == [human_loop_name(prefix, f"{RUN_ID}/Review/{POD}")]
    assert fake.loops[next(iter(fake.loops))]["input"] == {
        "pipeline_execution": RUN_ID,
        "step": "Review",
        "metrics": [],
    }


def test_the_approve_field_is_the_steps(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = {"status": "Completed", "answers": [{"ok": {"on": True}}]}
    assert _run(aws, scenario, monkeypatch, approve_field="ok")[1] == ("outcome", "Approved")
    assert _run(aws, scenario, monkeypatch)[1] == ("outcome", "Rejected")


def test_a_loop_without_a_decision_in_time_is_stopped_and_fails(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The spec's shortest wait is a minute: the compiled document's timing is shortened here.
    fake = FakeA2iRuntime("never", s3=aws, output_bucket="reviews")
    monkeypatch.setenv(ENDPOINT_ENV, fake.start())
    document = _document(timeout_seconds=60, poll_interval_seconds=10)
    assert (document["wait_seconds"], document["review_poll_seconds"]) == (60, 10)
    document.update(wait_seconds=0.3, review_poll_seconds=0.1)
    try:
        with pytest.raises(
            RuntimeError, match=r"had no decision after 0.3 seconds; it was stopped"
        ):
            run_step("Review", "human_review", json.dumps(document), {}, RUN_ID)
    finally:
        fake.stop()
    operations = [operation for operation, _ in fake.calls]
    assert operations[0] == "StartHumanLoop" and operations[-1] == "StopHumanLoop"
    assert operations.count("DescribeHumanLoop") >= 2
