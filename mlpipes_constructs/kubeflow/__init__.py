"""Kubeflow Pipelines on Amazon EKS: a private cluster, a pinned KFP install on AWS storage,
and pipeline specs compiled to KFP pipelines (``compiler.compile_kfp_pipeline``).

Names are imported on first use, so ``import mlpipes_constructs.kubeflow`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlpipes_constructs.kubeflow.cluster import KubeflowCluster, ManagedNodeGroupOptions
    from mlpipes_constructs.kubeflow.pipeline import KubeflowPipeline
    from mlpipes_constructs.kubeflow.pipelines_install import (
        KubeflowPipelines,
        MetadataDatabaseOptions,
    )

__all__ = [
    "KubeflowCluster",
    "KubeflowPipeline",
    "KubeflowPipelines",
    "ManagedNodeGroupOptions",
    "MetadataDatabaseOptions",
]

_MODULES = {
    "KubeflowCluster": "cluster",
    "ManagedNodeGroupOptions": "cluster",
    "KubeflowPipeline": "pipeline",
    "KubeflowPipelines": "pipelines_install",
    "MetadataDatabaseOptions": "pipelines_install",
}


def __getattr__(name: str) -> Any:
    """Import the module of ``name`` on first use."""
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
