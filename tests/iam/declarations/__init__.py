"""Declared run-time calls, one table per stack."""

from __future__ import annotations

from tests.iam.calls import Declaration
from tests.iam.declarations import (
    a2i,
    foundation,
    kubeflow,
    mlflow,
    mwaa,
    mwaa_serverless,
    sagemaker,
    stepfunctions,
)

#: Every declaration of every stack. A new stack adds ``*its_module.DECLARATIONS`` here.
DECLARATIONS: tuple[Declaration, ...] = (
    *a2i.DECLARATIONS,
    *foundation.DECLARATIONS,
    *kubeflow.DECLARATIONS,
    *mlflow.DECLARATIONS,
    *mwaa.DECLARATIONS,
    *mwaa_serverless.DECLARATIONS,
    *sagemaker.DECLARATIONS,
    *stepfunctions.DECLARATIONS,
)
