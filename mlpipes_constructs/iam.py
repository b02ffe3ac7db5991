"""Service roles whose permissions live in one customer-managed policy.

CDK grants (``bucket.grant_read(role)``, ``key.grant_decrypt(role)``) put their statements in an
inline ``DefaultPolicy`` of a plain ``iam.Role``, which the HIPAA Security and NIST 800-53 R5
packs flag (``IAMNoInlinePolicy``). Give your own jobs and services a :class:`ManagedPolicyRole`
and the same grants land in a customer-managed policy instead::

    role = ManagedPolicyRole(stack, "ExportRole", service="lambda.amazonaws.com")
    bucket.grant_read(role)  # a statement in role.managed_policy
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from mlpipes_constructs._internal.validation import Problems

__all__ = ["ManagedPolicyRole", "depend_only_on_policy"]


class ManagedPolicyRole(iam.Role):
    """An ``iam.Role`` that puts every statement added to it into :attr:`managed_policy`.

    CDK constructs grant permissions through ``add_to_principal_policy``, which on a plain role
    creates an inline ``DefaultPolicy``. Here the statements land in a customer-managed policy
    (the child ``Policy``) attached to the role, which can be reviewed and versioned on its own
    and satisfies the HIPAA / NIST ``IAMNoInlinePolicy`` rules. Acknowledge findings about the
    permissions on :attr:`managed_policy`.

    Args:
        service: the AWS service that assumes the role, e.g. ``"sagemaker.amazonaws.com"``.
            It may do so only on behalf of the stack's account (an ``aws:SourceAccount``
            condition), so no other account can make the service act with this role. Give
            this or ``assumed_by``.
        assumed_by: the principal that assumes the role, for principals that do not act on
            an account's behalf (EC2 instances). Give this or ``service``.
        description: what the role is for. Default: no description.
        policy_description: what the policy allows. Default: ``"Permissions: <description>"``
            (no description without a role description).
        statements: the policy's first statements. Default: none; add them later with
            :meth:`add_to_policy` or CDK grants.
        role_name: a physical name for the role. Default: a generated name.

    Attributes:
        managed_policy: the customer-managed policy that holds the role's permissions.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service: str | None = None,
        assumed_by: iam.IPrincipal | None = None,
        description: str | None = None,
        policy_description: str | None = None,
        statements: Sequence[iam.PolicyStatement] = (),
        role_name: str | None = None,
    ) -> None:
        problems = Problems(f"{scope.node.path}/{construct_id}")
        if service is not None and assumed_by is not None:
            problems.conflict("service", "assumed_by", "the role has one principal")
        elif service is None and assumed_by is None:
            problems.add("one of 'service' or 'assumed_by' is required")
        problems.raise_if_any()
        principal = assumed_by or iam.ServicePrincipal(
            str(service),
            conditions={"StringEquals": {"aws:SourceAccount": Stack.of(scope).account}},
        )
        super().__init__(
            scope,
            construct_id,
            assumed_by=principal,
            description=description,
            role_name=role_name,
        )
        if policy_description is None and description is not None:
            policy_description = f"Permissions: {description}"
        self.managed_policy = iam.ManagedPolicy(
            self,
            "Policy",
            roles=[self],
            description=policy_description,
            statements=list(statements) or None,
        )

    def add_to_principal_policy(
        self, statement: iam.PolicyStatement
    ) -> iam.AddToPrincipalPolicyResult:
        """Add ``statement`` to :attr:`managed_policy` (where every CDK grant lands)."""
        self.managed_policy.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(
            statement_added=True, policy_dependable=self.managed_policy
        )

    def add_to_policy(self, statement: iam.PolicyStatement) -> bool:
        """Add ``statement`` to :attr:`managed_policy`; always True."""
        self.managed_policy.add_statements(statement)
        return True


def depend_only_on_policy(construct: IConstruct, policy: iam.ManagedPolicy) -> None:
    """Make the L1 resource of ``construct`` wait for ``policy``, and list only it in DependsOn.

    A resource that checks its role's permissions when it is created (a state machine with
    logging) must be created after the role's policy. It already waits for the role itself
    through its ``RoleArn`` reference, which makes a ``DependsOn`` on the role redundant
    (cfn-lint W3005), so any the construct added is replaced.
    """
    resource = construct.node.default_child
    policy_resource = policy.node.default_child
    assert isinstance(resource, CfnResource) and isinstance(policy_resource, CfnResource)
    resource.add_override("DependsOn", [Stack.of(policy).get_logical_id(policy_resource)])
