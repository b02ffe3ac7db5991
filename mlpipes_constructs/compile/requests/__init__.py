"""The SageMaker API request of every job-like step kind, built once for every orchestrator.

Each builder takes the step, the :class:`~mlpipes_constructs.compile.JobContext` and the
orchestrator's :class:`~mlpipes_constructs.compile.ValueRenderer`, and returns the request
body without the resource's name, which the orchestrator sets (SageMaker Pipelines names jobs
itself; Step Functions, Airflow and KFP add a name per run).
"""

from mlpipes_constructs.compile.requests.endpoint import VARIANT_NAME, endpoint_config
from mlpipes_constructs.compile.requests.model import (
    METRICS_REPORT_CONTENT_TYPE,
    model,
    model_package,
    transform_job,
)
from mlpipes_constructs.compile.requests.named import endpoint_requests, named_request
from mlpipes_constructs.compile.requests.processing import processing_job
from mlpipes_constructs.compile.requests.training import training_job, tuning_job

#: The SageMaker operation each builder's request is for, and the request member that names
#: the resource (which the builders leave to the orchestrator).
OPERATIONS: dict[str, tuple[str, str | None]] = {
    "processing": ("CreateProcessingJob", "ProcessingJobName"),
    "training": ("CreateTrainingJob", "TrainingJobName"),
    "tuning": ("CreateHyperParameterTuningJob", "HyperParameterTuningJobName"),
    "create_model": ("CreateModel", "ModelName"),
    "transform": ("CreateTransformJob", "TransformJobName"),
    "register_model": ("CreateModelPackage", None),
    "endpoint": ("CreateEndpointConfig", "EndpointConfigName"),
}

__all__ = [
    "METRICS_REPORT_CONTENT_TYPE",
    "OPERATIONS",
    "VARIANT_NAME",
    "endpoint_config",
    "endpoint_requests",
    "model",
    "model_package",
    "named_request",
    "processing_job",
    "training_job",
    "transform_job",
    "tuning_job",
]
