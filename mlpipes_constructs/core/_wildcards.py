"""Why a pipeline role's policy names wildcard resources, by the service of each statement."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from aws_cdk import Stack
from aws_cdk import aws_iam as iam


def wildcard_reasons_by_service(
    policy: iam.ManagedPolicy, reasons: Mapping[str, str]
) -> Callable[[], list[tuple[str, str]]]:
    """A callable for ``acknowledge_wildcards``: every wildcard resource of ``policy`` (not
    ``*`` itself) whose statement's first action is of a service in ``reasons``, with that
    service's reason. It reads the policy when called, after every statement was added."""

    def collect() -> list[tuple[str, str]]:
        document = Stack.of(policy).resolve(policy.document.to_json())
        found: list[tuple[str, str]] = []
        for statement in document.get("Statement", []):
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            service = actions[0].split(":", 1)[0] if actions else ""
            resources = statement.get("Resource", [])
            resources = resources if isinstance(resources, list) else [resources]
            reason = reasons.get(service)
            if reason is None:
                continue
            found.extend(
                (resource, reason)
                for resource in resources
                if resource != "*" and "*" in str(resource)
            )
        return found

    return collect
