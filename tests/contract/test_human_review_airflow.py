"""The DAG factory's copy of the review decision rule is the compile core's.

The factory runs on MWAA without mlpipes installed, so it carries its own copy of
``review_outcome`` and ``human_loop_name``; its functions are loaded here from the very file
that is deployed (without Airflow, which the factory's other code needs) and run on the same
loops as the core's.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

import pytest

from mlpipes_constructs.airflow.compiler import DAG_FACTORY
from mlpipes_constructs.compile.human_review import (
    HUMAN_LOOP_UNIQUE_LENGTH,
    HumanReviewFailedError,
    human_loop_name,
    review_outcome,
)
from tests.contract.review_cases import CASES, describe_response, output_json

#: The factory's definitions the decision needs.
NAMES = {
    "HUMAN_LOOP_UNIQUE_LENGTH",
    "HUMAN_LOOP_IN_PROGRESS",
    "REVIEW_APPROVED",
    "REVIEW_REJECTED",
    "HumanReviewFailedError",
    "is_checked",
    "review_outcome",
    "mlpipes_human_loop_name",
}


def factory_definitions() -> dict[str, Any]:
    tree = ast.parse(DAG_FACTORY.read_text(encoding="utf-8"))
    wanted = [
        node
        for node in tree.body
        if (
            (isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name in NAMES)
            or (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id in NAMES for t in node.targets)
            )
        )
    ]
    module = ast.Module(body=wanted, type_ignores=[])
    import hashlib

    namespace: dict[str, Any] = {"hashlib": hashlib, "Mapping": Mapping, "Any": Any}
    exec(compile(module, str(DAG_FACTORY), "exec"), namespace)
    assert set(namespace) >= NAMES
    return namespace


FACTORY = factory_definitions()


def _decide(function: Any, failure: type[Exception], *args: Any) -> tuple[str, str]:
    try:
        return "outcome", function(*args)
    except failure as error:
        return "failed", str(error)


@pytest.mark.parametrize(("case", "scenario"), CASES, ids=[case for case, _ in CASES])
def test_the_factorys_decision_is_the_cores(case: str, scenario: dict[str, Any]) -> None:
    describe = describe_response("loop-1", scenario)
    output = output_json(scenario)
    core = _decide(review_outcome, HumanReviewFailedError, describe, output, "approve")
    factory = _decide(
        FACTORY["review_outcome"], FACTORY["HumanReviewFailedError"], describe, output, "approve"
    )
    assert factory == core


@pytest.mark.parametrize("status", ["InProgress", "Stopping"])
def test_a_loop_that_has_not_ended_is_refused_alike(status: str) -> None:
    describe = {"HumanLoopName": "loop-1", "HumanLoopStatus": status}
    with pytest.raises(ValueError) as core:
        review_outcome(describe, None, "approve")
    with pytest.raises(ValueError) as factory:
        FACTORY["review_outcome"](describe, None, "approve")
    assert str(factory.value) == str(core.value)


def test_the_factorys_human_loop_name_is_the_cores() -> None:
    assert FACTORY["HUMAN_LOOP_UNIQUE_LENGTH"] == HUMAN_LOOP_UNIQUE_LENGTH
    for unique in ("manual__2026-01-01T00:00:00+00:00/Review/1", "", "é/x/2"):
        assert FACTORY["mlpipes_human_loop_name"]("p-review", unique) == human_loop_name(
            "p-review", unique
        )
