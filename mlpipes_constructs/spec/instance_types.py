"""The SageMaker ML instance types a spec may name.

The table lists the instance types SageMaker offers for processing, training, transform or
hosting. It does not model which job kinds or regions support which type: the service checks
that when the job starts. Its purpose is to catch typos and missing ``ml.`` prefixes early.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from types import MappingProxyType

_GENERAL = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge")
_INTEL_6TH_GEN = (*_GENERAL, "24xlarge", "32xlarge")
_INTEL_7TH_GEN = (*_GENERAL, "24xlarge", "48xlarge")
_GRAVITON = ("medium", *_GENERAL)
_NVIDIA_G = (
    "xlarge",
    "2xlarge",
    "4xlarge",
    "8xlarge",
    "12xlarge",
    "16xlarge",
    "24xlarge",
    "48xlarge",
)

#: Instance family (e.g. ``ml.m5``) -> sizes SageMaker offers in it.
INSTANCE_FAMILIES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        # Burstable and general purpose
        "ml.t2": ("medium", "large", "xlarge", "2xlarge"),
        "ml.t3": ("medium", "large", "xlarge", "2xlarge"),
        "ml.m4": ("xlarge", "2xlarge", "4xlarge", "10xlarge", "16xlarge"),
        "ml.m5": ("large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge"),
        "ml.m5d": ("large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge"),
        "ml.m6i": _INTEL_6TH_GEN,
        "ml.m6id": _INTEL_6TH_GEN,
        "ml.m7i": _INTEL_7TH_GEN,
        "ml.m6g": _GRAVITON,
        "ml.m6gd": _GRAVITON,
        # Compute optimized
        "ml.c4": ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge"),
        "ml.c5": ("large", "xlarge", "2xlarge", "4xlarge", "9xlarge", "18xlarge"),
        "ml.c5d": ("large", "xlarge", "2xlarge", "4xlarge", "9xlarge", "18xlarge"),
        "ml.c5n": ("xlarge", "2xlarge", "4xlarge", "9xlarge", "18xlarge"),
        "ml.c6i": _INTEL_6TH_GEN,
        "ml.c6id": _INTEL_6TH_GEN,
        "ml.c7i": _INTEL_7TH_GEN,
        "ml.c6g": _GRAVITON,
        "ml.c6gd": _GRAVITON,
        "ml.c6gn": _GRAVITON,
        "ml.c7g": _GRAVITON,
        # Memory optimized
        "ml.r5": (
            "large",
            "xlarge",
            "2xlarge",
            "4xlarge",
            "8xlarge",
            "12xlarge",
            "16xlarge",
            "24xlarge",
        ),
        "ml.r5d": (
            "large",
            "xlarge",
            "2xlarge",
            "4xlarge",
            "8xlarge",
            "12xlarge",
            "16xlarge",
            "24xlarge",
        ),
        "ml.r6i": _INTEL_6TH_GEN,
        "ml.r7i": _INTEL_7TH_GEN,
        "ml.r6g": _GRAVITON,
        "ml.r6gd": _GRAVITON,
        # Accelerated: NVIDIA GPUs
        "ml.p2": ("xlarge", "8xlarge", "16xlarge"),
        "ml.p3": ("2xlarge", "8xlarge", "16xlarge"),
        "ml.p3dn": ("24xlarge",),
        "ml.p4d": ("24xlarge",),
        "ml.p4de": ("24xlarge",),
        "ml.p5": ("48xlarge",),
        "ml.p5e": ("48xlarge",),
        "ml.p5en": ("48xlarge",),
        "ml.g4dn": ("xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"),
        "ml.g5": _NVIDIA_G,
        "ml.g6": _NVIDIA_G,
        "ml.g6e": _NVIDIA_G,
        # Accelerated: AWS Trainium and Inferentia
        "ml.trn1": ("2xlarge", "32xlarge"),
        "ml.trn1n": ("32xlarge",),
        "ml.trn2": ("48xlarge",),
        "ml.inf1": ("xlarge", "2xlarge", "6xlarge", "24xlarge"),
        "ml.inf2": ("xlarge", "8xlarge", "24xlarge", "48xlarge"),
    }
)

#: Every instance type in :data:`INSTANCE_FAMILIES`, e.g. ``ml.m5.xlarge``.
INSTANCE_TYPES: frozenset[str] = frozenset(
    f"{family}.{size}" for family, sizes in INSTANCE_FAMILIES.items() for size in sizes
)

_FALLBACK_EXAMPLE = "ml.m5.xlarge"


def is_instance_type(value: str) -> bool:
    """Whether ``value`` is a SageMaker ML instance type such as ``ml.m5.xlarge``."""
    return value in INSTANCE_TYPES


def suggest_instance_type(value: str) -> str:
    """The known instance type closest to ``value``, to quote in an error message.

    A missing ``ml.`` prefix is added (``m5.xlarge`` -> ``ml.m5.xlarge``); otherwise the closest
    spelling is chosen, falling back to ``ml.m5.xlarge``.
    """
    prefixed = value if value.startswith("ml.") else f"ml.{value}"
    if prefixed in INSTANCE_TYPES:
        return prefixed
    matches = difflib.get_close_matches(prefixed, sorted(INSTANCE_TYPES), n=1, cutoff=0.6)
    return matches[0] if matches else _FALLBACK_EXAMPLE
