"""IAM roles for Kubernetes service accounts through EKS Pod Identity."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct

from mlpipes_constructs.iam import ManagedPolicyRole
from mlpipes_constructs.kubeflow._manifests import pipeline_service_account_manifests

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


def pipeline_service_account(
    scope: Construct,
    construct_id: str,
    *,
    cluster: eks.ICluster,
    namespace: str,
    name: str,
    description: str,
) -> tuple[ManagedPolicyRole, eks.KubernetesManifest]:
    """The service account pipeline runs execute as, and its Pod Identity role.

    The one way both :class:`~mlpipes_constructs.kubeflow.KubeflowPipeline` and
    :meth:`~mlpipes_constructs.kubeflow.KubeflowPipelines.add_pipeline_service_account`
    make one: the role (``construct_id``) and its association, and a manifest
    (``<construct_id>ServiceAccount``) with the account and its binding to KFP's
    ``pipeline-runner`` Role. The role has no permissions yet: the caller grants them.
    """
    role = pod_identity_role(
        scope,
        construct_id,
        cluster=cluster,
        namespace=namespace,
        service_account=name,
        description=description,
    )
    manifest = eks.KubernetesManifest(
        scope,
        f"{construct_id}ServiceAccount",
        cluster=cluster,
        manifest=pipeline_service_account_manifests(name, namespace),
    )
    return role, manifest
