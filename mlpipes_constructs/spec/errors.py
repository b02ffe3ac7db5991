"""Errors raised for specs that are invalid or cannot be loaded."""

from __future__ import annotations

from collections.abc import Iterable


class SpecValidationError(ValueError):
    """A pipeline spec breaks one or more rules.

    Every problem found is reported at once: :attr:`problems` lists them, one message each, and
    ``str()`` joins them one per line.
    """

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: list[str] = list(problems)
        super().__init__("\n".join(self.problems))


class SpecFormatError(ValueError):
    """A serialized spec is malformed: unknown schema version, kind or field, or a wrong type.

    The message starts with the location of the problem, e.g. ``$.steps[2].kind``.
    """
