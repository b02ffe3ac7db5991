"""Every compiler emits valid SageMaker requests, and the same ones for the same spec."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from mlpipes_constructs.compile import CompileError
from mlpipes_constructs.compile.requests import OPERATIONS
from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.spec import Pipeline
from tests.contract.compilers import (
    COMPILERS,
    Compiler,
    airflow_requests,
    kubeflow_requests,
    sagemaker_requests,
    stepfunctions_requests,
)
from tests.contract.pipelines import every_step_kind
from tests.sagemaker_api import check_request
from tests.unit.spec.spec_strategies import pipelines

#: The request member each operation names its resource with, which the orchestrator sets at
#: run time (SageMaker Pipelines names jobs itself).
NAME_MEMBERS = {operation: name for operation, name in OPERATIONS.values() if name}
NAME_MEMBERS["CreateEndpoint"] = "EndpointName"
#: A human loop's name is unique to the execution, made at run time by each orchestrator.
NAME_MEMBERS["StartHumanLoop"] = "HumanLoopName"
RUNTIME = "<run time>"


def _problems(compiler: Compiler, pipeline: Pipeline) -> list[str]:
    problems = []
    for step, operation, request in compiler.requests(pipeline):
        runtime = [NAME_MEMBERS[operation]] if operation in NAME_MEMBERS else []
        if compiler.name == "Step Functions":
            # The task sets the role it passes from its ``role`` prop.
            runtime += ["RoleArn", "ExecutionRoleArn"]
        problems += [
            f"{step}: {problem}"
            for problem in check_request(operation, request, runtime_fields=runtime)
        ]
    return problems


@pytest.mark.parametrize("compiler", COMPILERS, ids=lambda compiler: compiler.name)
def test_every_step_kind_emits_requests_that_match_the_sagemaker_api(compiler: Compiler) -> None:
    assert _problems(compiler, every_step_kind()) == []


@pytest.mark.parametrize("compiler", COMPILERS, ids=lambda compiler: compiler.name)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipeline=pipelines())
def test_random_valid_pipelines_compile_or_raise_the_compile_error(
    compiler: Compiler, pipeline: Pipeline
) -> None:
    try:
        problems = _problems(compiler, pipeline)
    except CompileError as error:
        # A refusal says what is wrong (and, in the message, where).
        assert error.reason
        return
    assert problems == []


def _normalized(value: Any) -> Any:
    """A request with every run-time expression replaced by one placeholder, whichever
    orchestrator's expression language wrote it."""
    if isinstance(value, dict):
        if any(key in value for key in ("Get", "Std:Join", "Std:JsonGet")):
            return RUNTIME
        normalized = {}
        for key, item in value.items():
            if key.endswith(".$"):
                normalized[key.removesuffix(".$")] = RUNTIME
            else:
                normalized[key] = _normalized(item)
        return normalized
    if isinstance(value, str) and "{{" in value:
        # An Airflow template, rendered when the task runs, or a KFP step component's marker,
        # filled in when the task runs.
        return RUNTIME
    if isinstance(value, list):
        items = [_normalized(item) for item in value]
        return RUNTIME if RUNTIME in items else items
    return value


def _by_step(requests: list[tuple[str, str, dict[str, Any]]]) -> dict[tuple[str, str], Any]:
    normalized = {}
    for step, operation, request in requests:
        body = {
            key: value
            for key, value in _normalized(request).items()
            # Names are the orchestrator's; the job role is set by the Step Functions task.
            if key not in (NAME_MEMBERS.get(operation), "RoleArn", "ExecutionRoleArn")
        }
        if "TrainingJobDefinition" in body:
            body["TrainingJobDefinition"].pop("RoleArn", None)
        if operation == "StartHumanLoop":
            # The task input as JSON text, which each orchestrator writes at run time from
            # values it resolves then (the Step Functions states, the SageMaker handler...).
            body["HumanLoopInput"]["InputContent"] = RUNTIME
        normalized[(step.split(".")[0], operation)] = body
    return normalized


@pytest.mark.parametrize(
    "pipeline",
    [reference_pipeline(input_data_uri="s3://artifacts/data/"), every_step_kind()],
    ids=["reference", "every-kind"],
)
def test_every_compiler_emits_the_same_requests_once_expressions_are_normalized(
    pipeline: Pipeline,
) -> None:
    sagemaker = _by_step(sagemaker_requests(pipeline))
    # SageMaker Pipelines names an endpoint step's configuration step "<step>-Config".
    sagemaker = {
        (step.removesuffix("-Config"), operation): body
        for (step, operation), body in sagemaker.items()
    }
    stepfunctions = {
        key: body
        for key, body in _by_step(stepfunctions_requests(pipeline)).items()
        # Step Functions also updates an existing endpoint, which a definition step does itself.
        if key[1] != "UpdateEndpoint"
    }
    airflow = _by_step(airflow_requests(pipeline))
    kubeflow = _by_step(kubeflow_requests(pipeline))
    assert sagemaker == stepfunctions
    assert sagemaker == airflow
    assert sagemaker == kubeflow
