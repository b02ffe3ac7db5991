from __future__ import annotations

import pytest

from mlpipes_constructs.compile.rules import (
    DEFAULT_MAX_RUNTIME_SECONDS,
    has_instance_storage_only,
    training_max_runtime,
)


def test_runtime_defaults_to_a_day_capped_by_the_spot_wait() -> None:
    assert training_max_runtime(None, None) == DEFAULT_MAX_RUNTIME_SECONDS == 86_400
    assert training_max_runtime(None, 3_600) == 3_600
    assert training_max_runtime(7_200, 3_600) == 7_200  # given: the spec validation checks it


@pytest.mark.parametrize(
    ("instance_type", "expected"),
    [
        ("ml.m5.xlarge", False),
        ("ml.m5d.xlarge", True),
        ("ml.g4dn.xlarge", True),
        ("ml.g5.2xlarge", True),
        ("ml.c6i.large", False),
        ("ml.trn1.2xlarge", True),
    ],
)
def test_instance_storage_only_families(instance_type: str, expected: bool) -> None:
    assert has_instance_storage_only(instance_type) is expected


def test_a_parameter_instance_type_is_assumed_to_have_a_volume() -> None:
    assert has_instance_storage_only({"Get": "Parameters.InstanceType"}) is False
