"""IAM roles for Kubernetes service accounts through EKS Pod Identity."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct

from mlpipes_constructs.iam import ManagedPolicyRole

#: The service principal EKS Pod Identity assumes roles as.
POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"


def pod_identity_role(
    scope: Construct,
    construct_id: str,
    *,
    cluster: eks.ICluster,
    namespace: str,
    service_account: str,
    description: str,
) -> ManagedPolicyRole:
    """A role that only pods of ``namespace/service_account`` on ``cluster`` can assume.

    The trust policy admits EKS Pod Identity for this account and this cluster only
    (``aws:SourceAccount``, ``aws:SourceArn``); the association binds it to the one service
    account. The service account itself is created by whoever owns it (a manifest, a chart).
    """
    stack = Stack.of(scope)
    role = ManagedPolicyRole(
        scope,
        construct_id,
        description=description,
        assumed_by=iam.SessionTagsPrincipal(
            iam.ServicePrincipal(POD_IDENTITY_PRINCIPAL).with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnEquals": {"aws:SourceArn": cluster.cluster_arn},
                }
            )
        ),
    )
    eks.CfnPodIdentityAssociation(
        scope,
        f"{construct_id}Association",
        cluster_name=cluster.cluster_name,
        namespace=namespace,
        service_account=service_account,
        role_arn=role.role_arn,
    )
    return role
