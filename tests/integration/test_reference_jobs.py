"""The reference pipeline's jobs, run end to end on this machine as their containers run them.

Sample data -> ``preprocess.py`` (subprocess) -> built-in XGBoost stand-in -> ``evaluate.py``
(subprocess). Each job gets its inputs where the spec says its container finds them, so the
spec's wiring is tested along with the scripts.
"""

from __future__ import annotations

import json
import tarfile

import numpy as np
import pytest

from mlpipes_constructs.reference import reference_pipeline, write_reviews_csv
from mlpipes_constructs.reference.local import (
    XGBOOST_MODEL_FILE,
    run_processing_step,
    train_builtin_xgboost,
)
from mlpipes_constructs.spec import (
    Comparison,
    ConditionStep,
    JsonValue,
    ModelArtifacts,
    ProcessingStep,
    read_json_path,
)

pytestmark = pytest.mark.integration

N_FEATURES = 1024  # the preprocessing script's default


@pytest.fixture(scope="module")
def pipeline():
    return reference_pipeline(input_data_uri="s3://example-bucket/reviews/")


@pytest.fixture(scope="module")
def run(pipeline, tmp_path_factory):
    """Run Preprocess -> Train -> Evaluate once; return each job's local outputs."""
    work = tmp_path_factory.mktemp("reference-jobs")
    raw = write_reviews_csv(work / "data" / "reviews.csv", count=2000)
    splits = run_processing_step(
        pipeline, "Preprocess", inputs={"raw": raw.parent}, work_dir=work / "preprocess"
    )
    model = train_builtin_xgboost(
        pipeline,
        "Train",
        channels={"train": splits["train"], "validation": splits["validation"]},
        output_dir=work / "train",
    )
    evaluation = run_processing_step(
        pipeline,
        "Evaluate",
        inputs={"model": model, "test": splits["test"]},
        work_dir=work / "evaluate",
        references={ModelArtifacts("Train"): model.as_uri()},
    )
    return {"splits": splits, "model": model, "evaluation": evaluation}


def _gate_operand(pipeline) -> JsonValue:
    gate = pipeline.step("CheckAccuracy")
    assert isinstance(gate, ConditionStep) and isinstance(gate.condition, Comparison)
    assert isinstance(gate.condition.left, JsonValue)
    return gate.condition.left


def _report(pipeline, run) -> dict:
    """The evaluation report, found through the property file the gate reads."""
    operand = _gate_operand(pipeline)
    step = pipeline.step(operand.step)
    assert isinstance(step, ProcessingStep)
    (file,) = [f for f in step.property_files if f.name == operand.property_file]
    return json.loads((run["evaluation"][file.output_name] / file.path).read_text())


def test_preprocess_writes_label_first_csv_splits_without_header(run):
    splits = run["splits"]
    train = np.loadtxt(splits["train"] / "train.csv", delimiter=",")
    validation = np.loadtxt(splits["validation"] / "validation.csv", delimiter=",")
    test = np.loadtxt(splits["test"] / "test.csv", delimiter=",")
    transform = np.loadtxt(splits["transform"] / "test_features.csv", delimiter=",")

    assert (len(train), len(validation), len(test)) == (1400, 300, 300)
    assert train.shape[1] == validation.shape[1] == test.shape[1] == N_FEATURES + 1
    assert set(np.unique(train[:, 0])) == {0.0, 1.0}
    np.testing.assert_allclose(transform, test[:, 1:])


def test_training_writes_the_model_as_the_built_in_algorithm_does(run):
    with tarfile.open(run["model"]) as archive:
        assert archive.getnames() == [XGBOOST_MODEL_FILE]


def test_the_report_holds_the_value_the_accuracy_gate_reads(pipeline, run):
    report = _report(pipeline, run)
    accuracy = read_json_path(report, _gate_operand(pipeline).json_path)

    assert isinstance(accuracy, float)
    assert accuracy >= pipeline.parameter("AccuracyThreshold").default
    assert set(report["metrics"]) == {"accuracy", "precision", "recall", "f1", "auc"}
    assert report["test_rows"] == 300


def test_the_model_is_well_above_chance_on_the_synthetic_reviews(pipeline, run):
    report = _report(pipeline, run)
    labels = np.loadtxt(run["splits"]["test"] / "test.csv", delimiter=",")[:, 0]
    majority_class_share = max(labels.mean(), 1 - labels.mean())

    assert report["metrics"]["accuracy"]["value"] > majority_class_share + 0.1
    assert report["metrics"]["auc"]["value"] > 0.8
    assert report["metrics"]["f1"]["value"] > 0.8
