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

from mlpipes_constructs.compile import naming
from mlpipes_constructs.compile.naming import (
    MAX_NAME_LENGTH,
    MAX_TUNING_JOB_NAME_LENGTH,
    default_prefix,
    is_sagemaker_name,
)

RUN_TOKEN_LENGTH = 20
#: Where the compiled state machine keeps the split UUID and the run token.
UUID_PARTS_PATH = "$.uuid"
RUN_TOKEN_PATH = "$.run.token"


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

    The slug leaves room for ``-`` and the run token; it is shortened the compile core's way
    (:func:`mlpipes_constructs.compile.naming.shortened`), so different steps keep different
    slugs.
    """
    return naming.slug(prefix, step_name, max_name_length - RUN_TOKEN_LENGTH - 1)


def resource_name(name_slug: str, run_token: str) -> str:
    """Python mirror of :func:`name_expression`: ``<slug>-<run token>``."""
    return f"{name_slug}-{run_token}"


def name_expression(name_slug: str, run_token_path: str = RUN_TOKEN_PATH) -> str:
    """The intrinsic that names a step's resource in an execution."""
    return f"States.Format('{name_slug}-{{}}', {run_token_path})"


__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_TUNING_JOB_NAME_LENGTH",
    "RUN_TOKEN_LENGTH",
    "default_prefix",
    "is_sagemaker_name",
    "name_expression",
    "resource_name",
    "run_token_expression",
    "run_token_from_uuid",
    "slug",
    "uuid_parts_expression",
]
