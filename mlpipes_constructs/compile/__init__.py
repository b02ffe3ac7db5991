"""The orchestrator-neutral compile core: what every compiler of a pipeline spec shares.

Pure Python with no ``aws_cdk`` import, like :mod:`mlpipes_constructs.spec`.
"""

from mlpipes_constructs.compile.errors import CompileError, UnsupportedStepError
from mlpipes_constructs.compile.placement import JobPlacement

__all__ = ["CompileError", "JobPlacement", "UnsupportedStepError"]
