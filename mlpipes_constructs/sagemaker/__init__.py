"""SageMaker Pipelines: the compiler (spec -> pipeline definition) and the constructs.

:class:`SageMakerPipeline` deploys a pipeline from a spec, a definition dict or a ``sagemaker``
SDK pipeline, with a least-privilege role, schedule and S3 triggers and failure notifications;
:class:`ModelRegistry` holds a model package group and can deploy approved versions to an
endpoint; :class:`FeatureStore` and :class:`FeatureGroup` provision feature groups whose data is
protected from accidental replacement.
"""

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
from mlpipes_constructs.sagemaker.registry import EndpointDeployment, ModelRegistry

__all__ = [
    "EndpointDeployment",
    "FeatureDefinition",
    "FeatureGroup",
    "FeatureStore",
    "FeatureType",
    "ModelRegistry",
    "SageMakerPipeline",
    "compile_pipeline_definition",
    "definition_to_json",
    "pipeline_step_types",
]
