"""The MLflow admin user's credentials, generated into Secrets Manager."""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct


def create_admin_secret(
    scope: Construct, *, key: kms.IKey, admin_username: str
) -> secretsmanager.Secret:
    """``{"username": ..., "password": ...}`` with a generated 32-character password."""
    return secretsmanager.Secret(
        scope,
        "AdminSecret",
        description="MLflow admin user of the mlpipes tracking server",
        encryption_key=key,
        generate_secret_string=secretsmanager.SecretStringGenerator(
            secret_string_template=f'{{"username": "{admin_username}"}}',
            generate_string_key="password",
            password_length=32,
            exclude_punctuation=True,
        ),
    )
