"""The Kubernetes versions the cluster construct accepts without an override."""

from __future__ import annotations

import re

#: Kubernetes versions in Amazon EKS standard support when Kubeflow Pipelines 2.17.0 was
#: released (2026-07), each supported by ``aws_eks_v2.KubernetesVersion`` in aws-cdk-lib 2.275
#: and within one minor version of the kubectl 1.35 of the kubectl layer package (kubectl's
#: version skew policy). Source: the Amazon EKS Kubernetes release calendar.
SUPPORTED_KUBERNETES_VERSIONS: tuple[str, ...] = ("1.34", "1.35", "1.36")

#: The default: the middle of the supported window, in standard support into 2027.
DEFAULT_KUBERNETES_VERSION = "1.35"

#: The kubectl the bundled layer ships, and the versions it may talk to (one minor either way).
KUBECTL_LAYER_VERSION = "1.35"

_VERSION = re.compile(r"^1\.(\d{2})$")


def minor(version: str) -> int | None:
    """The minor version of ``"1.NN"``, or None when ``version`` has another form."""
    match = _VERSION.match(version)
    return int(match.group(1)) if match else None


def kubectl_layer_supports(version: str) -> bool:
    """Whether the bundled kubectl (1.35) may manage a cluster of ``version``."""
    version_minor = minor(version)
    layer_minor = minor(KUBECTL_LAYER_VERSION)
    return (
        version_minor is not None
        and layer_minor is not None
        and abs(version_minor - layer_minor) <= 1
    )
