"""The reference pipeline: a customer-review classifier with real job scripts and sample data.

The job scripts live in ``scripts/`` (run by SageMaker Processing); :mod:`.sample_data` makes
a synthetic review data set and :mod:`.local` runs the jobs on this machine.
"""

from mlpipes_constructs.reference.pipeline import (
    ACCURACY_JSON_PATH,
    SKLEARN_IMAGE_TAG,
    XGBOOST_HYPERPARAMETERS,
    XGBOOST_IMAGE_TAG,
    reference_pipeline,
)
from mlpipes_constructs.reference.sample_data import Review, generate_reviews, write_reviews_csv

__all__ = [
    "ACCURACY_JSON_PATH",
    "SKLEARN_IMAGE_TAG",
    "XGBOOST_HYPERPARAMETERS",
    "XGBOOST_IMAGE_TAG",
    "Review",
    "generate_reviews",
    "reference_pipeline",
    "write_reviews_csv",
]
