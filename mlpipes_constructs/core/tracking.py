"""MLflow tracking for every pipeline construct: ``tracking=MlflowTracking(server=...)``.

The jobs of a tracked pipeline get the server's URI, the experiment, the ARN of the credentials
secret and the orchestrator's execution id in their environment (see
:mod:`mlpipes_constructs.compile.tracking`); they read the credentials when they start. The
construct grants the job role reading the secret, in the role's own policy, and lets the jobs'
security groups reach the server's port: both rules in the pipeline's stack, so a server in
another stack makes no dependency cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam

from mlpipes_constructs.compile.tracking import Tracking

if TYPE_CHECKING:
    from mlpipes_constructs.mlflow import IMlflowTrackingServer

__all__ = ["MlflowTracking"]


@dataclass(frozen=True)
class MlflowTracking:
    """The MLflow tracking server a pipeline's jobs log to.

    Attributes:
        server: an :class:`~mlpipes_constructs.mlflow.MlflowServer`, or an existing server from
            :meth:`MlflowServer.from_tracking_server
            <mlpipes_constructs.mlflow.MlflowServer.from_tracking_server>`.
        experiment_name: the MLflow experiment of the runs. Default: the pipeline's name.
    """

    server: IMlflowTrackingServer
    experiment_name: str | None = None

    def compile_options(self) -> Tracking:
        """What the compilers need: the URI, the experiment and the secret's ARN."""
        return Tracking(
            tracking_uri=self.server.tracking_uri,
            experiment_name=self.experiment_name,
            credentials_secret_arn=self.server.credentials_secret.secret_arn,
        )

    def grant_jobs(
        self,
        job_role: iam.IGrantable,
        security_groups: Sequence[ec2.ISecurityGroup],
    ) -> iam.Grant:
        """Let the jobs read the credentials and reach the server, from the jobs' side.

        Raises:
            ValueError: the server's connections have no port (an imported server without
                ``port`` and with a URI that names none).
        """
        port = self.server.connections.default_port
        if security_groups and port is None:
            raise ValueError(
                "the tracking server's connections have no default port; give "
                "MlflowServer.from_tracking_server a port"
            )
        for group in security_groups:
            assert port is not None
            for server_group in self.server.connections.security_groups:
                # A remote rule of a group in another stack is created in the peer's (the
                # job group's) stack, which depends on the server's, not the other way round.
                server_group.add_ingress_rule(group, port, "MLflow tracking from jobs", True)
                if not group.allow_all_outbound:
                    group.add_egress_rule(server_group, port, "MLflow tracking", True)
        return self.server.grant_read_credentials(job_role)
