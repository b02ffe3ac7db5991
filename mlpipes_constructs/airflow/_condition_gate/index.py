"""Condition gate of an MWAA Serverless workflow: evaluate a compiled spec condition.

Runs in AWS Lambda on the Python runtime's own boto3, invoked by the workflow's
``LambdaInvokeFunctionOperator`` task with the payload the serverless compiler wrote:

``{"step": ..., "condition": ..., "message": [...]}``, where ``condition`` is ``{"and": [...]}``,
``{"or": [...]}``, ``{"not": ...}`` or ``{"compare": op, "left": operand, "right": operand}``,
and an operand is ``{"const": value}`` or ``{"json": {"uri": "s3://bucket/key", "path": ...}}``
(a value of a JSON report in S3, at a dotted path such as ``metrics.accuracy.value`` or
``scores[0]``). These are the semantics of the DAG factory's ``read_json_path`` and
``evaluate`` (``dags/factory/mlpipes_dag.py``), which imports Airflow and so cannot run here.

The function returns ``{"result": true}`` when the condition holds, and raises
:class:`ConditionFalseError` with the fail step's message when it does not, so the task (and the
workflow run) fails with that message and the tasks after the gate never run.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from botocore.exceptions import ClientError

_S3_URI = re.compile(r"s3://([^/]+)/(.+)")
_JSON_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_s3: Any = None


class ConditionFalseError(Exception):
    """The condition does not hold; the message is the spec's fail message."""


class ReportError(Exception):
    """A report is missing, not JSON, or has no value at the path."""


def _client() -> Any:
    global _s3
    if _s3 is None:
        _s3 = boto3.client("s3")
    return _s3


def read_json_path(document: Any, json_path: str) -> Any:
    """The value at a dotted path (``metrics.accuracy.value``, ``scores[0]``)."""
    value = document
    for key, index in _JSON_PATH_TOKEN.findall(json_path):
        if key and isinstance(value, Mapping) and key in value:
            value = value[key]
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            raise ReportError(f"the document has no value at '{json_path}'")
    return value


def json_value(uri: str, json_path: str) -> Any:
    """The value at ``json_path`` of the JSON document at the ``s3://`` URI ``uri``."""
    match = _S3_URI.fullmatch(uri)
    if match is None:
        raise ReportError(f"property file location '{uri}' is not an s3:// URI")
    try:
        body = _client().get_object(Bucket=match.group(1), Key=match.group(2))["Body"].read()
        document = json.loads(body)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        raise ReportError(f"the property file '{uri}' cannot be read: {code}") from error
    except json.JSONDecodeError as error:
        raise ReportError(f"the property file '{uri}' is not JSON: {error}") from error
    try:
        return read_json_path(document, json_path)
    except ReportError as error:
        raise ReportError(f"{error} in '{uri}'") from error


def _operand(operand: Mapping[str, Any]) -> Any:
    if "json" in operand:
        return json_value(operand["json"]["uri"], operand["json"]["path"])
    return operand["const"]


def evaluate(condition: Mapping[str, Any]) -> bool:
    """Whether a compiled spec condition holds."""
    if "not" in condition:
        return not evaluate(condition["not"])
    if "and" in condition:
        return all(evaluate(c) for c in condition["and"])
    if "or" in condition:
        return any(evaluate(c) for c in condition["or"])
    left = _operand(condition["left"])
    right = _operand(condition["right"])
    return bool(_COMPARISONS[condition["compare"]](left, right))


def message(parts: list[Mapping[str, Any]]) -> str:
    """The fail message: its parts' values, joined."""
    return "".join(str(_operand(part)) for part in parts)


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Return ``{"result": True}`` if the event's condition holds, else raise its message."""
    if evaluate(event["condition"]):
        return {"result": True}
    raise ConditionFalseError(message(event.get("message") or [{"const": "condition is false"}]))
