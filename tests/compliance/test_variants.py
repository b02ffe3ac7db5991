"""The non-default shapes of the stacks pass the same checks as the bundled app.

The bundled app uses one NAT gateway and serves MLflow over HTTP with the default sizing
(Aurora Serverless v2); here, in another region, one foundation runs without NAT (isolated
subnets and interface endpoints) and another, the default shape, carries MLflow with a
certificate at ``MlflowSizing.PRODUCTION`` (a provisioned Multi-AZ RDS instance; MLflow needs
NAT egress, so it cannot run on the first). Synthesized once for the module, with the three
cdk-nag packs.
"""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from cfnlint.api import ManualArgs, lint

from mlpipes_app import add_compliance_checks
from mlpipes_app.config import cdk_json_context
from mlpipes_constructs.mlflow import MlflowSizing
from mlpipes_constructs.stacks import FoundationStack, MlflowStack
from tests.conftest import NAG_PACKS

REGION = "eu-west-1"
CERTIFICATE = f"arn:aws:acm:{REGION}:123456789012:certificate/1234abcd-12ab-34cd-56ef-1234567890ab"
STACK_NAMES = ("Natless-Foundation", "Tls-Foundation", "Tls-Mlflow")


@pytest.fixture(scope="module")
def variant(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, cdk.Stack], str | None]:
    outdir = tmp_path_factory.mktemp("variant.out")
    app = cdk.App(context=cdk_json_context(), outdir=str(outdir))
    env = cdk.Environment(account="123456789012", region=REGION)
    natless = FoundationStack(app, "Natless-Foundation", env=env, nat_gateways=0)
    foundation = FoundationStack(app, "Tls-Foundation", env=env)
    mlflow = MlflowStack(
        app,
        "Tls-Mlflow",
        env=env,
        foundation=foundation.resources,
        sizing=MlflowSizing.PRODUCTION,
        certificate=CERTIFICATE,
        domain_name="mlflow.example.com",
    )
    add_compliance_checks(app)
    try:
        app.synth()
        error = None
    except RuntimeError as failure:
        error = str(failure)
    stacks: list[cdk.Stack] = [natless, foundation, mlflow]
    return outdir, {stack.stack_name: stack for stack in stacks}, error


def test_variant_has_no_unacknowledged_findings_or_warnings(
    variant: tuple[Path, dict[str, cdk.Stack], str | None],
) -> None:
    outdir, stacks, error = variant
    assert sorted(stacks) == sorted(STACK_NAMES)
    report_path = outdir / "validation-report.json"
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else {}
    findings = [
        f"{plugin['pluginName']}: {violation['ruleName']} at {construct['constructPath']}"
        for plugin in report.get("pluginReports", [])
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]
    assert error is None, "\n".join(findings)
    assert findings == []
    assert all(plugin["pluginName"] in NAG_PACKS for plugin in report.get("pluginReports", []))


def test_natless_foundation_has_no_nat_and_every_interface_endpoint(
    variant: tuple[Path, dict[str, cdk.Stack], str | None],
) -> None:
    outdir, stacks, _ = variant
    template_file = stacks["Natless-Foundation"].template_file
    template = json.loads((outdir / template_file).read_text(encoding="utf-8"))
    types = [resource["Type"] for resource in template["Resources"].values()]
    assert "AWS::EC2::NatGateway" not in types
    assert types.count("AWS::EC2::VPCEndpoint") == 7  # S3 gateway + six interface endpoints


def test_tls_variant_runs_mlflow_on_a_provisioned_multi_az_database(
    variant: tuple[Path, dict[str, cdk.Stack], str | None],
) -> None:
    outdir, stacks, _ = variant
    template = json.loads((outdir / stacks["Tls-Mlflow"].template_file).read_text(encoding="utf-8"))
    (database,) = (
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::RDS::DBInstance"
    )
    assert (database["Engine"], database["MultiAZ"]) == ("postgres", True)
    assert "AWS::RDS::DBCluster" not in {r["Type"] for r in template["Resources"].values()}


@pytest.mark.parametrize("name", STACK_NAMES)
def test_variant_templates_pass_cfn_lint(
    variant: tuple[Path, dict[str, cdk.Stack], str | None], name: str
) -> None:
    outdir, stacks, _ = variant
    template = (outdir / stacks[name].template_file).read_text(encoding="utf-8")
    matches = lint(template, config=ManualArgs(regions=[REGION]))
    problems = [
        f"{match.rule.id} {match.message}"
        for match in matches
        if not (match.rule.id == "W3005" and "CustomResourceProvider" in match.message)
    ]
    assert problems == []
