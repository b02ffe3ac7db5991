"""Instance types, parameters, json paths and local code paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlpipes_constructs.spec import (
    INSTANCE_TYPES,
    Parameter,
    ParameterType,
    Pipeline,
    ProcessingStep,
    is_instance_type,
    is_parameter_name,
    is_step_name,
    local_code_paths,
    read_json_path,
    suggest_instance_type,
)
from tests.unit.spec.spec_builders import IMAGE, valid_pipeline


@pytest.mark.parametrize(
    "instance_type",
    [
        "ml.m5.xlarge",
        "ml.c5.2xlarge",
        "ml.g5.xlarge",
        "ml.p3.2xlarge",
        "ml.t3.medium",
        "ml.m6i.32xlarge",
        "ml.c6i.large",
        "ml.g4dn.12xlarge",
        "ml.p4d.24xlarge",
        "ml.trn1.32xlarge",
        "ml.inf2.48xlarge",
    ],
)
def test_common_sagemaker_instance_types_are_known(instance_type):
    assert is_instance_type(instance_type)


@pytest.mark.parametrize("value", ["m5.xlarge", "ml.m5.huge", "ML.M5.XLARGE", "ml.m5", ""])
def test_malformed_instance_types_are_not_known(value):
    assert not is_instance_type(value)


@pytest.mark.parametrize(
    ("value", "suggestion"),
    [
        ("m5.xlarge", "ml.m5.xlarge"),
        ("g4dn.xlarge", "ml.g4dn.xlarge"),
        ("ml.c5.xlarg", "ml.c5.xlarge"),
        ("completely wrong", "ml.m5.xlarge"),
    ],
)
def test_suggestions_fix_the_prefix_or_the_spelling(value, suggestion):
    assert suggest_instance_type(value) == suggestion


def test_every_known_instance_type_has_the_ml_prefix_and_a_size():
    assert all(t.startswith("ml.") and t.count(".") == 2 for t in INSTANCE_TYPES)


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("Train", True),
        ("train-model-v2", True),
        ("a--b", True),
        ("T" * 64, True),
        ("T" * 65, False),
        ("a" + "-" * 70 + "b", False),
        ("2train", False),
        ("train-", False),
        ("train_model", False),
        ("train.model", False),
    ],
)
def test_step_name_rule(name, valid):
    assert is_step_name(name) is valid


@pytest.mark.parametrize(
    ("name", "valid"),
    [("Threshold", True), ("max2", True), ("max_depth", False), ("max-depth", False), ("9", False)],
)
def test_parameter_name_rule(name, valid):
    assert is_parameter_name(name) is valid


def test_parameter_constructors_set_the_type():
    assert [
        p.type
        for p in (
            Parameter.string("A", "x"),
            Parameter.integer("B", 1),
            Parameter.float("C", 0.5),
            Parameter.boolean("D", False),
        )
    ] == [ParameterType.STRING, ParameterType.INTEGER, ParameterType.FLOAT, ParameterType.BOOLEAN]


REPORT = {"metrics": {"accuracy": {"value": 0.91}, "folds": [{"auc": 0.8}, {"auc": 0.9}]}}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("metrics.accuracy.value", 0.91),
        ("metrics.folds[1].auc", 0.9),
        ("metrics.accuracy", {"value": 0.91}),
    ],
)
def test_read_json_path_reads_dotted_keys_and_indices(path, value):
    assert read_json_path(REPORT, path) == value


def test_read_json_path_reports_a_missing_value():
    with pytest.raises(LookupError, match=r"the document has no value at 'metrics.folds\[2\].auc'"):
        read_json_path(REPORT, "metrics.folds[2].auc")


def test_read_json_path_rejects_jsonpath_syntax_it_does_not_share():
    with pytest.raises(ValueError, match=r"'\$.metrics' is not a json path"):
        read_json_path(REPORT, "$.metrics")


def _step(name: str, code: str) -> ProcessingStep:
    return ProcessingStep(
        name=name, image_uri=IMAGE, code=code, entry_point="run.py", instance_type="ml.t3.medium"
    )


def test_local_code_paths_resolve_against_the_base_directory(tmp_path):
    pipeline = Pipeline(
        name="p",
        base_directory=str(tmp_path),
        steps=[_step("A", "jobs"), _step("B", "/opt/shared"), _step("C", "jobs")],
    )

    assert local_code_paths(pipeline) == {
        "jobs": tmp_path / "jobs",
        "/opt/shared": Path("/opt/shared"),
    }


def test_local_code_paths_default_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    assert local_code_paths(valid_pipeline()) == {"code": tmp_path / "code"}


def test_looking_up_a_missing_step_or_parameter_names_it():
    pipeline = valid_pipeline()

    with pytest.raises(KeyError, match="pipeline 'p' has no step 'Nope'"):
        pipeline.step("Nope")
    with pytest.raises(KeyError, match="pipeline 'p' has no parameter 'Nope'"):
        pipeline.parameter("Nope")
