"""The KubeflowPipeline construct: the Pod Identity role's scope, the registration manifests,
and bad props."""

from __future__ import annotations

import base64
import gzip
import json
import re
from typing import Any

import aws_cdk as cdk
import kubernetes_validate
import pytest
import yaml
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template
from aws_cdk.lambda_layer_kubectl_v35 import KubectlV35Layer

from mlpipes_app.config import cdk_json_context
from mlpipes_constructs.errors import PropsValidationError
from mlpipes_constructs.kubeflow import KubeflowCluster, KubeflowPipelines
from mlpipes_constructs.kubeflow.pipeline import KubeflowPipeline
from mlpipes_constructs.reference import reference_pipeline
from tests.conftest import TEST_ENV
from tests.unit.kubeflow.conftest import imported_foundation

#: The Kubernetes version of the test cluster (its schemas ship with kubernetes-validate).
KUBERNETES_VERSION = "1.35.0"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/kfp-steps:1"


def _stack() -> tuple[cdk.Stack, eks.Cluster, iam.IRole, s3.IBucket]:
    stack = cdk.Stack(cdk.App(), "Kfp", env=TEST_ENV)
    cluster = eks.Cluster(
        stack,
        "Cluster",
        version=eks.KubernetesVersion.of(KUBERNETES_VERSION.rsplit(".", 1)[0]),
        kubectl_provider_options=eks.KubectlProviderOptions(
            kubectl_layer=KubectlV35Layer(stack, "Kubectl")
        ),
    )
    role = iam.Role.from_role_arn(stack, "JobRole", "arn:aws:iam::123456789012:role/job")
    key = kms.Key(stack, "Key")
    bucket = s3.Bucket(stack, "Bucket", encryption_key=key)
    return stack, cluster, role, bucket


def _pipeline(**props: Any) -> tuple[cdk.Stack, KubeflowPipeline]:
    stack, cluster, role, bucket = _stack()
    construct = KubeflowPipeline(
        stack,
        "Pipeline",
        pipeline=reference_pipeline(input_data_uri="s3://artifacts/data/"),
        job_role=role,
        artifact_bucket=bucket,
        **{"cluster": cluster, "component_image": IMAGE, **props},
    )
    return stack, construct


@pytest.fixture(scope="module")
def synthesized() -> tuple[KubeflowPipeline, dict[str, Any]]:
    stack, construct = _pipeline(schedule="0 0 3 * * *", schedule_input={"AccuracyThreshold": 0.8})
    return construct, dict(Template.from_stack(stack).to_json())


def _resources(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def _manifest(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The registration manifests, with deploy-time values as ``<token>``."""
    (resource,) = [
        r
        for r in _resources(template, "Custom::AWSCDK-EKS-KubernetesResource")
        if "ConfigMap" in json.dumps(r["Properties"]["Manifest"])
    ]
    body = resource["Properties"]["Manifest"]
    parts = [body] if isinstance(body, str) else body["Fn::Join"][1]
    return list(json.loads("".join(p if isinstance(p, str) else "<token>" for p in parts)))


def test_the_pods_run_as_a_service_account_with_a_pod_identity_role(
    synthesized: tuple[KubeflowPipeline, dict[str, Any]],
) -> None:
    construct, template = synthesized
    (association,) = _resources(template, "AWS::EKS::PodIdentityAssociation")
    assert association["Properties"]["Namespace"] == "kubeflow"
    assert association["Properties"]["ServiceAccount"] == "mlpipes-review-classifier-runner"
    trust = Template.from_stack(cdk.Stack.of(construct)).find_resources(
        "AWS::IAM::Role", {"Properties": {"Description": Match.string_like_regexp("KFP pipeline")}}
    )
    (role,) = trust.values()
    statements = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    (statement,) = statements
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    # Only Pod Identity of this account's cluster may assume it.
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert "aws:SourceArn" in statement["Condition"]["ArnEquals"]
    # The account is bound to KFP's runner Role, as the run's pods need.
    (manifest,) = [
        r
        for r in _resources(template, "Custom::AWSCDK-EKS-KubernetesResource")
        if "RoleBinding" in json.dumps(r["Properties"]["Manifest"])
    ]
    account, binding = json.loads(manifest["Properties"]["Manifest"])
    assert account["kind"] == "ServiceAccount"
    assert account["metadata"]["name"] == "mlpipes-review-classifier-runner"
    assert binding["roleRef"]["name"] == "pipeline-runner"
    assert binding["subjects"][0]["name"] == "mlpipes-review-classifier-runner"


def test_the_pod_role_is_scoped_to_the_pipelines_jobs_and_passes_only_the_job_role(
    synthesized: tuple[KubeflowPipeline, dict[str, Any]],
) -> None:
    construct, _ = synthesized
    document = cdk.Stack.of(construct).resolve(construct.role.managed_policy.document.to_json())
    by_action: dict[str, list[Any]] = {}
    for statement in document["Statement"]:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        resources = (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
        assert "*" not in actions and "*" not in resources
        for action in actions:
            by_action.setdefault(action, []).extend(resources)
    text = json.dumps(by_action)
    assert "processing-job/mlpipes-review-c-preprocess-*" in text
    assert "training-job/mlpipes-review-c-train-*" in text
    assert "transform-job/mlpipes-review-c-batchtransform-*" in text
    assert "model/mlpipes-review-c-createmodel-*" in text
    assert "model-package/mlpipes-review-classifier/*" in json.dumps(
        by_action["sagemaker:CreateModelPackage"]
    )
    assert by_action["iam:PassRole"] == ["arn:aws:iam::123456789012:role/job"]
    assert "sagemaker:CreateHyperParameterTuningJob" not in by_action
    assert "sagemaker:CreateEndpoint" not in by_action


def test_the_registration_manifests_hold_the_ir_and_a_hardened_job(
    synthesized: tuple[KubeflowPipeline, dict[str, Any]],
) -> None:
    construct, template = synthesized
    config_map, job = _manifest(template)
    # Stored compressed: the same IR once decompressed, deploy-time values aside.
    stored = gzip.decompress(base64.b64decode(config_map["binaryData"]["pipeline.yaml.gz"]))
    values = re.compile(r"__MLPIPES_VALUE_[0-9]+__|\$\{Token\[[^\]]*\]\}")
    assert values.sub("<v>", stored.decode()) == values.sub("<v>", construct.ir_yaml)
    ir = yaml.safe_load(stored)
    images = {e["container"]["image"] for e in ir["deploymentSpec"]["executors"].values()}
    assert images == {IMAGE}
    assert config_map["metadata"]["name"] == job["metadata"]["name"]
    assert job["metadata"]["name"].endswith(construct.pipeline_version)
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["SCHEDULE"] == "0 0 3 * * *"
    assert json.loads(env["SCHEDULE_INPUT"]) == {"AccuracyThreshold": 0.8}
    assert env["SERVICE_ACCOUNT"] == "mlpipes-review-classifier-runner"
    assert env["KFP_API"] == "http://ml-pipeline.kubeflow.svc.cluster.local:8888"
    assert env["PIPELINE_FILE"] == "/etc/mlpipes/pipeline.yaml.gz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["automountServiceAccountToken"] is False
    size = len(json.dumps([config_map, job]))
    print(f"registration manifests of the reference pipeline: {size} bytes")
    assert size < 262_144


def test_a_changed_spec_is_a_new_version_and_the_same_spec_the_same() -> None:
    _, first = _pipeline()
    _, again = _pipeline()
    _, other = _pipeline(component_image=IMAGE.replace(":1", ":2"))
    assert first.pipeline_version == again.pipeline_version
    assert first.pipeline_version != other.pipeline_version


def test_the_default_image_is_built_from_the_packaged_dockerfile() -> None:
    stack, cluster, role, bucket = _stack()
    construct = KubeflowPipeline(
        stack,
        "Pipeline",
        cluster=cluster,
        pipeline=reference_pipeline(input_data_uri="s3://artifacts/data/"),
        job_role=role,
        artifact_bucket=bucket,
    )
    assert construct.image_asset is not None
    assert "${Token[" in construct.ir_yaml or "dkr.ecr" in construct.ir_yaml


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"namespace": "Kube_flow"}, "namespace 'Kube_flow' must be a Kubernetes name"),
        ({"cluster": None}, "one of kfp \\(a KubeflowPipelines install\\) or cluster is required"),
        ({"service_account_name": "-x"}, "service_account_name '-x' must be a Kubernetes name"),
        ({"api_url": "ml-pipeline:8888"}, "api_url 'ml-pipeline:8888' must be an http"),
        ({"schedule": "0 3 * * *"}, "schedule '0 3 \\* \\* \\*' must be a KFP cron expression"),
        ({"schedule_input": {"X": 1}}, "'schedule_input' and 'schedule=None' cannot be used"),
        (
            {"schedule": "0 0 3 * * *", "schedule_input": {"AccuracyThreshold": "high"}},
            "schedule_input 'AccuracyThreshold' is \"high\"",
        ),
    ],
)
def test_bad_props_are_refused_naming_the_prop(props: dict[str, Any], message: str) -> None:
    with pytest.raises(PropsValidationError, match=message):
        _pipeline(**props)


def test_metrics_say_kfp_has_none() -> None:
    _, construct = _pipeline()
    with pytest.raises(NotImplementedError, match="no CloudWatch metrics"):
        construct.metric_failed()


def test_every_registration_manifest_validates_for_the_clusters_kubernetes_version(
    synthesized: tuple[KubeflowPipeline, dict[str, Any]],
) -> None:
    for manifest in _manifest(synthesized[1]):
        # strict: unknown fields are errors too.
        assert kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_on_a_kfp_install_the_install_gives_cluster_namespace_and_api() -> None:
    app = cdk.App(context=cdk_json_context())
    stack = cdk.Stack(app, "OnInstall", env=TEST_ENV)
    foundation = imported_foundation(stack)
    kfp = KubeflowPipelines(
        stack,
        "Pipelines",
        cluster=KubeflowCluster(stack, "Cluster", foundation=foundation),
        artifact_bucket=foundation.artifact_bucket,
    )
    props: dict[str, Any] = {
        "pipeline": reference_pipeline(input_data_uri="s3://artifacts/data/"),
        "job_role": iam.Role.from_role_arn(stack, "JobRole", "arn:aws:iam::123456789012:role/j"),
        "artifact_bucket": foundation.artifact_bucket,
        "encryption_key": foundation.encryption_key,
        "component_image": IMAGE,
    }
    with pytest.raises(PropsValidationError) as refused:
        KubeflowPipeline(
            stack, "Both", kfp=kfp, cluster=kfp.cluster.cluster, namespace="other", **props
        )
    assert "'kfp' and 'cluster' cannot be used together" in str(refused.value)
    assert "'kfp' and 'namespace' cannot be used together" in str(refused.value)
    construct = KubeflowPipeline(stack, "OnInstall", kfp=kfp, **props)
    assert construct.namespace == kfp.namespace
    assert construct.cluster.node.path == kfp.cluster.cluster.node.path
    # The registration waits for the install, and the runs may use KFP's pipeline root.
    dependencies = {d.node.path for d in construct.manifest.node.dependencies}
    assert kfp.chart.node.path in dependencies
    document = stack.resolve(construct.role.managed_policy.document.to_json())
    written = [
        statement["Resource"]
        for statement in document["Statement"]
        if "s3:PutObject" in statement["Action"]
    ]
    assert written == ["arn:aws:s3:::mlpipes-artifacts/kfp/*"]


def test_deploy_time_values_of_the_ir_become_the_jobs_environment() -> None:
    stack, _ = _pipeline(component_image=None)
    template = Template.from_stack(stack).to_json()
    config_map, job = _manifest(template)
    stored = gzip.decompress(base64.b64decode(config_map["binaryData"]["pipeline.yaml.gz"]))
    placeholders = set(re.findall(r"__(MLPIPES_VALUE_[0-9]+)__", stored.decode()))
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item["value"] for item in container["env"]}
    # The image (an asset's URI), the role ARN, the bucket and the key are deploy-time values.
    assert len(placeholders) >= 3
    assert placeholders == {name for name in env if name.startswith("MLPIPES_VALUE_")}
    assert all(env[name] == "<token>" for name in placeholders)
    assert "${Token[" not in stored.decode()
