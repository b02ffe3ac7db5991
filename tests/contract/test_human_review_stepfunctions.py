"""The Step Functions review states decide as the compile core does: each case runs in moto's
interpreter (see :mod:`tests.stepfunctions_a2i`) and ends as ``review_outcome`` says."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from mlpipes_constructs.compile.human_review import HumanReviewFailedError, review_outcome
from tests.contract.human_review_cases import CASES, output_of

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.stepfunctions_a2i"]


@pytest.mark.parametrize(("describe", "answers"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_states_decide_every_case_as_the_core(
    harness: ModuleType,
    a2i_aws: dict[str, Any],
    describe: dict[str, Any],
    answers: list[dict[str, Any]],
    request: pytest.FixtureRequest,
) -> None:
    a2i = harness.FakeA2iRuntime(a2i_aws["s3"], {**describe, "answers": answers})
    result = harness.run(a2i_aws, a2i, request.node.callspec.id)
    name = harness.only_loop(a2i).name
    completed = describe["HumanLoopStatus"] == "Completed"
    try:
        expected = review_outcome(
            {"HumanLoopName": name, **describe},
            output_of(answers) if completed else None,
            "approve",
        )
    except HumanReviewFailedError as error:
        assert result["description"]["cause"] == f"Step Review failed: {error}"
        return
    states = harness.entered(result["events"])
    assert f"Review.{expected}" in states
    assert ("RegisterModel" in states) == (expected == "Approved")
