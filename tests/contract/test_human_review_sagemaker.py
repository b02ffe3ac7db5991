"""The SageMaker pipeline's review handler decides as the compile core does, and names the
loops as the core does."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlpipes_constructs.compile import human_review
from tests.contract.compilers import review_handler
from tests.contract.human_review_cases import CASES, output_of

HANDLER = review_handler()
NAME = "p-review-0123456789abcdef0123456789abcdef0123"


def _decide(module: Any, describe: dict[str, Any], output: Any) -> tuple[str, str]:
    try:
        return "outcome", module.review_outcome(describe, output, "approve")
    except RuntimeError as error:  # each module's HumanReviewFailedError
        return "failed", str(error)


@pytest.mark.parametrize(("describe", "answers"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_handler_decides_every_case_as_the_core(
    describe: dict[str, Any], answers: list[dict[str, Any]]
) -> None:
    describe = {"HumanLoopName": NAME, **describe}
    output = output_of(answers) if describe["HumanLoopStatus"] == "Completed" else None
    assert _decide(HANDLER, describe, output) == _decide(human_review, describe, output)


answer = st.one_of(
    st.booleans(),
    st.none(),
    st.integers(),
    st.text(max_size=8),
    st.sampled_from([" yes ", "ON", "True", "tRUE", "no", "off", "1"]),
    st.fixed_dictionaries({"on": st.one_of(st.booleans(), st.text(max_size=4))}),
)


@given(answers=st.lists(st.dictionaries(st.sampled_from(["approve", "x"]), answer), max_size=3))
def test_the_handler_decides_random_answers_as_the_core(answers: list[dict[str, Any]]) -> None:
    describe = {"HumanLoopName": NAME, "HumanLoopStatus": "Completed"}
    output = output_of(answers)
    assert _decide(HANDLER, describe, output) == _decide(human_review, describe, output)


@given(
    token=st.text(
        alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789", min_size=10, max_size=10
    )
)
def test_the_handler_names_loops_as_the_core(token: str) -> None:
    prefix = human_review.human_loop_prefix("mlpipes-review-classifier", "Review")
    name = HANDLER.human_loop_name(prefix, token)
    assert name == human_review.human_loop_name(prefix, token)
    assert len(name) <= human_review.MAX_HUMAN_LOOP_NAME_LENGTH
