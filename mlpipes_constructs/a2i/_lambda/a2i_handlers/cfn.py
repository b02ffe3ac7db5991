"""Answering CloudFormation for a custom resource, and retrying throttled API calls."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

#: Error codes of a throttled call, across the services the handlers call.
THROTTLING_CODES = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)
#: Attempts of a throttled call, with exponential back-off from 1 s (1, 2, 4, 8... capped).
MAX_ATTEMPTS = 8
MAX_BACKOFF_SECONDS = 20.0

#: (physical resource id, data) of a handled request.
Result = tuple[str, dict[str, Any]]


def error_code(error: Exception) -> str:
    """The AWS error code of a botocore ``ClientError``, or "" for any other error."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", ""))


def call(
    operation: Callable[..., dict[str, Any]],
    sleep: Callable[[float], None] = time.sleep,
    **request: Any,
) -> dict[str, Any]:
    """``operation(**request)``, retried with back-off while the service throttles it."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return operation(**request)
        except Exception as error:
            if error_code(error) not in THROTTLING_CODES or attempt == MAX_ATTEMPTS:
                raise
            sleep(min(2.0 ** (attempt - 1), MAX_BACKOFF_SECONDS))
    raise AssertionError("unreachable")  # pragma: no cover


def run(event: dict[str, Any], handle: Callable[[dict[str, Any]], Result]) -> None:
    """Handle ``event`` and answer CloudFormation with the result or the failure's reason."""
    physical_id = str(event.get("PhysicalResourceId", event["LogicalResourceId"]))
    data: dict[str, Any] = {}
    try:
        physical_id, data = handle(event)
        status, reason = "SUCCESS", "done"
    except Exception as error:  # reported to CloudFormation, which fails the operation
        status, reason = "FAILED", f"{type(error).__name__}: {error}"
    respond(event, status, reason, physical_id, data)


def respond(
    event: dict[str, Any], status: str, reason: str, physical_id: str, data: dict[str, Any]
) -> None:
    """PUT the result to the pre-signed ``ResponseURL`` CloudFormation gave."""
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:3000],
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(
        event["ResponseURL"],
        data=body,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(body))},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
