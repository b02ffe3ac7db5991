"""The human loop endings every orchestrator's run-time decision is held to
(:func:`mlpipes_constructs.compile.human_review.review_outcome` decides them)."""

from __future__ import annotations

from typing import Any

#: (id, DescribeHumanLoop fields, the answers' ``answerContent`` of a completed loop).
CASES: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = [
    ("approved", {"HumanLoopStatus": "Completed"}, [{"approve": {"on": True}}]),
    (
        "approved-by-all",
        {"HumanLoopStatus": "Completed"},
        [{"approve": True}, {"approve": " YES\n"}, {"approve": "on"}],
    ),
    ("rejected", {"HumanLoopStatus": "Completed"}, [{"approve": {"on": False}}]),
    (
        "rejected-by-one",
        {"HumanLoopStatus": "Completed"},
        [{"approve": {"on": True}}, {"approve": "no"}],
    ),
    ("rejected-text", {"HumanLoopStatus": "Completed"}, [{"approve": "true that"}]),
    ("rejected-missing", {"HumanLoopStatus": "Completed"}, [{"other": True}]),
    ("rejected-string-on", {"HumanLoopStatus": "Completed"}, [{"approve": {"on": "true"}}]),
    ("no-answers", {"HumanLoopStatus": "Completed"}, []),
    ("stopped", {"HumanLoopStatus": "Stopped"}, []),
    (
        "expired",
        {"HumanLoopStatus": "Failed", "FailureCode": "Expired", "FailureReason": "expired"},
        [],
    ),
    ("failed", {"HumanLoopStatus": "Failed", "FailureReason": "Template invalid"}, []),
    ("failed-code-only", {"HumanLoopStatus": "Failed", "FailureCode": "InternalError"}, []),
]


def output_of(answers: list[dict[str, Any]]) -> dict[str, Any]:
    """A loop's output.json with these answers."""
    return {
        "humanAnswers": [
            {"answerContent": content, "workerId": f"w{index}"}
            for index, content in enumerate(answers)
        ]
    }
