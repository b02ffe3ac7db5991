"""An MLflow tracking server that runs elsewhere, known by its URI and credentials secret."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.mlflow import _grants, _props


class ImportedTrackingServer(Construct):
    """See :meth:`MlflowServer.from_tracking_server`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tracking_uri: str,
        credentials_secret: secretsmanager.ISecret,
        security_groups: Sequence[ec2.ISecurityGroup],
        port: int | None,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems(self.node.path)
        port = port if port is not None else _default_port(problems, tracking_uri)
        if isinstance(security_groups, ec2.SecurityGroup):
            problems.add("security_groups must be a list of security groups, not one group")
            security_groups = [security_groups]
        problems.check_int_range("port", port, 1, 65535)
        problems.raise_if_any()
        self._tracking_uri = tracking_uri
        self._credentials_secret = credentials_secret
        self._has_security_groups = bool(security_groups)
        self._connections = ec2.Connections(
            security_groups=list(security_groups),
            default_port=ec2.Port.tcp(port) if port is not None else None,
        )

    @property
    def tracking_uri(self) -> str:
        """The URI clients pass to ``mlflow.set_tracking_uri``."""
        return self._tracking_uri

    @property
    def credentials_secret(self) -> secretsmanager.ISecret:
        """The secret holding the MLflow user clients sign in as."""
        return self._credentials_secret

    @property
    def connections(self) -> ec2.Connections:
        """The server's security groups (none unless given), on its port."""
        return self._connections

    def grant_read_credentials(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` read :attr:`credentials_secret`, in the grantee's own policy."""
        return _grants.grant_secret_read(self._credentials_secret, grantee)

    def grant_access(self, peer: ec2.IPeer, description: str = "MLflow clients") -> None:
        """Let ``peer`` reach the server through the security groups it was imported with.

        Raises:
            PropsValidationError: the server was imported without ``security_groups``, or
                ``peer`` is a CIDR that opens it to everyone.
        """
        problems = Problems(self.node.path)
        problems.require(
            self._has_security_groups,
            "grant_access needs the server's security groups: import it with "
            "security_groups=[...], or allow the peer on the server's side",
        )
        config = peer.to_ingress_rule_config()
        cidr = config.cidr_ip or config.cidr_ipv6
        if isinstance(cidr, str):
            _props.check_allowed_cidr(problems, "grant_access peer", cidr)
        problems.raise_if_any()
        self._connections.allow_default_port_from(peer, description)


def _default_port(problems: Problems, tracking_uri: str) -> int | None:
    """The port of ``tracking_uri``: the one it names, else 443 for https and 80 for http."""
    if is_unresolved(tracking_uri):
        problems.add(
            "tracking_uri is only known at deploy time, so its port is not: pass 'port' too"
        )
        return None
    parts = urlsplit(tracking_uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problems.add(
            f"tracking_uri '{tracking_uri}' must be an http or https URL with a host, e.g. "
            "'https://mlflow.example.internal'"
        )
        return None
    try:
        explicit = parts.port
    except ValueError:
        problems.add(f"tracking_uri '{tracking_uri}' has an invalid port")
        return None
    return explicit or (443 if parts.scheme == "https" else 80)
