"""Kubeflow Pipelines on a private Amazon EKS cluster, on the foundation, running the reference
pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import CfnOutput
from aws_cdk import aws_iam as iam
from constructs import Construct

from mlpipes_constructs.a2i import IFlowDefinition
from mlpipes_constructs.foundation import FoundationResources
from mlpipes_constructs.kubeflow import KubeflowCluster, KubeflowPipeline, KubeflowPipelines
from mlpipes_constructs.mlflow import IMlflowTrackingServer
from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.stacks.base import MlpipesStack
from mlpipes_constructs.stacks.reference_jobs import reference_integrations, reference_jobs

#: The service account the reference pipeline's runs execute as.
PIPELINE_SERVICE_ACCOUNT = "mlpipes-reference-pipeline"
#: The model package group this stack's runs register models in (its own, so it does not
#: collide with the other orchestrators' groups).
MODEL_PACKAGE_GROUP = "mlpipes-review-classifier-kfp"
INPUT_DATA_PREFIX = "data/reviews/"


class KubeflowStack(MlpipesStack):
    """A :class:`KubeflowCluster` (EKS Auto Mode, private API) with :class:`KubeflowPipelines`,
    running the reference review-classifier pipeline as a :class:`KubeflowPipeline`.

    KFP's metadata is in RDS for MySQL and its artifacts in the foundation bucket under
    ``kfp/``; the UI and API are reached with ``kubectl port-forward`` by the ``admin_roles``.
    The reference pipeline is registered with KFP at deploy time (no recurring run: start runs
    from the UI or the API, as the service account :data:`PIPELINE_SERVICE_ACCOUNT`); its
    SageMaker jobs run in the foundation VPC's private subnets as a job role created here, on
    the foundation bucket and key.

    Args:
        foundation: the platform to build on.
        flow_definition: the A2I flow definition people review each model with before it is
            registered. Default: no human review.
        tracking_server: the MLflow server the jobs log to. Default: no tracking.
        admin_roles: IAM roles given cluster admin through access entries. Default: none.
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
        admin_roles: Sequence[iam.IRole] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        integrations = reference_integrations(flow_definition, tracking_server)
        bucket = foundation.artifact_bucket
        self.cluster = KubeflowCluster(
            self, "Cluster", foundation=foundation, admin_roles=admin_roles
        )
        self.pipelines = KubeflowPipelines(
            self, "Pipelines", cluster=self.cluster, artifact_bucket=bucket
        )
        jobs = reference_jobs(
            self,
            foundation,
            runner="the Kubeflow pipeline",
            model_package_group_name=MODEL_PACKAGE_GROUP,
            model_package_group_description="Review classifiers trained by Kubeflow Pipelines",
        )
        self.job_security_group = jobs.security_group
        self.job_role = jobs.job_role
        self.model_package_group = jobs.model_package_group
        self.pipeline = KubeflowPipeline(
            self,
            "ReviewClassifier",
            kfp=self.pipelines,
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
            service_account_name=PIPELINE_SERVICE_ACCOUNT,
            flow_definitions=integrations.flow_definitions,
            tracking=integrations.tracking,
        )
        self.pipeline_role = self.pipeline.role
        CfnOutput(self, "ClusterName", value=self.cluster.cluster_name)
        CfnOutput(self, "KfpApiUrl", value=self.pipelines.api_url)
        CfnOutput(
            self,
            "KfpUiPortForward",
            value="kubectl port-forward -n kubeflow svc/ml-pipeline-ui 8080:80",
        )
        CfnOutput(self, "PipelineRoot", value=self.pipelines.pipeline_root)
        CfnOutput(
            self, "DatabaseEndpoint", value=self.pipelines.database.db_instance_endpoint_address
        )
        CfnOutput(self, "PipelineName", value=self.pipeline.pipeline_name)
        CfnOutput(self, "PipelineVersion", value=self.pipeline.pipeline_version)
        CfnOutput(self, "PipelineServiceAccount", value=PIPELINE_SERVICE_ACCOUNT)
