"""Session fixtures: the bundled app is synthesized once, with every stack and the cdk-nag packs."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Before aws_cdk is imported: no Node end-of-life banner, and no built-in CloudFormation
# validation plugin (3-6 s a synth; cfn-lint covers it in tests/compliance).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CDK_VALIDATION", "false")

import aws_cdk as cdk
import pytest

from mlpipes_app import STACK_CATALOG, AppConfig, build_app
from mlpipes_app.config import cdk_json_context

TEST_ENV = cdk.Environment(account="123456789012", region="us-east-1")
NAG_PACKS = ("AwsSolutions", "HIPAA.Security", "NIST.800.53.R5")
#: CDK reports construct warnings and errors in the validation report under this plugin name.
ANNOTATIONS_PLUGIN = "Construct Annotations"


@dataclass(frozen=True)
class NagFinding:
    """One unacknowledged cdk-nag finding."""

    pack: str
    rule: str
    path: str
    description: str


@dataclass(frozen=True)
class Acknowledged:
    """One acknowledged finding and its reason."""

    path: str
    rule: str
    reason: str


@dataclass
class SynthesizedApp:
    """The bundled app with every catalog stack, synthesized once for the whole test session."""

    outdir: Path
    stacks: dict[str, cdk.Stack]
    validation_error: str | None
    findings: list[NagFinding] = field(default_factory=list)

    def template(self, key: str) -> dict[str, Any]:
        stack = self.stacks[key]
        path = self.outdir / stack.template_file
        template: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return template

    def findings_for(self, key: str, packs: tuple[str, ...] = NAG_PACKS) -> list[NagFinding]:
        """Unacknowledged findings of ``packs`` on the stack's constructs."""
        prefix = f"{self.stacks[key].node.path}/"
        return [
            finding
            for finding in self.findings
            if finding.pack in packs and finding.path.startswith(prefix)
        ]

    def annotations_for(self, key: str) -> list[NagFinding]:
        """Construct warnings (``Annotations.add_warning_v2``) on the stack's constructs."""
        return self.findings_for(key, packs=(ANNOTATIONS_PLUGIN,))

    def acknowledgments_for(self, key: str) -> list[Acknowledged]:
        stack = self.stacks[key]
        metadata_path = self.outdir / f"{stack.artifact_id}.metadata.json"
        metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
        acknowledged = []
        for path, entries in metadata.items():
            for entry in entries:
                if entry["type"] != "aws:cdk:acknowledged-rules":
                    continue
                for rule, reason in entry["data"].items():
                    acknowledged.append(Acknowledged(path, rule.split("::", 1)[-1], reason))
        return acknowledged


def _read_findings(outdir: Path) -> list[NagFinding]:
    report_path = outdir / "validation-report.json"
    if not report_path.exists():
        return []
    report = json.loads(report_path.read_text(encoding="utf-8"))
    return [
        NagFinding(
            plugin["pluginName"],
            violation["ruleName"],
            construct["constructPath"],
            violation["description"],
        )
        for plugin in report.get("pluginReports", [])
        for violation in plugin.get("violations", [])
        for construct in violation.get("violatingConstructs", [])
    ]


def synthesize_bundled_app(outdir: Path) -> SynthesizedApp:
    """Build every catalog stack as ``cdk synth`` would (cdk.json context), with cdk-nag."""
    app = cdk.App(context=cdk_json_context(), outdir=str(outdir))
    config = AppConfig(stacks=tuple(entry.key for entry in STACK_CATALOG), compliance_checks=True)
    built = build_app(app, config, env=TEST_ENV)
    stacks = {entry.key: stack for entry, stack in zip(STACK_CATALOG, built, strict=True)}
    try:
        app.synth()
        error = None
    except RuntimeError as failure:
        if "ValidationFailed" not in str(failure):
            raise
        error = str(failure)
    return SynthesizedApp(outdir, stacks, error, _read_findings(outdir))


@pytest.fixture(scope="session")
def bundled_app(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    return synthesize_bundled_app(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture
def stack() -> cdk.Stack:
    """An empty stack in the test environment, for constructs tested on their own."""
    app = cdk.App(context=cdk_json_context())
    return cdk.Stack(app, "TestStack", env=TEST_ENV)
