"""The base class every spec dataclass shares."""

from __future__ import annotations

from dataclasses import fields


class SpecObject:
    """Base of the spec dataclasses.

    Sequence fields are stored as tuples, so a spec written with lists compares equal to the same
    spec loaded from JSON and cannot be mutated through a list the caller still holds.
    """

    def __post_init__(self) -> None:
        for field in fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            if isinstance(value, list):
                object.__setattr__(self, field.name, tuple(value))
