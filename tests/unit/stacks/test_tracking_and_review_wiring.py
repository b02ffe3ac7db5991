"""The bundled app wires every pipeline stack to the MLflow server and the A2I flow definition,
and no credential reaches a template, a job request or a DAG/KFP document."""

from __future__ import annotations

import base64
import gzip
import json
import re
from typing import Any

import pytest

from tests.conftest import SynthesizedApp

#: The pipeline stacks that run the reference pipeline with review and tracking.
PIPELINE_STACKS = ("sagemaker", "stepfunctions", "mwaa", "kubeflow")
TRACKING_VARIABLES = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_EXPERIMENT_NAME",
    "MLPIPES_MLFLOW_CREDENTIALS_SECRET_ARN",
    "MLPIPES_EXECUTION_ID",
    "MLPIPES_ORCHESTRATOR",
)
#: What a credential looks like in a document: a password or token variable, or basic auth.
CREDENTIAL = re.compile(
    r"MLFLOW_TRACKING_(PASSWORD|TOKEN|USERNAME)|Authorization: Basic|Basic [A-Za-z0-9+/=]{16,}"
)
#: A gzip stream in base64 (the KFP pipeline's IR is stored compressed).
_GZIP_BASE64 = re.compile(r"H4sI[A-Za-z0-9+/=]+")


def _text(bundled_app: SynthesizedApp, key: str) -> str:
    """The stack's template, with its compressed documents (the KFP IR) expanded."""
    text = json.dumps(bundled_app.template(key))
    expanded = [
        gzip.decompress(base64.b64decode(blob)).decode("utf-8")
        for blob in _GZIP_BASE64.findall(text)
    ]
    return "\n".join([text, *expanded])


def _references(text: str, stack_name: str) -> bool:
    """Whether the text refers to an output of ``stack_name``."""
    return f'"StackName": "{stack_name}"' in text or f"{stack_name}:ExportsOutput" in text


@pytest.mark.parametrize("key", PIPELINE_STACKS)
def test_every_pipeline_stack_tracks_its_jobs_into_the_bundled_server(
    bundled_app: SynthesizedApp, key: str
) -> None:
    text = _text(bundled_app, key)

    for variable in TRACKING_VARIABLES:
        assert variable in text, (key, variable)
    # The tracking URI and the secret come from the MLflow stack, by reference.
    assert _references(text, "mlpipes-Mlflow")


@pytest.mark.parametrize("key", PIPELINE_STACKS)
def test_every_pipeline_stack_reviews_with_the_a2i_flow_definition(
    bundled_app: SynthesizedApp, key: str
) -> None:
    text = _text(bundled_app, key)

    assert "HumanReviewFlowDefinitionArn" in text
    assert _references(text, "mlpipes-A2i")


@pytest.mark.parametrize("key", (*PIPELINE_STACKS, "mlflow"))
def test_no_credential_is_in_a_template_or_a_compiled_document(
    bundled_app: SynthesizedApp, key: str
) -> None:
    text = _text(bundled_app, key)

    assert CREDENTIAL.search(text) is None


def _secrets(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::SecretsManager::Secret"
    ]


def test_the_mlflow_secrets_are_generated_by_secrets_manager(bundled_app: SynthesizedApp) -> None:
    secrets = _secrets(bundled_app.template("mlflow"))

    assert secrets
    for secret in secrets:
        assert "SecretString" not in secret
        assert "GenerateSecretString" in secret
