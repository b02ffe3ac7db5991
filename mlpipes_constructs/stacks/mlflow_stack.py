"""The MLflow tracking server every orchestrator logs to."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from aws_cdk import CfnOutput
from constructs import Construct

from mlpipes_constructs.mlflow import DEFAULT_MLFLOW_VERSION, MlflowServer, MlflowSizing
from mlpipes_constructs.stacks.base import MlpipesStack

if TYPE_CHECKING:
    from aws_cdk import aws_certificatemanager as acm

    from mlpipes_constructs.foundation import FoundationResources


class MlflowStack(MlpipesStack):
    """An :class:`MlflowServer` on the foundation's VPC, key and buckets.

    Args:
        foundation: the shared platform parts, e.g. ``FoundationStack(...).resources``. Its
            private subnets need a NAT gateway (the server installs MLflow from PyPI at boot):
            a foundation with ``nat_gateways=0`` is rejected.
        sizing: the server's instance type, workers and database as one choice:
            ``MlflowSizing.SMALL_TEAM`` (t4g.medium, Aurora PostgreSQL Serverless v2 that
            pauses while idle) or ``MlflowSizing.PRODUCTION`` (m7g.large, provisioned Multi-AZ
            RDS), or your own. Default: ``MlflowSizing.SMALL_TEAM``.
        instance_type: EC2 instance type of the server, over the sizing's. Default: the
            sizing's (``"t4g.medium"`` for SMALL_TEAM).
        mlflow_version: MLflow release to install. Default: the tested release.
        certificate: ACM certificate or its ARN for HTTPS. Default: plain HTTP inside the VPC
            (with a ``mlpipes:mlflow-no-tls`` warning).
        domain_name: DNS name clients use with the certificate. Default: the load
            balancer's DNS name.
        requirements_file: pip constraints file pinning every package of the server's
            environment. Default: the file shipped for ``mlflow_version`` (the default version
            has one), else none and a ``mlpipes:mlflow-unpinned-dependencies`` warning.
        **kwargs: passed to :class:`aws_cdk.Stack`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        foundation: FoundationResources,
        sizing: MlflowSizing = MlflowSizing.SMALL_TEAM,
        instance_type: str | None = None,
        mlflow_version: str = DEFAULT_MLFLOW_VERSION,
        certificate: acm.ICertificate | str | None = None,
        domain_name: str | None = None,
        requirements_file: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.server = MlflowServer(
            self,
            "Server",
            foundation=foundation,
            sizing=sizing,
            instance_type=instance_type,
            mlflow_version=mlflow_version,
            certificate=certificate,
            domain_name=domain_name,
            requirements_file=requirements_file,
        )
        CfnOutput(self, "TrackingUri", value=self.server.tracking_uri)
        CfnOutput(
            self,
            "TrackingUriParameterName",
            value=self.server.tracking_uri_parameter.parameter_name,
        )
        CfnOutput(self, "AdminSecretArn", value=self.server.admin_secret.secret_arn)
        # Subscribe to it for the alarms and instance launches and terminations.
        CfnOutput(self, "NotificationTopicArn", value=self.server.notification_topic.topic_arn)
