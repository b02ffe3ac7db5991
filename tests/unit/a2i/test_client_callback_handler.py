"""The workforce callback handler against botocore's Stubber on the real Cognito model, and
both handlers' answers to CloudFormation."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import botocore.session
import pytest
from botocore.stub import Stubber

from mlpipes_constructs.a2i._lambda.a2i_handlers import cfn, flow_definition
from mlpipes_constructs.a2i._lambda.a2i_handlers import client_callback as handler

POOL = "us-east-1_AbCdEf123"
CLIENT = "1example23456789"
SUB_DOMAIN = "abcd1234.labeling.us-east-1.sagemaker.aws"
PROPERTIES = {"UserPoolId": POOL, "ClientId": CLIENT, "SubDomain": SUB_DOMAIN}
DESCRIBED: dict[str, Any] = {
    "UserPoolId": POOL,
    "ClientId": CLIENT,
    "ClientName": "workforce",
    "ClientSecret": "s" * 51,
    "CreationDate": datetime(2025, 1, 1, tzinfo=UTC),
    "LastModifiedDate": datetime(2025, 1, 1, tzinfo=UTC),
    "RefreshTokenValidity": 30,
    "TokenValidityUnits": {"RefreshToken": "days"},
    "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    "SupportedIdentityProviders": ["COGNITO"],
    "CallbackURLs": ["https://localhost/"],
    "LogoutURLs": ["https://localhost/"],
    "AllowedOAuthFlows": ["code", "implicit"],
    "AllowedOAuthScopes": ["email", "openid", "profile"],
    "AllowedOAuthFlowsUserPoolClient": True,
    "PreventUserExistenceErrors": "ENABLED",
    "EnableTokenRevocation": True,
    "AuthSessionValidity": 3,
}


@pytest.fixture
def cognito() -> Iterator[tuple[Any, Stubber]]:
    client = botocore.session.get_session().create_client(
        "cognito-idp",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_the_update_keeps_every_setting_and_sets_the_workforce_urls(
    cognito: tuple[Any, Stubber],
) -> None:
    client, stubber = cognito
    stubber.add_response(
        "describe_user_pool_client",
        {"UserPoolClient": DESCRIBED},
        expected_params={"UserPoolId": POOL, "ClientId": CLIENT},
    )
    kept = {
        key: value
        for key, value in DESCRIBED.items()
        if key not in ("ClientSecret", "CreationDate", "LastModifiedDate")
    }
    stubber.add_response(
        "update_user_pool_client",
        {},
        expected_params={
            **kept,
            "CallbackURLs": [f"https://{SUB_DOMAIN}/oauth2/idpresponse"],
            "LogoutURLs": [f"https://{SUB_DOMAIN}/logout"],
        },
    )
    event = {"RequestType": "Create", "ResourceProperties": PROPERTIES}
    physical_id, data = handler.handle(event, client)
    assert physical_id == f"{POOL}/{CLIENT}/workforce-callback"
    assert data == {"CallbackURL": f"https://{SUB_DOMAIN}/oauth2/idpresponse"}


def test_a_setting_the_sdk_cannot_send_back_fails_instead_of_being_reset() -> None:
    updatable = {"UserPoolId", "ClientId", "ClientName"}
    with pytest.raises(RuntimeError, match=r"\['AllowedOAuthFlows', .*would reset them"):
        handler.update_request(DESCRIBED, updatable, SUB_DOMAIN)


def test_every_client_setting_cognito_reports_is_sent_back_or_read_only() -> None:
    """Against the Cognito model: what Describe reports is either updatable or read-only."""
    model = botocore.session.get_session().get_service_model("cognito-idp")
    reported = set(model.shape_for("UserPoolClientType").members)
    updatable = set(model.operation_model("UpdateUserPoolClient").input_shape.members)
    assert reported - updatable == handler.READ_ONLY
    assert set(handler.URL_FIELDS) <= updatable


def test_delete_changes_nothing(cognito: tuple[Any, Stubber]) -> None:
    client, _ = cognito
    event = {"RequestType": "Delete", "PhysicalResourceId": "x", "ResourceProperties": PROPERTIES}
    assert handler.handle(event, client) == ("x", {})


class _Recorder(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict[str, Any]]] = []

    def do_PUT(self) -> None:
        length = int(self.headers["Content-Length"])
        self.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


def test_cloudformation_gets_the_result_or_the_reason() -> None:
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    event = {
        "RequestType": "Create",
        "ResponseURL": f"http://127.0.0.1:{server.server_port}/response",
        "StackId": "stack",
        "RequestId": "request",
        "LogicalResourceId": "ModelReview",
        "ResourceProperties": {"NamePrefix": "UPPER", "Request": {"HumanLoopConfig": {}}},
    }
    try:
        cfn.run(event, lambda received: ("done-id", {"FlowDefinitionName": "x"}))
        cfn.run(
            event, lambda received: flow_definition.handle(received, None, flow_definition.Clock())
        )
    finally:
        server.shutdown()
    success, failure = _Recorder.bodies[-2:]
    assert success == {**success, "Status": "SUCCESS", "PhysicalResourceId": "done-id"}
    assert success["Data"] == {"FlowDefinitionName": "x"}
    assert failure["Status"] == "FAILED"
    assert failure["PhysicalResourceId"] == "ModelReview"
    assert "ValueError: flow definition name 'UPPER-" in failure["Reason"]
