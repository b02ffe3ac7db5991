"""A valid pipeline using every kind of step, and helpers to break it one field at a time."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from mlpipes_constructs.spec import (
    And,
    ApprovalStatus,
    CategoricalRange,
    Comparison,
    ComparisonOperator,
    ConditionStep,
    ContinuousRange,
    CreateModelStep,
    EndpointStep,
    FailStep,
    HumanReviewStep,
    IntegerRange,
    Join,
    JsonValue,
    MetricDefinition,
    ModelArtifacts,
    ModelName,
    Not,
    ObjectiveType,
    Parameter,
    ParameterRef,
    Pipeline,
    ProcessingInput,
    ProcessingOutput,
    ProcessingStep,
    PropertyFile,
    RegisterModelStep,
    ScalingType,
    SpecValidationError,
    Step,
    StepOutput,
    TrainingChannel,
    TrainingMetric,
    TrainingStep,
    TransformStep,
    TuningStep,
)

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/algorithm:1"
STEP_NAMES = (
    "Prep",
    "Train",
    "Tune",
    "Gate",
    "Register",
    "CreateModel",
    "Transform",
    "Endpoint",
    "Fail",
    "Review",
)
FLOW_DEFINITION_ARN = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/review"


def valid_parameters() -> list[Parameter]:
    return [
        Parameter.float("Threshold", 0.8),
        Parameter.string("InstanceType", "ml.m5.xlarge"),
        Parameter.integer("Count", 2),
        Parameter.string("Approval", ApprovalStatus.APPROVED.value),
    ]


def valid_steps() -> list[Step]:
    train_channel = TrainingChannel(name="train", source=StepOutput("Prep", "train"))
    accuracy = JsonValue("Prep", "Report", "metrics.accuracy.value")
    return [
        ProcessingStep(
            name="Prep",
            image_uri=IMAGE,
            code="code",
            entry_point="prep.py",
            instance_type="ml.m5.xlarge",
            inputs=[
                ProcessingInput(
                    name="raw", source="s3://bucket/raw", destination="/opt/ml/processing/input/raw"
                )
            ],
            outputs=[
                ProcessingOutput(name="train", source="/opt/ml/processing/output/train"),
                ProcessingOutput(name="report", source="/opt/ml/processing/output/report"),
            ],
            property_files=[PropertyFile(name="Report", output_name="report", path="report.json")],
        ),
        TrainingStep(
            name="Train",
            image_uri=IMAGE,
            instance_type=ParameterRef("InstanceType"),
            instance_count=ParameterRef("Count"),
            hyperparameters={"eta": "0.1"},
            channels=[train_channel],
            metric_definitions=[MetricDefinition(name="loss", regex="loss=([0-9.]+)")],
        ),
        TuningStep(
            name="Tune",
            image_uri=IMAGE,
            instance_type="ml.c5.2xlarge",
            channels=[train_channel],
            parameter_ranges=[
                ContinuousRange(
                    name="eta", min_value=0.01, max_value=0.3, scaling=ScalingType.LOGARITHMIC
                ),
                IntegerRange(name="max_depth", min_value=2, max_value=8),
                CategoricalRange(name="booster", values=["gbtree", "dart"]),
            ],
            objective_metric="validation:auc",
            objective_type=ObjectiveType.MAXIMIZE,
            max_jobs=4,
            max_parallel_jobs=2,
        ),
        ConditionStep(
            name="Gate",
            condition=And(
                [
                    Comparison(
                        accuracy,
                        ComparisonOperator.GREATER_THAN_OR_EQUAL,
                        ParameterRef("Threshold"),
                    ),
                    Not(
                        Comparison(
                            TrainingMetric("Train", "loss"), ComparisonOperator.GREATER_THAN, 1.5
                        )
                    ),
                ]
            ),
            if_steps=["Register", "CreateModel"],
            else_steps=["Fail"],
        ),
        RegisterModelStep(
            name="Register",
            model=ModelArtifacts("Tune"),
            model_package_group_name="group",
            image_uri=IMAGE,
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instance_types=["ml.m5.large"],
            approval_status=ParameterRef("Approval"),
            metrics_report=StepOutput("Prep", "report", "report.json"),
        ),
        CreateModelStep(name="CreateModel", model=ModelArtifacts("Train"), image_uri=IMAGE),
        TransformStep(
            name="Transform",
            model=ModelName("CreateModel"),
            input_data="s3://bucket/batch",
            instance_type="ml.m5.xlarge",
        ),
        EndpointStep(
            name="Endpoint",
            model=ModelName("CreateModel"),
            instance_type="ml.g5.xlarge",
            endpoint_name="reviews",
        ),
        FailStep(
            name="Fail",
            error_message=Join(["accuracy ", accuracy, " is below ", 0.8], separator=""),
        ),
        HumanReviewStep(
            name="Review",
            flow_definition_arn=FLOW_DEFINITION_ARN,
            report=StepOutput("Prep", "report", "report.json"),
            metrics={"accuracy": accuracy, "loss": TrainingMetric("Train", "loss")},
            inputs={"model": ModelArtifacts("Train"), "note": "check the recall"},
        ),
    ]


def valid_pipeline() -> Pipeline:
    return Pipeline(name="p", steps=valid_steps(), parameters=valid_parameters())


def with_step(step_name: str, /, **changes: object) -> list[Step]:
    """The valid steps, with the step called ``step_name`` changed."""
    return [
        dataclasses.replace(step, **changes) if step.name == step_name else step  # type: ignore[arg-type]
        for step in valid_steps()
    ]


def problems_of(
    *,
    steps: Sequence[Step] | None = None,
    parameters: Sequence[Parameter] | None = None,
    name: str = "p",
) -> list[str]:
    """The problems a pipeline with these parts is rejected with (it must be rejected)."""
    with pytest.raises(SpecValidationError) as raised:
        Pipeline(
            name=name,
            steps=valid_steps() if steps is None else steps,
            parameters=valid_parameters() if parameters is None else parameters,
        )
    return raised.value.problems
