"""KubeflowCluster: a private, encrypted, logged EKS cluster with access entries."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match

from mlpipes_app.config import cdk_json_context
from mlpipes_constructs.errors import PropsValidationError
from mlpipes_constructs.kubeflow import KubeflowCluster, ManagedNodeGroupOptions
from mlpipes_constructs.kubeflow.cluster import STORAGE_CLASS_NAME
from tests.conftest import TEST_ENV
from tests.unit.kubeflow.conftest import Built, imported_foundation


def _only(built: Built, resource_type: str) -> dict[str, Any]:
    resources = built.template.find_resources(resource_type)
    assert len(resources) == 1, resources
    return next(iter(resources.values()))["Properties"]


def _manifests(built: Built) -> list[dict[str, Any]]:
    """The objects applied by kubectl manifests (resolved far enough to read kinds)."""
    objects = []
    for resource in built.template.find_resources("Custom::AWSCDK-EKS-KubernetesResource").values():
        manifest = resource["Properties"]["Manifest"]
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        objects.append({"raw": text})
    return objects


def test_the_cluster_is_private_encrypted_logged_and_uses_access_entries(
    kubeflow_stack: Built,
) -> None:
    cluster = _only(kubeflow_stack, "AWS::EKS::Cluster")
    assert cluster["Version"] == "1.35"
    assert cluster["ResourcesVpcConfig"]["EndpointPublicAccess"] is False
    assert cluster["ResourcesVpcConfig"]["EndpointPrivateAccess"] is True
    assert cluster["AccessConfig"] == {
        "AuthenticationMode": "API",
        "BootstrapClusterCreatorAdminPermissions": False,
    }
    assert [entry["Type"] for entry in cluster["Logging"]["ClusterLogging"]["EnabledTypes"]] == [
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
    ]
    assert cluster["EncryptionConfig"][0]["Resources"] == ["secrets"]
    assert cluster["ComputeConfig"]["Enabled"] is True
    assert cluster["ComputeConfig"]["NodePools"] == ["system", "general-purpose"]


def test_the_kubectl_provider_runs_in_the_private_subnets(kubeflow_stack: Built) -> None:
    handlers = kubeflow_stack.template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"VpcConfig": Match.any_value()}}
    )
    assert len(handlers) == 2  # the kubectl handler and the provider framework
    ingress = kubeflow_stack.template.find_resources(
        "AWS::EC2::SecurityGroupIngress", {"Properties": {"FromPort": 443, "ToPort": 443}}
    )
    assert len(ingress) == 1


def test_the_default_storage_class_is_encrypted_gp3_on_auto_mode(kubeflow_stack: Built) -> None:
    manifests = [
        item["raw"] for item in _manifests(kubeflow_stack) if STORAGE_CLASS_NAME in item["raw"]
    ]
    assert len(manifests) == 1
    text = manifests[0]
    assert "ebs.csi.eks.amazonaws.com" in text
    assert '\\"encrypted\\":\\"true\\"' in text or '"encrypted":"true"' in text
    assert "is-default-class" in text


def test_node_groups_get_the_pod_identity_agent_and_the_ebs_csi_driver(
    node_group_cluster: Built,
) -> None:
    cluster = _only(node_group_cluster, "AWS::EKS::Cluster")
    assert "ComputeConfig" not in cluster or not cluster["ComputeConfig"].get("Enabled")
    addons = {
        props["Properties"]["AddonName"]
        for props in node_group_cluster.template.find_resources("AWS::EKS::Addon").values()
    }
    assert addons == {"eks-pod-identity-agent", "aws-ebs-csi-driver"}
    node_group = _only(node_group_cluster, "AWS::EKS::Nodegroup")
    assert node_group["ScalingConfig"] == {"MinSize": 2, "MaxSize": 4, "DesiredSize": 2}
    association = _only(node_group_cluster, "AWS::EKS::PodIdentityAssociation")
    assert association["ServiceAccount"] == "ebs-csi-controller-sa"
    storage = [item["raw"] for item in _manifests(node_group_cluster)]
    assert any("ebs.csi.aws.com" in text for text in storage)


def test_admins_get_an_access_entry_with_the_cluster_admin_policy() -> None:
    app = cdk.App(context=cdk_json_context())
    stack = cdk.Stack(app, "Admins", env=TEST_ENV)
    admin = iam.Role.from_role_arn(stack, "Admin", "arn:aws:iam::123456789012:role/platform-admin")
    KubeflowCluster(stack, "Cluster", foundation=imported_foundation(stack), admin_roles=[admin])
    entries = cdk.assertions.Template.from_stack(stack).find_resources(
        "AWS::EKS::AccessEntry",
        {"Properties": {"PrincipalArn": "arn:aws:iam::123456789012:role/platform-admin"}},
    )
    (entry,) = entries.values()
    (policy,) = entry["Properties"]["AccessPolicies"]
    assert policy["AccessScope"] == {"Type": "cluster"}
    assert "AmazonEKSClusterAdminPolicy" in json.dumps(policy["PolicyArn"])


def _cluster(**props: Any) -> None:
    app = cdk.App(context=cdk_json_context())
    stack = cdk.Stack(app, "Bad", env=TEST_ENV)
    if props.pop("with_foundation", True):
        props["foundation"] = imported_foundation(stack)
    KubeflowCluster(stack, "Cluster", **props)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"kubernetes_version": "1.29"},
            r"kubernetes_version '1\.29' is not one of the versions in EKS standard support "
            r"\['1\.34', '1\.35', '1\.36'\]",
        ),
        ({"kubernetes_version": "latest"}, r"kubernetes_version 'latest' must have the form"),
        (
            {"kubernetes_version": "1.31", "allow_unlisted_kubernetes_version": True},
            r"more than one minor version from the bundled kubectl 1\.35; pass kubectl_layer=",
        ),
        (
            {"auto_mode": True, "node_group": ManagedNodeGroupOptions()},
            r"'auto_mode' and 'node_group' cannot be used together",
        ),
        (
            {"auto_mode": False, "node_group": ManagedNodeGroupOptions(min_size=3, max_size=2)},
            r"node_group\.max_size 2 must be at least node_group\.min_size 3",
        ),
        (
            {"auto_mode": False, "node_group": ManagedNodeGroupOptions(instance_types=())},
            r"node_group\.instance_types must name at least one instance type",
        ),
        ({"with_foundation": False}, r"vpc is required when no foundation is given"),
    ],
)
def test_bad_props_each_give_their_error(props: dict[str, Any], message: str) -> None:
    with pytest.raises(PropsValidationError, match=message):
        _cluster(**props)


def test_an_unlisted_version_within_the_kubectl_skew_is_accepted_when_allowed() -> None:
    _cluster(kubernetes_version="1.36", allow_unlisted_kubernetes_version=True)
