"""One snapshot per stack of the bundled app, with volatile values masked."""

from __future__ import annotations

import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from mlpipes_app import STACK_CATALOG
from tests.conftest import SynthesizedApp

# Asset hashes change with the CDK version and with any byte of bundled code.
_ASSET_HASH = re.compile(r"[0-9a-f]{64}")


def mask_volatile(value: Any) -> Any:
    """Replace asset hashes in every string of a template.

    Lists of masked strings are sorted too: CDK orders such lists (e.g. the asset ARNs of a
    policy statement) by the hashes themselves, which change with any byte of the assets.
    """
    if isinstance(value, dict):
        return {key: mask_volatile(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [mask_volatile(item) for item in value]
        if items and all(isinstance(item, str) and "<asset-hash>" in item for item in items):
            return sorted(items)
        return items
    if isinstance(value, str):
        return _ASSET_HASH.sub("<asset-hash>", value)
    return value


def test_mask_volatile_orders_lists_of_masked_asset_keys() -> None:
    template = {"Resource": ["b/" + "1" * 64 + ".py", "b/" + "0" * 64 + ".txt"]}
    assert mask_volatile(template) == {"Resource": ["b/<asset-hash>.py", "b/<asset-hash>.txt"]}
    swapped = {"Resource": ["b/" + "0" * 64 + ".txt", "b/" + "1" * 64 + ".py"]}
    assert mask_volatile(swapped) == mask_volatile(template)


def test_mask_volatile_masks_asset_hashes_only() -> None:
    template = {"Key": ["a" * 64 + ".zip", "cdk-hnb659fds-assets-123456789012-us-east-1"]}
    assert mask_volatile(template) == {
        "Key": ["<asset-hash>.zip", "cdk-hnb659fds-assets-123456789012-us-east-1"]
    }


@pytest.fixture
def json_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("key", [entry.key for entry in STACK_CATALOG])
def test_stack_template_matches_snapshot(
    bundled_app: SynthesizedApp, json_snapshot: SnapshotAssertion, key: str
) -> None:
    assert mask_volatile(bundled_app.template(key)) == json_snapshot
