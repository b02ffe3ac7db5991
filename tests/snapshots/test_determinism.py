"""Synthesizing the bundled app twice gives the same templates, to the byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlpipes_app import STACK_CATALOG
from tests.conftest import SynthesizedApp, synthesize_bundled_app


@pytest.fixture(scope="module")
def second_synthesis(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    return synthesize_bundled_app(tmp_path_factory.mktemp("cdk.out.again"))


@pytest.mark.parametrize("key", [entry.key for entry in STACK_CATALOG])
def test_templates_are_identical_across_two_synths(
    bundled_app: SynthesizedApp, second_synthesis: SynthesizedApp, key: str
) -> None:
    first = Path(bundled_app.outdir, bundled_app.stacks[key].template_file).read_bytes()
    second = Path(second_synthesis.outdir, second_synthesis.stacks[key].template_file).read_bytes()
    assert first == second
