"""Score the trained model on the test split and write ``evaluation.json``.

Runs as a SageMaker Processing job on the built-in XGBoost image (Python 3.8+, xgboost and
numpy), which can load the model exactly as the algorithm saved it. Reads:

* ``<base-dir>/input/model/model.tar.gz``: the training job's artifacts, holding
  ``xgboost-model``;
* ``<base-dir>/input/test/*.csv``: label first, then features, no header.

Writes ``<base-dir>/output/evaluation/evaluation.json``::

    {"metrics": {"accuracy": {"value": 0.93}, "precision": {"value": ...}, "recall": ...,
                 "f1": ..., "auc": ...},
     "test_rows": 300, "threshold": 0.5}

When the pipeline is tracked (``MLFLOW_TRACKING_URI`` is set, see :mod:`tracking`), the step
logs the metrics and the test row count as ``<step>/<name>`` metrics of the execution's MLflow
run, its threshold as a param, and, named after the training step (``--training-step``), the
model's location (``--model-uri``) and the training job's hyperparameters
(``--hyperparameter``): ``Train/model_uri``, ``Train/max_depth``... It is the last job of the
pipeline that runs code, so it marks the run FINISHED.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import xgboost

if TYPE_CHECKING:  # the type checker sees the package; the job, the script's own directory
    from mlpipes_constructs.reference.scripts import tracking
else:
    import tracking

MODEL_FILE = "xgboost-model"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base-dir",
        default="/opt/ml/processing",
        help="Processing directory holding input/ and output/ (default: %(default)s)",
    )
    parser.add_argument(
        "--threshold", type=float, default=0.5, help="Probability above which a review is positive"
    )
    parser.add_argument(
        "--model-uri", default="", help="Where the model artifacts are, for the tracking record"
    )
    parser.add_argument(
        "--training-step",
        default="Train",
        help="Step that trained the model: prefix of its tracked params (default: %(default)s)",
    )
    parser.add_argument(
        "--hyperparameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="A hyperparameter of the training job, for the tracking record (repeatable)",
    )
    return parser.parse_args(argv)


def training_params(
    training_step: str, model_uri: str, hyperparameters: Sequence[str]
) -> dict[str, str]:
    """The training job's params as ``<training_step>/<name>``: ``model_uri`` (when given) and
    each ``NAME=VALUE`` hyperparameter.

    Raises:
        ValueError: a hyperparameter is not ``NAME=VALUE``.
    """
    params = {f"{training_step}/model_uri": model_uri} if model_uri else {}
    for item in hyperparameters:
        name, separator, value = item.partition("=")
        if not separator or not name:
            raise ValueError(f"--hyperparameter '{item}' is not NAME=VALUE")
        params[f"{training_step}/{name}"] = value
    return params


def load_model(model_dir: str) -> xgboost.Booster:
    """The booster saved as ``xgboost-model`` inside ``model_dir/model.tar.gz``."""
    with tempfile.TemporaryDirectory() as extract_dir:
        with tarfile.open(os.path.join(model_dir, "model.tar.gz")) as archive:
            archive.extract(MODEL_FILE, path=extract_dir)
        booster = xgboost.Booster()
        booster.load_model(os.path.join(extract_dir, MODEL_FILE))
    return booster


def load_test_split(test_dir: str) -> tuple[np.ndarray, np.ndarray]:
    """Labels and features of every CSV file in ``test_dir``."""
    paths = sorted(glob.glob(os.path.join(test_dir, "*.csv")))
    if not paths:
        raise SystemExit(f"no CSV files in {test_dir}")
    data = np.vstack([np.loadtxt(path, delimiter=",", ndmin=2) for path in paths])
    return data[:, 0], data[:, 1:]


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve: the chance a positive outranks a negative (ties count half).

    None when the split holds a single class, where the area is undefined.
    """
    positives, negatives = scores[labels == 1], scores[labels == 0]
    if len(positives) == 0 or len(negatives) == 0:
        return None
    wins = (positives[:, None] > negatives[None, :]).sum()
    ties = (positives[:, None] == negatives[None, :]).sum()
    return float((wins + 0.5 * ties) / (len(positives) * len(negatives)))


def binary_metrics(
    labels: np.ndarray, scores: np.ndarray, threshold: float
) -> dict[str, float | None]:
    """Accuracy, precision, recall, F1 and AUC of thresholded scores."""
    predicted = (scores > threshold).astype(np.float64)
    true_positives = float(((predicted == 1) & (labels == 1)).sum())
    precision = true_positives / predicted.sum() if predicted.sum() else 0.0
    recall = true_positives / labels.sum() if labels.sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "accuracy": float((predicted == labels).mean()),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "auc": roc_auc(labels, scores),
    }


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        params = training_params(args.training_step, args.model_uri, args.hyperparameter)
    except ValueError as error:
        raise SystemExit(f"evaluate.py: {error}") from None
    with tracking.start_step("Evaluate", ends_run=True) as run:
        run.log_params({"threshold": args.threshold})
        run.log_run_params(params)
        metrics, test_rows = evaluate(args.base_dir, args.threshold)
        run.log_metrics({**metrics, "test_rows": test_rows})


def evaluate(base_dir: str, threshold: float) -> tuple[dict[str, float | None], int]:
    """Score the model on the test split and write ``evaluation.json``; the metrics and the
    number of test rows."""
    booster = load_model(os.path.join(base_dir, "input", "model"))
    labels, features = load_test_split(os.path.join(base_dir, "input", "test"))
    scores = booster.predict(xgboost.DMatrix(features))
    metrics = binary_metrics(labels, scores, threshold)

    report = {
        "metrics": {name: {"value": value} for name, value in metrics.items()},
        "test_rows": len(labels),
        "threshold": threshold,
    }
    output_dir = os.path.join(base_dir, "output", "evaluation")
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "evaluation.json"), "w", encoding="utf-8") as file:
        json.dump(report, file, indent=2)
    print(json.dumps(report["metrics"]))
    return metrics, len(labels)


if __name__ == "__main__":
    main(sys.argv[1:])
