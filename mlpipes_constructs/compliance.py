"""Acknowledging cdk-nag findings, always with a specific reason.

A finding that a resource cannot fix by design is acknowledged on that resource, never app-wide,
with a reason that says why the rule does not apply::

    acknowledge(
        log_bucket,
        "AwsSolutions-S1",
        "the access log bucket itself: logging it into itself would log every log delivery",
    )
    acknowledge_wildcard(
        role.managed_policy,
        f"{bucket.bucket_arn}/exports/*",
        "the export job writes one object per run under the exports/ prefix, named at run time",
    )
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import jsii
from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct, IValidation

__all__ = [
    "MIN_REASON_LENGTH",
    "WildcardReasons",
    "acknowledge",
    "acknowledge_wildcard",
    "acknowledge_wildcards",
    "wildcard_resource_finding",
]

#: A reason shorter than this cannot say why the finding does not apply.
MIN_REASON_LENGTH = 40

#: (resource ARN with a wildcard, why the wildcard is needed)
WildcardReasons = Iterable[tuple[str, str]]


def acknowledge(construct: IConstruct, rule_ids: str | list[str], reason: str) -> None:
    """Acknowledge cdk-nag findings on ``construct`` (and its children) with one reason.

    Args:
        construct: the resource the findings are about.
        rule_ids: the rule ids, e.g. ``"AwsSolutions-S1"``.
        reason: why the rule does not apply to this resource; at least
            :data:`MIN_REASON_LENGTH` characters.
    """
    _check_reason(construct, rule_ids, reason)
    for rule_id in [rule_ids] if isinstance(rule_ids, str) else rule_ids:
        Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def _check_reason(construct: IConstruct, rule_ids: str | list[str], reason: str) -> None:
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(
            f"reason '{reason}' for {rule_ids} on '{construct.node.path}' must say why the "
            f"rule does not apply (at least {MIN_REASON_LENGTH} characters)"
        )


def acknowledge_wildcard(target: IConstruct, resource_arn: str, reason: str) -> None:
    """Acknowledge the ``AwsSolutions-IAM5`` finding for the wildcard in ``resource_arn``.

    Args:
        target: the policy (or role) that holds the statement.
        resource_arn: the resource with the wildcard, exactly as given to the statement.
        reason: why the wildcard is needed and what bounds it; see :func:`acknowledge`.
    """
    _check_reason(target, "AwsSolutions-IAM5", reason)
    acknowledge_wildcards(target, lambda: [(resource_arn, reason)])


def acknowledge_wildcards(target: IConstruct, reasons: Callable[[], WildcardReasons]) -> None:
    """Acknowledge ``AwsSolutions-IAM5`` findings on ``target`` for (resource ARN, reason) pairs.

    cdk-nag names a finding after the ARN as the template renders it, and an ARN that refers to
    another stack only takes that form when the app is prepared for synthesis (a cross-stack
    reference instead of ``Fn::GetAtt``). So ``reasons`` is called, and the ids computed, in a
    construct validation, which runs after that preparation and before the cdk-nag packs; it
    can also list statements added after this call.
    """
    target.node.add_validation(_WildcardAcknowledgments(target, reasons))


@jsii.implements(IValidation)
class _WildcardAcknowledgments:
    def __init__(self, target: IConstruct, reasons: Callable[[], WildcardReasons]) -> None:
        self._target = target
        self._reasons = reasons

    def validate(self) -> list[str]:
        """Acknowledge each finding; never reports a problem itself."""
        for resource_arn, reason in self._reasons():
            finding = wildcard_resource_finding(self._target, resource_arn)
            acknowledge(self._target, finding, reason)
        return []


def wildcard_resource_finding(scope: IConstruct, resource_arn: str) -> str:
    """The id cdk-nag gives a wildcard in ``resource_arn``: ``AwsSolutions-IAM5[Resource::…]``.

    The ARN is resolved in ``scope``'s stack and flattened the way cdk-nag flattens
    CloudFormation references (``<LogicalId.Attr>``, ``<Ref>``, joins concatenated).
    """
    resolved = Stack.of(scope).resolve(resource_arn)
    return f"AwsSolutions-IAM5[Resource::{_flatten_reference(resolved)}]"


def _flatten_reference(node: Any) -> str:
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return str(delimiter).join(_flatten_reference(item) for item in items)
        if "Fn::Sub" in node:
            return _flatten_reference(node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{_flatten_reference(resource)}.{_flatten_reference(attribute)}>"
        if "Fn::ImportValue" in node:
            return _flatten_reference(node["Fn::ImportValue"])
        if "Ref" in node:
            return f"<{_flatten_reference(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"))
