"""The non-default shapes of the stacks pass the same checks as the bundled app.

The bundled app uses one NAT gateway and serves MLflow over HTTP; here the foundation runs
without NAT (isolated subnets and interface endpoints) in another region, and MLflow has a
certificate. Synthesized once for the module, with the three cdk-nag packs.
"""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from cfnlint.api import ManualArgs, lint

from stacks import FoundationStack, MlflowStack, add_compliance_checks
from stacks.config import cdk_json_context
from tests.conftest import NAG_PACKS

REGION = "eu-west-1"
CERTIFICATE = f"arn:aws:acm:{REGION}:123456789012:certificate/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture(scope="module")
def variant(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[cdk.Stack], str | None]:
    outdir = tmp_path_factory.mktemp("variant.out")
    app = cdk.App(context=cdk_json_context(), outdir=str(outdir))
    env = cdk.Environment(account="123456789012", region=REGION)
    foundation = FoundationStack(app, "Natless-Foundation", env=env, nat_gateways=0)
    mlflow = MlflowStack(
        app,
        "Natless-Mlflow",
        env=env,
        foundation=foundation.resources,
        certificate=CERTIFICATE,
        domain_name="mlflow.example.com",
    )
    add_compliance_checks(app)
    try:
        app.synth()
        error = None
    except RuntimeError as failure:
        error = str(failure)
    return outdir, [foundation, mlflow], error


def test_variant_has_no_unacknowledged_findings_or_warnings(
    variant: tuple[Path, list[cdk.Stack], str | None],
) -> None:
    outdir, _, error = variant
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
    variant: tuple[Path, list[cdk.Stack], str | None],
) -> None:
    outdir, (foundation, _), _ = variant
    template = json.loads((outdir / foundation.template_file).read_text(encoding="utf-8"))
    types = [resource["Type"] for resource in template["Resources"].values()]
    assert "AWS::EC2::NatGateway" not in types
    assert types.count("AWS::EC2::VPCEndpoint") == 7  # S3 gateway + six interface endpoints


@pytest.mark.parametrize("index", [0, 1])
def test_variant_templates_pass_cfn_lint(
    variant: tuple[Path, list[cdk.Stack], str | None], index: int
) -> None:
    outdir, stacks, _ = variant
    template = (outdir / stacks[index].template_file).read_text(encoding="utf-8")
    matches = lint(template, config=ManualArgs(regions=[REGION]))
    problems = [
        f"{match.rule.id} {match.message}"
        for match in matches
        if not (match.rule.id == "W3005" and "CustomResourceProvider" in match.message)
    ]
    assert problems == []
