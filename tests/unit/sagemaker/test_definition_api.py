"""Every SageMaker request in compiled pipeline definitions, checked against botocore's model.

SageMaker Pipelines passes each step's ``Arguments`` to the API named below; a member the API
does not know, a missing required member or a list over its limit fails only at run time, so
it is caught here offline.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from mlpipes_constructs.compile import JobPlacement
from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.sagemaker.compiler import compile_pipeline_definition
from mlpipes_constructs.spec import (
    Pipeline,
    ProcessingInput,
    ProcessingOutput,
    ProcessingStep,
    TrainingChannel,
    TrainingStep,
)
from tests.sagemaker_api import check_request
from tests.unit.spec.spec_builders import valid_parameters, valid_steps

ROLE = "arn:aws:iam::123456789012:role/job-role"
KMS = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
NETWORK = JobPlacement(subnet_ids=("subnet-1", "subnet-2"), security_group_ids=("sg-1",))
CODE_URI = "s3://assets/code.zip"

#: The API each step type calls, and the required members SageMaker Pipelines fills in.
OPERATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Processing": ("CreateProcessingJob", ("ProcessingJobName",)),
    "Training": ("CreateTrainingJob", ("TrainingJobName",)),
    "Tuning": ("CreateHyperParameterTuningJob", ("HyperParameterTuningJobName",)),
    "RegisterModel": ("CreateModelPackage", ()),
    "Model": ("CreateModel", ("ModelName",)),
    "Transform": ("CreateTransformJob", ("TransformJobName",)),
    "EndpointConfig": ("CreateEndpointConfig", ()),
    "Endpoint": ("CreateEndpoint", ()),
}


def _all_steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for step in steps:
        yield step
        if step["Type"] == "Condition":
            yield from _all_steps(step["Arguments"].get("IfSteps", []))
            yield from _all_steps(step["Arguments"].get("ElseSteps", []))


def _problems(definition: dict[str, Any]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    for step in _all_steps(definition["Steps"]):
        if step["Type"] not in OPERATIONS:
            continue
        operation, runtime_fields = OPERATIONS[step["Type"]]
        found = check_request(operation, step["Arguments"], runtime_fields=runtime_fields)
        if found:
            problems[step["Name"]] = found
    return problems


def _step_types(definition: dict[str, Any]) -> set[str]:
    return {step["Type"] for step in _all_steps(definition["Steps"])}


def _every_step_kind_at_its_limits() -> Pipeline:
    """The spec using every kind of step, with as many inputs, outputs and channels as allowed."""
    steps = []
    for step in valid_steps():
        if isinstance(step, ProcessingStep):
            extra_outputs = [
                ProcessingOutput(name=f"out{i}", source=f"/opt/ml/processing/output/out{i}")
                for i in range(10 - len(step.outputs))
            ]
            step = dataclasses.replace(
                step,
                inputs=[
                    ProcessingInput(
                        name=f"in{i}",
                        source=f"s3://bucket/in{i}",
                        destination=f"/opt/ml/processing/input/in{i}",
                    )
                    for i in range(9)
                ],
                outputs=[*step.outputs, *extra_outputs],
            )
        elif isinstance(step, TrainingStep):
            step = dataclasses.replace(
                step,
                channels=[
                    *step.channels,
                    *(TrainingChannel(name=f"c{i}", source=f"s3://bucket/c{i}") for i in range(19)),
                ],
            )
        steps.append(step)
    return Pipeline(name="every-kind", steps=steps, parameters=valid_parameters())


def _reference_definition() -> dict[str, Any]:
    return compile_pipeline_definition(
        reference_pipeline(input_data_uri="s3://data/reviews/"),
        role_arn=ROLE,
        artifact_root="s3://artifacts/pipelines/reference",
        code_locations={"scripts": CODE_URI},
        kms_key_id=KMS,
        placement=NETWORK,
    )


def _every_kind_definition(*, secure: bool) -> dict[str, Any]:
    return compile_pipeline_definition(
        _every_step_kind_at_its_limits(),
        role_arn=ROLE,
        artifact_root="s3://artifacts/pipelines/every-kind",
        code_locations={"code": CODE_URI},
        kms_key_id=KMS if secure else None,
        placement=NETWORK if secure else None,
        callback_queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/reviews",
    )


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(_reference_definition, id="reference-with-kms-and-network"),
        pytest.param(lambda: _every_kind_definition(secure=True), id="every-kind-secure"),
        pytest.param(lambda: _every_kind_definition(secure=False), id="every-kind-plain"),
    ],
)
def test_every_request_matches_the_sagemaker_api(build: Any) -> None:
    assert _problems(build()) == {}


def test_every_api_is_covered() -> None:
    assert _step_types(_every_kind_definition(secure=True)) >= set(OPERATIONS)


def test_the_check_finds_what_the_api_rejects() -> None:
    definition = _every_kind_definition(secure=True)
    (prep,) = [step for step in definition["Steps"] if step["Name"] == "Prep"]
    arguments = prep["Arguments"]
    arguments["ProcessingInputs"].append(dict(arguments["ProcessingInputs"][0]))
    arguments["ProcessingResources"]["ClusterConfig"]["VolumeSizeInGB"] = "30"
    arguments["Unknown"] = 1
    del arguments["AppSpecification"]

    problems = _problems(definition)

    assert list(problems) == ["Prep"]
    assert sorted(problems["Prep"]) == [
        "CreateProcessingJob.AppSpecification: required, missing",
        "CreateProcessingJob.ProcessingInputs: 11 items, at most 10 allowed",
        "CreateProcessingJob.ProcessingResources.ClusterConfig.VolumeSizeInGB: "
        "expected an integer, got '30'",
        "CreateProcessingJob.Unknown: not a member of CreateProcessingJobRequest",
    ]
