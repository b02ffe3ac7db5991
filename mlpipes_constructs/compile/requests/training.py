"""CreateTrainingJob and CreateHyperParameterTuningJob."""

from __future__ import annotations

from mlpipes_constructs.compile.instance_types import check_instance_type
from mlpipes_constructs.compile.locations import job_output_keys
from mlpipes_constructs.compile.renderer import JobContext, Request, ValueRenderer
from mlpipes_constructs.compile.requests._common import (
    job_environment,
    optional,
    s3_prefix,
    string_map,
    volume_key,
)
from mlpipes_constructs.compile.rules import training_max_runtime
from mlpipes_constructs.spec import (
    CategoricalRange,
    ContinuousRange,
    IntegerRange,
    ParameterRange,
    TrainingChannel,
    TrainingJobSettings,
    TrainingStep,
    TuningStep,
)


def training_job(step: TrainingStep, job: JobContext, render: ValueRenderer) -> Request:
    """CreateTrainingJob without ``TrainingJobName``, which the orchestrator sets."""
    request: Request = {"AlgorithmSpecification": _algorithm(step)}
    if step.hyperparameters:
        request["HyperParameters"] = string_map(step.hyperparameters, render)
    request.update(_training_job_body(step, job, render))
    return request


def tuning_job(step: TuningStep, job: JobContext, render: ValueRenderer) -> Request:
    """CreateHyperParameterTuningJob without ``HyperParameterTuningJobName``."""
    definition: Request = {}
    if step.hyperparameters:
        definition["StaticHyperParameters"] = string_map(step.hyperparameters, render)
    definition["AlgorithmSpecification"] = _algorithm(step)
    # As the SDK's tuner writes it: the channels take AlgorithmSpecification's input mode.
    definition.update(_training_job_body(step, job, render, channel_input_mode=False))
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


def _algorithm(settings: TrainingJobSettings) -> Request:
    algorithm: Request = {"TrainingInputMode": "File"}
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
    step: TrainingStep | TuningStep,
    job: JobContext,
    render: ValueRenderer,
    *,
    channel_input_mode: bool = True,
) -> Request:
    """The settings a training job and a tuning job's training job definition share."""
    check_instance_type("training", step.instance_type, step=step.name, field="instance_type")
    body: Request = {}
    if step.channels:
        body["InputDataConfig"] = [
            _channel(channel, render, input_mode=channel_input_mode) for channel in step.channels
        ]
    body["ResourceConfig"] = {
        "InstanceType": render.value(step.instance_type),
        "InstanceCount": render.value(step.instance_count),
        "VolumeSizeInGB": step.volume_size_gb,
        **volume_key(step.name, step.instance_type, job),
    }
    if job.placement is not None:
        body["VpcConfig"] = job.placement.vpc_config()
    body["RoleArn"] = job.role_arn
    body["StoppingCondition"] = _stopping_condition(step)
    body["OutputDataConfig"] = {
        "S3OutputPath": render.location(step.output_path, *job_output_keys(step.name)),
        **optional("KmsKeyId", job.kms_key_id),
        # Explicit because model references expect a model.tar.gz.
        "CompressionType": "GZIP",
    }
    environment = job_environment(step.name, step.environment, job, render)
    if environment:
        body["Environment"] = environment
    if job.placement is not None:
        body["EnableInterContainerTrafficEncryption"] = (
            job.placement.enable_inter_container_traffic_encryption
        )
    if step.use_spot_instances:
        body["EnableManagedSpotTraining"] = True
    return body


def _channel(channel: TrainingChannel, render: ValueRenderer, *, input_mode: bool) -> Request:
    entry: Request = {
        "ChannelName": channel.name,
        "DataSource": {
            "S3DataSource": s3_prefix(
                render.value(channel.source), S3DataDistributionType="FullyReplicated"
            )
        },
    }
    if channel.content_type is not None:
        entry["ContentType"] = channel.content_type
    if input_mode:
        entry["InputMode"] = "File"
    return entry


def _stopping_condition(settings: TrainingJobSettings) -> Request:
    runtime = training_max_runtime(settings.max_runtime_seconds, settings.max_wait_seconds)
    condition: Request = {"MaxRuntimeInSeconds": runtime}
    if settings.use_spot_instances and settings.max_wait_seconds is not None:
        condition["MaxWaitTimeInSeconds"] = settings.max_wait_seconds
    return condition


def _parameter_ranges(ranges: tuple[ParameterRange, ...]) -> Request:
    continuous = [r for r in ranges if isinstance(r, ContinuousRange)]
    integer = [r for r in ranges if isinstance(r, IntegerRange)]
    categorical = [r for r in ranges if isinstance(r, CategoricalRange)]
    result: Request = {}
    if continuous:
        result["ContinuousParameterRanges"] = [_numeric_range(r) for r in continuous]
    if integer:
        result["IntegerParameterRanges"] = [_numeric_range(r) for r in integer]
    if categorical:
        result["CategoricalParameterRanges"] = [
            {"Name": r.name, "Values": list(r.values)} for r in categorical
        ]
    return result


def _numeric_range(parameter_range: ContinuousRange | IntegerRange) -> Request:
    # The API takes range bounds as strings.
    return {
        "Name": parameter_range.name,
        "MinValue": str(parameter_range.min_value),
        "MaxValue": str(parameter_range.max_value),
        "ScalingType": parameter_range.scaling.value,
    }
