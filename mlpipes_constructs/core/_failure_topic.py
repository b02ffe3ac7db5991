"""The failure topic of a pipeline construct and the EventBridge rules that publish to it."""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import Annotations, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk.interfaces.aws_events import IRuleRef
from constructs import Construct, IValidation

#: What EventBridge needs from a KMS key to publish to a topic encrypted with it: the SNS
#: developer guide's key policy for EventBridge (and every other AWS service publisher).
EVENTS_KEY_ACTIONS: tuple[str, ...] = ("kms:Decrypt", "kms:GenerateDataKey*")
EVENTS_PRINCIPAL = "events.amazonaws.com"
#: The Step Functions event of an execution that changed status.
EXECUTION_STATUS_CHANGE = "Step Functions Execution Status Change"


class FailureNotificationTopic(Construct):
    """An SNS topic that EventBridge rules of this construct's owner publish failures to.

    The topic is the one given, or a new one encrypted with ``encryption_key`` that refuses
    requests without TLS. Rules added with :meth:`add_rule` publish to it; the topic policy
    lets ``events.amazonaws.com`` publish only for those rules (``aws:SourceArn``), so a rule
    of another account cannot use the topic. EventBridge gets ``kms:Decrypt`` and
    ``kms:GenerateDataKey*`` on the new topic's key when the key is in this stack.

    Args:
        display_name: the new topic's display name.
        topic: an existing topic. Default: a new topic (child ``Topic``).
        encryption_key: the new topic's key. Required without ``topic``.
        warning_id: the id of the warning given when the key's policy cannot be changed.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        display_name: str,
        topic: sns.ITopic | None = None,
        encryption_key: kms.IKey | None = None,
        warning_id: str,
    ) -> None:
        super().__init__(scope, construct_id)
        if topic is None:
            if encryption_key is None:
                raise ValueError("a new failure topic needs an encryption key")
            topic = sns.Topic(
                self,
                "Topic",
                display_name=display_name,
                master_key=encryption_key,
                enforce_ssl=True,
            )
            allow_events_to_use_key(self, encryption_key, warning_id)
        self.topic = topic
        self.rules: list[events.Rule] = []

    def add_rule(
        self, construct_id: str, *, description: str, event_pattern: events.EventPattern
    ) -> events.Rule:
        """A rule (child of this construct) that publishes matching events to the topic."""
        rule = events.Rule(
            self,
            construct_id,
            description=description,
            event_pattern=event_pattern,
            targets=[RuleScopedTopicTarget(self.topic)],
        )
        self.rules.append(rule)
        return rule

    def add_state_machine_rule(
        self,
        construct_id: str,
        *,
        description: str,
        state_machine_arn: str,
        statuses: tuple[str, ...],
    ) -> events.Rule:
        """A rule that publishes executions of a state machine that ended in ``statuses``."""
        return self.add_rule(
            construct_id,
            description=description,
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=[EXECUTION_STATUS_CHANGE],
                detail={"status": list(statuses), "stateMachineArn": [state_machine_arn]},
            ),
        )


@jsii.implements(events.IRuleTarget)
class RuleScopedTopicTarget:
    """Publishes to an SNS topic; the topic policy allows only the rule it is bound to.

    ``targets.SnsTopic`` lets ``events.amazonaws.com`` publish with no condition, so any
    account's rule could publish to the topic. EventBridge sends the rule's ARN as
    ``aws:SourceArn`` when it publishes (https://docs.aws.amazon.com/eventbridge/latest/
    userguide/eb-use-resource-based.html#eb-sns-permissions), so the statement names it.
    """

    def __init__(self, topic: sns.ITopic) -> None:
        self._topic = topic

    def bind(self, rule: IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        rule_arn = rule.rule_ref.rule_arn
        self._topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(EVENTS_PRINCIPAL)],
                actions=["sns:Publish"],
                resources=[self._topic.topic_arn],
                conditions={"ArnEquals": {"aws:SourceArn": rule_arn}},
            )
        )
        return events.RuleTargetConfig(arn=self._topic.topic_arn)


def allow_events_to_use_key(scope: Construct, key: kms.IKey, warning_id: str) -> None:
    """Let EventBridge use ``key`` when the key is defined in ``scope``'s stack; else warn."""
    if isinstance(key, kms.Key) and Stack.of(key) is Stack.of(scope):
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEventBridgeToPublishEncryptedMessages",
                principals=[iam.ServicePrincipal(EVENTS_PRINCIPAL)],
                actions=list(EVENTS_KEY_ACTIONS),
                resources=["*"],  # in a key policy, "*" means this key
                # No aws:SourceAccount/SourceArn: EventBridge sends none when it publishes
                # to an encrypted topic, so such a condition would drop every notification.
            )
        )
        return
    if isinstance(key, kms.Key):
        # Defined in another stack of the app: its policy may still gain the statement there.
        scope.node.add_validation(_KeyAllowsEvents(scope, key, warning_id))
        return
    _warn_key_policy(scope, key, warning_id)


def key_policy_allows_events(document: Any) -> bool:
    """Whether a key policy document lets EventBridge decrypt and generate data keys."""
    if not isinstance(document, dict):
        return False
    for statement in document.get("Statement", []):
        if statement.get("Effect", "Allow") != "Allow":
            continue
        principal = statement.get("Principal", {})
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        actions = set(_as_list(statement.get("Action", [])))
        generates = bool(actions & {"kms:GenerateDataKey*", "kms:GenerateDataKey", "kms:*"})
        decrypts = bool(actions & {"kms:Decrypt", "kms:*"})
        if EVENTS_PRINCIPAL in _as_list(services) and generates and decrypts:
            return True
    return False


def _warn_key_policy(scope: Construct, key: kms.IKey, warning_id: str) -> None:
    Annotations.of(scope).add_warning_v2(
        warning_id,
        f"the key '{key.node.path}' is not defined in this stack, so its key policy is not "
        "changed: it must let events.amazonaws.com use kms:Decrypt and kms:GenerateDataKey* "
        "or EventBridge cannot publish to the encrypted topic",
    )


@jsii.implements(IValidation)
class _KeyAllowsEvents:
    """At synth: warn unless the key's policy lets EventBridge use it."""

    def __init__(self, scope: Construct, key: kms.Key, warning_id: str) -> None:
        self._scope = scope
        self._key = key
        self._warning_id = warning_id

    def validate(self) -> list[str]:
        resource = self._key.node.default_child
        document = (
            Stack.of(self._key).resolve(resource.key_policy)
            if isinstance(resource, kms.CfnKey)
            else None
        )
        if not key_policy_allows_events(document):
            _warn_key_policy(self._scope, self._key, self._warning_id)
        return []


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
