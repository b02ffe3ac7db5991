"""The deployable stacks of the bundled mlpipes app."""

from stacks.base import MlpipesStack
from stacks.catalog import STACK_CATALOG, StackEntry, add_compliance_checks, build_app
from stacks.config import AppConfig, default_environment
from stacks.foundation_stack import FoundationStack
from stacks.mlflow_stack import MlflowStack
from stacks.sagemaker_stack import SageMakerPipelinesStack
from stacks.stepfunctions_stack import StepFunctionsStack

__all__ = [
    "STACK_CATALOG",
    "AppConfig",
    "FoundationStack",
    "MlflowStack",
    "MlpipesStack",
    "SageMakerPipelinesStack",
    "StackEntry",
    "StepFunctionsStack",
    "add_compliance_checks",
    "build_app",
    "default_environment",
]
