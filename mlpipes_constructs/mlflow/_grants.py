"""Grants on the MLflow server's credentials that never make a dependency cycle."""

from __future__ import annotations

from aws_cdk import Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager

SECRET_READ_ACTIONS: tuple[str, ...] = (
    "secretsmanager:GetSecretValue",
    "secretsmanager:DescribeSecret",
)


def grant_secret_read(secret: secretsmanager.ISecret, grantee: iam.IGrantable) -> iam.Grant:
    """Let ``grantee`` read ``secret`` and decrypt it through Secrets Manager.

    For a principal of the secret's account, both statements go into the grantee's own policy.
    CDK's ``ISecret.grant_read`` asks the key for the decryption through a ``kms:ViaService``
    principal, which has no policy, so the statement lands in the key's policy and names the
    grantee: with the key in one stack and the grantee in another, the key's stack then depends
    on the grantee's, which depends on the key's (a ``DependencyCycle`` at synth). Principals
    of other accounts, and principals without a policy of their own (service principals), need
    the resource policies, and get CDK's grant.
    """
    stack = Stack.of(secret)
    if not _same_account(grantee.grant_principal, stack.account):
        return secret.grant_read(grantee)
    resource_arn = secret.secret_full_arn or f"{secret.secret_arn}-??????"
    read = iam.Grant.add_to_principal(
        grantee=grantee, actions=list(SECRET_READ_ACTIONS), resource_arns=[resource_arn]
    )
    if not read.success:
        return secret.grant_read(grantee)
    key = secret.encryption_key
    if key is None:  # the account's AWS managed key, which trusts Secrets Manager's callers
        return read
    decrypt = iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["kms:Decrypt"],
        resource_arns=[key.key_arn],
        conditions={
            "StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"}
        },
    )
    return read.combine(decrypt)


def _same_account(principal: iam.IPrincipal, account: str) -> bool:
    """Whether ``principal`` belongs to ``account`` (unknown accounts count as the same)."""
    principal_account = principal.principal_account
    return (
        principal_account is None
        or Token.is_unresolved(principal_account)
        or Token.is_unresolved(account)
        or principal_account == account
    )
