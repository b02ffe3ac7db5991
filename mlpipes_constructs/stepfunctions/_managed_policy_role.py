"""A role whose statements go to one customer-managed policy instead of an inline one."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from constructs import Construct


class ManagedPolicyRole(iam.Role):
    """An ``iam.Role`` that puts every statement added to it into :attr:`managed_policy`.

    CDK constructs grant permissions through ``add_to_principal_policy``, which on a plain role
    creates an inline ``DefaultPolicy``. Here the statements land in a customer-managed policy
    attached to the role, which can be reviewed and versioned on its own (and satisfies the
    HIPAA / NIST ``IAMNoInlinePolicy`` rules).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        assumed_by: iam.IPrincipal,
        description: str,
    ) -> None:
        super().__init__(scope, construct_id, assumed_by=assumed_by, description=description)
        self.managed_policy = iam.ManagedPolicy(
            self, "Policy", roles=[self], description=f"Permissions: {description}"
        )

    def add_to_principal_policy(
        self, statement: iam.PolicyStatement
    ) -> iam.AddToPrincipalPolicyResult:
        self.managed_policy.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(
            statement_added=True, policy_dependable=self.managed_policy
        )

    def add_to_policy(self, statement: iam.PolicyStatement) -> bool:
        self.managed_policy.add_statements(statement)
        return True
