"""The orchestrator-neutral compile core: what every compiler of a pipeline spec shares.

Pure Python with no ``aws_cdk`` import, like :mod:`mlpipes_constructs.spec`:

* :mod:`~mlpipes_constructs.compile.requests`: the SageMaker API request of every step kind,
  built once over a :class:`ValueRenderer` that each orchestrator implements;
* :class:`JobPlacement` and :class:`JobContext`: where jobs run, as whom, with which key;
* :mod:`~mlpipes_constructs.compile.naming`: names within SageMaker's limits, and hashing;
* :mod:`~mlpipes_constructs.compile.locations`: the default output layout;
* :mod:`~mlpipes_constructs.compile.plan`: the stages of sequences, choices and parallels;
* :class:`StepDispatch`: dispatch by step kind, refusing kinds a compiler does not handle;
* :mod:`~mlpipes_constructs.compile.human_review`: human loop names, task input and decision;
* :class:`CompileError`: the one error, naming the step and the field.
"""

from mlpipes_constructs.compile.dispatch import StepDispatch
from mlpipes_constructs.compile.errors import CompileError, UnsupportedStepError
from mlpipes_constructs.compile.placement import JobPlacement
from mlpipes_constructs.compile.plan import Branch, Item, Parallel, PlanError, first_step, plan
from mlpipes_constructs.compile.renderer import JobContext, Request, RequestValue, ValueRenderer

__all__ = [
    "Branch",
    "CompileError",
    "Item",
    "JobContext",
    "JobPlacement",
    "Parallel",
    "PlanError",
    "Request",
    "RequestValue",
    "StepDispatch",
    "UnsupportedStepError",
    "ValueRenderer",
    "first_step",
    "plan",
]
