"""KubeflowPipelines and the Kubeflow stack: RDS, Pod Identity, the chart, and the limits."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest

from mlpipes_app.config import cdk_json_context
from mlpipes_constructs.errors import PropsValidationError
from mlpipes_constructs.kubeflow import (
    KubeflowCluster,
    KubeflowPipelines,
    MetadataDatabaseOptions,
)
from tests.conftest import TEST_ENV
from tests.unit.kubeflow.conftest import Built, imported_foundation

#: The kubectl provider's payload limit (the Lambda async invocation, aws-cdk #19165).
KUBECTL_PAYLOAD_LIMIT = 262_144
TEMPLATE_LIMIT = 1_000_000
RESOURCE_LIMIT = 500


def _props(built: Built, resource_type: str) -> list[dict[str, Any]]:
    return [
        resource["Properties"] for resource in built.template.find_resources(resource_type).values()
    ]


def test_the_metadata_database_is_encrypted_multi_az_backed_up_and_retained(
    kubeflow_stack: Built,
) -> None:
    (database,) = kubeflow_stack.template.find_resources("AWS::RDS::DBInstance").values()
    props = database["Properties"]
    assert props["Engine"] == "mysql"
    assert props["EngineVersion"] == "8.4"
    assert props["StorageEncrypted"] is True
    assert "KmsKeyId" in props
    assert props["MultiAZ"] is True
    assert props["BackupRetentionPeriod"] == 7
    assert props["DeletionProtection"] is True
    assert props["PubliclyAccessible"] is False
    assert database["DeletionPolicy"] == "Snapshot"
    # The password is a dynamic reference to Secrets Manager, never a literal.
    password = json.dumps(props["MasterUserPassword"])
    assert "{{resolve:secretsmanager:" in password


def test_only_the_cluster_reaches_the_database(kubeflow_stack: Built) -> None:
    (group,) = [
        props
        for props in _props(kubeflow_stack, "AWS::EC2::SecurityGroup")
        if "MySQL from the cluster only" in props["GroupDescription"]
    ]
    assert "SecurityGroupIngress" not in group
    ingress = [
        props
        for props in _props(kubeflow_stack, "AWS::EC2::SecurityGroupIngress")
        if props.get("FromPort") == 3306
    ]
    assert len(ingress) == 1
    assert "ClusterSecurityGroupId" in json.dumps(ingress[0]["SourceSecurityGroupId"])


def test_kfp_service_accounts_get_pod_identity_roles(kubeflow_stack: Built) -> None:
    associations = {
        (props["Namespace"], props["ServiceAccount"])
        for props in _props(kubeflow_stack, "AWS::EKS::PodIdentityAssociation")
    }
    assert associations == {
        ("kubeflow", "ml-pipeline"),
        ("kubeflow", "ml-pipeline-ui"),
        ("kubeflow", "pipeline-runner"),
        ("kubeflow", "mlpipes-db-credentials"),
        ("kubeflow", "mlpipes-reference-pipeline"),
    }
    for role in _props(kubeflow_stack, "AWS::IAM::Role"):
        statements = role["AssumeRolePolicyDocument"]["Statement"]
        if not any(
            statement["Principal"].get("Service") == "pods.eks.amazonaws.com"
            for statement in statements
        ):
            continue
        (statement,) = statements
        assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
        assert "aws:SourceArn" in statement["Condition"]["ArnEquals"]


def test_artifact_access_is_scoped_to_the_kfp_prefix(kubeflow_stack: Built) -> None:
    policies = kubeflow_stack.template.find_resources("AWS::IAM::ManagedPolicy")
    # KFP's own roles (API server, UI, runner, credentials job): the KFP prefix only.
    documents = [
        policy["Properties"]["PolicyDocument"]
        for logical_id, policy in policies.items()
        if logical_id.startswith("ClusterPipelines")
    ]
    assert len(documents) == 4
    object_resources = [
        json.dumps(statement["Resource"])
        for document in documents
        for statement in document["Statement"]
        if "s3:PutObject" in statement["Action"] or "s3:GetObject" in statement["Action"]
    ]
    assert object_resources
    assert all("/kfp/*" in resource for resource in object_resources)
    actions = {
        action
        for document in documents
        for statement in document["Statement"]
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }
    assert not [action for action in actions if "*" in action]


def test_the_install_is_one_helm_chart_asset_with_deploy_time_values(
    kubeflow_stack: Built,
) -> None:
    (chart,) = _props(kubeflow_stack, "Custom::AWSCDK-EKS-HelmChart")
    assert "ChartAssetURL" in chart
    assert chart["Namespace"] == "kubeflow"
    # The namespace is its own manifest (applied first), so helm must not create it.
    assert not chart.get("CreateNamespace")
    values = json.dumps(chart["Values"])
    for name in ("dbHost", "bucket", "prefix", "region"):
        assert name in values
    assert "Endpoint.Address" in values


def test_payloads_and_templates_stay_within_the_limits(kubeflow_stack: Built) -> None:
    template = kubeflow_stack.json
    custom = [
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"].startswith("Custom::AWSCDK-EKS-")
    ]
    # An update sends the old and the new properties: both must fit together, with room for
    # a pipeline four times the reference one (the largest is its registration manifests).
    largest = max(len(json.dumps(props)) for props in custom)
    assert 2 * largest < KUBECTL_PAYLOAD_LIMIT // 4
    size = len(json.dumps(template, separators=(",", ":")))
    assert size < TEMPLATE_LIMIT // 10
    assert len(template["Resources"]) < RESOURCE_LIMIT // 4


def _install(**props: Any) -> None:
    app = cdk.App(context=cdk_json_context())
    stack = cdk.Stack(app, "Bad", env=TEST_ENV)
    foundation = imported_foundation(stack)
    cluster = KubeflowCluster(stack, "Cluster", foundation=foundation)
    KubeflowPipelines(
        stack, "Pipelines", cluster=cluster, artifact_bucket=foundation.artifact_bucket, **props
    )


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"artifact_prefix": "kfp/"}, r"artifact_prefix 'kfp/' must be a folder name"),
        ({"artifact_prefix": ""}, r"artifact_prefix '' must be a folder name"),
        (
            {"database": MetadataDatabaseOptions(allocated_storage=5)},
            r"database\.allocated_storage 5 must be a whole number from 20 to 13107",
        ),
        (
            {"database": MetadataDatabaseOptions(backup_retention=cdk.Duration.days(0))},
            r"database\.backup_retention of 0 days must be from 1 to 35 days",
        ),
        (
            {"database": MetadataDatabaseOptions(instance_type="db.t4g.medium")},
            r"database\.instance_type 'db\.t4g\.medium' must be an instance class",
        ),
        ({"credentials_sync_image": "bad image"}, r"credentials_sync_image 'bad image'"),
    ],
)
def test_bad_props_each_give_their_error(props: dict[str, Any], message: str) -> None:
    with pytest.raises(PropsValidationError, match=message):
        _install(**props)


def test_the_reference_pipelines_runs_may_use_the_pipeline_root_and_its_reports(
    kubeflow_stack: Built,
) -> None:
    policies = kubeflow_stack.template.find_resources("AWS::IAM::ManagedPolicy")
    (document,) = [
        policy["Properties"]["PolicyDocument"]
        for logical_id, policy in policies.items()
        if logical_id.startswith("ReviewClassifierPodRole")
    ]
    by_resource: dict[str, set[str]] = {}
    for statement in document["Statement"]:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        resources = (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
        for resource in resources:
            by_resource.setdefault(json.dumps(resource), set()).update(actions)
    kfp = [r for r in by_resource if "/kfp/*" in r]
    reports = [r for r in by_resource if "/pipelines/mlpipes-review-classifier/*" in r]
    assert len(kfp) == 1 and {"s3:GetObject", "s3:PutObject"} <= by_resource[kfp[0]]
    assert len(reports) == 1 and by_resource[reports[0]] == {"s3:GetObject"}
