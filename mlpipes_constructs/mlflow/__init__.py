"""MLflow tracking server on EC2, its sizing profiles, and the launcher the server runs."""

from mlpipes_constructs.mlflow._props import DEFAULT_INSTANCE_TYPE, DEFAULT_MLFLOW_VERSION
from mlpipes_constructs.mlflow.server import MlflowServer
from mlpipes_constructs.mlflow.sizing import MlflowSizing, ProvisionedDatabase, ServerlessDatabase
from mlpipes_constructs.mlflow.tracking_server import IMlflowTrackingServer

__all__ = [
    "DEFAULT_INSTANCE_TYPE",
    "DEFAULT_MLFLOW_VERSION",
    "IMlflowTrackingServer",
    "MlflowServer",
    "MlflowSizing",
    "ProvisionedDatabase",
    "ServerlessDatabase",
]
