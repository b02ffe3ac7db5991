"""Ended human loops on which every orchestrator's run-time decision must agree with
:func:`mlpipes_constructs.compile.human_review.review_outcome`: the four the integration tests
run (completed and approved, completed and rejected, stopped, expired) and the edges of the
rule (answer shapes, several reviewers, no answers, a failure without a code)."""

from __future__ import annotations

from typing import Any

#: ``(id, scenario)``: the loop's status, the reviewers' answers (completed loops), and A2I's
#: failure code and reason.
CASES: list[tuple[str, dict[str, Any]]] = [
    ("approved", {"status": "Completed", "answers": [{"approve": {"on": True}}]}),
    (
        "rejected",
        {"status": "Completed", "answers": [{"approve": {"on": False}, "reject": {"on": True}}]},
    ),
    ("stopped", {"status": "Stopped"}),
    (
        "expired",
        {"status": "Failed", "FailureCode": "Expired", "FailureReason": "The loop expired."},
    ),
    ("failed-with-reason", {"status": "Failed", "FailureReason": "The task UI failed."}),
    ("failed-with-code-only", {"status": "Failed", "FailureCode": "InternalError"}),
    ("failed-without-reason", {"status": "Failed"}),
    ("no-answers", {"status": "Completed", "answers": []}),
    ("checkbox-true", {"status": "Completed", "answers": [{"approve": True}]}),
    ("text-yes", {"status": "Completed", "answers": [{"approve": " Yes "}]}),
    ("text-on", {"status": "Completed", "answers": [{"approve": "on"}]}),
    ("text-no", {"status": "Completed", "answers": [{"approve": "no"}]}),
    ("number-one", {"status": "Completed", "answers": [{"approve": 1}]}),
    ("on-string-true", {"status": "Completed", "answers": [{"approve": {"on": "true"}}]}),
    ("field-missing", {"status": "Completed", "answers": [{"reject": {"on": True}}]}),
    ("other-field-checked", {"status": "Completed", "answers": [{"ok": {"on": True}}]}),
    (
        "all-of-two-approve",
        {"status": "Completed", "answers": [{"approve": {"on": True}}, {"approve": "true"}]},
    ),
    (
        "one-of-two-approves",
        {"status": "Completed", "answers": [{"approve": {"on": True}}, {"approve": {}}]},
    ),
]


def describe_response(name: str, scenario: dict[str, Any]) -> dict[str, Any]:
    """The DescribeHumanLoop response of a loop that ended as ``scenario`` says."""
    response: dict[str, Any] = {"HumanLoopName": name, "HumanLoopStatus": scenario["status"]}
    for key in ("FailureCode", "FailureReason"):
        if key in scenario:
            response[key] = scenario[key]
    if scenario["status"] == "Completed":
        response["HumanLoopOutput"] = {"OutputS3Uri": f"s3://out/{name}/output.json"}
    return response


def output_json(scenario: dict[str, Any]) -> dict[str, Any] | None:
    """The loop's output.json (completed loops only)."""
    if scenario["status"] != "Completed":
        return None
    return {"humanAnswers": [{"answerContent": answer} for answer in scenario["answers"]]}
