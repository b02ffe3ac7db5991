"""The reusable mlpipes stacks, one per system.

Each stack builds on :class:`MlpipesStack`, which synthesizes without credentials or context
look-ups. :class:`FoundationStack` is the shared platform; the workload stacks take its
``resources`` (or a :class:`~mlpipes_constructs.foundation.FoundationResources` built from your
own platform) as ``foundation=``.

Each stack is imported when its name is first used, so an app pays the import cost of the
stacks it builds only.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlpipes_constructs.stacks.a2i_stack import A2iStack
    from mlpipes_constructs.stacks.base import MlpipesStack
    from mlpipes_constructs.stacks.foundation_stack import FoundationStack
    from mlpipes_constructs.stacks.kubeflow_stack import KubeflowStack
    from mlpipes_constructs.stacks.mlflow_stack import MlflowStack
    from mlpipes_constructs.stacks.mwaa_serverless_stack import MwaaServerlessStack
    from mlpipes_constructs.stacks.mwaa_stack import MwaaStack
    from mlpipes_constructs.stacks.sagemaker_stack import SageMakerPipelinesStack
    from mlpipes_constructs.stacks.stepfunctions_stack import StepFunctionsStack

__all__ = [
    "A2iStack",
    "FoundationStack",
    "KubeflowStack",
    "MlflowStack",
    "MlpipesStack",
    "MwaaServerlessStack",
    "MwaaStack",
    "SageMakerPipelinesStack",
    "StepFunctionsStack",
]

_MODULES = {
    "A2iStack": "a2i_stack",
    "FoundationStack": "foundation_stack",
    "KubeflowStack": "kubeflow_stack",
    "MlflowStack": "mlflow_stack",
    "MlpipesStack": "base",
    "MwaaServerlessStack": "mwaa_serverless_stack",
    "MwaaStack": "mwaa_stack",
    "SageMakerPipelinesStack": "sagemaker_stack",
    "StepFunctionsStack": "stepfunctions_stack",
}


def __getattr__(name: str) -> Any:
    """Import the module of the stack ``name`` on first use."""
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
