"""MLflow tracking of a pipeline's jobs: the environment every processing and training job gets.

None of it is a secret: the job reads the credentials from Secrets Manager when it starts, by
the secret's ARN, so they appear in no job definition, template or log. The job code's MLflow
client (the reference jobs' ``tracking.py``) reads these variables; without
``MLFLOW_TRACKING_URI`` a job does not track.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mlpipes_constructs.compile.renderer import Request, RequestValue

TRACKING_URI = "MLFLOW_TRACKING_URI"
EXPERIMENT_NAME = "MLFLOW_EXPERIMENT_NAME"
CREDENTIALS_SECRET_ARN = "MLPIPES_MLFLOW_CREDENTIALS_SECRET_ARN"
EXECUTION_ID = "MLPIPES_EXECUTION_ID"
ORCHESTRATOR = "MLPIPES_ORCHESTRATOR"
PIPELINE = "MLPIPES_PIPELINE"
STEP = "MLPIPES_STEP"

#: ``MLPIPES_ORCHESTRATOR`` of each compiler.
ORCHESTRATOR_IDS: Mapping[str, str] = {
    "SageMaker Pipelines": "sagemaker-pipelines",
    "Step Functions": "step-functions",
    "Airflow": "airflow",
    "Kubeflow Pipelines": "kubeflow",
}


@dataclass(frozen=True)
class Tracking:
    """The MLflow tracking server a pipeline's jobs log to.

    Attributes:
        tracking_uri: the server's URI (it may be a CDK token or a template expression).
        experiment_name: the experiment the runs go to. Default: the pipeline's name.
        credentials_secret_arn: the Secrets Manager secret with the MLflow user
            (``username``, ``password``) jobs sign in as. Default: none (no authentication).
    """

    tracking_uri: str
    experiment_name: str | None = None
    credentials_secret_arn: str | None = None


def tracking_environment(
    tracking: Tracking | None,
    *,
    pipeline_name: str,
    orchestrator: str,
    execution_id: RequestValue,
) -> Request:
    """The variables every job of a tracked pipeline gets (none for an untracked one).

    Args:
        tracking: the server, or None.
        pipeline_name: the pipeline's name.
        orchestrator: the compiler's name, a key of :data:`ORCHESTRATOR_IDS`.
        execution_id: the orchestrator's expression for its execution id, which ties the
            MLflow run to the execution.
    """
    if tracking is None:
        return {}
    environment: Request = {
        TRACKING_URI: tracking.tracking_uri,
        EXPERIMENT_NAME: tracking.experiment_name or pipeline_name,
        EXECUTION_ID: execution_id,
        ORCHESTRATOR: ORCHESTRATOR_IDS[orchestrator],
        PIPELINE: pipeline_name,
    }
    if tracking.credentials_secret_arn is not None:
        environment[CREDENTIALS_SECRET_ARN] = tracking.credentials_secret_arn
    return environment
