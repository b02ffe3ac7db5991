"""Custom resource ``Custom::MlpipesWorkforceCallback``: point a Cognito app client at a
SageMaker private workforce.

The workforce needs the app client, and the client's callback URL needs the workforce's
subdomain, so the client is created with a placeholder and this handler sets
``https://<SubDomain>/oauth2/idpresponse`` (and the ``/logout`` sign-out URL) once the
workforce exists.

``UpdateUserPoolClient`` resets every setting the request leaves out, so the handler reads
the client first and sends back every setting it has, changing only the URLs. A setting the
runtime's SDK cannot send back fails the update rather than being reset. Delete changes
nothing: the client goes with its user pool.
"""

from __future__ import annotations

from typing import Any

import boto3

from .cfn import Result, call, run

#: What DescribeUserPoolClient reports that UpdateUserPoolClient does not take.
READ_ONLY = frozenset(
    {"ClientSecret", "ClientSecretArn", "LastModifiedDate", "CreationDate", "ClientType"}
)
#: The settings this handler sets.
URL_FIELDS = ("CallbackURLs", "LogoutURLs", "DefaultRedirectURI")

_client: Any = None


def _cognito() -> Any:
    global _client
    if _client is None:
        _client = boto3.client("cognito-idp")
    return _client


def workforce_urls(sub_domain: str) -> dict[str, list[str]]:
    """The URLs the workforce's sign-in flow redirects to."""
    return {
        "CallbackURLs": [f"https://{sub_domain}/oauth2/idpresponse"],
        "LogoutURLs": [f"https://{sub_domain}/logout"],
    }


def update_request(
    described: dict[str, Any], updatable: set[str], sub_domain: str
) -> dict[str, Any]:
    """The UpdateUserPoolClient request that keeps every setting but the URLs."""
    kept = {
        key: value
        for key, value in described.items()
        if key not in READ_ONLY and key not in URL_FIELDS
    }
    unknown = sorted(key for key in kept if key not in updatable)
    if unknown:
        raise RuntimeError(
            f"the client has settings {unknown} this SDK cannot send back; updating it "
            "would reset them"
        )
    return {**kept, **workforce_urls(sub_domain)}


def handle(event: dict[str, Any], cognito: Any) -> Result:
    """Apply one CloudFormation request; returns (physical id, data)."""
    properties = event["ResourceProperties"]
    pool, client_id = properties["UserPoolId"], properties["ClientId"]
    physical_id = f"{pool}/{client_id}/workforce-callback"
    if event["RequestType"] == "Delete":
        return str(event["PhysicalResourceId"]), {}
    described = call(cognito.describe_user_pool_client, UserPoolId=pool, ClientId=client_id)
    updatable = set(
        cognito.meta.service_model.operation_model("UpdateUserPoolClient").input_shape.members
    )
    request = update_request(described["UserPoolClient"], updatable, properties["SubDomain"])
    call(cognito.update_user_pool_client, **request)
    return physical_id, {"CallbackURL": request["CallbackURLs"][0]}


def handler(event: dict[str, Any], context: Any) -> None:
    """The Lambda entry point."""
    run(event, lambda received: handle(received, _cognito()))
