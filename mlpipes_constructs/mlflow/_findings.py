"""What the synth reports about the MLflow server: its warnings, and the cdk-nag findings it
acknowledges, each on its resource with the reason."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Annotations, Stack
from constructs import Construct, IConstruct

from mlpipes_constructs.compliance import acknowledge, acknowledge_wildcard
from mlpipes_constructs.mlflow import _props
from mlpipes_constructs.mlflow._instance import instance_arns
from mlpipes_constructs.mlflow._props import DEFAULT_MLFLOW_VERSION

if TYPE_CHECKING:
    from mlpipes_constructs.mlflow.server import MlflowServer


def add_warnings(
    server: Construct,
    *,
    key_policy_changed: bool,
    alarms: bool,
    mlflow_version: str,
    pinned: bool,
    certificate: object | None,
    domain_name: str | None,
) -> None:
    """The synth warnings about choices the server cannot make safe on its own."""
    if not key_policy_changed:
        needs = (
            "allow the role AWSServiceRoleForAutoScaling to use it, or the instance cannot launch"
        )
        if alarms:
            needs += (
                "; and allow cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey, or "
                "the alarms cannot notify the encrypted topic"
            )
        Annotations.of(server).add_warning_v2(
            "mlpipes:mlflow-key-policy",
            f"encryption_key is imported, so its policy was not changed: {needs}.",
        )
    if not pinned:
        requirements = " ".join(_props.pip_requirements(mlflow_version))
        Annotations.of(server).add_warning_v2(
            "mlpipes:mlflow-unpinned-dependencies",
            f"No constraints file pins the dependencies of MLflow {mlflow_version} (one ships "
            f"for {DEFAULT_MLFLOW_VERSION} only): the instance installs {requirements} and "
            "whatever versions of their dependencies are newest at boot, so instances "
            "launched at different times can run different code. Pin them: pip freeze a "
            "CPython 3.11 virtualenv with those three installed (as "
            "scripts/lock-mlflow-requirements.py in the mlpipes repository does) and pass "
            "the file as 'requirements_file'.",
        )
    if certificate is None:
        Annotations.of(server).add_warning_v2(
            "mlpipes:mlflow-no-tls",
            "MLflow is served over plain HTTP inside the VPC: basic-auth passwords and run "
            "data cross the network unencrypted. Pass 'certificate' (and 'domain_name') "
            "for HTTPS.",
        )
    elif domain_name is None:
        Annotations.of(server).add_warning_v2(
            "mlpipes:mlflow-tls-without-domain",
            "'certificate' is set but 'domain_name' is not: clients connect to the load "
            "balancer's DNS name, which an ACM certificate cannot cover. Set 'domain_name' "
            "to the name the certificate is for.",
        )


def acknowledge_findings(
    server: MlflowServer, stack: Stack, *, plain_http: bool, cidr_unknown: bool
) -> None:
    """Findings that do not apply or are compensated, each on its resource with the reason."""
    both = ("HIPAA.Security", "NIST.800.53.R5")
    database_secret = server.database.node.find_child("Secret")
    acknowledge(
        database_secret,
        "AwsSolutions-SMG4",
        "the tracking server reads the database password once when it starts, so a rotation "
        "under a running server would break its new connections until the next restart",
    )
    acknowledge(
        database_secret,
        [f"{pack}-SecretsManagerRotationEnabled" for pack in both],
        "the database password never leaves Secrets Manager and the instance role, and the "
        "database accepts only TLS connections from the server's security group; rotate it "
        "in a maintenance window followed by an instance refresh",
    )
    acknowledge(
        server.admin_secret,
        "AwsSolutions-SMG4",
        "MLflow uses this password only to create the admin user on first start; rotating "
        "the secret would not change the user's password, which MLflow's update-password "
        "API changes",
    )
    acknowledge(
        server.admin_secret,
        [f"{pack}-SecretsManagerRotationEnabled" for pack in both],
        "a scheduled rotation of the admin secret would leave it out of step with the MLflow "
        "admin user, whose password lives hashed in the auth database; change both together "
        "through MLflow's update-password API",
    )
    backed_up = "the cluster" if server.sizing.serverless else "the instance"
    for instance in _database_instances(server):
        acknowledge(
            instance,
            [f"{pack}-RDSInBackupPlan" for pack in both],
            f"{backed_up} has automated backups with point-in-time recovery (backup_retention, "
            "default 7 days), deletion protection and a final snapshot on removal; an AWS "
            "Backup plan would add a second copy of the same data, which a platform can still "
            "add",
        )
    if server.sizing.serverless and not server.database_iam_authentication:
        cluster = server.database.node.default_child
        assert cluster is not None
        acknowledge(
            cluster,
            "AwsSolutions-RDS6",
            "the tracking server signs in with the generated password from Secrets Manager "
            "over TLS only (rds.force_ssl), from its own security group; IAM tokens expire "
            "after 15 minutes and MLflow's SQLAlchemy stores cannot renew them, so IAM "
            "authentication would serve no client; database_iam_authentication=True turns it on",
        )
    monitoring_role = server.database.node.try_find_child("MonitoringRole")
    if monitoring_role is not None:
        acknowledge(
            monitoring_role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonRDSEnhancedMonitoringRole]",
            "RDS enhanced monitoring requires this AWS-maintained policy, which only lets RDS "
            "write OS metrics to its own RDSOSMetrics log group",
        )
    acknowledge(
        server.load_balancer,
        "NIST.800.53.R5-ALBWAFEnabled",
        "the load balancer is internal: only the VPC or networks granted explicitly reach "
        "it, and every API and UI request needs MLflow credentials; a web ACL against "
        "internet traffic can be associated by the platform if required",
    )
    acknowledge_wildcard(
        server.policy,
        server.artifact_bucket.arn_for_objects(f"{server.artifact_prefix}*"),
        "MLflow names artifact objects after experiments and runs at run time; the "
        f"wildcard stays inside the '{server.artifact_prefix}' folder of the artifact bucket",
    )
    acknowledge_wildcard(
        server.policy,
        instance_arns(stack),
        "the Session Manager agent reports for the instance it runs on, whose id the Auto "
        "Scaling group chooses at launch; the wildcard covers instances of this account and "
        "region only",
    )
    acknowledge(
        server.policy,
        "AwsSolutions-IAM5[Resource::*]",
        "the Session Manager channel actions (ssmmessages:*Channel) have no resource type, "
        "so AWS accepts only '*' for them",
    )
    if plain_http:
        acknowledge(
            server.listener,
            [f"{pack}-ALBHttpToHttpsRedirection" for pack in both],
            "no certificate was given, so there is no HTTPS listener to redirect to; the "
            "internal HTTP listener is reported by the mlpipes:mlflow-no-tls synth warning",
        )
        acknowledge(
            server.listener,
            [f"{pack}-ELBv2ACMCertificateRequired" for pack in both],
            "the listener serves plain HTTP inside the VPC because no ACM certificate was "
            "passed; passing 'certificate' makes it an HTTPS-only listener using it",
        )
    if cidr_unknown:
        acknowledge(
            server.load_balancer_security_group,
            "AwsSolutions-EC23",
            "the only ingress is the listener port from the VPC's CIDR block, resolved at "
            "deploy time so the rule cannot read it; allowed_cidrs and grant_access reject "
            "0.0.0.0/0 at synth",
        )
        acknowledge(
            server.load_balancer_security_group,
            [f"{pack}-EC2RestrictedCommonPorts" for pack in both],
            "the group admits only the MLflow listener port (80 or 443), from a CIDR block "
            "this rule cannot read because it is the VPC's, known at deploy time",
        )
        acknowledge(
            server.load_balancer_security_group,
            [f"{pack}-EC2RestrictedSSH" for pack in both],
            "port 22 is never opened: the group admits only the MLflow listener port, and "
            "operators reach the instance through Session Manager",
        )


def _database_instances(server: MlflowServer) -> list[IConstruct]:
    """The L1 database instances: the RDS instance, or the Aurora cluster's writer and reader."""
    if not server.sizing.serverless:
        instance = server.database.node.default_child
        assert instance is not None
        return [instance]
    instances = (
        child.node.default_child
        for child in server.database.node.children
        if child.node.id in ("Writer", "Reader")
    )
    return [instance for instance in instances if instance is not None]
