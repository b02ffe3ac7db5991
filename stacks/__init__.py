"""The deployable stacks of the bundled mlpipes app."""

from stacks.base import MlpipesStack
from stacks.catalog import STACK_CATALOG, StackEntry, add_compliance_checks, build_app
from stacks.config import AppConfig, default_environment
from stacks.foundation_stack import FoundationStack
from stacks.mlflow_stack import MlflowStack
from stacks.mwaa_serverless_stack import MwaaServerlessStack
from stacks.mwaa_stack import MwaaStack
from stacks.sagemaker_stack import SageMakerPipelinesStack
from stacks.stepfunctions_stack import StepFunctionsStack

__all__ = [
    "STACK_CATALOG",
    "AppConfig",
    "FoundationStack",
    "MlflowStack",
    "MlpipesStack",
    "MwaaServerlessStack",
    "MwaaStack",
    "SageMakerPipelinesStack",
    "StackEntry",
    "StepFunctionsStack",
    "add_compliance_checks",
    "build_app",
    "default_environment",
]
