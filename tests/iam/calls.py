"""Declared run-time calls, and their evaluation with the real IAM policy simulator.

A :class:`Call` is one request an AWS service makes at run time: the action, the resource ARN
in the form AWS authorizes it, the request context, and the AWS documentation it comes from.
Calls are grouped by who makes them: a role of a stack (:class:`RoleCalls`, with the role's
identity policies) or a service principal acting on a resource of a stack
(:class:`ServiceCalls`, with no identity policy). The resource policy that applies (key,
bucket, topic or trust policy) is found from the resource ARN.

``tests/iam/evaluate.cjs`` evaluates the whole batch in one Node process.
"""

from __future__ import annotations

import enum
import json
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.iam.cfn import ACCOUNT, REGION
from tests.iam.model import AppModel, Document, RoleSelector

EVALUATOR = Path(__file__).with_name("evaluate.cjs")
#: Another AWS account: its principals and resources must never get in.
OTHER_ACCOUNT = "210987654321"
OTHER_ACCOUNT_ROLE = f"arn:aws:iam::{OTHER_ACCOUNT}:role/intruder"
#: An identity policy that allows everything, for principals of another account.
ALLOW_EVERYTHING: Document = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}

Context = Mapping[str, str | Sequence[str]]


class Expect(enum.Enum):
    """What AWS must decide."""

    ALLOWED = "Allowed"
    DENIED = "Denied"


@dataclass(frozen=True)
class Call:
    """One request made at run time.

    Args:
        what: a short description, unique within its declaration.
        action: ``service:Action``.
        resource: the ARN AWS authorizes, or ``"*"`` for actions without a resource type.
        doc: the AWS documentation the call, its resource form or its context comes from.
        context: request-context keys the request carries. Keys that the Service
            Authorization Reference does not list for this action and resource type are
            dropped before evaluation, as AWS never sends them.
        expect: what AWS must decide. Default: allowed.
        principal: who makes the call when it is not the declaration's role or service: a
            service principal (``sts:AssumeRole`` of the role), or a principal of another
            account, which gets an identity policy that allows everything. Default: the
            declaration's role or service.
        resource_policy: the policy of a resource the app does not own (an AWS-owned image
            repository). Default: the app's policy for the resource, if any.
    """

    what: str
    action: str
    resource: str
    doc: str
    context: Context = field(default_factory=dict)
    expect: Expect = Expect.ALLOWED
    principal: str | None = None
    resource_policy: Document | None = None

    def denied(self, what: str, **changes: Any) -> Call:
        """The same call, changed to leave the pipeline's scope, which must be denied."""
        fields = {**self.__dict__, "what": what, "expect": Expect.DENIED, **changes}
        return Call(**fields)


@dataclass(frozen=True)
class RoleCalls:
    """The run-time calls of one role of a stack.

    Args:
        stack: catalog key of the stack (``"foundation"``).
        label: what the role is, unique within the stack (``"job role"``).
        role: how to find the role.
        calls: the calls, built from the app (resource ARNs need physical names).
    """

    stack: str
    label: str
    role: RoleSelector
    calls: Callable[[AppModel, str], Iterable[Call]]


@dataclass(frozen=True)
class ServiceCalls:
    """Calls an AWS service principal makes on resources of a stack (resource policy only)."""

    stack: str
    label: str
    service: str
    calls: Callable[[AppModel, str], Iterable[Call]]


Declaration = RoleCalls | ServiceCalls


@dataclass(frozen=True)
class Outcome:
    """The simulator's decision on one call."""

    declaration: str
    call: Call
    result: str
    resource_type: str | None
    context: Mapping[str, Any]
    dropped: tuple[str, ...]
    allowed_by: tuple[str, ...]
    errors: Any = None

    @property
    def decision(self) -> Expect | None:
        if self.result == "Allowed":
            return Expect.ALLOWED
        if self.result in {"ImplicitlyDenied", "ExplicitlyDenied"}:
            return Expect.DENIED
        return None

    def describe(self) -> str:
        dropped = f", dropped context {list(self.dropped)}" if self.dropped else ""
        errors = f", errors {self.errors}" if self.errors else ""
        return (
            f"{self.declaration}: {self.call.what}: {self.call.action} on {self.call.resource} "
            f"-> {self.result} (expected {self.call.expect.value}){dropped}{errors}; "
            f"see {self.call.doc}"
        )


def declaration_id(declaration: Declaration) -> str:
    return f"{declaration.stack}/{declaration.label}"


def assumed_role_arn(role_arn: str) -> str:
    """The session ARN a role's calls are made as."""
    name = role_arn.rsplit("/", 1)[1]
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/session"


def _account_of(arn: str) -> str:
    if arn == "*":
        return ACCOUNT
    parts = arn.split(":")
    if parts[2] == "s3" or not parts[4]:
        return ACCOUNT
    return parts[4]


def _principal_context(principal_arn: str, account: str) -> dict[str, str | Sequence[str]]:
    return {
        "aws:PrincipalArn": principal_arn,
        "aws:PrincipalAccount": account,
        "aws:SecureTransport": "true",
        "aws:RequestedRegion": REGION,
    }


@dataclass
class Batch:
    """Requests for the evaluator, with each policy document sent once."""

    policies: dict[str, Document] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, Call]] = field(default_factory=list)

    def add_policy(self, name: str, document: Document) -> str:
        self.policies.setdefault(name, document)
        return name

    def add(self, model: AppModel, declaration: Declaration, call: Call) -> None:
        stack_name = model.stack_names[declaration.stack]
        identity: list[str] = []
        context: dict[str, str | Sequence[str]]
        if call.principal is not None:
            principal = call.principal
            if ":" not in principal:  # a service principal: no identity policy
                context = {"aws:SecureTransport": "true", "aws:PrincipalServiceName": principal}
            else:
                account = principal.split(":")[4]
                context = _principal_context(principal, account)
                if account != ACCOUNT:
                    # Whatever another account allows its own principals, ours must refuse.
                    identity.append(
                        self.add_policy("other-account/allow-everything", ALLOW_EVERYTHING)
                    )
        elif isinstance(declaration, RoleCalls):
            role = model.role(declaration.stack, declaration.role)
            principal = assumed_role_arn(role.arn)
            context = _principal_context(role.arn, ACCOUNT)
            identity = [
                self.add_policy(f"{stack_name}/{name}", document)
                for name, document in role.identity_policies
            ]
        else:
            principal = declaration.service
            context = {"aws:SecureTransport": "true", "aws:PrincipalServiceName": principal}
        context.update(call.context)
        resource_policy: str | None = None
        if call.resource_policy is not None:
            resource_policy = self.add_policy(f"external/{call.resource}", call.resource_policy)
        else:
            found = model.resource_policy_for(call.resource)
            if found is not None:
                resource_policy = self.add_policy(f"resource/{found[0]}", found[1])
        self.requests.append(
            {
                "id": len(self.requests),
                "principal": principal,
                "action": call.action,
                "resource": call.resource,
                "resourceAccount": _account_of(call.resource),
                "context": context,
                "identityPolicies": identity,
                "resourcePolicy": resource_policy,
            }
        )
        self.calls.append((declaration_id(declaration), call))


def run_evaluator(batch: Batch, cwd: Path) -> list[Outcome]:
    """Evaluate every request of ``batch`` in one Node process."""
    payload = json.dumps({"policies": batch.policies, "requests": batch.requests})
    completed = subprocess.run(
        ["node", str(EVALUATOR)],
        input=payload,
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=300,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the IAM evaluator failed: {completed.stderr}")
    results = json.loads(completed.stdout)
    outcomes = []
    for result, (declaration, call) in zip(results, batch.calls, strict=True):
        outcomes.append(
            Outcome(
                declaration=declaration,
                call=call,
                result=result["result"],
                resource_type=result.get("resourceType"),
                context=result.get("context", {}),
                dropped=tuple(result.get("dropped", ())),
                allowed_by=tuple(result.get("allowedBy", ())),
                errors=result.get("errors"),
            )
        )
    return outcomes


def evaluate(
    model: AppModel, declarations: Sequence[Declaration], cwd: Path
) -> dict[str, list[Outcome]]:
    """Every declared call of every declaration, evaluated; by declaration id."""
    batch = Batch()
    for declaration in declarations:
        for call in declaration.calls(model, declaration.stack):
            batch.add(model, declaration, call)
    by_declaration: dict[str, list[Outcome]] = {declaration_id(d): [] for d in declarations}
    for outcome in run_evaluator(batch, cwd):
        by_declaration[outcome.declaration].append(outcome)
    return by_declaration
