"""The platform's customer-managed KMS key."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems, is_unresolved

_ALIAS = re.compile(r"(alias/)?[A-Za-z0-9/_-]{1,250}")

#: What an AWS service principal may do with the key: encrypt and decrypt data keys only.
SERVICE_KEY_ACTIONS: tuple[str, ...] = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)


#: What a service that publishes to an encrypted SNS topic needs from the key (the SNS
#: developer guide, "compatibility between event sources from AWS services and encrypted
#: topics"): a data key for the message, and decrypting it.
PUBLISHER_KEY_ACTIONS: tuple[str, ...] = ("kms:Decrypt", "kms:GenerateDataKey")

#: Services that use the key only to publish encrypted messages, and the actions they get.
SERVICE_KEY_ACTIONS_BY_SERVICE: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"events.amazonaws.com": PUBLISHER_KEY_ACTIONS}
)


def service_key_actions(service_principal: str) -> tuple[str, ...]:
    """The key actions :meth:`PlatformKey.allow_service` grants ``service_principal``."""
    return SERVICE_KEY_ACTIONS_BY_SERVICE.get(service_principal, SERVICE_KEY_ACTIONS)


#: Services whose calls to KMS carry no source account or ARN: a key policy conditioned on
#: them would lock the service out. EventBridge publishing to an encrypted SNS topic is one
#: (the SNS developer guide: such conditions are "not supported for EventBridge-to-encrypted
#: topics").
UNCONDITIONED_SERVICES: frozenset[str] = frozenset({"events.amazonaws.com"})


class PlatformKey(Construct):
    """A customer-managed KMS key with rotation, shared by the platform's data stores.

    The key policy enables IAM policies in this account (so roles get access through
    ``grant_*`` and :class:`SageMakerJobRole`, which is how S3 and SageMaker use the key on a
    caller's behalf) and lets CloudWatch Logs encrypt this account's log groups in this region.
    More AWS services that encrypt with the key under their own service principal (EventBridge,
    SNS, CloudWatch alarms) are added with :meth:`allow_service`.

    Args:
        key: an existing key to use instead of creating one. A ``kms.Key`` of the same stack
            gets the statements the library needs (CloudWatch Logs, the services added) in its
            policy. The policy of any other key (imported, or of another stack, where an edit
            would make a dependency cycle) is left untouched: give it the statements of
            :meth:`required_key_policy_statements`. Default: a new key with rotation enabled.
        alias: alias of the new key, without the ``alias/`` prefix. Default: no alias.
        description: description of the new key. Default: "mlpipes platform key".
        rotation_period: how often the new key rotates, 90 to 2560 days. Default: 365 days.
        pending_window: waiting period before a scheduled deletion of the new key takes effect,
            7 to 30 days. Default: 30 days.
        removal_policy: what happens to the new key when it leaves the stack.
            Default: ``RemovalPolicy.RETAIN`` (data encrypted with it stays readable).
        allow_cloudwatch_logs: let CloudWatch Logs encrypt log groups of this account and
            region with the key. Default: True.
        service_principals: further service principals (e.g. ``"events.amazonaws.com"``)
            allowed to encrypt and decrypt with the key. Default: none.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey | None = None,
        alias: str | None = None,
        description: str = "mlpipes platform key",
        rotation_period: Duration | None = None,
        pending_window: Duration | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        allow_cloudwatch_logs: bool = True,
        service_principals: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems(self.node.path)
        if key is not None:
            for name, value in (
                ("alias", alias),
                ("rotation_period", rotation_period),
                ("pending_window", pending_window),
            ):
                if value is not None:
                    problems.conflict("key", name, f"'{name}' only applies to a new key")
        rotation_days = problems.check_whole_days("rotation_period", rotation_period)
        if rotation_days is not None:
            problems.require(
                90 <= rotation_days <= 2560,
                f"rotation_period {rotation_days} days must be from 90 to 2560 days",
            )
        pending_days = problems.check_whole_days("pending_window", pending_window)
        if pending_days is not None:
            problems.require(
                7 <= pending_days <= 30, f"pending_window {pending_days} days must be from 7 to 30"
            )
        if alias is not None and not is_unresolved(alias):
            problems.require(
                _ALIAS.fullmatch(alias) is not None and not alias.startswith(("aws", "alias/aws")),
                f"alias '{alias}' must use only letters, digits, '/', '_' and '-' (up to 250) "
                "and must not start with 'aws'",
            )
        problems.raise_if_any()

        self.owns_key = key is None
        self._required_statements: list[iam.PolicyStatement] = [_enable_iam_policies()]
        if key is not None:
            self.key: kms.IKey = key
            #: Whether the library adds its statements to the key's policy.
            self.edits_key_policy = isinstance(key, kms.Key) and Stack.of(key) is Stack.of(self)
            self._require_statements(allow_cloudwatch_logs, service_principals)
            return
        self.edits_key_policy = True
        new_key = kms.Key(
            self,
            "Resource",
            description=description,
            enable_key_rotation=True,
            rotation_period=rotation_period or Duration.days(365),
            pending_window=pending_window or Duration.days(30),
            removal_policy=removal_policy,
        )
        if alias is not None:
            new_key.add_alias(alias if alias.startswith("alias/") else f"alias/{alias}")
        self.key = new_key
        self._require_statements(allow_cloudwatch_logs, service_principals)

    def _require_statements(
        self, allow_cloudwatch_logs: bool, service_principals: Sequence[str]
    ) -> None:
        if allow_cloudwatch_logs:
            self._require(self._cloudwatch_logs_statement())
        for service in service_principals:
            self.allow_service(service)

    @property
    def key_arn(self) -> str:
        return self.key.key_arn

    def allow_service(self, service_principal: str) -> None:
        """Let an AWS service principal encrypt and decrypt with the key, in this account.

        A service that only publishes encrypted messages (EventBridge) gets only what SNS
        needs from it (:data:`SERVICE_KEY_ACTIONS_BY_SERVICE`); others get
        :data:`SERVICE_KEY_ACTIONS`. For a key whose policy the library does not edit, the
        statement is added to :meth:`required_key_policy_statements` only.
        """
        conditions = (
            None
            if service_principal in UNCONDITIONED_SERVICES
            else {"StringEquals": {"aws:SourceAccount": Stack.of(self).account}}
        )
        self._require(
            iam.PolicyStatement(
                sid=f"AllowService{_sid_suffix(service_principal)}",
                principals=[iam.ServicePrincipal(service_principal)],
                actions=list(service_key_actions(service_principal)),
                resources=["*"],  # in a key policy, "*" means this key
                conditions=conditions,
            )
        )

    def grant_encrypt_decrypt(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant using the key for data keys, with explicit actions (no ``kms:*`` patterns)."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(SERVICE_KEY_ACTIONS), resource_arns=[self.key.key_arn]
        )

    def required_key_policy_statements(self) -> list[iam.PolicyStatement]:
        """Exactly the statements the key's policy must hold for the library to work.

        They are: IAM policies of this account may use the key (how roles get it through
        ``grant_*``), and the statements for CloudWatch Logs and each service allowed. A key
        the library creates, or a ``kms.Key`` of the same stack, already has them; give them
        to the policy of an imported key.
        """
        return list(self._required_statements)

    def _require(self, statement: iam.PolicyStatement) -> None:
        self._required_statements.append(statement)
        if self.edits_key_policy:
            self.key.add_to_resource_policy(statement)

    def _cloudwatch_logs_statement(self) -> iam.PolicyStatement:
        stack = Stack.of(self)
        log_group_arns = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name="*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        return iam.PolicyStatement(
            sid="AllowCloudWatchLogs",
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=list(SERVICE_KEY_ACTIONS),
            resources=["*"],  # in a key policy, "*" means this key
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_group_arns}},
        )


def _enable_iam_policies() -> iam.PolicyStatement:
    """The default key policy statement: IAM policies of the account may use the key."""
    return iam.PolicyStatement(
        sid="EnableIamPolicies",
        principals=[iam.AccountRootPrincipal()],
        actions=["kms:*"],
        resources=["*"],  # in a key policy, "*" means this key
    )


def _sid_suffix(service_principal: str) -> str:
    """``events.amazonaws.com`` -> ``Events``: a statement id part from a service principal."""
    return "".join(part.capitalize() for part in service_principal.split(".")[0].split("-"))
