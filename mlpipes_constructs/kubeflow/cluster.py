"""A private, encrypted Amazon EKS cluster for Kubeflow Pipelines, on ``aws_eks_v2``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk.lambda_layer_kubectl_v35 import KubectlV35Layer
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems
from mlpipes_constructs.compliance import acknowledge
from mlpipes_constructs.foundation import FoundationResources
from mlpipes_constructs.iam import ManagedPolicyRole
from mlpipes_constructs.kubeflow._findings import (
    acknowledge_cluster_findings,
    ignore_redundant_dependencies,
)
from mlpipes_constructs.kubeflow._pod_identity import pod_identity_role
from mlpipes_constructs.kubeflow._versions import (
    DEFAULT_KUBERNETES_VERSION,
    SUPPORTED_KUBERNETES_VERSIONS,
    kubectl_layer_supports,
    minor,
)

#: Every control-plane log type EKS can send to CloudWatch Logs.
CONTROL_PLANE_LOG_TYPES: tuple[eks.ClusterLoggingTypes, ...] = (
    eks.ClusterLoggingTypes.API,
    eks.ClusterLoggingTypes.AUDIT,
    eks.ClusterLoggingTypes.AUTHENTICATOR,
    eks.ClusterLoggingTypes.CONTROLLER_MANAGER,
    eks.ClusterLoggingTypes.SCHEDULER,
)

#: The name of the default StorageClass the cluster gets (encrypted gp3).
STORAGE_CLASS_NAME = "mlpipes-gp3-encrypted"

#: The EBS CSI provisioners: Auto Mode's built-in one, and the add-on's on managed node groups.
AUTO_MODE_EBS_PROVISIONER = "ebs.csi.eks.amazonaws.com"
ADDON_EBS_PROVISIONER = "ebs.csi.aws.com"

#: Interface endpoints a VPC without NAT gateways needs for this cluster, by service name
#: (``com.amazonaws.<region>.<name>``), plus the S3 gateway endpoint:
#: ``eks`` and ``eks-auth`` (the API and Pod Identity credentials), ``sts``, ``ec2`` (Auto Mode
#: and node bootstrap), ``ecr.api`` and ``ecr.dkr`` (images), ``logs``, ``elasticloadbalancing``
#: (only for an internal load balancer), ``secretsmanager`` and ``kms`` (the database
#: credentials), ``sagemaker.api`` (pipeline tasks start SageMaker jobs). Images of public
#: registries (ghcr.io, quay.io, docker.io) are then reachable only through ECR pull-through
#: cache rules.
NAT_LESS_INTERFACE_ENDPOINTS: tuple[str, ...] = (
    "eks",
    "eks-auth",
    "sts",
    "ec2",
    "ecr.api",
    "ecr.dkr",
    "logs",
    "elasticloadbalancing",
    "secretsmanager",
    "kms",
    "sagemaker.api",
)


@dataclass(frozen=True)
class ManagedNodeGroupOptions:
    """A managed node group, used instead of EKS Auto Mode.

    Attributes:
        instance_types: the EC2 instance types. Default: ``("m6i.large",)``.
        min_size: the fewest nodes. Default: 2 (one per zone of a two-zone VPC).
        max_size: the most nodes. Default: 4.
        disk_size: root volume size in GiB. Default: 50.
    """

    instance_types: tuple[str, ...] = ("m6i.large",)
    min_size: int = 2
    max_size: int = 4
    disk_size: int = 50


@dataclass(frozen=True)
class _Settings:
    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    key: kms.IKey
    version: str
    endpoint_access: eks.EndpointAccess
    node_group: ManagedNodeGroupOptions | None
    admin_roles: tuple[iam.IRole, ...] = field(default=())


def _settings(
    problems: Problems,
    *,
    foundation: FoundationResources | None,
    vpc: ec2.IVpc | None,
    vpc_subnets: ec2.SubnetSelection | None,
    encryption_key: kms.IKey | None,
    kubernetes_version: str,
    allow_unlisted_kubernetes_version: bool,
    kubectl_layer: lambda_.ILayerVersion | None,
    endpoint_access: eks.EndpointAccess | None,
    auto_mode: bool,
    node_group: ManagedNodeGroupOptions | None,
    admin_roles: Sequence[iam.IRole],
) -> _Settings | None:
    """The defaults, with the user's overrides applied in one visible step."""
    if foundation is not None and vpc is not None:
        problems.conflict("foundation", "vpc", "the cluster runs in the foundation's VPC")
    if foundation is None and vpc is None:
        problems.add("vpc is required when no foundation is given")
    if foundation is None and encryption_key is None:
        problems.add("encryption_key is required when no foundation is given")
    if vpc_subnets is not None and vpc is None:
        problems.add("vpc_subnets needs vpc: the foundation's private subnets are used with it")
    if minor(kubernetes_version) is None:
        problems.add(f"kubernetes_version '{kubernetes_version}' must have the form '1.NN'")
    elif (
        kubernetes_version not in SUPPORTED_KUBERNETES_VERSIONS
        and not allow_unlisted_kubernetes_version
    ):
        problems.add(
            f"kubernetes_version '{kubernetes_version}' is not one of the versions in EKS "
            f"standard support {list(SUPPORTED_KUBERNETES_VERSIONS)}; pass "
            "allow_unlisted_kubernetes_version=True to use it anyway"
        )
    elif kubectl_layer is None and not kubectl_layer_supports(kubernetes_version):
        problems.add(
            f"kubernetes_version '{kubernetes_version}' is more than one minor version from "
            "the bundled kubectl 1.35; pass kubectl_layer= with a matching kubectl"
        )
    if auto_mode and node_group is not None:
        problems.conflict("auto_mode", "node_group", "EKS Auto Mode manages its own nodes")
    groups = node_group or (None if auto_mode else ManagedNodeGroupOptions())
    if groups is not None:
        problems.check_int_range("node_group.min_size", groups.min_size, 1, 450)
        problems.check_int_range("node_group.max_size", groups.max_size, 1, 450)
        if groups.max_size < groups.min_size:
            problems.add(
                f"node_group.max_size {groups.max_size} must be at least node_group.min_size "
                f"{groups.min_size}"
            )
        if not groups.instance_types:
            problems.add("node_group.instance_types must name at least one instance type")
    problems.raise_if_any()
    chosen_vpc = vpc or (foundation.vpc if foundation else None)
    key = encryption_key or (foundation.encryption_key if foundation else None)
    if chosen_vpc is None or key is None:  # pragma: no cover - reported above
        return None
    subnets = vpc_subnets or (
        foundation.private_subnets
        if foundation is not None and vpc is None
        else ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
    )
    return _Settings(
        vpc=chosen_vpc,
        subnets=subnets,
        key=key,
        version=kubernetes_version,
        endpoint_access=endpoint_access or eks.EndpointAccess.PRIVATE,
        node_group=groups,
        admin_roles=tuple(admin_roles),
    )


class KubeflowCluster(Construct):
    """An Amazon EKS cluster (``AWS::EKS::Cluster``) that is private and encrypted by default.

    - The API endpoint is private; the CDK kubectl provider runs in the cluster's private
      subnets to reach it.
    - Kubernetes secrets are envelope-encrypted with the platform key.
    - All five control-plane log types go to CloudWatch Logs.
    - Access is by access entries (authentication mode ``API``), never the aws-auth ConfigMap;
      see :meth:`grant_cluster_admin`.
    - EKS Auto Mode runs the nodes by default (its nodes carry the EKS Pod Identity agent);
      with ``auto_mode=False`` a managed node group runs them, with the Pod Identity agent and
      EBS CSI driver add-ons.
    - The default StorageClass is :data:`STORAGE_CLASS_NAME`: gp3 volumes encrypted with the
      platform key (Auto Mode creates no StorageClass of its own).

    A VPC without NAT gateways needs the interface endpoints in
    :data:`NAT_LESS_INTERFACE_ENDPOINTS` and ECR pull-through caches for public images.

    Args:
        foundation: the platform to build on: its VPC, private subnets and key.
            Default: none; then ``vpc`` and ``encryption_key`` are required.
        vpc: your own VPC, instead of the foundation's. Default: the foundation's.
        vpc_subnets: the subnets of ``vpc`` for the control plane, nodes and kubectl
            provider. Default: the foundation's private subnets, or the private subnets with
            egress of ``vpc``.
        encryption_key: the key for Kubernetes secrets and EBS volumes. Default: the
            foundation's key.
        kubernetes_version: ``"1.NN"``, one of
            :data:`~mlpipes_constructs.kubeflow._versions.SUPPORTED_KUBERNETES_VERSIONS`.
            Default: ``"1.35"``.
        allow_unlisted_kubernetes_version: accept a version outside that list. Default: False.
        kubectl_layer: the layer with ``kubectl`` and ``helm`` for the kubectl provider.
            Default: the bundled kubectl 1.35 layer (for Kubernetes 1.34 to 1.36).
        endpoint_access: who can reach the Kubernetes API. Default: private only.
        auto_mode: run nodes with EKS Auto Mode. Default: True.
        node_group: the managed node group used when ``auto_mode`` is False.
            Default: :class:`ManagedNodeGroupOptions` defaults when ``auto_mode`` is False.
        admin_roles: IAM roles granted cluster admin through access entries. Default: none
            (add them later with :meth:`grant_cluster_admin`).
        cluster_name: the EKS cluster name. Default: generated by CloudFormation.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        foundation: FoundationResources | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        encryption_key: kms.IKey | None = None,
        kubernetes_version: str = DEFAULT_KUBERNETES_VERSION,
        allow_unlisted_kubernetes_version: bool = False,
        kubectl_layer: lambda_.ILayerVersion | None = None,
        endpoint_access: eks.EndpointAccess | None = None,
        auto_mode: bool = True,
        node_group: ManagedNodeGroupOptions | None = None,
        admin_roles: Sequence[iam.IRole] = (),
        cluster_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems(self.node.path)
        settings = _settings(
            problems,
            foundation=foundation,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            encryption_key=encryption_key,
            kubernetes_version=kubernetes_version,
            allow_unlisted_kubernetes_version=allow_unlisted_kubernetes_version,
            kubectl_layer=kubectl_layer,
            endpoint_access=endpoint_access,
            auto_mode=auto_mode,
            node_group=node_group,
            admin_roles=admin_roles,
        )
        assert settings is not None
        self.encryption_key = settings.key
        self.kubernetes_version = settings.version
        self.vpc = settings.vpc
        self.vpc_subnets = settings.subnets
        self.auto_mode = settings.node_group is None

        self.kubectl_security_group = ec2.SecurityGroup(
            self,
            "KubectlSecurityGroup",
            vpc=settings.vpc,
            description="kubectl provider of the Kubeflow cluster: HTTPS to the private API",
            allow_all_outbound=False,
        )
        self.kubectl_security_group.add_egress_rule(
            ec2.Peer.ipv4(settings.vpc.vpc_cidr_block),
            ec2.Port.tcp(443),
            "the cluster's private API endpoint and the VPC's interface endpoints",
        )
        self.kubectl_security_group.add_egress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.tcp(443),
            "S3 (chart assets) and the AWS APIs through the NAT gateway or gateway endpoint",
        )
        self.cluster = eks.Cluster(
            self,
            "Resource",
            version=eks.KubernetesVersion.of(settings.version),
            cluster_name=cluster_name,
            vpc=settings.vpc,
            vpc_subnets=[settings.subnets],
            endpoint_access=settings.endpoint_access,
            secrets_encryption_key=settings.key,
            cluster_logging=list(CONTROL_PLANE_LOG_TYPES),
            default_capacity_type=(
                eks.DefaultCapacityType.AUTOMODE
                if self.auto_mode
                else eks.DefaultCapacityType.NODEGROUP
            ),
            default_capacity=0 if not self.auto_mode else None,
            compute=(
                eks.ComputeConfig(node_pools=["system", "general-purpose"])
                if self.auto_mode
                else None
            ),
            bootstrap_cluster_creator_admin_permissions=False,
            output_config_command=False,
            kubectl_provider_options=eks.KubectlProviderOptions(
                kubectl_layer=kubectl_layer or KubectlV35Layer(self, "KubectlLayer"),
                private_subnets=_selected_subnets(settings.vpc, settings.subnets),
                security_groups=[self.kubectl_security_group],
            ),
        )
        self.cluster.cluster_security_group.add_ingress_rule(
            self.kubectl_security_group,
            ec2.Port.tcp(443),
            "the kubectl provider reaches the private API endpoint",
        )
        self.pod_identity_agent: eks.Addon | None = None
        if settings.node_group is not None:
            self._add_node_group(settings.node_group)
        self._add_storage_class()
        acknowledge_cluster_findings(self.cluster)
        ignore_redundant_dependencies(self.cluster)
        for index, role in enumerate(settings.admin_roles):
            self.grant_cluster_admin(f"Admin{index}", role)

    # -- read-only views -----------------------------------------------------------------

    @property
    def cluster_ref(self) -> eks.ICluster:
        """The cluster as ``aws_eks_v2.ICluster`` (jsii's typing does not see the match)."""
        return cast(eks.ICluster, self.cluster)

    @property
    def cluster_name(self) -> str:
        return self.cluster.cluster_name

    @property
    def cluster_arn(self) -> str:
        return self.cluster.cluster_arn

    # -- building blocks -----------------------------------------------------------------

    def _add_node_group(self, options: ManagedNodeGroupOptions) -> None:
        self.node_group = self.cluster.add_nodegroup_capacity(
            "Nodes",
            instance_types=[ec2.InstanceType(name) for name in options.instance_types],
            min_size=options.min_size,
            max_size=options.max_size,
            desired_size=options.min_size,
            disk_size=options.disk_size,
            subnets=self.vpc_subnets,
        )
        self.pod_identity_agent = eks.Addon(
            self, "PodIdentityAgent", cluster=self.cluster_ref, addon_name="eks-pod-identity-agent"
        )
        ebs_role = pod_identity_role(
            self,
            "EbsCsiRole",
            cluster=self.cluster_ref,
            namespace="kube-system",
            service_account="ebs-csi-controller-sa",
            description="EBS CSI driver of the Kubeflow cluster: creates and attaches volumes",
        )
        ebs_role.add_managed_policy(
            iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AmazonEBSCSIDriverPolicy")
        )
        acknowledge(
            ebs_role,
            "AwsSolutions-IAM4",
            "the EBS CSI driver manages volumes and snapshots it names at run time; AWS "
            "maintains AmazonEBSCSIDriverPolicy for the driver's version",
        )
        self._grant_volume_encryption(ebs_role)
        addon = eks.Addon(
            self, "EbsCsiDriver", cluster=self.cluster_ref, addon_name="aws-ebs-csi-driver"
        )
        addon.node.add_dependency(self.pod_identity_agent)

    def _grant_volume_encryption(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` create EBS volumes encrypted with the platform key."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "kms:Decrypt",
                    "kms:DescribeKey",
                    "kms:GenerateDataKeyWithoutPlaintext",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                ],
                resources=[self.encryption_key.key_arn],
            )
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:CreateGrant"],
                resources=[self.encryption_key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )

    def _add_storage_class(self) -> None:
        provisioner = AUTO_MODE_EBS_PROVISIONER if self.auto_mode else ADDON_EBS_PROVISIONER
        if self.auto_mode:
            # Auto Mode provisions volumes as the cluster role.
            self._grant_volume_encryption(self.cluster.role)
        self.storage_class = self.cluster.add_manifest(
            "StorageClass",
            storage_class_manifest(provisioner=provisioner, key_arn=self.encryption_key.key_arn),
        )

    # -- grants --------------------------------------------------------------------------

    def grant_cluster_admin(self, construct_id: str, role: iam.IRole) -> None:
        """Give ``role`` cluster admin through an access entry (``AmazonEKSClusterAdminPolicy``).

        Use it for the people who run ``kubectl port-forward`` to the KFP UI.
        """
        self.cluster.grant_access(
            construct_id,
            role.role_arn,
            [
                eks.AccessPolicy.from_access_policy_name(
                    "AmazonEKSClusterAdminPolicy", access_scope_type=eks.AccessScopeType.CLUSTER
                )
            ],
        )

    def add_pod_identity_role(
        self, construct_id: str, *, namespace: str, service_account: str, description: str
    ) -> ManagedPolicyRole:
        """A role that pods of ``namespace/service_account`` get through EKS Pod Identity."""
        return pod_identity_role(
            self,
            construct_id,
            cluster=self.cluster_ref,
            namespace=namespace,
            service_account=service_account,
            description=description,
        )


def _selected_subnets(vpc: ec2.IVpc, selection: ec2.SubnetSelection) -> list[ec2.ISubnet]:
    """The subnets ``selection`` picks in ``vpc``."""
    return vpc.select_subnets(
        availability_zones=selection.availability_zones,
        one_per_az=selection.one_per_az,
        subnet_filters=selection.subnet_filters,
        subnet_group_name=selection.subnet_group_name,
        subnets=selection.subnets,
        subnet_type=selection.subnet_type,
    ).subnets


def storage_class_manifest(*, provisioner: str, key_arn: str) -> dict[str, object]:
    """The default StorageClass: gp3, encrypted with ``key_arn``, bound when a pod needs it."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": STORAGE_CLASS_NAME,
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": provisioner,
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
        "reclaimPolicy": "Retain",
        "parameters": {"type": "gp3", "encrypted": "true", "kmsKeyId": key_arn},
    }
