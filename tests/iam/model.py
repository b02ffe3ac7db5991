"""Roles and resource policies of the synthesized app, as concrete policy documents.

A role is found by who assumes it (the service in its trust policy) and by what uses it
(the resource type and property that reference it, e.g. ``AWS::SageMaker::Pipeline`` /
``RoleArn``), never by logical id, so a refactoring that renames constructs keeps the
simulation pointed at the same roles.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from tests.iam.cfn import ResolvedApp

Document = dict[str, Any]


@dataclass(frozen=True)
class Use:
    """A resource property that references a role: ``("AWS::EC2::FlowLog", "Deliver...")``."""

    resource_type: str
    prop: str


@dataclass(frozen=True)
class Role:
    """One IAM role with everything that decides what it may do."""

    stack: str
    logical_id: str
    arn: str
    name: str
    trust_policy: Document
    identity_policies: tuple[tuple[str, Document], ...]
    aws_managed_policies: tuple[str, ...]
    uses: frozenset[Use]
    #: The resolved resources that use the role, as JSON text, to tell same-service roles apart.
    user_texts: tuple[str, ...]

    @property
    def services(self) -> frozenset[str]:
        """Service principals the trust policy names."""
        found: set[str] = set()
        for statement in self.trust_policy.get("Statement", []):
            principal = statement.get("Principal", {})
            service = principal.get("Service", []) if isinstance(principal, dict) else []
            found.update([service] if isinstance(service, str) else service)
        return frozenset(found)


@dataclass(frozen=True)
class RoleSelector:
    """Which role of a stack a declaration is about.

    Args:
        service: the service principal that assumes the role.
        used_by: the resource property that references the role. Default: any.
        mentions: text the using resource must contain (e.g. an API the state machine
            calls), to tell apart roles of one service used the same way. Default: none.
    """

    service: str
    used_by: Use | None = None
    mentions: str | None = None

    def matches(self, role: Role) -> bool:
        if self.service not in role.services:
            return False
        if self.used_by is not None and self.used_by not in role.uses:
            return False
        return self.mentions is None or any(self.mentions in text for text in role.user_texts)

    def __str__(self) -> str:
        used = f" used by {self.used_by.resource_type}.{self.used_by.prop}" if self.used_by else ""
        mentions = f" mentioning {self.mentions!r}" if self.mentions else ""
        return f"role assumed by {self.service}{used}{mentions}"


@dataclass
class AppModel:
    """Resolved roles and resource policies of every stack of the app.

    Args:
        app: the resolved templates.
        stack_names: catalog key (``"foundation"``) -> stack name.
    """

    app: ResolvedApp
    stack_names: Mapping[str, str]
    _resolved: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    # -- resources --------------------------------------------------------------------------

    def resources(self, stack_key: str, resource_type: str) -> Iterator[tuple[str, Document]]:
        """(logical id, resolved properties) of the stack's resources of one type."""
        stack_name = self.stack_names[stack_key]
        for logical_id, resource in self.app.stacks[stack_name].resources.items():
            if resource["Type"] == resource_type:
                yield logical_id, self._properties(stack_name, logical_id)

    def only(
        self,
        stack_key: str,
        resource_type: str,
        where: Callable[[Document], bool] = lambda props: True,
    ) -> tuple[str, Document]:
        """The one resource of a type in the stack that satisfies ``where``."""
        found = [item for item in self.resources(stack_key, resource_type) if where(item[1])]
        if len(found) != 1:
            raise LookupError(
                f"expected one {resource_type} in '{stack_key}' matching the predicate, "
                f"found {[logical_id for logical_id, _ in found]}"
            )
        return found[0]

    def ref(self, stack_key: str, logical_id: str) -> str:
        return self.app.ref(self.stack_names[stack_key], logical_id)

    def arn(self, stack_key: str, logical_id: str, attribute: str = "Arn") -> str:
        return str(self.app.get_att(self.stack_names[stack_key], logical_id, attribute))

    def _properties(self, stack_name: str, logical_id: str) -> dict[str, Any]:
        cache = self._resolved.setdefault(stack_name, {})
        if logical_id not in cache:
            cache[logical_id] = self.app.properties(stack_name, logical_id)
        return cache[logical_id]

    def _all_resources(self) -> Iterator[tuple[str, str, str, Document]]:
        for stack_name, stack in self.app.stacks.items():
            for logical_id, resource in stack.resources.items():
                yield (
                    stack_name,
                    logical_id,
                    resource["Type"],
                    self._properties(stack_name, logical_id),
                )

    # -- roles ------------------------------------------------------------------------------

    @cached_property
    def roles(self) -> tuple[Role, ...]:
        return tuple(self._build_roles())

    def role(self, stack_key: str, selector: RoleSelector) -> Role:
        """The one role of the stack that ``selector`` matches."""
        stack_name = self.stack_names[stack_key]
        found = [r for r in self.roles if r.stack == stack_name and selector.matches(r)]
        if len(found) != 1:
            raise LookupError(
                f"expected one {selector} in '{stack_key}', found {[r.logical_id for r in found]}"
            )
        return found[0]

    def _build_roles(self) -> Iterator[Role]:
        everything = list(self._all_resources())
        for stack_name, logical_id, resource_type, props in everything:
            if resource_type != "AWS::IAM::Role":
                continue
            name = self.app.ref(stack_name, logical_id)
            arn = str(self.app.get_att(stack_name, logical_id, "Arn"))
            policies = [
                (f"{logical_id}/{policy['PolicyName']}", policy["PolicyDocument"])
                for policy in props.get("Policies", [])
            ]
            uses: set[Use] = set()
            texts: list[str] = []
            for other_stack, other_id, other_type, other_props in everything:
                if other_type in {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
                    if name in other_props.get("Roles", []):
                        policies.append((f"{other_id}", other_props["PolicyDocument"]))
                    continue
                if (other_stack, other_id) == (stack_name, logical_id):
                    continue
                used_props = [
                    prop for prop, value in other_props.items() if name in json.dumps(value)
                ]
                if used_props:
                    uses.update(Use(other_type, prop) for prop in used_props)
                    texts.append(json.dumps(other_props))
            yield Role(
                stack=stack_name,
                logical_id=logical_id,
                arn=arn,
                name=name,
                trust_policy=props["AssumeRolePolicyDocument"],
                identity_policies=tuple(policies),
                aws_managed_policies=tuple(props.get("ManagedPolicyArns", [])),
                uses=frozenset(uses),
                user_texts=tuple(texts),
            )

    # -- resource policies --------------------------------------------------------------------

    @cached_property
    def resource_policies(self) -> dict[str, tuple[str, Document]]:
        """Resource ARN -> (policy name, document): key, bucket, topic and trust policies."""
        found: dict[str, tuple[str, Document]] = {}
        for stack_name, logical_id, resource_type, props in self._all_resources():
            if resource_type == "AWS::KMS::Key":
                arn = str(self.app.get_att(stack_name, logical_id, "Arn"))
                found[arn] = (f"{logical_id}/KeyPolicy", props["KeyPolicy"])
            elif resource_type == "AWS::S3::BucketPolicy":
                found[f"arn:aws:s3:::{props['Bucket']}"] = (logical_id, props["PolicyDocument"])
            elif resource_type == "AWS::SNS::TopicPolicy":
                for topic in props["Topics"]:
                    found[topic] = (logical_id, props["PolicyDocument"])
            elif resource_type == "AWS::IAM::Role":
                arn = str(self.app.get_att(stack_name, logical_id, "Arn"))
                found[arn] = (f"{logical_id}/Trust", props["AssumeRolePolicyDocument"])
        return found

    def resource_policy_for(self, resource_arn: str) -> tuple[str, Document] | None:
        """The resource policy AWS evaluates with a request on ``resource_arn``, if any."""
        if resource_arn in self.resource_policies:
            return self.resource_policies[resource_arn]
        if resource_arn.startswith("arn:aws:s3:::"):
            bucket = resource_arn.split("/", 1)[0]
            return self.resource_policies.get(bucket)
        return None
