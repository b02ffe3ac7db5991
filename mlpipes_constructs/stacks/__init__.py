"""The reusable mlpipes stacks, one per system.

Each stack builds on :class:`MlpipesStack`, which synthesizes without credentials or context
look-ups. :class:`FoundationStack` is the shared platform; the workload stacks take its
``resources`` (or a :class:`~mlpipes_constructs.foundation.FoundationResources` built from your
own platform) as ``foundation=``.
"""

from mlpipes_constructs.stacks.base import MlpipesStack
from mlpipes_constructs.stacks.foundation_stack import FoundationStack
from mlpipes_constructs.stacks.mlflow_stack import MlflowStack
from mlpipes_constructs.stacks.sagemaker_stack import SageMakerPipelinesStack
from mlpipes_constructs.stacks.stepfunctions_stack import StepFunctionsStack

__all__ = [
    "FoundationStack",
    "MlflowStack",
    "MlpipesStack",
    "SageMakerPipelinesStack",
    "StepFunctionsStack",
]
