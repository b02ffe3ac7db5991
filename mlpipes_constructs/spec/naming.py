"""The naming rules of a spec, chosen so every orchestrator accepts the names unchanged.

* Pipeline and step names: 1-64 letters, digits and hyphens, starting with a letter and not
  ending with a hyphen. This is a subset of what SageMaker Pipelines
  (``^[A-Za-z0-9](-*[A-Za-z0-9]){0,255}$``), Step Functions state names, Airflow task ids and
  (after the compiler lowercases them) Kubeflow component names accept. Step names must be
  unique ignoring case, because Kubeflow compares them lowercased.
* Parameter names: 1-64 letters and digits, starting with a letter: also a Python identifier
  (Kubeflow pipeline arguments) and a plain key in Step Functions and Airflow inputs.
* Input, output, channel and property file names: 1-64 letters, digits, hyphens and
  underscores, starting with a letter or digit.
* Model package group and endpoint names: SageMaker's rule, 1-63 letters, digits and hyphens,
  starting and ending with a letter or digit.
"""

from __future__ import annotations

import re

STEP_NAME_PATTERN = re.compile(r"[A-Za-z](-*[A-Za-z0-9]){0,63}")
STEP_NAME_RULE = (
    "use 1-64 letters, digits and hyphens, starting with a letter and not ending with a hyphen"
)
PARAMETER_NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}")
PARAMETER_NAME_RULE = "use 1-64 letters and digits, starting with a letter"
LOCAL_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
LOCAL_NAME_RULE = (
    "use 1-64 letters, digits, hyphens and underscores, starting with a letter or digit"
)
RESOURCE_NAME_PATTERN = re.compile(r"[A-Za-z0-9](-*[A-Za-z0-9]){0,62}")
RESOURCE_NAME_RULE = (
    "use 1-63 letters, digits and hyphens, starting and ending with a letter or digit"
)


def is_step_name(name: str) -> bool:
    """Whether ``name`` is a valid pipeline or step name (see the module docstring)."""
    return len(name) <= 64 and STEP_NAME_PATTERN.fullmatch(name) is not None


def is_parameter_name(name: str) -> bool:
    """Whether ``name`` is a valid parameter name."""
    return PARAMETER_NAME_PATTERN.fullmatch(name) is not None


def is_local_name(name: str) -> bool:
    """Whether ``name`` is a valid input, output, channel or property file name."""
    return LOCAL_NAME_PATTERN.fullmatch(name) is not None


def is_resource_name(name: str) -> bool:
    """Whether ``name`` is a valid model package group or endpoint name."""
    return len(name) <= 63 and RESOURCE_NAME_PATTERN.fullmatch(name) is not None
