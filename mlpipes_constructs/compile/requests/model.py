"""CreateModel, CreateModelPackage and CreateTransformJob: what is done with a trained model."""

from __future__ import annotations

from mlpipes_constructs.compile.instance_types import check_instance_type
from mlpipes_constructs.compile.locations import job_output_keys
from mlpipes_constructs.compile.renderer import JobContext, Request, ValueRenderer
from mlpipes_constructs.compile.requests._common import optional, s3_prefix, string_map, volume_key
from mlpipes_constructs.spec import (
    ApprovalStatus,
    CreateModelStep,
    RegisterModelStep,
    TransformStep,
)

#: Content type of a model quality report in the model registry.
METRICS_REPORT_CONTENT_TYPE = "application/json"


def model(step: CreateModelStep, job: JobContext, render: ValueRenderer) -> Request:
    """CreateModel without ``ModelName``, which the orchestrator sets."""
    request: Request = {
        "ExecutionRoleArn": job.role_arn,
        "PrimaryContainer": {
            "Image": step.image_uri,
            "Environment": string_map(step.environment, render),
            "ModelDataUrl": render.value(step.model),
        },
    }
    if job.placement is not None:
        # Batch transform jobs and endpoints of this model run in the same VPC.
        request["VpcConfig"] = job.placement.vpc_config()
    return request


def model_package(step: RegisterModelStep, render: ValueRenderer) -> Request:
    """CreateModelPackage: a new version in the step's model package group."""
    for index, instance_type in enumerate(step.inference_instance_types):
        field = f"inference_instance_types[{index}]"
        check_instance_type("endpoint", instance_type, step=step.name, field=field)
    for index, instance_type in enumerate(step.transform_instance_types):
        field = f"transform_instance_types[{index}]"
        check_instance_type("transform", instance_type, step=step.name, field=field)
    request: Request = {"ModelPackageGroupName": step.model_package_group_name}
    if step.metrics_report is not None:
        request["ModelMetrics"] = {
            "ModelQuality": {
                "Statistics": {
                    "ContentType": METRICS_REPORT_CONTENT_TYPE,
                    "S3Uri": render.value(step.metrics_report),
                }
            }
        }
    specification: Request = {
        "Containers": [{"Image": step.image_uri, "ModelDataUrl": render.value(step.model)}],
        "SupportedContentTypes": list(step.content_types),
        "SupportedResponseMIMETypes": list(step.response_types),
    }
    if step.inference_instance_types:
        specification["SupportedRealtimeInferenceInstanceTypes"] = list(
            step.inference_instance_types
        )
    if step.transform_instance_types:
        specification["SupportedTransformInstanceTypes"] = list(step.transform_instance_types)
    request["InferenceSpecification"] = specification
    status = step.approval_status
    request["ModelApprovalStatus"] = (
        status.value if isinstance(status, ApprovalStatus) else render.value(status)
    )
    return request


def transform_job(step: TransformStep, job: JobContext, render: ValueRenderer) -> Request:
    """CreateTransformJob without ``TransformJobName``, which the orchestrator sets."""
    check_instance_type("transform", step.instance_type, step=step.name, field="instance_type")
    transform_input: Request = {
        "DataSource": {"S3DataSource": s3_prefix(render.value(step.input_data))}
    }
    if step.content_type is not None:
        transform_input["ContentType"] = step.content_type
    transform_input["SplitType"] = step.split_type.value
    return {
        "ModelName": render.value(step.model),
        "TransformInput": transform_input,
        "TransformOutput": {
            "S3OutputPath": render.location(step.output_path, *job_output_keys(step.name)),
            **optional("KmsKeyId", job.kms_key_id),
        },
        "TransformResources": {
            "InstanceType": render.value(step.instance_type),
            "InstanceCount": render.value(step.instance_count),
            **volume_key(step.name, step.instance_type, job),
        },
    }
