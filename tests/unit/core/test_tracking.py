"""``MlflowTracking``: what the compilers get, and the grants, made from the jobs' side."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Match, Template

from mlpipes_constructs.core import MlflowTracking
from mlpipes_constructs.mlflow import MlflowServer
from tests.conftest import TEST_ENV

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:mlflow-admin-AbCdEf"


def _server_stack(app: cdk.App, port: int | None = None) -> tuple[cdk.Stack, MlflowTracking]:
    stack = cdk.Stack(app, "Tracking", env=TEST_ENV)
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    server_group = ec2.SecurityGroup(stack, "ServerGroup", vpc=vpc)
    server = MlflowServer.from_tracking_server(
        stack,
        "Server",
        tracking_uri="https://mlflow.internal",
        credentials_secret=secretsmanager.Secret.from_secret_complete_arn(
            stack, "Secret", SECRET_ARN
        ),
        security_groups=[server_group],
        port=port,
    )
    return stack, MlflowTracking(server=server, experiment_name="reviews")


def test_the_compilers_get_the_uri_the_experiment_and_the_secret_arn_only() -> None:
    _, tracking = _server_stack(cdk.App())

    options = tracking.compile_options()

    assert (options.tracking_uri, options.experiment_name) == ("https://mlflow.internal", "reviews")
    assert options.credentials_secret_arn == SECRET_ARN


def test_jobs_in_another_stack_get_the_secret_and_the_port_in_their_own_stack() -> None:
    app = cdk.App()
    server_stack, tracking = _server_stack(app)
    jobs = cdk.Stack(app, "Jobs", env=TEST_ENV)
    vpc = ec2.Vpc(jobs, "Vpc", max_azs=2, nat_gateways=0)
    job_group = ec2.SecurityGroup(jobs, "JobGroup", vpc=vpc)
    role = iam.Role(jobs, "JobRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))

    tracking.grant_jobs(role, [job_group])

    template = Template.from_stack(jobs)
    template.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {
            "FromPort": 443,
            "ToPort": 443,
            "IpProtocol": "tcp",
            "Description": "MLflow tracking from jobs",
        },
    )
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": [
                                    "secretsmanager:GetSecretValue",
                                    "secretsmanager:DescribeSecret",
                                ],
                                "Resource": SECRET_ARN,
                            }
                        )
                    ]
                )
            }
        },
    )
    assert Template.from_stack(server_stack).find_resources("AWS::EC2::SecurityGroupIngress") == {}
    # The server's stack does not depend on the jobs' (which would make a cycle).
    assert jobs not in server_stack.dependencies
    app.synth()


def test_a_server_without_a_port_is_refused_when_jobs_have_security_groups() -> None:
    app = cdk.App()
    _, tracking = _server_stack(app)
    jobs = cdk.Stack(app, "Jobs", env=TEST_ENV)
    role = iam.Role(jobs, "JobRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    group = ec2.SecurityGroup.from_security_group_id(jobs, "Group", "sg-123")
    no_port = MlflowTracking(
        server=MlflowServer.from_tracking_server(
            jobs,
            "NoPort",
            tracking_uri="https://mlflow.internal",
            credentials_secret=secretsmanager.Secret.from_secret_complete_arn(
                jobs, "S", SECRET_ARN
            ),
        )
    )

    # An https URI implies 443, so this server has a port; the check is for the others.
    assert no_port.server.connections.default_port is not None
    tracking.grant_jobs(role, [group])
    with pytest.raises(ValueError, match="no default port"):
        MlflowTracking(server=_PortlessServer(no_port.server)).grant_jobs(role, [group])


class _PortlessServer:
    """A tracking server whose connections name no port."""

    def __init__(self, server: object) -> None:
        self._server = server
        self.tracking_uri = "https://mlflow.internal"
        self.connections = ec2.Connections()
        self.credentials_secret = server.credentials_secret  # type: ignore[attr-defined]

    def grant_read_credentials(self, grantee: iam.IGrantable) -> iam.Grant:
        return self._server.grant_read_credentials(grantee)  # type: ignore[attr-defined,no-any-return]

    def grant_access(self, peer: ec2.IPeer, description: str = "") -> None:
        raise NotImplementedError
