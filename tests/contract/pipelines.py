"""Pipelines the contract tests compile with every compiler."""

from __future__ import annotations

from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.spec import (
    CreateModelStep,
    EndpointStep,
    IntegerRange,
    MetricDefinition,
    ModelArtifacts,
    ModelName,
    ObjectiveType,
    Pipeline,
    TrainingStep,
    TuningStep,
)

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1"
FLOW_DEFINITION_ARN = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/model-review"


def every_step_kind() -> Pipeline:
    """The reference pipeline with human review, plus spot training, tuning and endpoints,
    no channels anywhere."""
    base = reference_pipeline(
        input_data_uri="s3://artifacts/data/", human_review_flow_definition_arn=FLOW_DEFINITION_ARN
    )
    metric = MetricDefinition(name="validation:auc", regex="auc=([0-9.]+)")
    extra = (
        TrainingStep(
            name="SpotTrain",
            image_uri=IMAGE,
            instance_type="ml.m5.xlarge",
            use_spot_instances=True,
            max_wait_seconds=3600,
        ),
        TuningStep(
            name="Tune",
            image_uri=IMAGE,
            instance_type="ml.m5.xlarge",
            metric_definitions=(metric,),
            parameter_ranges=(IntegerRange(name="max_depth", min_value=3, max_value=10),),
            objective_metric="validation:auc",
            objective_type=ObjectiveType.MAXIMIZE,
        ),
        CreateModelStep(name="TunedModel", model=ModelArtifacts("Tune"), image_uri=IMAGE),
        EndpointStep(
            name="Deploy",
            model=ModelName("TunedModel"),
            instance_type="ml.m5.large",
            endpoint_name="reviews",
        ),
        EndpointStep(
            name="DeployNvme",
            model=ModelName("TunedModel"),
            instance_type="ml.g5.xlarge",
            endpoint_name="reviews-gpu",
        ),
    )
    return Pipeline(
        name=base.name,
        steps=(*base.steps, *extra),
        parameters=base.parameters,
        base_directory=base.base_directory,
    )
