"""Names of the SageMaker resources a compiled pipeline creates, within SageMaker's limits.

A name too long for its limit keeps its start and ends with ``-`` and 6 hex digits of the full
name's SHA-256, so two different long names stay different. Every compiler shortens names this
one way.
"""

from __future__ import annotations

import hashlib
import re

#: SageMaker's limit on job, model, endpoint and endpoint configuration names.
MAX_NAME_LENGTH = 63
#: SageMaker's limit on hyperparameter tuning job names.
MAX_TUNING_JOB_NAME_LENGTH = 32
#: SageMaker's limit on pipeline step names.
MAX_STEP_NAME_LENGTH = 64
#: How many hex digits of a hash a shortened name ends with.
HASH_LENGTH = 6
_NAME_CHARS = re.compile(r"[A-Za-z0-9-]+")


def digest(text: str, length: int = HASH_LENGTH) -> str:
    """The first ``length`` hex digits of the SHA-256 of ``text``."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def shortened(name: str, limit: int) -> str:
    """``name``, or its start and a hash of the whole of it when it is longer than ``limit``."""
    if len(name) <= limit:
        return name
    return f"{name[: limit - HASH_LENGTH - 1].rstrip('-')}-{digest(name)}"


def slug(prefix: str, step_name: str, limit: int) -> str:
    """``<prefix>-<step>`` lowercased, without trailing hyphens, shortened to ``limit``.

    Lowercase because SageMaker lowers names in ARNs, so IAM can name them.
    """
    full = "-".join(part for part in (prefix.lower(), step_name.lower()) if part).rstrip("-")
    return shortened(full, limit)


def default_prefix(pipeline_name: str) -> str:
    """A pipeline's default job name prefix: its name, lowercased, at most 16 characters."""
    return pipeline_name.lower()[:16].rstrip("-")


def is_sagemaker_name(name: str, max_length: int = MAX_NAME_LENGTH) -> bool:
    """``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,max_length-1}$``, without the regex's backtracking."""
    return (
        0 < len(name) <= max_length
        and _NAME_CHARS.fullmatch(name) is not None
        and name[0] != "-"
        and name[-1] != "-"
    )
