"""Shared platform parts: network, encryption key, artifact storage and job roles."""

from mlpipes_constructs.foundation.encryption import PlatformKey
from mlpipes_constructs.foundation.job_role import SageMakerJobRole
from mlpipes_constructs.foundation.network import INTERFACE_ENDPOINT_SERVICES, MlNetwork
from mlpipes_constructs.foundation.resources import FoundationResources
from mlpipes_constructs.foundation.storage import ArtifactStorage

__all__ = [
    "INTERFACE_ENDPOINT_SERVICES",
    "ArtifactStorage",
    "FoundationResources",
    "MlNetwork",
    "PlatformKey",
    "SageMakerJobRole",
]
