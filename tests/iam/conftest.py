"""The app's templates resolved once, and every declared call evaluated in one batch."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import SynthesizedApp
from tests.iam.calls import Outcome, evaluate
from tests.iam.cfn import ResolvedApp, Stack
from tests.iam.declarations import DECLARATIONS
from tests.iam.model import AppModel

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def app_model(bundled_app: SynthesizedApp) -> AppModel:
    """Every stack of the bundled app (synthesized once per run), resolved."""
    stacks = {
        stack.stack_name: Stack(stack.stack_name, bundled_app.template(key))
        for key, stack in bundled_app.stacks.items()
    }
    names = {key: stack.stack_name for key, stack in bundled_app.stacks.items()}
    return AppModel(ResolvedApp(stacks), names)


@pytest.fixture(scope="session")
def outcomes(app_model: AppModel) -> dict[str, list[Outcome]]:
    """Every declared call, evaluated by the simulator; by declaration id."""
    started = time.perf_counter()
    evaluated = evaluate(app_model, DECLARATIONS, REPOSITORY)
    count = sum(len(calls) for calls in evaluated.values())
    print(f"\nIAM simulation: {count} calls in {time.perf_counter() - started:.2f} s")
    return evaluated
