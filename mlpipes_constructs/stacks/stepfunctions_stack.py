"""The reference pipeline as a Step Functions state machine."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput
from constructs import Construct

from mlpipes_constructs.a2i import IFlowDefinition
from mlpipes_constructs.core import FailureNotifications
from mlpipes_constructs.foundation import FoundationResources, PlatformKey
from mlpipes_constructs.mlflow import IMlflowTrackingServer
from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.stacks.base import MlpipesStack
from mlpipes_constructs.stacks.reference_jobs import reference_integrations, reference_jobs
from mlpipes_constructs.stepfunctions import MlStateMachine

#: The model package group this stack's executions register models in (its own, so it does
#: not collide with the SageMaker Pipelines stack's group).
MODEL_PACKAGE_GROUP = "mlpipes-review-classifier-sfn"
INPUT_DATA_PREFIX = "data/reviews/"


class StepFunctionsStack(MlpipesStack):
    """The reference review-classifier pipeline, compiled to a Step Functions state machine.

    Jobs run in the foundation VPC's private subnets as a job role created here on the
    foundation bucket and key, which also encrypts the execution logs; failed, timed-out and
    aborted executions notify an SNS topic encrypted with a notification key of this stack.

    Args:
        foundation: the platform to build on.
        flow_definition: the A2I flow definition people review each model with before it is
            registered. Default: no human review.
        tracking_server: the MLflow server the jobs log to. Default: no tracking.
        **kwargs: passed to :class:`aws_cdk.Stack`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        foundation: FoundationResources,
        flow_definition: IFlowDefinition | None = None,
        tracking_server: IMlflowTrackingServer | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        bucket = foundation.artifact_bucket
        jobs = reference_jobs(
            self,
            foundation,
            runner="the Step Functions pipeline",
            model_package_group_name=MODEL_PACKAGE_GROUP,
            model_package_group_description="Review classifiers trained by Step Functions",
        )
        self.job_security_group = jobs.security_group
        self.job_role = jobs.job_role
        self.model_package_group = jobs.model_package_group
        integrations = reference_integrations(flow_definition, tracking_server)
        pipeline = reference_pipeline(
            self.region,
            input_data_uri=f"s3://{bucket.bucket_name}/{INPUT_DATA_PREFIX}",
            model_package_group_name=MODEL_PACKAGE_GROUP,
            human_review_flow_definition_arn=integrations.flow_definition_arn,
        )
        # EventBridge publishes failure notifications to a topic encrypted with this key; the
        # state machine adds the one statement EventBridge needs. No log group uses it.
        self.notification_key = PlatformKey(
            self,
            "NotificationKey",
            description="mlpipes Step Functions pipeline notifications",
            allow_cloudwatch_logs=False,
        )
        self.state_machine = MlStateMachine(
            self,
            "ReviewClassifier",
            pipeline=pipeline,
            job_role=self.job_role,
            artifact_bucket=bucket,
            encryption_key=foundation.encryption_key,
            placement=jobs.placement,
            notifications=FailureNotifications(encryption_key=self.notification_key.key),
            flow_definitions=integrations.flow_definitions,
            tracking=integrations.tracking,
        )
        CfnOutput(self, "StateMachineArn", value=self.state_machine.state_machine_arn)
        if self.state_machine.notification_topic is not None:
            CfnOutput(
                self, "FailureTopicArn", value=self.state_machine.notification_topic.topic_arn
            )
