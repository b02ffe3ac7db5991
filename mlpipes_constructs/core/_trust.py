"""Trust policies of the service roles the pipeline constructs create.

Each service below is documented to send ``aws:SourceAccount`` (and ``aws:SourceArn``) when it
assumes a role, so the role trusts it only on behalf of the stack's account. A service that is
not in the table gets no condition, which would otherwise lock it out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from mlpipes_constructs.iam import ManagedPolicyRole

#: Service principal -> the AWS page that documents the confused-deputy conditions on the
#: role it assumes.
DOCUMENTED_SOURCE_CONDITIONS: Mapping[str, str] = MappingProxyType(
    {
        # SageMaker Pipelines execution roles, and the processing, training and transform
        # jobs and hosting (models, endpoints) roles: sections "SageMaker Pipelines",
        # "SageMaker Processing Jobs", "SageMaker Training Jobs", "SageMaker AI Inference"
        # and "SageMaker AI Batch Transform Jobs".
        "sagemaker.amazonaws.com": (
            "https://docs.aws.amazon.com/sagemaker/latest/dg/"
            "security-confused-deputy-prevention.html"
        ),
        # State machine execution roles: "Prevent cross-service confused deputy issue".
        "states.amazonaws.com": (
            "https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html"
        ),
        # Roles of EventBridge rule targets: "For EventBridge event bus rule targets, the value
        # of aws:SourceArn must be the rule ARN".
        "events.amazonaws.com": (
            "https://docs.aws.amazon.com/eventbridge/latest/userguide/"
            "cross-service-confused-deputy-prevention.html"
        ),
    }
)


def service_principal(scope: Construct, service: str) -> iam.ServicePrincipal:
    """``service`` as a principal, conditioned on the stack's account where AWS documents it."""
    if service not in DOCUMENTED_SOURCE_CONDITIONS:
        return iam.ServicePrincipal(service)
    return iam.ServicePrincipal(
        service, conditions={"StringEquals": {"aws:SourceAccount": Stack.of(scope).account}}
    )


def service_role(
    scope: Construct,
    construct_id: str,
    *,
    service: str,
    description: str,
    policy_description: str | None = None,
    statements: Sequence[iam.PolicyStatement] = (),
) -> ManagedPolicyRole:
    """A role of ``service`` whose permissions go to one customer-managed policy."""
    return ManagedPolicyRole(
        scope,
        construct_id,
        assumed_by=service_principal(scope, service),
        description=description,
        policy_description=policy_description,
        statements=statements,
    )
