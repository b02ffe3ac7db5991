"""Acknowledging cdk-nag findings, always with a specific reason."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

#: A reason shorter than this cannot say why the finding does not apply.
MIN_REASON_LENGTH = 40


def acknowledge(construct: IConstruct, rule_ids: str | list[str], reason: str) -> None:
    """Acknowledge cdk-nag findings on ``construct`` (and its children) with one reason.

    Args:
        construct: the resource the findings are about.
        rule_ids: the rule ids, e.g. ``"AwsSolutions-S1"``.
        reason: why the rule does not apply to this resource; at least
            :data:`MIN_REASON_LENGTH` characters.
    """
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(
            f"reason '{reason}' for {rule_ids} on '{construct.node.path}' must say why the "
            f"rule does not apply (at least {MIN_REASON_LENGTH} characters)"
        )
    for rule_id in [rule_ids] if isinstance(rule_ids, str) else rule_ids:
        Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))


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
