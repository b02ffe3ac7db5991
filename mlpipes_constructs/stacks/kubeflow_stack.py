"""Kubeflow Pipelines on a private Amazon EKS cluster, on the foundation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import CfnOutput
from aws_cdk import aws_iam as iam
from constructs import Construct

from mlpipes_constructs.foundation import FoundationResources
from mlpipes_constructs.kubeflow import KubeflowCluster, KubeflowPipelines
from mlpipes_constructs.stacks.base import MlpipesStack

#: The service account the reference pipeline's tasks run as.
PIPELINE_SERVICE_ACCOUNT = "mlpipes-reference-pipeline"


class KubeflowStack(MlpipesStack):
    """A :class:`KubeflowCluster` (EKS Auto Mode, private API) with :class:`KubeflowPipelines`.

    KFP's metadata is in RDS for MySQL and its artifacts in the foundation bucket under
    ``kfp/``; the UI and API are reached with ``kubectl port-forward`` by the ``admin_roles``.

    Args:
        foundation: the platform to build on.
        admin_roles: IAM roles given cluster admin through access entries. Default: none.
        **kwargs: passed to :class:`aws_cdk.Stack`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        foundation: FoundationResources,
        admin_roles: Sequence[iam.IRole] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.cluster = KubeflowCluster(
            self, "Cluster", foundation=foundation, admin_roles=admin_roles
        )
        self.pipelines = KubeflowPipelines(
            self, "Pipelines", cluster=self.cluster, artifact_bucket=foundation.artifact_bucket
        )
        self.pipeline_role = self.pipelines.add_pipeline_service_account(
            "ReferencePipelineTasks", name=PIPELINE_SERVICE_ACCOUNT
        )
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
