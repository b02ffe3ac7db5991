"""SageMaker names a compiled state machine gives its jobs, models and endpoint configs.

Every name is ``<slug>-<run token>``:

* the *slug* is fixed per step: ``<job name prefix>-<step name>``, lowercased (SageMaker lowers
  names in ARNs, and IAM scopes each task to ``<slug>-*``), shortened with a hash of the full
  slug when it would not fit, so it stays unique among the pipeline's steps;
* the *run token* is made once per execution, at its start, from a random UUID: its first and
  last groups, 20 hex digits (80 random bits). It does not depend on the execution name, so
  names stay short however long the name is, and two executions never share it in practice.

SageMaker allows 63 characters (32 for tuning jobs), so a slug gets at most 42 (11). The same
construction is written in ASL by :func:`run_token_expression` and :func:`name_expression`;
:func:`run_token_from_uuid` and :func:`resource_name` mirror them in Python.
"""

from __future__ import annotations

import hashlib
import re

RUN_TOKEN_LENGTH = 20
#: SageMaker's limit on job, model, endpoint config and endpoint names.
MAX_NAME_LENGTH = 63
#: SageMaker's limit on hyperparameter tuning job names.
MAX_TUNING_JOB_NAME_LENGTH = 32
#: SageMaker's name pattern.
NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
#: Where the compiled state machine keeps the split UUID and the run token.
UUID_PARTS_PATH = "$.uuid"
RUN_TOKEN_PATH = "$.run.token"
_HASH_LENGTH = 6


def run_token_expression(uuid_parts_path: str = UUID_PARTS_PATH) -> str:
    """The intrinsic that builds the run token from ``States.StringSplit(States.UUID(), '-')``."""
    return (
        f"States.Format('{{}}{{}}', States.ArrayGetItem({uuid_parts_path}, 0), "
        f"States.ArrayGetItem({uuid_parts_path}, 4))"
    )


def uuid_parts_expression() -> str:
    """The intrinsic that makes a random UUID and splits it into its five groups."""
    return "States.StringSplit(States.UUID(), '-')"


def run_token_from_uuid(uuid: str) -> str:
    """Python mirror of :func:`run_token_expression`: first and last UUID groups."""
    parts = uuid.split("-")
    return f"{parts[0]}{parts[4]}"


def slug(prefix: str, step_name: str, max_name_length: int = MAX_NAME_LENGTH) -> str:
    """The fixed start of a step's names: ``<prefix>-<step>`` lowercased, shortened to fit.

    The slug leaves room for ``-`` and the run token. A slug that is too long keeps its start
    and ends with ``-`` and 6 hex digits of the full slug's SHA-256, so different steps keep
    different slugs.
    """
    limit = max_name_length - RUN_TOKEN_LENGTH - 1
    full = "-".join(part for part in (prefix.lower(), step_name.lower()) if part)
    full = re.sub(r"-+$", "", full)
    if len(full) <= limit:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:_HASH_LENGTH]
    head = full[: limit - _HASH_LENGTH - 1].rstrip("-")
    return f"{head}-{digest}"


def resource_name(name_slug: str, run_token: str) -> str:
    """Python mirror of :func:`name_expression`: ``<slug>-<run token>``."""
    return f"{name_slug}-{run_token}"


def name_expression(name_slug: str, run_token_path: str = RUN_TOKEN_PATH) -> str:
    """The intrinsic that names a step's resource in an execution."""
    return f"States.Format('{name_slug}-{{}}', {run_token_path})"


def default_prefix(pipeline_name: str) -> str:
    """A pipeline's default job name prefix: its name, lowercased, at most 16 characters."""
    return pipeline_name.lower()[:16].rstrip("-")


def is_sagemaker_name(name: str, max_length: int = MAX_NAME_LENGTH) -> bool:
    """Whether SageMaker accepts ``name`` (letters, digits, hyphens; ``max_length`` at most)."""
    return len(name) <= max_length and NAME_PATTERN.fullmatch(name) is not None
