"""The error every mlpipes construct raises for bad props.

A construct checks all of its props before it creates anything and raises one
:class:`PropsValidationError` that lists every problem, so a synth reports them all at once.
Pipeline specs have their own error, :class:`mlpipes_constructs.spec.SpecValidationError`.
"""

from __future__ import annotations

__all__ = ["PropsValidationError"]


class PropsValidationError(ValueError):
    """Raised when a construct's props break one or more rules.

    Args:
        construct_path: the path of the construct whose props are invalid.
        problems: one message per broken rule.

    Attributes:
        construct_path: the path of the construct whose props are invalid.
        problems: one message per broken rule, each naming the prop, the value and the rule.
    """

    def __init__(self, construct_path: str, problems: list[str]) -> None:
        self.construct_path = construct_path
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"invalid props for '{construct_path}':\n{lines}")
