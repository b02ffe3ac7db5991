"""CreateProcessingJob."""

from __future__ import annotations

from mlpipes_constructs.compile.instance_types import check_instance_type
from mlpipes_constructs.compile.job_code import (
    CODE_DIRECTORY,
    CODE_INPUT_NAME,
    processing_entrypoint,
)
from mlpipes_constructs.compile.locations import processing_output_keys
from mlpipes_constructs.compile.renderer import JobContext, Request, RequestValue, ValueRenderer
from mlpipes_constructs.compile.requests._common import job_environment, optional, volume_key
from mlpipes_constructs.spec import ProcessingOutput, ProcessingStep


def processing_job(step: ProcessingStep, job: JobContext, render: ValueRenderer) -> Request:
    """CreateProcessingJob without ``ProcessingJobName``, which the orchestrator sets.

    The step's code directory is the ``code`` input, unpacked and run by the container
    entrypoint (see :mod:`mlpipes_constructs.compile.job_code`).
    """
    check_instance_type("processing", step.instance_type, step=step.name, field="instance_type")
    cluster = {
        "InstanceType": render.value(step.instance_type),
        "InstanceCount": render.value(step.instance_count),
        "VolumeSizeInGB": step.volume_size_gb,
        **volume_key(step.name, step.instance_type, job),
    }
    app: Request = {"ImageUri": step.image_uri}
    if step.arguments:
        app["ContainerArguments"] = [render.text(argument) for argument in step.arguments]
    app["ContainerEntrypoint"] = processing_entrypoint(step.entry_point)
    inputs = [
        _s3_input(item.name, render.value(item.source), item.destination) for item in step.inputs
    ]
    inputs.append(_s3_input(CODE_INPUT_NAME, render.code_location(step), CODE_DIRECTORY))
    request: Request = {
        "ProcessingResources": {"ClusterConfig": cluster},
        "AppSpecification": app,
        "RoleArn": job.role_arn,
        "ProcessingInputs": inputs,
    }
    if step.outputs:
        request["ProcessingOutputConfig"] = {
            "Outputs": [_output(step, output, render) for output in step.outputs],
            **optional("KmsKeyId", job.kms_key_id),
        }
    environment = job_environment(step.name, step.environment, job, render)
    if environment:
        request["Environment"] = environment
    if job.placement is not None:
        request["NetworkConfig"] = {
            "EnableNetworkIsolation": False,
            "EnableInterContainerTrafficEncryption": (
                job.placement.enable_inter_container_traffic_encryption
            ),
            "VpcConfig": job.placement.vpc_config(),
        }
    if step.max_runtime_seconds is not None:
        request["StoppingCondition"] = {"MaxRuntimeInSeconds": step.max_runtime_seconds}
    return request


def _s3_input(name: str, uri: RequestValue, local_path: str) -> Request:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local_path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
            "S3CompressionType": "None",
        },
    }


def _output(step: ProcessingStep, output: ProcessingOutput, render: ValueRenderer) -> Request:
    return {
        "OutputName": output.name,
        "S3Output": {
            "S3Uri": render.location(
                output.destination, *processing_output_keys(step.name, output.name)
            ),
            "LocalPath": output.source,
            "S3UploadMode": "EndOfJob",
        },
    }
