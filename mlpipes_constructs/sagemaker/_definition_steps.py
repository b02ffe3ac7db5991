"""The ``Arguments`` of each kind of step in a SageMaker pipeline definition.

Each function takes one spec step and returns the request the service sends to the matching
SageMaker API (CreateProcessingJob, CreateTrainingJob, ...), with the keys in the order the
sagemaker SDK writes them. An endpoint step becomes two definition steps, as in the SDK: an
``EndpointConfig`` step (CreateEndpointConfig) and an ``Endpoint`` step (CreateEndpoint, or
UpdateEndpoint when the endpoint exists); the names they use are made here too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlpipes_constructs._internal.job_code import (
    CODE_DIRECTORY,
    CODE_INPUT_NAME,
    processing_entrypoint,
)
from mlpipes_constructs._internal.sagemaker_rules import (
    has_instance_storage_only,
    training_max_runtime,
)
from mlpipes_constructs.sagemaker._definition_refs import (
    EXECUTION_ID,
    DefinitionContext,
    Expression,
    destination_expression,
    get,
    join,
    s3_source_expression,
    string_expression,
    string_map,
    value_expression,
)
from mlpipes_constructs.spec import (
    ApprovalStatus,
    CategoricalRange,
    ContinuousRange,
    CreateModelStep,
    EndpointStep,
    FailStep,
    IntegerRange,
    ParameterRange,
    ProcessingInput,
    ProcessingOutput,
    ProcessingStep,
    RegisterModelStep,
    TrainingChannel,
    TrainingJobSettings,
    TrainingStep,
    TransformStep,
    TuningStep,
)

if TYPE_CHECKING:
    from mlpipes_constructs.compile import JobPlacement

#: Content type of a model quality report in the model registry.
METRICS_REPORT_CONTENT_TYPE = "application/json"
#: The one production variant of a compiled endpoint, named as the SDK's ``production_variant``.
VARIANT_NAME = "AllTraffic"
#: Ending of the name of the ``EndpointConfig`` step an endpoint step compiles to.
CONFIG_STEP_SUFFIX = "-Config"
#: SageMaker's limit on pipeline step names.
MAX_STEP_NAME_LENGTH = 64
#: SageMaker's limit on endpoint and endpoint configuration names.
MAX_RESOURCE_NAME_LENGTH = 63
#: Length of a pipeline execution id (the last part of the execution ARN, lowercase letters and
#: digits), which makes each execution's endpoint configuration name unique.
EXECUTION_ID_LENGTH = 12
_HASH_LENGTH = 6


@dataclass(frozen=True)
class JobSettings:
    """Settings every job step shares: who runs it, and how it is isolated and encrypted."""

    context: DefinitionContext
    role_arn: str
    kms_key_id: str | None
    network: JobPlacement | None


# --- Processing ------------------------------------------------------------------------------


def processing_arguments(step: ProcessingStep, code_uri: str, job: JobSettings) -> Expression:
    """CreateProcessingJob request of a processing step whose code zip is at ``code_uri``."""
    context = job.context
    cluster = {
        "InstanceType": value_expression(step.instance_type, context),
        "InstanceCount": value_expression(step.instance_count, context),
        "VolumeSizeInGB": step.volume_size_gb,
        **_optional("VolumeKmsKeyId", job.kms_key_id),
    }
    app: dict[str, Expression] = {"ImageUri": step.image_uri}
    if step.arguments:
        app["ContainerArguments"] = [string_expression(arg, context) for arg in step.arguments]
    app["ContainerEntrypoint"] = processing_entrypoint(step.entry_point)
    inputs = [_processing_input(item, context) for item in step.inputs]
    inputs.append(_s3_processing_input(CODE_INPUT_NAME, code_uri, CODE_DIRECTORY))
    arguments: dict[str, Expression] = {
        "ProcessingResources": {"ClusterConfig": cluster},
        "AppSpecification": app,
        "RoleArn": job.role_arn,
        "ProcessingInputs": inputs,
    }
    if step.outputs:
        arguments["ProcessingOutputConfig"] = {
            "Outputs": [_processing_output(step, output, context) for output in step.outputs],
            **_optional("KmsKeyId", job.kms_key_id),
        }
    if step.environment:
        arguments["Environment"] = string_map(step.environment, context)
    if job.network is not None:
        arguments["NetworkConfig"] = {
            "EnableNetworkIsolation": False,
            "EnableInterContainerTrafficEncryption": (
                job.network.enable_inter_container_traffic_encryption
            ),
            "VpcConfig": _vpc_config(job.network),
        }
    if step.max_runtime_seconds is not None:
        arguments["StoppingCondition"] = {"MaxRuntimeInSeconds": step.max_runtime_seconds}
    return arguments


def _processing_input(item: ProcessingInput, context: DefinitionContext) -> Expression:
    return _s3_processing_input(
        item.name, s3_source_expression(item.source, context), item.destination
    )


def _s3_processing_input(name: str, uri: Expression, local_path: str) -> Expression:
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


def _processing_output(
    step: ProcessingStep, output: ProcessingOutput, context: DefinitionContext
) -> Expression:
    return {
        "OutputName": output.name,
        "S3Output": {
            "S3Uri": destination_expression(
                output.destination, context, step.name, "output", output.name
            ),
            "LocalPath": output.source,
            "S3UploadMode": "EndOfJob",
        },
    }


def property_files(step: ProcessingStep) -> list[Expression]:
    """The ``PropertyFiles`` of a processing step (a key of the step, not of its arguments)."""
    return [
        {"PropertyFileName": file.name, "OutputName": file.output_name, "FilePath": file.path}
        for file in step.property_files
    ]


# --- Training and tuning ---------------------------------------------------------------------


def training_arguments(step: TrainingStep, job: JobSettings) -> Expression:
    """CreateTrainingJob request of a training step."""
    context = job.context
    arguments: dict[str, Expression] = {"AlgorithmSpecification": _algorithm(step)}
    if step.hyperparameters:
        arguments["HyperParameters"] = string_map(step.hyperparameters, context)
    arguments.update(_training_job_body(step, job))
    return arguments


def tuning_arguments(step: TuningStep, job: JobSettings) -> Expression:
    """CreateHyperParameterTuningJob request of a tuning step."""
    context = job.context
    definition: dict[str, Expression] = {}
    if step.hyperparameters:
        definition["StaticHyperParameters"] = string_map(step.hyperparameters, context)
    definition["AlgorithmSpecification"] = _algorithm(step)
    # As the SDK's tuner writes it: the channels take AlgorithmSpecification's input mode.
    definition.update(_training_job_body(step, job, channel_input_mode=False))
    return {
        "HyperParameterTuningJobConfig": {
            "Strategy": step.strategy.value,
            "HyperParameterTuningJobObjective": {
                "Type": step.objective_type.value,
                "MetricName": step.objective_metric,
            },
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": step.max_jobs,
                "MaxParallelTrainingJobs": step.max_parallel_jobs,
            },
            "ParameterRanges": _parameter_ranges(step.parameter_ranges),
            "TrainingJobEarlyStoppingType": "Off",
        },
        "TrainingJobDefinition": definition,
    }


def _algorithm(settings: TrainingJobSettings) -> Expression:
    algorithm: dict[str, Expression] = {"TrainingInputMode": "File"}
    if settings.image_uri is not None:
        algorithm["TrainingImage"] = settings.image_uri
    else:
        algorithm["AlgorithmName"] = settings.algorithm_name
    if settings.metric_definitions:
        algorithm["MetricDefinitions"] = [
            {"Name": metric.name, "Regex": metric.regex} for metric in settings.metric_definitions
        ]
    return algorithm


def _training_job_body(
    step: TrainingStep | TuningStep, job: JobSettings, *, channel_input_mode: bool = True
) -> Expression:
    """The settings a training job and a tuning job's training job definition share."""
    context = job.context
    body: dict[str, Expression] = {}
    if step.channels:
        body["InputDataConfig"] = [
            _channel(channel, context, input_mode=channel_input_mode) for channel in step.channels
        ]
    body["ResourceConfig"] = {
        "InstanceType": value_expression(step.instance_type, context),
        "InstanceCount": value_expression(step.instance_count, context),
        "VolumeSizeInGB": step.volume_size_gb,
        **_optional("VolumeKmsKeyId", job.kms_key_id),
    }
    if job.network is not None:
        body["VpcConfig"] = _vpc_config(job.network)
    body["RoleArn"] = job.role_arn
    body["StoppingCondition"] = _stopping_condition(step)
    body["OutputDataConfig"] = {
        "S3OutputPath": destination_expression(step.output_path, context, step.name),
        **_optional("KmsKeyId", job.kms_key_id),
        # Explicit because model references expect a model.tar.gz.
        "CompressionType": "GZIP",
    }
    if step.environment:
        body["Environment"] = string_map(step.environment, context)
    if job.network is not None:
        body["EnableInterContainerTrafficEncryption"] = (
            job.network.enable_inter_container_traffic_encryption
        )
    if step.use_spot_instances:
        body["EnableManagedSpotTraining"] = True
    return body


def _channel(
    channel: TrainingChannel, context: DefinitionContext, *, input_mode: bool
) -> Expression:
    entry: dict[str, Expression] = {
        "ChannelName": channel.name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": s3_source_expression(channel.source, context),
                "S3DataDistributionType": "FullyReplicated",
            }
        },
    }
    if channel.content_type is not None:
        entry["ContentType"] = channel.content_type
    if input_mode:
        entry["InputMode"] = "File"
    return entry


def _stopping_condition(settings: TrainingJobSettings) -> Expression:
    runtime = training_max_runtime(settings.max_runtime_seconds, settings.max_wait_seconds)
    condition: dict[str, Expression] = {"MaxRuntimeInSeconds": runtime}
    if settings.use_spot_instances and settings.max_wait_seconds is not None:
        condition["MaxWaitTimeInSeconds"] = settings.max_wait_seconds
    return condition


def _parameter_ranges(ranges: tuple[ParameterRange, ...]) -> Expression:
    continuous = [r for r in ranges if isinstance(r, ContinuousRange)]
    integer = [r for r in ranges if isinstance(r, IntegerRange)]
    categorical = [r for r in ranges if isinstance(r, CategoricalRange)]
    result: dict[str, Expression] = {}
    if continuous:
        result["ContinuousParameterRanges"] = [_numeric_range(r) for r in continuous]
    if integer:
        result["IntegerParameterRanges"] = [_numeric_range(r) for r in integer]
    if categorical:
        result["CategoricalParameterRanges"] = [
            {"Name": r.name, "Values": list(r.values)} for r in categorical
        ]
    return result


def _numeric_range(parameter_range: ContinuousRange | IntegerRange) -> Expression:
    # The API takes range bounds as strings.
    return {
        "Name": parameter_range.name,
        "MinValue": str(parameter_range.min_value),
        "MaxValue": str(parameter_range.max_value),
        "ScalingType": parameter_range.scaling.value,
    }


# --- Models ------------------------------------------------------------------------------------


def register_model_arguments(step: RegisterModelStep, job: JobSettings) -> Expression:
    """CreateModelPackage request of a register-model step."""
    context = job.context
    arguments: dict[str, Expression] = {"ModelPackageGroupName": step.model_package_group_name}
    if step.metrics_report is not None:
        arguments["ModelMetrics"] = {
            "ModelQuality": {
                "Statistics": {
                    "ContentType": METRICS_REPORT_CONTENT_TYPE,
                    "S3Uri": value_expression(step.metrics_report, context),
                }
            }
        }
    specification: dict[str, Expression] = {
        "Containers": [
            {"Image": step.image_uri, "ModelDataUrl": value_expression(step.model, context)}
        ],
        "SupportedContentTypes": list(step.content_types),
        "SupportedResponseMIMETypes": list(step.response_types),
    }
    if step.inference_instance_types:
        specification["SupportedRealtimeInferenceInstanceTypes"] = list(
            step.inference_instance_types
        )
    if step.transform_instance_types:
        specification["SupportedTransformInstanceTypes"] = list(step.transform_instance_types)
    arguments["InferenceSpecification"] = specification
    status = step.approval_status
    arguments["ModelApprovalStatus"] = (
        status.value if isinstance(status, ApprovalStatus) else value_expression(status, context)
    )
    return arguments


def create_model_arguments(step: CreateModelStep, job: JobSettings) -> Expression:
    """CreateModel request of a create-model step."""
    context = job.context
    arguments: dict[str, Expression] = {
        "ExecutionRoleArn": job.role_arn,
        "PrimaryContainer": {
            "Image": step.image_uri,
            "Environment": string_map(step.environment, context),
            "ModelDataUrl": value_expression(step.model, context),
        },
    }
    if job.network is not None:
        # Batch transform jobs and endpoints of this model run in the same VPC.
        arguments["VpcConfig"] = _vpc_config(job.network)
    return arguments


def transform_arguments(step: TransformStep, job: JobSettings) -> Expression:
    """CreateTransformJob request of a transform step."""
    context = job.context
    transform_input: dict[str, Expression] = {
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": s3_source_expression(step.input_data, context),
            }
        }
    }
    if step.content_type is not None:
        transform_input["ContentType"] = step.content_type
    transform_input["SplitType"] = step.split_type.value
    return {
        "ModelName": value_expression(step.model, context),
        "TransformInput": transform_input,
        "TransformOutput": {
            "S3OutputPath": destination_expression(step.output_path, context, step.name),
            **_optional("KmsKeyId", job.kms_key_id),
        },
        "TransformResources": {
            "InstanceType": value_expression(step.instance_type, context),
            "InstanceCount": value_expression(step.instance_count, context),
            **_optional("VolumeKmsKeyId", job.kms_key_id),
        },
    }


# --- Endpoints ---------------------------------------------------------------------------------


def config_step_name(step: EndpointStep) -> str:
    """Name of the ``EndpointConfig`` step of an endpoint step: ``<step>-Config``.

    A step name too long for the suffix keeps its start and gets a hash of the full name, so
    the result stays within SageMaker's 64 characters and differs for different steps.
    """
    limit = MAX_STEP_NAME_LENGTH - len(CONFIG_STEP_SUFFIX)
    return f"{_shortened(step.name, limit)}{CONFIG_STEP_SUFFIX}"


def default_endpoint_name(step: EndpointStep, context: DefinitionContext) -> str:
    """The endpoint name of a step without ``endpoint_name``: ``<pipeline>-<step>``, lowercased.

    Lowercase because SageMaker lowercases endpoint names in ARNs, so the role can name it.
    """
    return _shortened(_slug(context, step), MAX_RESOURCE_NAME_LENGTH)


def endpoint_config_name(step: EndpointStep, context: DefinitionContext) -> Expression:
    """``<pipeline>-<step>-<execution id>``: a new endpoint configuration per execution.

    CreateEndpointConfig refuses an existing name, and an endpoint being updated still uses its
    old configuration, so each execution needs its own.
    """
    limit = MAX_RESOURCE_NAME_LENGTH - EXECUTION_ID_LENGTH - 1
    return join("-", [_shortened(_slug(context, step), limit), EXECUTION_ID])


def endpoint_config_arguments(step: EndpointStep, job: JobSettings) -> Expression:
    """CreateEndpointConfig request of an endpoint step, as the SDK's ``create_endpoint_config``.

    The key encrypts the instances' storage volumes, except on instance types with local NVMe
    storage only: CreateEndpointConfig refuses a ``KmsKeyId`` for them, and their storage is
    encrypted by the instance's hardware. An instance type given as a parameter gets the key.
    """
    context = job.context
    arguments: dict[str, Expression] = {
        "EndpointConfigName": endpoint_config_name(step, context),
        "ProductionVariants": [
            {
                "VariantName": VARIANT_NAME,
                "ModelName": value_expression(step.model, context),
                "InitialVariantWeight": 1,
                "InitialInstanceCount": value_expression(step.initial_instance_count, context),
                "InstanceType": value_expression(step.instance_type, context),
            }
        ],
    }
    if job.kms_key_id is not None and not has_instance_storage_only(step.instance_type):
        arguments["KmsKeyId"] = job.kms_key_id
    return arguments


def endpoint_arguments(step: EndpointStep, context: DefinitionContext) -> Expression:
    """CreateEndpoint request of an endpoint step, deploying its ``EndpointConfig`` step's config.

    SageMaker Pipelines updates the endpoint instead when one of that name exists.
    """
    name = step.endpoint_name
    return {
        "EndpointName": (
            default_endpoint_name(step, context)
            if name is None
            else value_expression(name, context)
        ),
        "EndpointConfigName": get(f"Steps.{config_step_name(step)}.EndpointConfigName"),
    }


def _slug(context: DefinitionContext, step: EndpointStep) -> str:
    return f"{context.pipeline.name}-{step.name}".lower()


def _shortened(name: str, limit: int) -> str:
    """``name``, or its start and 6 hex digits of its SHA-256 when it is longer than ``limit``."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:_HASH_LENGTH]
    return f"{name[: limit - _HASH_LENGTH - 1].rstrip('-')}-{digest}"


# --- Fail ----------------------------------------------------------------------------------------


def fail_arguments(step: FailStep, context: DefinitionContext) -> Expression:
    """Arguments of a fail step."""
    return {"ErrorMessage": value_expression(step.error_message, context)}


# --- Shared ------------------------------------------------------------------------------------


def _vpc_config(network: JobPlacement) -> Expression:
    return {
        "SecurityGroupIds": list(network.security_group_ids),
        "Subnets": list(network.subnet_ids),
    }


def _optional(key: str, value: str | None) -> dict[str, str]:
    return {} if value is None else {key: value}
