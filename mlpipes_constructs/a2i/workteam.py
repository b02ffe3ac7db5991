"""A private work team of Amazon A2I reviewers, signed in through Amazon Cognito."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from aws_cdk import Arn, ArnFormat, CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.a2i._handler_function import HandlerFunction, HandlerPlacement
from mlpipes_constructs.foundation import PlatformKey

__all__ = ["ExistingWorkforce", "IWorkteam", "PrivateWorkteam"]

#: WorkteamName and WorkforceName (botocore's ``sagemaker`` model).
_WORKTEAM_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_WORKFORCE_NAME = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9\-]){0,62}$")
#: A Cognito domain prefix: lowercase letters, digits and hyphens, without reserved words.
_DOMAIN_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?$")
_RESERVED_DOMAIN_WORDS = ("aws", "amazon", "cognito")
#: Where the app client redirects until the workforce's subdomain is known: this machine only,
#: so no authorization code can reach a third party in between.
PLACEHOLDER_URL = "https://localhost/"
CALLBACK_RESOURCE_TYPE = "Custom::MlpipesWorkforceCallback"
#: The app client's settings that SageMaker's Cognito sign-in needs.
CLIENT_SETTINGS: dict[str, Any] = {
    "generate_secret": True,
    "flows": ["authorization_code_grant", "implicit_code_grant"],
    "scopes": ["email", "openid", "profile"],
    "identity_providers": ["COGNITO"],
    "auth_flows": ["user_srp"],
    "prevent_user_existence_errors": True,
}


@runtime_checkable
class IWorkteam(Protocol):
    """A work team whose members review a flow definition's tasks."""

    @property
    def workteam_arn(self) -> str: ...

    @property
    def workteam_name(self) -> str: ...


@dataclass(frozen=True)
class ExistingWorkforce:
    """The account's private workforce, made elsewhere; an account has one per Region.

    Attributes:
        workforce_name: the workforce's name.
        user_pool: the Cognito user pool the workforce signs its workers in with.
        client_id: the id of the workforce's app client in ``user_pool``.
    """

    workforce_name: str
    user_pool: cognito.IUserPool
    client_id: str


class _ImportedWorkteam(Construct):
    def __init__(self, scope: Construct, construct_id: str, arn: str) -> None:
        super().__init__(scope, construct_id)
        self._arn = arn
        self._name = Arn.split(arn, ArnFormat.SLASH_RESOURCE_NAME).resource_name or ""

    @property
    def workteam_arn(self) -> str:
        return self._arn

    @property
    def workteam_name(self) -> str:
        return self._name


class PrivateWorkteam(Construct):
    """A private work team whose members sign in through a Cognito user group.

    Without ``existing_workforce``, the construct creates the account's private workforce
    too: a Cognito user pool (required TOTP MFA, the Plus feature plan with threat protection
    enforced, a 14-character password policy, no self sign-up, deletion protection, retained),
    an app client with a secret (code and implicit flows; email, openid and profile scopes),
    a Cognito domain, and ``AWS::SageMaker::Workforce``. The client's callback URL
    ``https://<SubDomain>/oauth2/idpresponse`` is known only once the workforce exists, so a
    custom resource sets it then, keeping every other client setting.

    Args:
        workteam_name: the work team's name (letters, digits, hyphens; at most 63).
        description: what the team reviews (at most 200 characters). Default:
            "Reviewers of ML models before registration".
        existing_workforce: the account's private workforce, when it exists already; then only
            a user group of its user pool and the work team are created. Default: a new
            workforce (an account has one private workforce per Region).
        workforce_name: the name of the new workforce. Default: ``"mlpipes-reviewers"``.
            Not with ``existing_workforce``.
        domain_prefix: the prefix of the user pool's Cognito domain
            (``<prefix>.auth.<region>.amazoncognito.com``), unique in the Region. Default:
            ``<workforce name>-<account id>``. Not with ``existing_workforce``.
        user_group_name: the Cognito group whose members form the team. Default: the work
            team's name.
        notification_topic: the SNS topic SageMaker notifies when tasks are available.
            Default: no notifications.
        encryption_key: the key the callback handler's logs are encrypted with. Default: a
            new key with rotation enabled. Not used with ``existing_workforce``.
        handler_placement: the VPC the callback handler runs in. Default: no VPC.
        log_retention: how long the handler's logs are kept. Default: one year.

    Attributes:
        resource: the ``AWS::SageMaker::Workteam``.
        user_pool: the user pool the workers sign in to.
        user_group: the Cognito group of the team's members.
        user_pool_client: the workforce's new app client (None with ``existing_workforce``).
        user_pool_domain: the new user pool's domain (None with ``existing_workforce``).
        workforce: the new ``AWS::SageMaker::Workforce`` (None with ``existing_workforce``).
        callback: the custom resource that sets the client's callback URL (or None).
        callback_handler: its function (or None).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        workteam_name: str,
        description: str = "Reviewers of ML models before registration",
        existing_workforce: ExistingWorkforce | None = None,
        workforce_name: str | None = None,
        domain_prefix: str | None = None,
        user_group_name: str | None = None,
        notification_topic: sns.ITopic | None = None,
        encryption_key: kms.IKey | None = None,
        handler_placement: HandlerPlacement | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems(self.node.path)
        if existing_workforce is not None:
            for name, value in (
                ("workforce_name", workforce_name),
                ("domain_prefix", domain_prefix),
                ("encryption_key", encryption_key),
                ("handler_placement", handler_placement),
            ):
                if value is not None:
                    problems.conflict(
                        "existing_workforce", name, f"'{name}' only applies to a new workforce"
                    )
        _check(
            problems,
            "workteam_name",
            workteam_name,
            _WORKTEAM_NAME,
            "1 to 63 letters, digits and hyphens, starting and ending with a letter or digit",
        )
        if not is_unresolved(description) and not 1 <= len(description) <= 200:
            problems.add(f"description has {len(description)} characters; expected 1 to 200")
        group_name = user_group_name if user_group_name is not None else workteam_name
        if not is_unresolved(group_name) and not 1 <= len(group_name) <= 128:
            problems.add(f"user_group_name '{group_name}' must have 1 to 128 characters")
        new_workforce_name = workforce_name or "mlpipes-reviewers"
        _check(
            problems,
            "workforce_name",
            new_workforce_name,
            _WORKFORCE_NAME,
            "1 to 63 letters, digits and hyphens, starting with a letter or digit",
        )
        if (
            domain_prefix is not None
            and not is_unresolved(domain_prefix)
            and (
                not _DOMAIN_PREFIX.match(domain_prefix)
                or any(word in domain_prefix for word in _RESERVED_DOMAIN_WORDS)
            )
        ):
            problems.add(
                f"domain_prefix '{domain_prefix}' must be 1 to 63 lowercase letters, digits "
                "and hyphens, not starting or ending with a hyphen, without 'aws', "
                "'amazon' or 'cognito'"
            )
        problems.raise_if_any()

        self.user_pool_client: cognito.UserPoolClient | None = None
        self.user_pool_domain: cognito.UserPoolDomain | None = None
        self.workforce: sagemaker.CfnWorkforce | None = None
        self.callback: CustomResource | None = None
        self.callback_handler: HandlerFunction | None = None
        self.user_pool: cognito.IUserPool
        if existing_workforce is None:
            user_pool = self._user_pool()
            self.user_pool = user_pool
            client = self._client(user_pool)
            self.user_pool_client = client
            self.user_pool_domain = user_pool.add_domain(
                "Domain",
                cognito_domain=cognito.CognitoDomainOptions(
                    domain_prefix=domain_prefix
                    or f"{new_workforce_name.lower()}-{Stack.of(self).account}"
                ),
            )
            self.workforce = sagemaker.CfnWorkforce(
                self,
                "Workforce",
                workforce_name=new_workforce_name,
                cognito_config=sagemaker.CfnWorkforce.CognitoConfigProperty(
                    client_id=client.user_pool_client_id, user_pool=self.user_pool.user_pool_id
                ),
            )
            self.workforce.node.add_dependency(self.user_pool_domain)
            self._fix_callback(
                self.workforce,
                client,
                encryption_key
                or PlatformKey(
                    self, "LogKey", description="mlpipes A2I workforce handler logs"
                ).key,
                handler_placement,
                log_retention,
            )
            team_workforce, client_id = new_workforce_name, client.user_pool_client_id
        else:
            self.user_pool = existing_workforce.user_pool
            team_workforce = existing_workforce.workforce_name
            client_id = existing_workforce.client_id
        self.user_group = cognito.CfnUserPoolGroup(
            self,
            "Group",
            user_pool_id=self.user_pool.user_pool_id,
            group_name=group_name,
            description=f"Members of the A2I work team {workteam_name}",
        )
        self.resource = sagemaker.CfnWorkteam(
            self,
            "Resource",
            workteam_name=workteam_name,
            description=description,
            workforce_name=team_workforce,
            member_definitions=[
                sagemaker.CfnWorkteam.MemberDefinitionProperty(
                    cognito_member_definition=sagemaker.CfnWorkteam.CognitoMemberDefinitionProperty(
                        cognito_user_pool=self.user_pool.user_pool_id,
                        cognito_user_group=str(self.user_group.ref),
                        cognito_client_id=client_id,
                    )
                )
            ],
            notification_configuration=(
                sagemaker.CfnWorkteam.NotificationConfigurationProperty(
                    notification_topic_arn=notification_topic.topic_arn
                )
                if notification_topic is not None
                else None
            ),
        )
        if self.workforce is not None:
            self.resource.node.add_dependency(self.workforce)

    @property
    def workteam_arn(self) -> str:
        """The work team's ARN."""
        return self.resource.attr_workteam_arn

    @property
    def workteam_name(self) -> str:
        """The work team's name."""
        return str(self.resource.workteam_name)

    @classmethod
    def from_workteam_arn(cls, scope: Construct, construct_id: str, arn: str) -> IWorkteam:
        """An existing work team, by ARN."""
        return _ImportedWorkteam(scope, construct_id, arn)

    def _user_pool(self) -> cognito.UserPool:
        return cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True, username=False),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=14,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
                password_history_size=24,
            ),
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _client(self, user_pool: cognito.UserPool) -> cognito.UserPoolClient:
        return user_pool.add_client(
            "Client",
            generate_secret=True,
            auth_flows=cognito.AuthFlow(user_srp=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True, implicit_code_grant=True),
                scopes=[
                    cognito.OAuthScope.EMAIL,
                    cognito.OAuthScope.OPENID,
                    cognito.OAuthScope.PROFILE,
                ],
                callback_urls=[PLACEHOLDER_URL],
                logout_urls=[PLACEHOLDER_URL],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
        )

    def _fix_callback(
        self,
        workforce: sagemaker.CfnWorkforce,
        client: cognito.UserPoolClient,
        log_key: kms.IKey,
        placement: HandlerPlacement | None,
        log_retention: logs.RetentionDays,
    ) -> None:
        handler = HandlerFunction(
            self,
            "CallbackHandler",
            entry_point="client_callback.handler",
            description="sets the A2I workforce's sign-in callback URL on its Cognito app client",
            timeout=Duration.minutes(2),
            log_key=log_key,
            log_retention=log_retention,
            placement=placement,
        )
        handler.policy.add_statements(
            iam.PolicyStatement(
                actions=["cognito-idp:DescribeUserPoolClient", "cognito-idp:UpdateUserPoolClient"],
                resources=[self.user_pool.user_pool_arn],
            )
        )
        self.callback_handler = handler
        settings = json.dumps(CLIENT_SETTINGS, sort_keys=True).encode()
        self.callback = CustomResource(
            self,
            "Callback",
            service_token=handler.function.function_arn,
            resource_type=CALLBACK_RESOURCE_TYPE,
            properties={
                "UserPoolId": self.user_pool.user_pool_id,
                "ClientId": client.user_pool_client_id,
                "SubDomain": workforce.attr_sub_domain,
                # A change of the client's settings makes CloudFormation reset its URLs to the
                # placeholder; the changed hash runs the handler again after that update.
                "ClientSettings": hashlib.sha256(settings).hexdigest()[:16],
            },
        )
        self.callback.node.add_dependency(handler.policy)


def _check(problems: Problems, prop: str, value: str, pattern: re.Pattern[str], rule: str) -> None:
    if not is_unresolved(value) and not pattern.match(value):
        problems.add(f"{prop} '{value}' must be {rule}")
