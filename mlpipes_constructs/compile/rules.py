"""SageMaker API rules that more than one compiler applies (pure functions, no CDK)."""

from __future__ import annotations

#: A training job's ``MaxRuntimeInSeconds`` when the spec sets none (SageMaker's own default).
DEFAULT_MAX_RUNTIME_SECONDS = 86_400
# Families whose instances have local NVMe storage only (besides every family with a "d").
_INSTANCE_STORAGE_FAMILIES = ("g5", "g6", "g7e", "p5", "p6-b200", "trn1", "trn2")


def training_max_runtime(max_runtime_seconds: int | None, max_wait_seconds: int | None) -> int:
    """A training job's ``MaxRuntimeInSeconds``: the one given, else the default.

    The default is capped at ``max_wait_seconds``, because spot training needs
    ``MaxWaitTimeInSeconds >= MaxRuntimeInSeconds``.
    """
    if max_runtime_seconds is not None:
        return max_runtime_seconds
    if max_wait_seconds is not None:
        return min(DEFAULT_MAX_RUNTIME_SECONDS, max_wait_seconds)
    return DEFAULT_MAX_RUNTIME_SECONDS


def has_instance_storage_only(instance_type: object) -> bool:
    """Whether a constant instance type has local NVMe storage and no EBS volume.

    CreateEndpointConfig refuses a ``KmsKeyId`` for those types. A parameter (not a string)
    is assumed to have a volume.
    """
    if not isinstance(instance_type, str):
        return False
    family = instance_type.removeprefix("ml.").partition(".")[0]
    return "d" in family or family.startswith(_INSTANCE_STORAGE_FAMILIES)
