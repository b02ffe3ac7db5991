"""Apache Airflow on Amazon MWAA: environments, pipeline DAGs compiled from the spec, and MWAA
Serverless workflows."""

from mlpipes_constructs.airflow._options import (
    EndpointManagement,
    MwaaLogging,
    MwaaSourceFiles,
    WebserverAccessMode,
    WorkerReplacementStrategy,
)
from mlpipes_constructs.airflow._rules import AIRFLOW_VERSIONS, ENVIRONMENT_CLASSES
from mlpipes_constructs.airflow._serverless_rules import ALLOWED_OPERATORS
from mlpipes_constructs.airflow.dag_folders import HEALTH_CHECK_DAGS
from mlpipes_constructs.airflow.environment import MwaaEnvironment
from mlpipes_constructs.airflow.pipeline import MwaaPipeline
from mlpipes_constructs.airflow.serverless_pipeline import MwaaServerlessPipeline
from mlpipes_constructs.airflow.serverless_workflow import MwaaServerlessWorkflow

__all__ = [
    "AIRFLOW_VERSIONS",
    "ALLOWED_OPERATORS",
    "ENVIRONMENT_CLASSES",
    "HEALTH_CHECK_DAGS",
    "EndpointManagement",
    "MwaaEnvironment",
    "MwaaLogging",
    "MwaaPipeline",
    "MwaaServerlessPipeline",
    "MwaaServerlessWorkflow",
    "MwaaSourceFiles",
    "WebserverAccessMode",
    "WorkerReplacementStrategy",
]
