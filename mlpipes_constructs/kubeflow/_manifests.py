"""The Kubernetes objects we write ourselves (besides the rendered KFP install), as plain dicts.

Kept free of CDK so the manifest tests can validate exactly what the constructs apply.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

#: The namespace KFP's standalone install runs in.
KFP_NAMESPACE = "kubeflow"
#: The KFP version of the vendored, rendered install.
KFP_VERSION = "2.17.0"
#: The chart built from the rendered install (a directory asset).
CHART_DIRECTORY = Path(__file__).resolve().parent / "chart"
RENDERED_INSTALL = CHART_DIRECTORY / "files" / "kubeflow-pipelines.yaml"

#: Placeholders in the rendered install, filled at deploy time, by chart value name.
PLACEHOLDERS: dict[str, str] = {
    "dbHost": "__MLPIPES_DB_HOST__",
    "bucket": "__MLPIPES_BUCKET__",
    "prefix": "__MLPIPES_PREFIX__",
    "region": "__MLPIPES_REGION__",
}

#: KFP's service accounts that use AWS (S3) and get a Pod Identity role.
API_SERVER_SERVICE_ACCOUNT = "ml-pipeline"
UI_SERVICE_ACCOUNT = "ml-pipeline-ui"
PIPELINE_RUNNER_SERVICE_ACCOUNT = "pipeline-runner"
#: The Role of KFP's install with what a run's pods need of the Kubernetes API (Argo's
#: ``workflowtaskresults``, the driver's config maps and secrets, pods and their logs).
PIPELINE_RUNNER_ROLE = "pipeline-runner"

#: The Kubernetes Secret KFP reads the database credentials from, and who writes it.
DATABASE_SECRET_NAME = "mysql-secret"
CREDENTIALS_SYNC_NAME = "mlpipes-db-credentials"

#: The AWS CLI image of the job that copies the database password from Secrets Manager into
#: the cluster (Amazon Linux 2 with bash, curl and base64). Pinned; pass your own (e.g. an ECR
#: copy for a VPC without NAT) as ``credentials_sync_image``.
DEFAULT_CREDENTIALS_SYNC_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.27.50"

#: Writes mysql-secret with a server-side apply through the Kubernetes API; the password goes
#: from the AWS CLI's output to curl's standard input, never onto a command line or disk.
CREDENTIALS_SYNC_SCRIPT = """\
set -eu
sa=/var/run/secrets/kubernetes.io/serviceaccount
encode() { printf '%s' "$1" | base64 | tr -d '\\n'; }
password=$(aws secretsmanager get-secret-value --secret-id "$SECRET_ARN" \\
  --query SecretString --output text)
printf '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"%s","namespace":"%s"},\
"type":"Opaque","data":{"username":"%s","password":"%s"}}' \\
  "$SECRET_NAME" "$NAMESPACE" "$(encode "$DB_USERNAME")" "$(encode "$password")" |
  curl --fail --silent --show-error --cacert "$sa/ca.crt" \\
    -H "Authorization: Bearer $(cat "$sa/token")" \\
    -H "Content-Type: application/apply-patch+yaml" -X PATCH --data-binary @- \\
    "https://kubernetes.default.svc/api/v1/namespaces/$NAMESPACE/secrets/$SECRET_NAME\
?fieldManager=$FIELD_MANAGER&force=true" >/dev/null
echo "synchronized $NAMESPACE/$SECRET_NAME"
"""


def rendered_objects(values: dict[str, str]) -> list[dict[str, Any]]:
    """The rendered install with its placeholders replaced, as Helm's chart does."""
    text = RENDERED_INSTALL.read_text(encoding="utf-8")
    for name, placeholder in PLACEHOLDERS.items():
        text = text.replace(placeholder, values[name])
    return [document for document in yaml.safe_load_all(text) if document]


def namespace_manifest() -> dict[str, Any]:
    """KFP's namespace, with the pod security levels upstream sets on it."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": KFP_NAMESPACE,
            "labels": {
                "pod-security.kubernetes.io/enforce": "baseline",
                "pod-security.kubernetes.io/warn": "restricted",
            },
        },
    }


def service_account_manifest(name: str, namespace: str) -> dict[str, Any]:
    """A service account whose AWS role comes from its Pod Identity association."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": namespace},
        "automountServiceAccountToken": True,
    }


def pipeline_service_account_manifests(name: str, namespace: str) -> list[dict[str, Any]]:
    """The service account a pipeline's runs execute as, bound to KFP's ``pipeline-runner`` Role.

    A run that names this account (``service_account`` of the run) runs its driver, launcher
    and executor pods as it: they need what KFP's own ``pipeline-runner`` account may do in
    the namespace, which the binding gives; their AWS role comes from the account's Pod
    Identity association.
    """
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": f"{name[:47]}-pipeline-runner", "namespace": namespace},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": PIPELINE_RUNNER_ROLE,
        },
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
    }
    return [service_account_manifest(name, namespace), binding]


def credentials_sync_manifests(
    *, secret_arn: str, username: str, image: str
) -> list[dict[str, Any]]:
    """The service account, RBAC and job that write mysql-secret from Secrets Manager."""
    labels = {"app.kubernetes.io/name": CREDENTIALS_SYNC_NAME}
    metadata = {"name": CREDENTIALS_SYNC_NAME, "namespace": KFP_NAMESPACE, "labels": labels}
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": metadata,
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["secrets"],
                "resourceNames": [DATABASE_SECRET_NAME],
                "verbs": ["get", "patch", "create"],
            }
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": metadata,
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": CREDENTIALS_SYNC_NAME,
        },
        "subjects": [
            {"kind": "ServiceAccount", "name": CREDENTIALS_SYNC_NAME, "namespace": KFP_NAMESPACE}
        ],
    }
    environment = {
        "SECRET_ARN": secret_arn,
        "DB_USERNAME": username,
        "SECRET_NAME": DATABASE_SECRET_NAME,
        "NAMESPACE": KFP_NAMESPACE,
        "FIELD_MANAGER": CREDENTIALS_SYNC_NAME,
        "HOME": "/tmp",
    }
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": {
            "backoffLimit": 6,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": CREDENTIALS_SYNC_NAME,
                    "restartPolicy": "OnFailure",
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 65532,
                        "runAsGroup": 65532,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [
                        {
                            "name": "sync",
                            "image": image,
                            "command": ["/bin/bash", "-c", CREDENTIALS_SYNC_SCRIPT],
                            "env": [
                                {"name": name, "value": value}
                                for name, value in environment.items()
                            ],
                            "resources": {
                                "requests": {"cpu": "50m", "memory": "128Mi"},
                                "limits": {"memory": "256Mi"},
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                            },
                            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                        }
                    ],
                    "volumes": [{"name": "tmp", "emptyDir": {"medium": "Memory"}}],
                },
            },
        },
    }
    return [service_account_manifest(CREDENTIALS_SYNC_NAME, KFP_NAMESPACE), role, binding, job]
