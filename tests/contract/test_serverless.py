"""The MWAA Serverless compiler against the contract: it is not in ``COMPILERS`` because it
refuses register_model and human_review (see ``airflow.serverless_compiler``), so the contract
pipeline of every kind cannot compile; here it meets the same checks on what it does compile,
and refuses the rest with the compile error, by name."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from mlpipes_constructs.airflow._templates import RUN_TOKEN
from mlpipes_constructs.airflow.serverless_compiler import (
    ORCHESTRATOR,
    SERVERLESS_DISPATCH,
    SERVERLESS_RUN_TOKEN,
    compile_serverless_workflow,
)
from mlpipes_constructs.compile import CompileError, UnsupportedStepError
from mlpipes_constructs.spec import (
    STEP_TYPES,
    ConditionStep,
    HumanReviewStep,
    Pipeline,
    RegisterModelStep,
    ReviewOutcome,
    local_code_paths,
)
from mlpipes_constructs.spec.graph import references
from mlpipes_constructs.stacks.mwaa_serverless_stack import (
    serverless_reference_pipeline,
    without_registration,
)
from tests.contract.compilers import CODE_URI, KEY_ARN, PLACEMENT, ROLE_ARN, airflow_requests
from tests.contract.pipelines import every_step_kind
from tests.contract.test_requests import NAME_MEMBERS
from tests.sagemaker_api import check_request
from tests.unit.spec.spec_strategies import pipelines

GATE_ARN = "arn:aws:lambda:us-east-1:123456789012:function:gate"
#: The kinds MWAA Serverless refuses, with the compile error naming the step and the kind.
REFUSED = {"register_model": "RegisterModel", "human_review": "Review"}


def without_review(pipeline: Pipeline) -> Pipeline:
    """``pipeline`` without its human reviews: each review, the conditions on its outcome and
    their else branches go, and what the approval led to takes the review's place."""
    reviews = {step.name for step in pipeline.steps if isinstance(step, HumanReviewStep)}
    gates = [
        step
        for step in pipeline.steps
        if isinstance(step, ConditionStep)
        and any(isinstance(ref, ReviewOutcome) for _, ref in references(step))
    ]
    then = {
        ref.step: gate.if_steps
        for gate in gates
        for _, ref in references(gate)
        if isinstance(ref, ReviewOutcome)
    }
    dropped = reviews | {g.name for g in gates} | {n for g in gates for n in g.else_steps}

    def spliced(names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(m for n in names for m in (then.get(n, (n,))) if m not in dropped)

    steps = [
        dataclasses.replace(
            step, if_steps=spliced(step.if_steps), else_steps=spliced(step.else_steps)
        )
        if isinstance(step, ConditionStep)
        else step
        for step in pipeline.steps
        if step.name not in dropped
    ]
    return dataclasses.replace(pipeline, steps=tuple(steps))


def compilable(pipeline: Pipeline) -> Pipeline:
    """What MWAA Serverless compiles of ``pipeline``: no registration, no review."""
    return without_registration(without_review(pipeline))


def serverless_requests(pipeline: Pipeline) -> list[tuple[str, str, dict[str, Any]]]:
    compiled = compile_serverless_workflow(
        pipeline,
        role_arn=ROLE_ARN,
        artifact_bucket_name="artifacts",
        artifact_prefix="pipelines/p/",
        code_locations={code: CODE_URI for code in local_code_paths(pipeline)},
        kms_key_id=KEY_ARN,
        placement=PLACEMENT,
        condition_function_arn=GATE_ARN,
    )
    return list(compiled.requests())


def _problems(pipeline: Pipeline) -> list[str]:
    problems = []
    for step, operation, request in serverless_requests(pipeline):
        runtime = [NAME_MEMBERS[operation]] if operation in NAME_MEMBERS else []
        problems += [
            f"{step}: {problem}"
            for problem in check_request(operation, request, runtime_fields=runtime)
        ]
    return problems


def test_every_step_kind_is_handled_or_refused_by_name() -> None:
    assert SERVERLESS_DISPATCH.missing_kinds == frozenset()
    assert set(REFUSED) < set(STEP_TYPES)
    with pytest.raises(CompileError) as raised:
        serverless_requests(every_step_kind())
    assert raised.value.orchestrator == ORCHESTRATOR
    for kind, step in REFUSED.items():
        assert f"step '{step}': {kind} is not supported" in str(raised.value)
    assert str(raised.value).startswith(f"{ORCHESTRATOR}: ")


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_a_refused_kind_alone_is_refused_naming_the_step_the_kind_and_the_orchestrator(
    kind: str,
) -> None:
    pipeline = every_step_kind()
    if kind == "register_model":
        pipeline = without_review(pipeline)
    else:
        pipeline = without_registration(pipeline)
    with pytest.raises(CompileError) as raised:
        serverless_requests(pipeline)
    # The one problem: the refused step, by name and kind, with the orchestrator.
    message = str(raised.value)
    assert message.startswith(f"{ORCHESTRATOR}: step '{REFUSED[kind]}': {kind} is not supported: ")
    assert message.count("step '") == 1
    # The handler refuses it too, should a caller reach it past the checks.
    step = pipeline.step(REFUSED[kind])
    _, handler = SERVERLESS_DISPATCH.handler(step)
    with pytest.raises(CompileError) as handled:
        handler(step, None)
    assert (handled.value.step, handled.value.orchestrator) == (step.name, ORCHESTRATOR)
    assert f"{kind} is not supported" in str(handled.value)
    assert not isinstance(handled.value, UnsupportedStepError)


def test_the_serverless_reference_pipeline_compiles() -> None:
    pipeline = serverless_reference_pipeline(input_data_uri="s3://artifacts/data/")
    assert not any(isinstance(s, RegisterModelStep | HumanReviewStep) for s in pipeline.steps)
    assert {name for name, _, _ in serverless_requests(pipeline)} >= {"Train", "BatchTransform"}


def test_every_other_kind_emits_requests_that_match_the_sagemaker_api() -> None:
    pipeline = compilable(every_step_kind())
    emitted = {name for name, _, _ in serverless_requests(pipeline)}
    jobs = {s.name for s in pipeline.steps if s.kind not in ("condition", "fail")}
    assert jobs == emitted
    assert _problems(pipeline) == []


def test_the_requests_are_the_airflow_compilers_but_for_the_run_token() -> None:
    pipeline = compilable(every_step_kind())
    serverless = json.dumps(serverless_requests(pipeline)).replace(SERVERLESS_RUN_TOKEN, "T")
    airflow = json.dumps(airflow_requests(pipeline)).replace(RUN_TOKEN, "T")
    assert json.loads(serverless) == json.loads(airflow)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipeline=pipelines())
def test_random_valid_pipelines_compile_or_raise_the_compile_error(pipeline: Pipeline) -> None:
    try:
        problems = _problems(pipeline)
    except CompileError as error:
        assert error.reason
        return
    assert problems == []
