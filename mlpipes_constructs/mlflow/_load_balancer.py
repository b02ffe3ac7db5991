"""The internal Application Load Balancer in front of the MLflow server."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlpipes_constructs.mlflow._props import SERVER_PORT

ACCESS_LOG_PREFIX = "mlflow-alb"


def create_load_balancer(
    scope: Construct,
    *,
    vpc: ec2.IVpc,
    subnets: ec2.SubnetSelection,
    security_group: ec2.ISecurityGroup,
    deletion_protection: bool,
    access_log_bucket: s3.IBucket,
) -> elbv2.ApplicationLoadBalancer:
    """An internal load balancer that logs every request to ``access_log_bucket``."""
    load_balancer = elbv2.ApplicationLoadBalancer(
        scope,
        "LoadBalancer",
        # A lower-case name gives a lower-case DNS name, which the server's Host and CORS
        # checks compare exactly (browsers and HTTP clients send it lower-cased).
        load_balancer_name=f"mlflow-{scope.node.addr[:12]}",
        vpc=vpc,
        vpc_subnets=subnets,
        internet_facing=False,
        security_group=security_group,
        drop_invalid_header_fields=True,
        deletion_protection=deletion_protection,
        idle_timeout=Duration.seconds(300),  # large artifact uploads stream through
    )
    load_balancer.log_access_logs(access_log_bucket, ACCESS_LOG_PREFIX)
    return load_balancer


def allow_clients(connections: ec2.Connections, cidrs: Sequence[str], port: int) -> None:
    """Let the networks ``cidrs`` (IPv4 or IPv6) reach the listener ``port``."""
    for cidr in cidrs:
        peer = ec2.Peer.ipv6(cidr) if ":" in cidr else ec2.Peer.ipv4(cidr)
        connections.allow_from(peer, ec2.Port.tcp(port), "MLflow clients in the allowed networks")


def create_target_group(
    scope: Construct, *, vpc: ec2.IVpc, auto_scaling_group: autoscaling.AutoScalingGroup
) -> elbv2.ApplicationTargetGroup:
    """The server's instances, healthy when ``/health`` answers 200."""
    return elbv2.ApplicationTargetGroup(
        scope,
        "TargetGroup",
        vpc=vpc,
        port=SERVER_PORT,
        protocol=elbv2.ApplicationProtocol.HTTP,
        targets=[auto_scaling_group],
        deregistration_delay=Duration.seconds(30),
        health_check=elbv2.HealthCheck(
            path="/health",
            healthy_http_codes="200",
            interval=Duration.seconds(30),
            timeout=Duration.seconds(5),
            healthy_threshold_count=2,
            unhealthy_threshold_count=3,
        ),
    )


def create_listener(
    scope: Construct,
    load_balancer: elbv2.ApplicationLoadBalancer,
    certificate: acm.ICertificate | str | None,
    target_group: elbv2.ApplicationTargetGroup,
) -> elbv2.ApplicationListener:
    """HTTPS on 443 with ``certificate``, else plain HTTP on 80; never opened to the world."""
    if certificate is None:
        return load_balancer.add_listener(
            "Listener",
            port=80,
            protocol=elbv2.ApplicationProtocol.HTTP,
            open=False,
            default_target_groups=[target_group],
        )
    if isinstance(certificate, str):
        certificate = acm.Certificate.from_certificate_arn(scope, "Certificate", certificate)
    return load_balancer.add_listener(
        "Listener",
        port=443,
        protocol=elbv2.ApplicationProtocol.HTTPS,
        certificates=[elbv2.ListenerCertificate.from_certificate_manager(certificate)],
        ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
        open=False,
        default_target_groups=[target_group],
    )
