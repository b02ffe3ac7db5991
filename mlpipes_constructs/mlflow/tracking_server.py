"""What a pipeline needs of an MLflow tracking server, whether this app runs it or not."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager

__all__ = ["IMlflowTrackingServer"]


@runtime_checkable
class IMlflowTrackingServer(Protocol):
    """An MLflow tracking server that jobs log to.

    :class:`~mlpipes_constructs.mlflow.MlflowServer` is one; an existing server comes in
    through :meth:`MlflowServer.from_tracking_server
    <mlpipes_constructs.mlflow.MlflowServer.from_tracking_server>`. Jobs get the tracking URI
    and the ARN of the credentials secret in their environment, read the secret when they
    start, and reach the server through its security groups.
    """

    @property
    def tracking_uri(self) -> str:
        """The URI clients pass to ``mlflow.set_tracking_uri``, e.g. ``https://mlflow.internal``."""
        ...

    @property
    def credentials_secret(self) -> secretsmanager.ISecret:
        """The secret holding the MLflow user clients sign in as (``username``, ``password``)."""
        ...

    @property
    def connections(self) -> ec2.Connections:
        """The security groups in front of the server, on the port clients connect to."""
        ...

    def grant_read_credentials(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` read :attr:`credentials_secret`, in the grantee's own policy."""
        ...

    def grant_access(self, peer: ec2.IPeer, description: str = "MLflow clients") -> None:
        """Let ``peer`` (a CIDR or a security group) reach the server."""
        ...
