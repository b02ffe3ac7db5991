"""The flow definition handler against botocore's Stubber on the real SageMaker model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber

from mlpipes_constructs.a2i._lambda.a2i_handlers import cfn
from mlpipes_constructs.a2i._lambda.a2i_handlers import flow_definition as handler

ACCOUNT_ARN = "arn:aws:sagemaker:us-east-1:123456789012"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-0000-1111-2222-333344445555"
PROPERTIES: dict[str, Any] = {
    "NamePrefix": "mlpipes-model-review",
    "WaitTimeoutSeconds": "60",
    # As CloudFormation sends them: every scalar a string.
    "Request": {
        "HumanLoopConfig": {
            "WorkteamArn": f"{ACCOUNT_ARN}:workteam/private-crowd/reviewers",
            "HumanTaskUiArn": f"{ACCOUNT_ARN}:human-task-ui/model-review-0123456789",
            "TaskTitle": "Review a model",
            "TaskDescription": "Approve or reject the model",
            "TaskCount": "2",
            "TaskTimeLimitInSeconds": "3600",
            "TaskAvailabilityLifetimeInSeconds": "86400",
            "TaskKeywords": ["model review"],
        },
        "OutputConfig": {
            "S3OutputPath": "s3://artifacts/a2i/",
            "KmsKeyId": KEY_ARN,
        },
        "RoleArn": "arn:aws:iam::123456789012:role/a2i-role",
    },
}


class FakeClock:
    """Time that moves only when the handler sleeps."""

    def __init__(self) -> None:
        self.time = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sagemaker() -> Iterator[tuple[Any, Stubber]]:
    client = botocore.session.get_session().create_client(
        "sagemaker",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _handler_clock(clock: FakeClock) -> handler.Clock:
    return handler.Clock(now=clock.now, sleep=clock.sleep)


def _described(name: str, status: str, **extra: Any) -> dict[str, Any]:
    request = handler.build_request(PROPERTIES)
    return {
        "FlowDefinitionArn": f"{ACCOUNT_ARN}:flow-definition/{name}",
        "FlowDefinitionName": name,
        "FlowDefinitionStatus": status,
        "CreationTime": datetime(2025, 1, 1, tzinfo=UTC),
        "HumanLoopConfig": request["HumanLoopConfig"],
        "OutputConfig": request["OutputConfig"],
        "RoleArn": request["RoleArn"],
        **extra,
    }


def _event(request_type: str, physical_id: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"RequestType": request_type, "ResourceProperties": PROPERTIES}
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    return event


NAME = handler.build_request(PROPERTIES)["FlowDefinitionName"]


def test_the_request_has_integers_and_a_name_hashed_from_it() -> None:
    request = handler.build_request(PROPERTIES)
    assert request["HumanLoopConfig"]["TaskCount"] == 2
    assert request["HumanLoopConfig"]["TaskTimeLimitInSeconds"] == 3600
    assert request["FlowDefinitionName"].startswith("mlpipes-model-review-")
    assert len(request["FlowDefinitionName"]) == len("mlpipes-model-review-") + 10
    changed = json.loads(json.dumps(PROPERTIES))
    changed["Request"]["HumanLoopConfig"]["TaskTitle"] = "Review a model again"
    assert handler.build_request(changed)["FlowDefinitionName"] != request["FlowDefinitionName"]
    # The same request, whatever the key order, keeps its name.
    reordered = {**PROPERTIES, "Request": dict(reversed(list(PROPERTIES["Request"].items())))}
    assert handler.build_request(reordered)["FlowDefinitionName"] == request["FlowDefinitionName"]


def test_a_63_character_name_is_the_longest_prefix_allowed() -> None:
    longest = {**PROPERTIES, "NamePrefix": "a" * 52}
    assert len(handler.build_request(longest)["FlowDefinitionName"]) == 63
    with pytest.raises(ValueError, match="does not match"):
        handler.build_request({**PROPERTIES, "NamePrefix": "a" * 53})


def test_create_waits_until_active_after_a_throttled_call(
    sagemaker: tuple[Any, Stubber], clock: FakeClock
) -> None:
    client, stubber = sagemaker
    request = handler.build_request(PROPERTIES)
    stubber.add_client_error("create_flow_definition", "ThrottlingException", http_status_code=400)
    stubber.add_response(
        "create_flow_definition",
        {"FlowDefinitionArn": f"{ACCOUNT_ARN}:flow-definition/{NAME}"},
        expected_params=request,  # the Stubber checks it against the SageMaker model
    )
    stubber.add_response("describe_flow_definition", _described(NAME, "Initializing"))
    stubber.add_response("describe_flow_definition", _described(NAME, "Active"))
    physical_id, data = handler.handle(_event("Create"), client, _handler_clock(clock))
    assert physical_id == NAME
    assert data == {
        "FlowDefinitionArn": f"{ACCOUNT_ARN}:flow-definition/{NAME}",
        "FlowDefinitionName": NAME,
    }
    assert clock.sleeps == [1.0, handler.POLL_SECONDS]


def test_throttling_gives_up_after_the_last_attempt(
    sagemaker: tuple[Any, Stubber], clock: FakeClock
) -> None:
    client, stubber = sagemaker
    for _ in range(cfn.MAX_ATTEMPTS):
        stubber.add_client_error("describe_flow_definition", "ThrottlingException")
    with pytest.raises(Exception, match="ThrottlingException"):
        handler.wait_until_active(client, NAME, 60, _handler_clock(clock))
    assert len(clock.sleeps) == cfn.MAX_ATTEMPTS - 1


def test_a_flow_definition_of_the_same_name_is_adopted(
    sagemaker: tuple[Any, Stubber], clock: FakeClock
) -> None:
    client, stubber = sagemaker
    stubber.add_client_error("create_flow_definition", "ResourceInUse")
    stubber.add_response("describe_flow_definition", _described(NAME, "Active"))
    physical_id, _ = handler.handle(_event("Create"), client, _handler_clock(clock))
    assert physical_id == NAME


def test_a_failed_flow_definition_fails_with_its_reason(
    sagemaker: tuple[Any, Stubber], clock: FakeClock
) -> None:
    client, stubber = sagemaker
    stubber.add_response("create_flow_definition", {"FlowDefinitionArn": f"{ACCOUNT_ARN}:x/y"})
    stubber.add_response(
        "describe_flow_definition",
        _described(NAME, "Failed", FailureReason="RoleArn cannot be assumed"),
    )
    with pytest.raises(RuntimeError, match="is Failed: RoleArn cannot be assumed"):
        handler.handle(_event("Create"), client, _handler_clock(clock))


def test_waiting_longer_than_the_timeout_fails_with_the_reason(
    sagemaker: tuple[Any, Stubber], clock: FakeClock
) -> None:
    client, stubber = sagemaker
    stubber.add_response("create_flow_definition", {"FlowDefinitionArn": f"{ACCOUNT_ARN}:x/y"})
    polls = int(60 / handler.POLL_SECONDS) + 1  # at 0, 5, ... 60 s
    for _ in range(polls):
        stubber.add_response("describe_flow_definition", _described(NAME, "Initializing"))
    with pytest.raises(TimeoutError, match=r"still Initializing after 60 s \(WaitTimeoutSeconds\)"):
        handler.handle(_event("Create"), client, _handler_clock(clock))
    assert clock.time <= 60


def test_an_update_of_the_same_request_creates_nothing(
    sagemaker: tuple[Any, Stubber], clock: FakeClock
) -> None:
    client, stubber = sagemaker
    stubber.add_response("describe_flow_definition", _described(NAME, "Active"))
    physical_id, _ = handler.handle(_event("Update", NAME), client, _handler_clock(clock))
    assert physical_id == NAME


def test_an_update_of_another_request_creates_a_new_flow_definition(
    sagemaker: tuple[Any, Stubber], clock: FakeClock
) -> None:
    client, stubber = sagemaker
    stubber.add_response("create_flow_definition", {"FlowDefinitionArn": f"{ACCOUNT_ARN}:x/y"})
    stubber.add_response("describe_flow_definition", _described(NAME, "Active"))
    old = "mlpipes-model-review-0000000000"
    physical_id, _ = handler.handle(_event("Update", old), client, _handler_clock(clock))
    assert physical_id == NAME != old  # CloudFormation then deletes the old one


def test_delete_of_a_missing_flow_definition_succeeds(
    sagemaker: tuple[Any, Stubber], clock: FakeClock
) -> None:
    client, stubber = sagemaker
    stubber.add_client_error("delete_flow_definition", "ResourceNotFound")
    assert handler.handle(_event("Delete", NAME), client, _handler_clock(clock)) == (NAME, {})


def test_delete_after_a_failed_create_calls_nothing(
    sagemaker: tuple[Any, Stubber], clock: FakeClock
) -> None:
    client, _ = sagemaker
    failed_id = "ModelReviewF6A21A3F"  # CloudFormation's id when Create named nothing
    assert handler.handle(_event("Delete", failed_id), client, _handler_clock(clock)) == (
        failed_id,
        {},
    )


def test_delete_of_a_flow_definition_in_use_fails(
    sagemaker: tuple[Any, Stubber], clock: FakeClock
) -> None:
    client, stubber = sagemaker
    stubber.add_client_error("delete_flow_definition", "ResourceInUse")
    with pytest.raises(Exception, match="ResourceInUse"):
        handler.handle(_event("Delete", NAME), client, _handler_clock(clock))
