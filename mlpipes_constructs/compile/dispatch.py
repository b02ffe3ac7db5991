"""Dispatch by step kind: every compiler says which kinds it handles, and refuses the others."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, TypeVar

from mlpipes_constructs.compile.errors import UnsupportedStepError
from mlpipes_constructs.spec import STEP_TYPES, Step

Handler = TypeVar("Handler")


class StepDispatch(Generic[Handler]):
    """A compiler's handler for each step kind it supports.

    Args:
        orchestrator: the compiler's name in error messages, e.g. ``"Step Functions"``.
        handlers: the handler of each step class.
    """

    def __init__(self, orchestrator: str, handlers: Mapping[type[Step], Handler]) -> None:
        self.orchestrator = orchestrator
        self._handlers = dict(handlers)

    @property
    def kinds(self) -> frozenset[str]:
        """The ``kind`` of every step class this compiler handles."""
        return frozenset(step_type.kind for step_type in self._handlers)

    @property
    def missing_kinds(self) -> frozenset[str]:
        """The kinds of the spec this compiler does not handle."""
        return frozenset(STEP_TYPES) - self.kinds

    def handler(self, step: Step) -> Handler:
        """The handler of ``step``'s exact class.

        Raises:
            UnsupportedStepError: the compiler has no handler for that kind.
        """
        handler = self._handlers.get(type(step))
        if handler is None:
            raise UnsupportedStepError(
                step=step.name, kind=step.kind, orchestrator=self.orchestrator
            )
        return handler
