"""`cdk synth` through the project's pinned CDK CLI, as a user runs it: no AWS credentials."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlpipes_app import STACK_CATALOG
from mlpipes_app.config import CDK_JSON

ROOT = CDK_JSON.parent
CLI = ROOT / "node_modules" / ".bin" / "cdk"


@pytest.fixture(scope="module")
def cli_synth(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    assert CLI.exists(), "the CDK CLI is not installed: run `make test` (it runs `npm ci`)"
    outdir = tmp_path_factory.mktemp("cli.out")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "CDK_"))
        and name != "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"
    }
    # The app runs with the Python of this test session, as `make synth` puts .venv first.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["CDK_DISABLE_CLI_TELEMETRY"] = "true"
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    lock = ROOT / "mlpipes_app" / "feature-groups.lock.json"
    lock_before = lock.read_bytes()
    result = subprocess.run(
        [str(CLI), "synth", "--quiet", "--no-notices", "--output", str(outdir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert lock.read_bytes() == lock_before, "cdk synth changed the committed lock file"
    return result, outdir


def test_cli_synthesizes_every_stack_without_credentials(
    cli_synth: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, outdir = cli_synth
    assert result.returncode == 0, result.stderr
    names = sorted(path.name for path in outdir.glob("*.template.json"))
    assert names == sorted(
        f"mlpipes-{entry.name}.template.json" for entry in STACK_CATALOG if not entry.opt_in
    )
    manifest = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))
    assert "missing" not in manifest


def test_cli_output_has_no_node_end_of_life_banner(
    cli_synth: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, _ = cli_synth
    assert "end-of-life" not in result.stdout + result.stderr


def test_cli_uses_the_placeholder_environment(
    cli_synth: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, outdir = cli_synth
    manifest = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))
    environments = {artifact.get("environment") for artifact in manifest["artifacts"].values()}
    assert environments - {None} == {"aws://123456789012/us-east-1"}
