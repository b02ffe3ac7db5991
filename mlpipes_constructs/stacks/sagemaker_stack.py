"""The reference pipeline on SageMaker Pipelines, with its registry, features and triggers."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Token
from aws_cdk import aws_events as events
from constructs import Construct

from mlpipes_constructs.a2i import IFlowDefinition
from mlpipes_constructs.core import FailureNotifications, JobPlacementOptions
from mlpipes_constructs.foundation import FoundationResources, PlatformKey, SageMakerJobRole
from mlpipes_constructs.mlflow import IMlflowTrackingServer
from mlpipes_constructs.reference.pipeline import reference_pipeline
from mlpipes_constructs.sagemaker import (
    EndpointDeployment,
    FeatureDefinition,
    FeatureStore,
    FeatureType,
    ModelRegistry,
    SageMakerPipeline,
)
from mlpipes_constructs.stacks.base import MlpipesStack
from mlpipes_constructs.stacks.reference_jobs import reference_integrations

REFERENCE_NAME = "mlpipes-review-classifier"
#: Raw reviews the pipeline reads by default, and the folder whose new files start a run.
REVIEWS_PREFIX = "data/reviews/"
INCOMING_REVIEWS_PREFIX = "data/reviews/incoming/"
#: Features of a review, for online inference and offline training sets.
REVIEW_FEATURES: tuple[FeatureDefinition, ...] = (
    FeatureDefinition("review_id", FeatureType.STRING),
    FeatureDefinition("event_time", FeatureType.FRACTIONAL),
    FeatureDefinition("star_rating", FeatureType.INTEGRAL),
    FeatureDefinition("review_length", FeatureType.INTEGRAL),
    FeatureDefinition("positive_probability", FeatureType.FRACTIONAL),
)


class SageMakerPipelinesStack(MlpipesStack):
    """The reference review classifier as a SageMaker pipeline, and what surrounds it.

    * a job role on the foundation bucket, key and VPC, for the jobs and the served model;
    * the pipeline (jobs in the foundation's private subnets), started by every new file
      under ``data/reviews/incoming/`` of the artifact bucket (with that file as
      ``InputDataUri``; the foundation bucket sends its events to EventBridge) and, optionally,
      on a schedule; failed executions are published to a KMS-encrypted SNS topic;
    * the model registry of its model package group: approving a version deploys it to a
      real-time endpoint with data capture and autoscaling;
    * a feature group for review features (online and offline store).

    Args:
        foundation: the VPC, key and bucket to build on.
        schedule: when to run the pipeline besides new data. Default: only on new data.
        endpoint_instance_type: instance type of the endpoint. Default: ``ml.m5.large``.
        feature_group_lock_file: the feature group lock file (see :class:`FeatureStore`).
            Default: no lock file (no replacement guard).
        flow_definition: the A2I flow definition people review each model with before it is
            registered. Default: no human review.
        tracking_server: the MLflow server the jobs log to. Default: no tracking.
        **kwargs: passed to :class:`aws_cdk.Stack`; the region must be concrete (the
            pipeline's framework images are per region).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        foundation: FoundationResources,
        schedule: str | events.Schedule | None = None,
        endpoint_instance_type: str = "ml.m5.large",
        feature_group_lock_file: str | None = None,
        flow_definition: IFlowDefinition | None = None,
        tracking_server: IMlflowTrackingServer | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        if Token.is_unresolved(self.region):
            raise ValueError(
                f"stack '{construct_id}' needs a concrete region (env=Environment(region=...)): "
                "the reference pipeline's SageMaker framework images are chosen per region"
            )
        bucket = foundation.artifact_bucket
        key = foundation.encryption_key
        self.job_role = SageMakerJobRole(
            self,
            "JobRole",
            bucket=bucket,
            encryption_key=key,
            read_prefixes=(REVIEWS_PREFIX, "pipelines/"),
            write_prefixes=("pipelines/",),
            job_name_prefix="pipelines-",
            vpc=foundation.vpc,
        )
        # EventBridge publishes failure notifications to a topic encrypted with this key; the
        # pipeline adds the one statement EventBridge needs. No log group uses it.
        self.notification_key = PlatformKey(
            self,
            "NotificationKey",
            alias=f"{construct_id}/notifications",
            description="mlpipes SageMaker pipeline notifications",
            allow_cloudwatch_logs=False,
        )
        placement = JobPlacementOptions(vpc=foundation.vpc, vpc_subnets=foundation.private_subnets)
        self.registry = ModelRegistry(
            self,
            "ModelRegistry",
            model_package_group_name=REFERENCE_NAME,
            description="Review classifiers trained by the reference pipeline",
            deploy_on_approval=EndpointDeployment(
                endpoint_name=REFERENCE_NAME, instance_type=endpoint_instance_type
            ),
            job_role=self.job_role,
            artifact_bucket=bucket,
            encryption_key=key,
            placement=placement,
        )
        integrations = reference_integrations(flow_definition, tracking_server)
        self.pipeline = SageMakerPipeline(
            self,
            "Pipeline",
            pipeline=reference_pipeline(
                self.region,
                input_data_uri=f"s3://{bucket.bucket_name}/{REVIEWS_PREFIX}",
                name=REFERENCE_NAME,
                model_package_group_name=REFERENCE_NAME,
                human_review_flow_definition_arn=integrations.flow_definition_arn,
            ),
            job_role=self.job_role,
            artifact_bucket=bucket,
            encryption_key=key,
            placement=placement,
            schedule=schedule,
            trigger_prefix=INCOMING_REVIEWS_PREFIX,
            trigger_parameter="InputDataUri",
            notifications=FailureNotifications(encryption_key=self.notification_key.key),
            flow_definitions=integrations.flow_definitions,
            tracking=integrations.tracking,
        )
        # Executions register versions in the registry's group: create it first.
        self.pipeline.cfn_pipeline.add_resource_dependency(self.registry.cfn_model_package_group)
        self.feature_store = FeatureStore(
            self,
            "FeatureStore",
            bucket=bucket,
            encryption_key=key,
            lock_file=feature_group_lock_file,
        )
        self.review_features = self.feature_store.add_feature_group(
            "ReviewFeatures",
            feature_group_name="mlpipes-review-features",
            record_identifier_feature_name="review_id",
            event_time_feature_name="event_time",
            feature_definitions=REVIEW_FEATURES,
            description="Per-review features of the reference review classifier",
        )

        CfnOutput(self, "PipelineName", value=self.pipeline.pipeline_name)
        CfnOutput(self, "ModelPackageGroupName", value=self.registry.model_package_group_name)
        CfnOutput(self, "EndpointName", value=REFERENCE_NAME)
        CfnOutput(self, "FeatureGroupName", value=self.review_features.feature_group_name)
        if self.pipeline.notification_topic is not None:
            CfnOutput(self, "FailureTopicArn", value=self.pipeline.notification_topic.topic_arn)
