"""The MWAA Serverless compiler against the contract: it is not in ``COMPILERS`` because it
refuses register_model (see ``airflow.serverless_compiler``), so the contract pipeline of every
kind cannot compile; here it meets the same checks on what it does compile, and refuses the rest
with the compile error."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings

from mlpipes_constructs.airflow._templates import RUN_TOKEN
from mlpipes_constructs.airflow.serverless_compiler import (
    ORCHESTRATOR,
    SERVERLESS_DISPATCH,
    SERVERLESS_RUN_TOKEN,
    compile_serverless_workflow,
)
from mlpipes_constructs.compile import CompileError
from mlpipes_constructs.spec import Pipeline, local_code_paths
from mlpipes_constructs.stacks.mwaa_serverless_stack import without_registration
from tests.contract.compilers import CODE_URI, KEY_ARN, PLACEMENT, ROLE_ARN, airflow_requests
from tests.contract.pipelines import every_step_kind
from tests.contract.test_requests import NAME_MEMBERS
from tests.sagemaker_api import check_request
from tests.unit.spec.spec_strategies import pipelines

GATE_ARN = "arn:aws:lambda:us-east-1:123456789012:function:gate"


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


def test_every_step_kind_has_a_handler_and_register_model_is_refused_naming_it() -> None:
    assert SERVERLESS_DISPATCH.missing_kinds == frozenset()
    try:
        serverless_requests(every_step_kind())
    except CompileError as error:
        assert error.orchestrator == ORCHESTRATOR
        assert "step 'RegisterModel': register_model is not supported" in str(error)
    else:
        raise AssertionError("register_model compiled")


def test_every_other_kind_emits_requests_that_match_the_sagemaker_api() -> None:
    pipeline = without_registration(every_step_kind())
    emitted = {name for name, _, _ in serverless_requests(pipeline)}
    jobs = {s.name for s in pipeline.steps if s.kind not in ("condition", "fail")}
    assert jobs == emitted
    assert _problems(pipeline) == []


def test_the_requests_are_the_airflow_compilers_but_for_the_run_token() -> None:
    pipeline = without_registration(every_step_kind())
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
