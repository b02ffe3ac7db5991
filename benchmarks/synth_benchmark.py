"""Synthesis benchmark: what the bundled app costs to import and synthesize over an empty CDK app,
and how close each stack's template is to CloudFormation's limits.

Run with ``make benchmark`` (or ``.venv/bin/python benchmarks/synth_benchmark.py --runs 5``).
Each synthesis is a fresh Python process, as ``cdk synth`` runs the app, so import and jsii
start-up costs are included; so is each import figure, the time ``import <module>`` takes in a
fresh interpreter. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from mlpipes_app.catalog import STACK_CATALOG  # noqa: E402
from mlpipes_app.config import cdk_json_context  # noqa: E402

#: CloudFormation quotas: template body uploaded through S3, and resources per stack.
MAX_TEMPLATE_BYTES = 1_000_000
MAX_RESOURCES = 500

#: The app's configuration, then each stack module on its own.
IMPORTED_MODULES: tuple[str, ...] = (
    "aws_cdk",
    "mlpipes_app.config",
    "mlpipes_app",
    *(entry.module for entry in STACK_CATALOG),
)
IMPORT_TIMER = """
import sys, time
started = time.perf_counter()
__import__(sys.argv[1])
print(time.perf_counter() - started)
"""

EMPTY_APP = """
import aws_cdk as cdk
app = cdk.App()
cdk.Stack(app, "Empty")
app.synth()
"""


def _environment(
    outdir: str, *, cloudformation_validation: bool, stacks: list[str] | None
) -> dict[str, str]:
    context = cdk_json_context()
    if stacks is not None:
        context["mlpipes:stacks"] = stacks
    return {
        **os.environ,
        "CDK_OUTDIR": outdir,
        # What the CDK CLI hands the app: cdk.json context (every stack), or only ``stacks``.
        "CDK_CONTEXT_JSON": json.dumps(context),
        "CDK_VALIDATION": "true" if cloudformation_validation else "false",
    }


def time_import(module: str, runs: int) -> float:
    """Median time of ``import module`` in ``runs`` fresh interpreters."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    timings = []
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-c", IMPORT_TIMER, module],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        timings.append(float(result.stdout.strip().splitlines()[-1]))
    return statistics.median(timings)


def time_synth(
    command: list[str],
    runs: int,
    *,
    cloudformation_validation: bool = False,
    stacks: list[str] | None = None,
) -> tuple[float, Path]:
    """Median wall time of ``runs`` syntheses; returns it with the last output directory.

    ``stacks`` overrides cdk.json's ``mlpipes:stacks``.
    """
    timings = []
    outdirs = [Path(tempfile.mkdtemp(prefix="mlpipes-bench-")) for _ in range(runs)]
    for outdir in outdirs:
        env = _environment(
            str(outdir), cloudformation_validation=cloudformation_validation, stacks=stacks
        )
        started = time.perf_counter()
        # Synth warnings (e.g. the MLflow plain-HTTP notice) are not figures: keep them out
        # of the report unless the synthesis fails.
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            sys.stderr.write(result.stderr)
            raise SystemExit(f"synthesis failed: {' '.join(command)}")
        timings.append(time.perf_counter() - started)
    return statistics.median(timings), outdirs[-1]


def template_figures(outdir: Path) -> list[tuple[str, int, int]]:
    """(stack, template bytes, resource count) for every template in a cloud assembly."""
    figures = []
    for path in sorted(outdir.glob("*.template.json")):
        template = json.loads(path.read_text(encoding="utf-8"))
        figures.append(
            (
                path.name.removesuffix(".template.json"),
                path.stat().st_size,
                len(template.get("Resources", {})),
            )
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="syntheses per app (default 5)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    print(f"import, median of {args.runs} runs, a fresh process each:")
    for module in IMPORTED_MODULES:
        print(f"  {module:<46}{time_import(module, args.runs):6.2f} s")
    print()

    empty, _ = time_synth([sys.executable, "-c", EMPTY_APP], args.runs)
    full, outdir = time_synth([sys.executable, "app.py"], args.runs)
    validated, _ = time_synth([sys.executable, "app.py"], args.runs, cloudformation_validation=True)
    one_stack, _ = time_synth([sys.executable, "app.py"], args.runs, stacks=["foundation"])
    print(f"synthesis, median of {args.runs} runs, a fresh process each:")
    rows = [
        ("empty CDK app", empty),
        ("default app (every stack), cdk-nag packs on", full),
        ("  + CDK's CloudFormation validation", validated),
        ("one-stack app (foundation), cdk-nag packs on", one_stack),
    ]
    for label, seconds in rows:
        print(f"  {label:<46}{seconds:6.2f} s  ({seconds / empty:5.2f}x the empty app)")
    print("  (`cdk synth` runs the default app with CloudFormation validation)")
    print()
    print(f"{'stack':<28}{'template bytes':>16}{'% of 1 MB':>11}{'resources':>11}{'% of 500':>10}")
    for name, size, resources in template_figures(outdir):
        print(
            f"{name:<28}{size:>16,}{100 * size / MAX_TEMPLATE_BYTES:>10.1f}%"
            f"{resources:>11}{100 * resources / MAX_RESOURCES:>9.1f}%"
        )


if __name__ == "__main__":
    main()
