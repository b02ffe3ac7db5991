"""Custom resource ``Custom::MlpipesFlowDefinition``: an Amazon A2I flow definition.

CloudFormation has no type for a flow definition, and SageMaker cannot update one, so:

* Create and Update build the ``CreateFlowDefinition`` request from the resource's
  ``Request`` property and name the flow definition ``<NamePrefix>-<hash of the request>``.
  A changed request gets a new name, so an update creates a new flow definition and returns
  its name as the new physical id; CloudFormation then deletes the old one. An update that
  leaves the request as it was keeps the flow definition.
* After creating it, the handler waits until it is ``Active``: a ``Failed`` one fails the
  operation with SageMaker's ``FailureReason``, and one still ``Initializing`` after
  ``WaitTimeoutSeconds`` fails it with that reason.
* Delete deletes it; one that is already gone is a success.

Throttled calls are retried with back-off. ``Data`` holds ``FlowDefinitionArn`` and
``FlowDefinitionName``.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from .cfn import Result, call, error_code, run

#: CloudFormation passes every custom resource property as a string: these are integers.
INTEGER_FIELDS = ("TaskCount", "TaskTimeLimitInSeconds", "TaskAvailabilityLifetimeInSeconds")
NAME_PATTERN = re.compile(r"^[a-z0-9](-*[a-z0-9]){0,62}$")
MAX_NAME_LENGTH = 63
HASH_LENGTH = 10
POLL_SECONDS = 5.0
DEFAULT_WAIT_SECONDS = 600

_client: Any = None


def _sagemaker() -> Any:
    global _client
    if _client is None:
        _client = boto3.client("sagemaker")
    return _client


@dataclass(frozen=True)
class Clock:
    """Time as the handler sees it; the tests pass their own."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def build_request(properties: dict[str, Any]) -> dict[str, Any]:
    """The ``CreateFlowDefinition`` request the resource's properties describe."""
    request: dict[str, Any] = json.loads(json.dumps(properties["Request"]))
    loop = request["HumanLoopConfig"]
    for field in INTEGER_FIELDS:
        if field in loop:
            loop[field] = int(loop[field])
    request["FlowDefinitionName"] = flow_definition_name(properties["NamePrefix"], request)
    return request


def flow_definition_name(prefix: str, request: dict[str, Any]) -> str:
    """``<prefix>-<hash>``: the hash of the request without its name (at most 63 chars)."""
    body = {key: value for key, value in request.items() if key != "FlowDefinitionName"}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    name = f"{prefix}-{digest[:HASH_LENGTH]}"
    if len(name) > MAX_NAME_LENGTH or not NAME_PATTERN.match(name):
        raise ValueError(
            f"flow definition name '{name}' does not match {NAME_PATTERN.pattern} "
            f"(at most {MAX_NAME_LENGTH} characters)"
        )
    return name


def create(sagemaker: Any, request: dict[str, Any], wait_seconds: float, clock: Clock) -> Result:
    """Create the flow definition (or adopt one of the same name) and wait until Active."""
    name = request["FlowDefinitionName"]
    try:
        call(sagemaker.create_flow_definition, clock.sleep, **request)
    except Exception as error:
        # The same name means the same request: a retried Create after a lost answer.
        if error_code(error) != "ResourceInUse":
            raise
    return name, wait_until_active(sagemaker, name, wait_seconds, clock)


def wait_until_active(
    sagemaker: Any, name: str, wait_seconds: float, clock: Clock
) -> dict[str, Any]:
    """Poll DescribeFlowDefinition until Active; ``Data`` of the resource."""
    deadline = clock.now() + wait_seconds
    while True:
        described = call(sagemaker.describe_flow_definition, clock.sleep, FlowDefinitionName=name)
        status = described["FlowDefinitionStatus"]
        if status == "Active":
            return {
                "FlowDefinitionArn": described["FlowDefinitionArn"],
                "FlowDefinitionName": name,
            }
        if status in ("Failed", "Deleting"):
            reason = described.get("FailureReason", "no reason given")
            raise RuntimeError(f"flow definition '{name}' is {status}: {reason}")
        if clock.now() + POLL_SECONDS > deadline:
            raise TimeoutError(
                f"flow definition '{name}' is still {status} after {wait_seconds:.0f} s "
                "(WaitTimeoutSeconds); it was not deleted, see DescribeFlowDefinition"
            )
        clock.sleep(POLL_SECONDS)


def delete(sagemaker: Any, name: str, clock: Clock) -> None:
    """Delete the flow definition; one that does not exist (or never did) is a success."""
    if len(name) > MAX_NAME_LENGTH or not NAME_PATTERN.match(name):
        return  # the physical id of a Create that failed before it named one
    try:
        call(sagemaker.delete_flow_definition, clock.sleep, FlowDefinitionName=name)
    except Exception as error:
        if error_code(error) != "ResourceNotFound":
            raise


def handle(event: dict[str, Any], sagemaker: Any, clock: Clock) -> Result:
    """Apply one CloudFormation request; returns (physical id, data)."""
    properties = event["ResourceProperties"]
    if event["RequestType"] == "Delete":
        physical_id = str(event["PhysicalResourceId"])
        delete(sagemaker, physical_id, clock)
        return physical_id, {}
    request = build_request(properties)
    wait_seconds = float(properties.get("WaitTimeoutSeconds", DEFAULT_WAIT_SECONDS))
    if (
        event["RequestType"] == "Update"
        and event["PhysicalResourceId"] == (request["FlowDefinitionName"])
    ):
        name = request["FlowDefinitionName"]
        return name, wait_until_active(sagemaker, name, wait_seconds, clock)
    return create(sagemaker, request, wait_seconds, clock)


def handler(event: dict[str, Any], context: Any) -> None:
    """The Lambda entry point."""
    run(event, lambda received: handle(received, _sagemaker(), Clock()))
