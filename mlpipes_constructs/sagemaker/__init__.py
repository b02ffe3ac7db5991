"""SageMaker Pipelines: the compiler (spec -> pipeline definition) and the constructs.

:class:`SageMakerPipeline` deploys a pipeline from a spec, a definition dict or a ``sagemaker``
SDK pipeline, with a least-privilege role, schedule and S3 triggers and failure notifications;
:class:`ModelRegistry` holds a model package group, and :class:`ApprovalDeployment` deploys
its approved versions to an endpoint; :class:`FeatureStore` and :class:`FeatureGroup`
provision feature groups whose data is protected from accidental replacement.
"""

from mlpipes_constructs.sagemaker.approval_deployment import (
    ApprovalDeployment,
    EndpointDeployment,
)
from mlpipes_constructs.sagemaker.compiler import (
    compile_pipeline_definition,
    definition_to_json,
    pipeline_step_types,
)
from mlpipes_constructs.sagemaker.feature_store import (
    FeatureDefinition,
    FeatureGroup,
    FeatureStore,
    FeatureType,
)
from mlpipes_constructs.sagemaker.pipeline import SageMakerPipeline
from mlpipes_constructs.sagemaker.registry import IModelRegistry, ModelRegistry

__all__ = [
    "ApprovalDeployment",
    "EndpointDeployment",
    "FeatureDefinition",
    "FeatureGroup",
    "FeatureStore",
    "FeatureType",
    "IModelRegistry",
    "ModelRegistry",
    "SageMakerPipeline",
    "compile_pipeline_definition",
    "definition_to_json",
    "pipeline_step_types",
]
