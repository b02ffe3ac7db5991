"""The one error every compiler raises: which step, which field, and what is wrong."""

from __future__ import annotations


class CompileError(ValueError):
    """A pipeline (or one of its steps) cannot be compiled for an orchestrator.

    Attributes:
        step: the step that cannot be compiled; None for the pipeline as a whole.
        field: the field of the step (or the compiler argument) at fault; None if it is the
            step as a whole.
        orchestrator: the compiler that refused it; None for a rule every compiler shares.
        reason: what is wrong, without the location.
    """

    def __init__(
        self,
        reason: str,
        *,
        step: str | None = None,
        field: str | None = None,
        orchestrator: str | None = None,
    ) -> None:
        self.reason = reason
        self.step = step
        self.field = field
        self.orchestrator = orchestrator
        super().__init__(_message(reason, step, field, orchestrator))


class UnsupportedStepError(CompileError):
    """A compiler met a step kind it cannot express."""

    def __init__(self, *, step: str, kind: str, orchestrator: str) -> None:
        self.kind = kind
        super().__init__(
            f"steps of kind '{kind}' are not supported by the {orchestrator} compiler",
            step=step,
            orchestrator=orchestrator,
        )


def _message(reason: str, step: str | None, field: str | None, orchestrator: str | None) -> str:
    where = []
    if orchestrator is not None:
        where.append(orchestrator)
    if step is not None:
        where.append(f"step '{step}'" + (f" ({field})" if field else ""))
    elif field is not None:
        where.append(field)
    return f"{': '.join(where)}: {reason}" if where else reason
