"""The requests of orchestrators that name each resource themselves, per run (Airflow, KFP)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlpipes_constructs.compile.renderer import JobContext, Request, RequestValue, ValueRenderer
from mlpipes_constructs.compile.requests.endpoint import endpoint_config
from mlpipes_constructs.compile.requests.model import model, transform_job
from mlpipes_constructs.compile.requests.processing import processing_job
from mlpipes_constructs.compile.requests.training import training_job, tuning_job
from mlpipes_constructs.spec import (
    CreateModelStep,
    EndpointStep,
    ProcessingStep,
    Step,
    TrainingStep,
    TransformStep,
    TuningStep,
)

#: Each job-like step kind's builder and the request member that names its resource.
_NAMED: dict[type[Step], tuple[Callable[[Any, JobContext, ValueRenderer], Request], str]] = {
    ProcessingStep: (processing_job, "ProcessingJobName"),
    TrainingStep: (training_job, "TrainingJobName"),
    TuningStep: (tuning_job, "HyperParameterTuningJobName"),
    CreateModelStep: (model, "ModelName"),
    TransformStep: (transform_job, "TransformJobName"),
}


def named_request(
    step: ProcessingStep | TrainingStep | TuningStep | CreateModelStep | TransformStep,
    job: JobContext,
    render: ValueRenderer,
    name: RequestValue,
) -> Request:
    """The step's request with its resource named ``name`` (the name member first)."""
    build, member = _NAMED[type(step)]
    return {member: name, **build(step, job, render)}


def endpoint_requests(
    step: EndpointStep,
    job: JobContext,
    render: ValueRenderer,
    *,
    config_name: RequestValue,
    endpoint_name: RequestValue,
) -> Request:
    """``{"EndpointConfig": CreateEndpointConfig, "Endpoint": CreateEndpoint}`` of the step,
    the endpoint deploying the configuration named ``config_name``."""
    return {
        "EndpointConfig": {
            "EndpointConfigName": config_name,
            **endpoint_config(step, job, render),
        },
        "Endpoint": {"EndpointName": endpoint_name, "EndpointConfigName": config_name},
    }
