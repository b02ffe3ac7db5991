"""An Amazon MWAA environment on the foundation, with a DAG folder deployed into it."""

from __future__ import annotations

import os
from typing import Any

from aws_cdk import CfnOutput
from constructs import Construct

from mlpipes_constructs.a2i import IFlowDefinition
from mlpipes_constructs.airflow import (
    HEALTH_CHECK_DAGS,
    MwaaEnvironment,
    MwaaPipeline,
    MwaaSourceFiles,
)
from mlpipes_constructs.foundation import FoundationResources
from mlpipes_constructs.mlflow import IMlflowTrackingServer
from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.stacks.base import MlpipesStack
from mlpipes_constructs.stacks.reference_jobs import reference_integrations, reference_jobs

#: The cheapest class that can run the reference pipeline's DAG: ``mw1.micro`` (about $0.26
#: an hour) runs one worker with one concurrent task, whose scheduler and web server share
#: one container; ``mw1.small`` (about $0.49 an hour, roughly $358 a month idle, plus $0.055
#: an hour per worker above the minimum) runs up to 5 concurrent tasks per worker and
#: autoscales workers, which the pipeline's parallel steps use. Larger classes buy scheduler
#: and worker capacity the pipeline does not need. Prices: us-east-1, MWAA pricing page.
DEFAULT_ENVIRONMENT_CLASS = "mw1.small"
#: The model package group this stack's DAG runs register models in (its own, so it does not
#: collide with the other orchestrators' stacks).
MODEL_PACKAGE_GROUP = "mlpipes-review-classifier-mwaa"
INPUT_DATA_PREFIX = "data/reviews/"


class MwaaStack(MlpipesStack):
    """An :class:`MwaaEnvironment` in the foundation's private subnets, with its key, running
    the reference review-classifier pipeline as an Airflow DAG (:class:`MwaaPipeline`).

    The DAG's SageMaker jobs run in the foundation's private subnets as a job role created
    here on the foundation bucket and key; failed DAG runs are published to an SNS topic
    encrypted with the foundation key.

    Args:
        foundation: the platform to build on.
        flow_definition: the A2I flow definition people review each model with before it is
            registered. Default: no human review.
        tracking_server: the MLflow server the jobs log to. Default: no tracking.
        dags_folder: the DAG folder to deploy, e.g. one compiled from a pipeline spec.
            Default: the packaged health-check DAG folder (one task, no AWS job).
        requirements_file: a ``requirements.txt`` for the environment. Default: none.
        environment_class: the MWAA environment class. Default: ``mw1.small`` (see
            :data:`DEFAULT_ENVIRONMENT_CLASS` for why).
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
        dags_folder: str | os.PathLike[str] | None = None,
        requirements_file: str | os.PathLike[str] | None = None,
        environment_class: str = DEFAULT_ENVIRONMENT_CLASS,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        integrations = reference_integrations(flow_definition, tracking_server)
        self.airflow_environment = MwaaEnvironment(
            self,
            "Environment",
            foundation=foundation,
            environment_name=f"{construct_id}-airflow",
            environment_class=environment_class,
            source=MwaaSourceFiles(
                dags_folder=dags_folder or HEALTH_CHECK_DAGS,
                requirements_file=requirements_file,
            ),
        )
        bucket = foundation.artifact_bucket
        jobs = reference_jobs(
            self,
            foundation,
            runner="the Airflow pipeline",
            model_package_group_name=MODEL_PACKAGE_GROUP,
            model_package_group_description="Review classifiers trained by Airflow on MWAA",
        )
        self.job_security_group = jobs.security_group
        self.job_role = jobs.job_role
        self.model_package_group = jobs.model_package_group
        self.pipeline = MwaaPipeline(
            self,
            "ReviewClassifier",
            environment=self.airflow_environment,
            pipeline=reference_pipeline(
                self.region,
                input_data_uri=f"s3://{bucket.bucket_name}/{INPUT_DATA_PREFIX}",
                model_package_group_name=MODEL_PACKAGE_GROUP,
                human_review_flow_definition_arn=integrations.flow_definition_arn,
            ),
            job_role=self.job_role,
            artifact_bucket=bucket,
            encryption_key=foundation.encryption_key,
            placement=jobs.placement,
            flow_definitions=integrations.flow_definitions,
            tracking=integrations.tracking,
        )
        self.pipeline.node.add_dependency(self.model_package_group)
        CfnOutput(self, "DagId", value=self.pipeline.dag_id)
        CfnOutput(self, "EnvironmentName", value=self.airflow_environment.environment_name)
        CfnOutput(self, "WebserverUrl", value=self.airflow_environment.webserver_url)
        CfnOutput(
            self, "SourceBucketName", value=self.airflow_environment.source_bucket.bucket_name
        )
        CfnOutput(self, "ExecutionRoleArn", value=self.airflow_environment.execution_role.role_arn)
