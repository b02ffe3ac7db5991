"""The bundled app: configuration from context, no look-ups, placeholder or real environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import aws_cdk as cdk
import pytest

from mlpipes_app import STACK_CATALOG, AppConfig, build_app, default_environment
from mlpipes_app.config import CDK_JSON, PLACEHOLDER_ACCOUNT, PLACEHOLDER_REGION, cdk_json_context
from tests.conftest import SynthesizedApp


def test_synthesis_needs_no_context_lookups(bundled_app: SynthesizedApp) -> None:
    manifest = json.loads((bundled_app.outdir / "manifest.json").read_text(encoding="utf-8"))
    assert "missing" not in manifest


def test_cdk_json_builds_every_catalog_stack_but_the_opt_in_ones() -> None:
    default = [entry.key for entry in STACK_CATALOG if not entry.opt_in]
    assert cdk_json_context()["mlpipes:stacks"] == default
    assert {entry.key for entry in STACK_CATALOG if entry.opt_in} == {
        "mwaa",
        "mwaa-serverless",
        "kubeflow",
        "a2i",
    }


def test_config_reads_context_including_strings_from_the_command_line() -> None:
    app = cdk.App(
        context={
            "mlpipes:stacks": "foundation, mlflow",
            "mlpipes:prefix": "team-a",
            "mlpipes:natGateways": "2",
            "mlpipes:interfaceEndpoints": "true",
            "mlpipes:complianceChecks": "false",
            "mlpipes:featureGroupLockFile": "locks/groups.json",
        }
    )
    assert AppConfig.from_context(app) == AppConfig(
        stacks=("foundation", "mlflow"),
        prefix="team-a",
        nat_gateways=2,
        interface_endpoints=True,
        compliance_checks=False,
        feature_group_lock_file=CDK_JSON.parent / "locks" / "groups.json",
    )


def test_config_defaults_without_context() -> None:
    assert AppConfig.from_context(cdk.App()) == AppConfig()


def test_unknown_stack_names_are_refused_with_the_known_ones() -> None:
    app = cdk.App()
    with pytest.raises(ValueError, match=r"unknown stacks \['airflow'\]; expected some of"):
        build_app(app, AppConfig(stacks=("foundation", "airflow")))


def test_environment_is_a_placeholder_without_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CDK_DEFAULT_ACCOUNT", raising=False)
    monkeypatch.delenv("CDK_DEFAULT_REGION", raising=False)
    env = default_environment()
    assert (env.account, env.region) == (PLACEHOLDER_ACCOUNT, PLACEHOLDER_REGION)
    monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", "210987654321")
    monkeypatch.setenv("CDK_DEFAULT_REGION", "eu-west-1")
    env = default_environment()
    assert (env.account, env.region) == ("210987654321", "eu-west-1")


def test_committed_feature_group_lock_covers_the_bundled_feature_group(
    bundled_app: SynthesizedApp,
) -> None:
    lock_path = CDK_JSON.parent / cdk_json_context()["mlpipes:featureGroupLockFile"]
    entries = json.loads(lock_path.read_text(encoding="utf-8"))["featureGroups"]
    group_path = f"{bundled_app.stacks['sagemaker'].node.path}/FeatureStore/ReviewFeatures"
    assert f"123456789012/us-east-1/{group_path}" in entries


_IMPORTED_MODULES = """
import json, sys
import aws_cdk as cdk
from mlpipes_app import AppConfig, build_app
after_config = sorted(sys.modules)
build_app(cdk.App(), AppConfig(stacks=("foundation",), compliance_checks=False))
print(json.dumps([after_config, sorted(sys.modules)]))
"""


def test_the_app_imports_only_the_stacks_it_builds() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _IMPORTED_MODULES],
        cwd=CDK_JSON.parent,
        env={**os.environ, "PYTHONPATH": str(CDK_JSON.parent)},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    after_config, after_build = json.loads(result.stdout.strip().splitlines()[-1])
    workload_stacks = [entry.module for entry in STACK_CATALOG if entry.key != "foundation"]
    assert [name for name in after_config if name.startswith("mlpipes_constructs")] == []
    assert "cdk_nag" not in after_config
    assert "mlpipes_constructs.stacks.foundation_stack" in after_build
    unexpected = ("cdk_nag", "mlpipes_constructs.mlflow", "mlpipes_constructs.sagemaker")
    assert [name for name in after_build if name in (*workload_stacks, *unexpected)] == []
