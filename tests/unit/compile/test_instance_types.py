from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from mlpipes_constructs.compile import CompileError
from mlpipes_constructs.compile.instance_types import check_instance_type, instance_types


def test_the_table_matches_the_installed_botocore_model() -> None:
    script = Path(__file__).parents[3] / "scripts" / "write-instance-types.py"
    spec = importlib.util.spec_from_file_location("write_instance_types", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    table = module.table()
    assert {api: sorted(instance_types(api)) for api in table} == table


def test_a_type_the_api_does_not_offer_is_refused_naming_step_field_and_close_types() -> None:
    assert "ml.c5n.xlarge" in instance_types("training")
    with pytest.raises(CompileError) as raised:
        check_instance_type("processing", "ml.c5n.xlarge", step="Prep", field="instance_type")
    assert (raised.value.step, raised.value.field) == ("Prep", "instance_type")
    assert "'ml.c5n.xlarge' is not offered for processing jobs" in str(raised.value)
    assert "ml.c5.xlarge" in str(raised.value)


def test_offered_types_and_parameters_pass() -> None:
    check_instance_type("processing", "ml.m5.xlarge", step="Prep", field="instance_type")
    check_instance_type("endpoint", object(), step="Deploy", field="instance_type")
