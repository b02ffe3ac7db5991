"""The steps of a pipeline, one frozen keyword-only dataclass per kind of step.

Each step carries the settings SageMaker needs to run it; the orchestrator compilers translate
them for SageMaker Pipelines, Step Functions, Airflow and Kubeflow. Optional settings left at
their defaults are chosen by the compiler or the service, as each field's docstring says.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from mlpipes_constructs.spec._base import SpecObject
from mlpipes_constructs.spec.conditions import Condition
from mlpipes_constructs.spec.references import (
    Join,
    JsonValue,
    ModelArtifacts,
    ModelName,
    ParameterRef,
    Reference,
    S3Destination,
    S3Source,
    StepOutput,
    TrainingMetric,
)

#: Value of a hyperparameter; the compilers pass it to the job as a string.
HyperparameterValue = str | int | float | bool | ParameterRef


@dataclass(frozen=True, kw_only=True)
class Step(SpecObject):
    """Settings every step has.

    Attributes:
        name: Step name, unique in the pipeline ignoring case: 1-64 letters, digits and hyphens,
            starting with a letter and not ending with a hyphen. Such a name is also a valid
            Airflow task id, Step Functions state name and (lowercased) Kubeflow component name.
        display_name: Name shown in consoles. Default: ``name``.
        description: Human-readable description. Default: none.
        depends_on: Names of steps that must finish first, in addition to the steps this step
            refers to. Default: none.
    """

    kind: ClassVar[str]

    name: str
    display_name: str | None = None
    description: str | None = None
    depends_on: tuple[str, ...] = ()


# --- Processing ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ProcessingInput(SpecObject):
    """Data a processing job downloads before its code runs.

    Attributes:
        name: Input name, unique in the step (``code`` is reserved for the step's code).
        source: S3 location to download (a prefix, or a single object such as a model).
        destination: Container directory to download to, under ``/opt/ml/processing/``.
    """

    name: str
    source: S3Source
    destination: str


@dataclass(frozen=True, kw_only=True)
class ProcessingOutput(SpecObject):
    """A container directory a processing job uploads when its code finishes.

    Other steps read it with :class:`~mlpipes_constructs.spec.StepOutput`.

    Attributes:
        name: Output name, unique in the step.
        source: Container directory to upload, under ``/opt/ml/processing/``.
        destination: S3 location to upload to. Default: a location the compiler chooses under
            the pipeline's artifact bucket, unique per execution.
    """

    name: str
    source: str
    destination: S3Destination | None = None


@dataclass(frozen=True, kw_only=True)
class PropertyFile(SpecObject):
    """A JSON file in a processing output whose values conditions can read (``JsonValue``).

    Attributes:
        name: Property file name, unique in the step.
        output_name: Name of the step's output that holds the file.
        path: Path of the file within that output, e.g. ``evaluation.json``.
    """

    name: str
    output_name: str
    path: str


@dataclass(frozen=True, kw_only=True)
class ProcessingStep(Step):
    """Run a script in a container on SageMaker Processing.

    Attributes:
        image_uri: Container image that runs the script.
        code: Local directory holding the script and what it imports, relative to the
            pipeline's ``base_directory`` or absolute. The constructs upload it to S3; the job
            downloads it to ``/opt/ml/processing/input/code``.
        entry_point: Script to run, relative to ``code``, e.g. ``preprocess.py``.
        instance_type: SageMaker instance type, e.g. ``ml.m5.xlarge``, or a string parameter.
        instance_count: Number of instances, or an integer parameter. Default: 1.
        volume_size_gb: Storage volume size per instance, in GB. Default: 30.
        arguments: Command-line arguments for the script. Default: none.
        inputs: Data to download before the script runs. Default: none.
        outputs: Directories to upload after the script runs. Default: none.
        property_files: JSON files in the outputs that conditions can read. Default: none.
        environment: Environment variables of the container. Default: none.
        max_runtime_seconds: Time limit of the job. Default: the service limit (1 day).
    """

    kind: ClassVar[str] = "processing"

    image_uri: str
    code: str
    entry_point: str
    instance_type: str | ParameterRef
    instance_count: int | ParameterRef = 1
    volume_size_gb: int = 30
    arguments: tuple[str | int | float | Reference | Join, ...] = ()
    inputs: tuple[ProcessingInput, ...] = ()
    outputs: tuple[ProcessingOutput, ...] = ()
    property_files: tuple[PropertyFile, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    max_runtime_seconds: int | None = None


# --- Training and tuning ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TrainingChannel(SpecObject):
    """A named input channel of a training job, mounted at ``/opt/ml/input/data/<name>``.

    Attributes:
        name: Channel name, unique in the step, e.g. ``train`` or ``validation``.
        source: S3 location of the channel's data.
        content_type: MIME type of the data, e.g. ``text/csv``. Default: the algorithm's default.
    """

    name: str
    source: S3Source
    content_type: str | None = None


@dataclass(frozen=True, kw_only=True)
class MetricDefinition(SpecObject):
    """A metric SageMaker captures from the training log with a regular expression.

    Attributes:
        name: Metric name, e.g. ``validation:accuracy``.
        regex: Regular expression whose first group is the value, e.g. ``accuracy=([0-9.]+)``.
    """

    name: str
    regex: str


@dataclass(frozen=True, kw_only=True)
class TrainingJobSettings(SpecObject):
    """The training job a training step runs, and each job a tuning step launches.

    Attributes:
        image_uri: Training image. Built-in algorithms such as XGBoost are images too (e.g.
            ``sagemaker-xgboost:1.7-1`` from the region's AWS registry). Exactly one of
            ``image_uri`` and ``algorithm_name`` is set. Default: none.
        algorithm_name: Name or ARN of a SageMaker algorithm resource (e.g. from AWS
            Marketplace). Default: none.
        instance_type: SageMaker instance type, or a string parameter.
        instance_count: Number of instances, or an integer parameter. Default: 1.
        volume_size_gb: Storage volume size per instance, in GB. Default: 30.
        hyperparameters: Hyperparameters passed to the algorithm. Default: none.
        channels: Input data channels. Default: none.
        output_path: S3 prefix the model artifacts are written under. Default: a location the
            compiler chooses under the pipeline's artifact bucket.
        metric_definitions: Metrics to capture from the log. Built-in algorithms publish their
            own metrics without definitions. Default: none.
        environment: Environment variables of the container. Default: none.
        use_spot_instances: Train on managed spot capacity. Default: ``False``.
        max_wait_seconds: With spot instances, how long to wait for capacity plus train, at
            least ``max_runtime_seconds``; required with spot instances. Default: none.
        max_runtime_seconds: Time limit of the job. Default: the service default (1 day).
    """

    image_uri: str | None = None
    algorithm_name: str | None = None
    instance_type: str | ParameterRef
    instance_count: int | ParameterRef = 1
    volume_size_gb: int = 30
    hyperparameters: Mapping[str, HyperparameterValue] = field(default_factory=dict)
    channels: tuple[TrainingChannel, ...] = ()
    output_path: S3Destination | None = None
    metric_definitions: tuple[MetricDefinition, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    use_spot_instances: bool = False
    max_wait_seconds: int | None = None
    max_runtime_seconds: int | None = None


@dataclass(frozen=True, kw_only=True)
class TrainingStep(TrainingJobSettings, Step):
    """Train a model on SageMaker Training; other steps use it through ``ModelArtifacts``."""

    kind: ClassVar[str] = "training"


class ScalingType(enum.Enum):
    """How a tuning job searches a numeric range."""

    AUTO = "Auto"
    LINEAR = "Linear"
    LOGARITHMIC = "Logarithmic"
    REVERSE_LOGARITHMIC = "ReverseLogarithmic"


@dataclass(frozen=True, kw_only=True)
class ContinuousRange(SpecObject):
    """A real-valued hyperparameter range ``[min_value, max_value]``.

    Attributes:
        name: Hyperparameter name.
        min_value: Lower bound.
        max_value: Upper bound, greater than ``min_value``.
        scaling: Search scale; logarithmic scales need a positive lower bound.
            Default: ``ScalingType.AUTO``.
    """

    kind: ClassVar[str] = "continuous"

    name: str
    min_value: float
    max_value: float
    scaling: ScalingType = ScalingType.AUTO


@dataclass(frozen=True, kw_only=True)
class IntegerRange(SpecObject):
    """An integer hyperparameter range ``[min_value, max_value]``.

    Attributes:
        name: Hyperparameter name.
        min_value: Lower bound.
        max_value: Upper bound, greater than ``min_value``.
        scaling: Search scale; logarithmic scales need a positive lower bound.
            Default: ``ScalingType.AUTO``.
    """

    kind: ClassVar[str] = "integer"

    name: str
    min_value: int
    max_value: int
    scaling: ScalingType = ScalingType.AUTO


@dataclass(frozen=True, kw_only=True)
class CategoricalRange(SpecObject):
    """A hyperparameter that takes one of ``values`` (at least one)."""

    kind: ClassVar[str] = "categorical"

    name: str
    values: tuple[str, ...]


ParameterRange = ContinuousRange | IntegerRange | CategoricalRange


class ObjectiveType(enum.Enum):
    """Whether a tuning job looks for the lowest or the highest objective metric."""

    MINIMIZE = "Minimize"
    MAXIMIZE = "Maximize"


class TuningStrategy(enum.Enum):
    """How a tuning job chooses the hyperparameters of its next training job."""

    BAYESIAN = "Bayesian"
    RANDOM = "Random"
    HYPERBAND = "Hyperband"
    GRID = "Grid"


@dataclass(frozen=True, kw_only=True)
class TuningStep(TrainingJobSettings, Step):
    """Tune hyperparameters on SageMaker Automatic Model Tuning.

    The training settings describe each training job; ``hyperparameters`` are the static ones.
    ``ModelArtifacts`` of a tuning step is the best training job's model.

    Attributes:
        parameter_ranges: Hyperparameters to tune (at least one), not also static.
        objective_metric: Metric to optimize, e.g. ``validation:auc``.
        objective_type: Whether to minimize or maximize it.
        strategy: Search strategy; grid search takes categorical ranges only.
            Default: ``TuningStrategy.BAYESIAN``.
        max_jobs: Most training jobs to run. Default: 10.
        max_parallel_jobs: Most training jobs to run at once, at most ``max_jobs``. Default: 1.
    """

    kind: ClassVar[str] = "tuning"

    parameter_ranges: tuple[ParameterRange, ...]
    objective_metric: str
    objective_type: ObjectiveType
    strategy: TuningStrategy = TuningStrategy.BAYESIAN
    max_jobs: int = 10
    max_parallel_jobs: int = 1


# --- Control flow ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ConditionStep(Step):
    """Choose a branch: run ``if_steps`` when ``condition`` holds, else ``else_steps``.

    A step named in a branch runs only when its branch is taken, and so do the steps that
    depend on it. A step belongs to at most one branch of one condition step.

    Attributes:
        condition: The condition to evaluate.
        if_steps: Names of the steps to run when it holds. Default: none.
        else_steps: Names of the steps to run when it does not. Default: none.
    """

    kind: ClassVar[str] = "condition"

    condition: Condition
    if_steps: tuple[str, ...] = ()
    else_steps: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class FailStep(Step):
    """Stop the execution as failed with an error message.

    Attributes:
        error_message: Message; a ``Join`` embeds values such as the measured accuracy.
    """

    kind: ClassVar[str] = "fail"

    error_message: str | Join


# --- Human review ------------------------------------------------------------------------------

#: A metric a reviewer sees: a constant, a parameter, a property file value or a training metric.
ReviewMetricValue = str | int | float | bool | ParameterRef | JsonValue | TrainingMetric
#: A value of the review task's input: a constant, a reference or a ``Join``.
ReviewInputValue = str | int | float | bool | Reference | Join


@dataclass(frozen=True, kw_only=True)
class HumanReviewStep(Step):
    """Ask people to review with Amazon A2I, and wait for their decision.

    The step starts a human loop with the flow definition, whose task UI shows the reviewer
    ``task.input``: ``pipeline_execution`` (the orchestrator's execution id), ``step`` (this
    step's name), ``report_uri``, ``metrics`` (a list of ``[name, value]`` pairs) and each of
    ``inputs``. When the loop completes, the step reads the answers from the loop's
    ``output.json``: the outcome is ``ReviewOutcome.APPROVED`` when every reviewer set
    ``approve_field`` (a checked box or radio button, or ``true``), else
    ``ReviewOutcome.REJECTED``. Conditions read it with :class:`ReviewOutcome`. A loop that
    fails, is stopped or expires (the flow definition's task lifetime passes) fails the step
    with A2I's reason: no decision never counts as approval.

    Human loops are named ``<job name prefix>-<step>`` (shortened to 26 characters) followed by
    ``-`` and 36 characters unique to the execution, 63 in all, lowercase.

    Attributes:
        flow_definition_arn: ARN of the A2I flow definition, or a string parameter.
        report: S3 object the reviewer opens, e.g. an evaluation step's report file; the task
            UI presigns it with ``grant_read_access``. Default: none.
        metrics: Metrics the reviewer sees, by name. Default: none.
        inputs: Further values of ``task.input`` for the task UI, by name (letters, digits
            and underscores, not one of the names above). Default: none.
        approve_field: The answer field that means approval. Default: ``approve``, the radio
            button of the default task UI.
        timeout_seconds: How long the step waits for the decision (60 seconds to 10 days,
            A2I's longest task lifetime);
            then it stops the human loop and fails. SageMaker Pipelines does not take it: there
            the flow definition's task lifetime bounds the wait. Default: until A2I ends the
            loop (at the latest when the flow definition's task lifetime passes).
        poll_interval_seconds: How often Step Functions, Airflow and Kubeflow ask A2I about the
            loop (10 seconds to 1 hour); SageMaker Pipelines is told by an event instead.
            Default: 60.
    """

    kind: ClassVar[str] = "human_review"

    flow_definition_arn: str | ParameterRef
    report: S3Source | None = None
    metrics: Mapping[str, ReviewMetricValue] = field(default_factory=dict)
    inputs: Mapping[str, ReviewInputValue] = field(default_factory=dict)
    approve_field: str = "approve"
    timeout_seconds: int | None = None
    poll_interval_seconds: int = 60


# --- Models --------------------------------------------------------------------------------------


class ApprovalStatus(enum.Enum):
    """Approval status of a model package in the SageMaker model registry."""

    PENDING_MANUAL_APPROVAL = "PendingManualApproval"
    APPROVED = "Approved"
    REJECTED = "Rejected"


@dataclass(frozen=True, kw_only=True)
class RegisterModelStep(Step):
    """Register a model as a new version in a SageMaker model package group.

    Attributes:
        model: Model artifacts of a training or tuning step.
        model_package_group_name: Model package group: 1-63 letters, digits and hyphens.
        image_uri: Inference image.
        content_types: MIME types the model accepts (at least one), e.g. ``text/csv``.
        response_types: MIME types the model returns (at least one).
        inference_instance_types: Instance types for real-time inference. Default: none.
        transform_instance_types: Instance types for batch transform. Default: none.
        approval_status: Initial approval status, or a string parameter.
            Default: ``ApprovalStatus.PENDING_MANUAL_APPROVAL``.
        metrics_report: Model quality report (JSON), e.g. an evaluation step's output file.
            Default: none.
    """

    kind: ClassVar[str] = "register_model"

    model: ModelArtifacts
    model_package_group_name: str
    image_uri: str
    content_types: tuple[str, ...]
    response_types: tuple[str, ...]
    inference_instance_types: tuple[str, ...] = ()
    transform_instance_types: tuple[str, ...] = ()
    approval_status: ApprovalStatus | ParameterRef = ApprovalStatus.PENDING_MANUAL_APPROVAL
    metrics_report: StepOutput | None = None


@dataclass(frozen=True, kw_only=True)
class CreateModelStep(Step):
    """Create a SageMaker model from trained artifacts; read it with ``ModelName``.

    Attributes:
        model: Model artifacts of a training or tuning step.
        image_uri: Inference image.
        instance_type: Instance type the model is meant for (used for accelerator and image
            compatibility checks). Default: none.
        environment: Environment variables of the inference container. Default: none.
    """

    kind: ClassVar[str] = "create_model"

    model: ModelArtifacts
    image_uri: str
    instance_type: str | ParameterRef | None = None
    environment: Mapping[str, str] = field(default_factory=dict)


class SplitType(enum.Enum):
    """How a batch transform job splits input files into records."""

    NONE = "None"
    LINE = "Line"
    RECORD_IO = "RecordIO"
    TF_RECORD = "TFRecord"


@dataclass(frozen=True, kw_only=True)
class TransformStep(Step):
    """Run a batch transform job with a model a create-model step created.

    Attributes:
        model: The model to use.
        input_data: S3 location of the data to score.
        instance_type: SageMaker instance type, or a string parameter.
        instance_count: Number of instances, or an integer parameter. Default: 1.
        content_type: MIME type of the input, e.g. ``text/csv``. Default: none (the model's).
        split_type: How to split input files into records. Default: ``SplitType.LINE``.
        output_path: S3 prefix for the results. Default: a location the compiler chooses under
            the pipeline's artifact bucket.
    """

    kind: ClassVar[str] = "transform"

    model: ModelName
    input_data: S3Source
    instance_type: str | ParameterRef
    instance_count: int | ParameterRef = 1
    content_type: str | None = None
    split_type: SplitType = SplitType.LINE
    output_path: S3Destination | None = None


@dataclass(frozen=True, kw_only=True)
class EndpointStep(Step):
    """Deploy a model a create-model step created to a real-time endpoint.

    Each run creates a new endpoint configuration (one variant with all the traffic) and
    creates the endpoint with it, or updates the endpoint when it exists. SageMaker Pipelines
    runs this as two steps, ``EndpointConfig`` (named ``<name>-Config``) and ``Endpoint``
    (named ``<name>``); Step Functions as a chain of states.

    Attributes:
        model: The model to deploy.
        instance_type: SageMaker instance type, or a string parameter.
        initial_instance_count: Number of instances, or an integer parameter. Default: 1.
        endpoint_name: Endpoint name (1-63 letters, digits and hyphens), or a string parameter;
            an existing endpoint of that name is updated. Default: a name the compiler derives
            from the pipeline and step names.
    """

    kind: ClassVar[str] = "endpoint"

    model: ModelName
    instance_type: str | ParameterRef
    initial_instance_count: int | ParameterRef = 1
    endpoint_name: str | ParameterRef | None = None


#: Every kind of step, by its ``kind``: what every compiler must handle.
STEP_TYPES: Mapping[str, type[Step]] = {
    step_type.kind: step_type
    for step_type in (
        ProcessingStep,
        TrainingStep,
        TuningStep,
        ConditionStep,
        RegisterModelStep,
        CreateModelStep,
        TransformStep,
        EndpointStep,
        FailStep,
        HumanReviewStep,
    )
}
