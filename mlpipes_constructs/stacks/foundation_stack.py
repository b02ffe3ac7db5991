"""The shared platform every other mlpipes stack builds on."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput
from constructs import Construct

from mlpipes_constructs.foundation import (
    INTERFACE_ENDPOINT_SERVICES,
    ArtifactStorage,
    FoundationResources,
    MlNetwork,
    PlatformKey,
    SageMakerJobRole,
)
from mlpipes_constructs.stacks.base import MlpipesStack


class FoundationStack(MlpipesStack):
    """VPC, platform KMS key, artifact and log buckets, and the default SageMaker job role.

    Other stacks take :attr:`resources`; replace this stack with your own platform by building
    a :class:`FoundationResources` from existing resources instead.

    Args:
        nat_gateways: NAT gateways of the VPC. Default: 1.
        interface_endpoints: create the VPC interface endpoints. Default: only without NAT.
        **kwargs: passed to :class:`aws_cdk.Stack`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        nat_gateways: int = 1,
        interface_endpoints: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.platform_key = PlatformKey(self, "PlatformKey", alias=f"{construct_id}/platform")
        self.network = MlNetwork(
            self,
            "Network",
            encryption_key=self.platform_key.key,
            nat_gateways=nat_gateways,
            interface_endpoints=tuple(INTERFACE_ENDPOINT_SERVICES) if interface_endpoints else None,
        )
        # Object events go to EventBridge so workload stacks can start pipelines on new data.
        self.storage = ArtifactStorage(
            self, "Storage", encryption_key=self.platform_key.key, event_bridge_enabled=True
        )
        self.job_role = SageMakerJobRole(
            self,
            "JobRole",
            bucket=self.storage.bucket,
            encryption_key=self.platform_key.key,
            vpc=self.network.vpc,
        )
        self.resources = FoundationResources(
            vpc=self.network.vpc,
            private_subnets=self.network.private_subnets,
            encryption_key=self.platform_key.key,
            artifact_bucket=self.storage.bucket,
            log_bucket=self.storage.log_bucket,
        )
        CfnOutput(self, "VpcId", value=self.network.vpc.vpc_id)
        CfnOutput(self, "ArtifactBucketName", value=self.storage.bucket.bucket_name)
        CfnOutput(self, "PlatformKeyArn", value=self.platform_key.key.key_arn)
        CfnOutput(self, "JobRoleArn", value=self.job_role.role.role_arn)
