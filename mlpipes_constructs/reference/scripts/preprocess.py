"""Turn raw customer reviews into XGBoost-ready train, validation and test splits.

Runs as a SageMaker Processing job on the SageMaker scikit-learn image (Python 3.8+, numpy and
scikit-learn). Reads every ``*.csv`` file in ``<base-dir>/input/raw`` with the columns
``review_text`` and ``star_rating``, and writes, under ``<base-dir>/output``:

* ``train/train.csv``, ``validation/validation.csv``, ``test/test.csv``: the label (1 when the
  rating is 4 or more) in the first column, then the features; no header, as the built-in
  XGBoost algorithm reads CSV;
* ``transform/test_features.csv``: the test split's features only, for batch transform.

Features are a hashed bag of words and word pairs, L2-normalized, of a fixed dimension, so no
vocabulary has to be fitted or shipped with the model.

When the pipeline is tracked (``MLFLOW_TRACKING_URI`` is set, see :mod:`tracking`), the step
logs its arguments as params and :func:`data_statistics` as metrics to the execution's MLflow
run, named ``<step>/<name>``.
"""

from __future__ import annotations

import argparse
import csv
import glob
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer

if TYPE_CHECKING:  # the type checker sees the package; the job, the script's own directory
    from mlpipes_constructs.reference.scripts import tracking
else:
    import tracking

POSITIVE_RATING = 4
SPLITS = ("train", "validation", "test")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base-dir",
        default="/opt/ml/processing",
        help="Processing directory holding input/ and output/ (default: %(default)s)",
    )
    parser.add_argument("--n-features", type=int, default=1024, help="Feature dimension")
    parser.add_argument("--validation-fraction", type=float, default=0.15)
    parser.add_argument("--test-fraction", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=42, help="Seed of the split")
    return parser.parse_args(argv)


def read_reviews(input_dir: str) -> tuple[list[str], np.ndarray]:
    """Review texts and star ratings from every CSV file in ``input_dir``, in file order."""
    texts: list[str] = []
    ratings: list[int] = []
    paths = sorted(glob.glob(os.path.join(input_dir, "*.csv")))
    if not paths:
        raise SystemExit(f"no CSV files in {input_dir}")
    for path in paths:
        with open(path, newline="", encoding="utf-8") as file:
            for row in csv.DictReader(file):
                texts.append(row["review_text"])
                ratings.append(int(row["star_rating"]))
    return texts, np.asarray(ratings)


def vectorize(texts: list[str], n_features: int) -> np.ndarray:
    """Hashed, L2-normalized counts of words and word pairs, as a dense float matrix."""
    vectorizer = HashingVectorizer(
        n_features=n_features, ngram_range=(1, 2), alternate_sign=False, norm="l2"
    )
    features: np.ndarray = vectorizer.transform(texts).toarray()
    return features


def split_indices(
    n_rows: int, validation_fraction: float, test_fraction: float, seed: int
) -> dict[str, np.ndarray]:
    """Shuffled row indices of the train, validation and test splits."""
    order = np.random.default_rng(seed).permutation(n_rows)
    n_test = round(n_rows * test_fraction)
    n_validation = round(n_rows * validation_fraction)
    test, validation = order[:n_test], order[n_test : n_test + n_validation]
    return {"train": order[n_test + n_validation :], "validation": validation, "test": test}


def data_statistics(labels: np.ndarray, splits: dict[str, np.ndarray]) -> dict[str, float]:
    """Row counts and class balance: ``rows`` and ``positive_fraction`` overall and per split
    (``rows_train``, ``positive_fraction_train``...); a split with no rows has no fraction."""
    statistics = {"rows": float(len(labels))}
    if len(labels):
        statistics["positive_fraction"] = float(labels.mean())
    for name in SPLITS:
        split_labels = labels[splits[name]]
        statistics[f"rows_{name}"] = float(len(split_labels))
        if len(split_labels):
            statistics[f"positive_fraction_{name}"] = float(split_labels.mean())
    return statistics


def write_csv(path: str, matrix: np.ndarray) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.savetxt(path, matrix, delimiter=",", fmt="%.6g")


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with tracking.start_step("Preprocess") as run:
        run.log_params(
            {
                "n_features": args.n_features,
                "validation_fraction": args.validation_fraction,
                "test_fraction": args.test_fraction,
                "seed": args.seed,
            }
        )
        preprocess(args, run)


def preprocess(args: argparse.Namespace, run: tracking.StepRun) -> None:
    """Read, vectorize, split and write the reviews; log the data statistics to ``run``."""
    texts, ratings = read_reviews(os.path.join(args.base_dir, "input", "raw"))
    labels = (ratings >= POSITIVE_RATING).astype(np.float64)
    features = vectorize(texts, args.n_features)
    splits = split_indices(len(texts), args.validation_fraction, args.test_fraction, args.seed)

    output_dir = os.path.join(args.base_dir, "output")
    for name in SPLITS:
        rows = splits[name]
        labelled = np.column_stack([labels[rows], features[rows]])
        write_csv(os.path.join(output_dir, name, f"{name}.csv"), labelled)
    write_csv(os.path.join(output_dir, "transform", "test_features.csv"), features[splits["test"]])
    sizes = ", ".join(f"{name}={len(splits[name])}" for name in SPLITS)
    print(f"wrote {sizes} rows with {args.n_features} features")
    run.log_metrics(data_statistics(labels, splits))


if __name__ == "__main__":
    main(sys.argv[1:])
