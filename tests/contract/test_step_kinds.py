"""Every compiler handles every step kind of the spec."""

from __future__ import annotations

import pytest

from mlpipes_constructs.compile import UnsupportedStepError
from mlpipes_constructs.spec import STEP_TYPES
from tests.contract.compilers import COMPILERS, Compiler
from tests.contract.pipelines import every_step_kind


def test_the_contract_pipeline_has_every_step_kind() -> None:
    assert {step.kind for step in every_step_kind().steps} == set(STEP_TYPES)


@pytest.mark.parametrize("compiler", COMPILERS, ids=lambda compiler: compiler.name)
def test_every_step_kind_has_a_handler(compiler: Compiler) -> None:
    assert compiler.dispatch.missing_kinds == frozenset()
    assert compiler.dispatch.orchestrator == compiler.name


@pytest.mark.parametrize("compiler", COMPILERS, ids=lambda compiler: compiler.name)
def test_a_pipeline_of_every_step_kind_compiles_and_emits_a_request_per_job_step(
    compiler: Compiler,
) -> None:
    pipeline = every_step_kind()
    emitted = {name for name, _, _ in compiler.requests(pipeline)}
    job_steps = {
        step.name for step in pipeline.steps if step.kind not in ("condition", "fail", "endpoint")
    }
    assert job_steps <= emitted


@pytest.mark.parametrize("compiler", COMPILERS, ids=lambda compiler: compiler.name)
def test_a_kind_a_compiler_lacks_is_refused_naming_the_kind_and_the_compiler(
    compiler: Compiler,
) -> None:
    step = every_step_kind().steps[0]
    lacking = type(compiler.dispatch)(compiler.name, {})
    with pytest.raises(UnsupportedStepError) as raised:
        lacking.handler(step)
    assert (raised.value.kind, raised.value.orchestrator) == (step.kind, compiler.name)
    assert compiler.name in str(raised.value) and f"'{step.kind}'" in str(raised.value)
