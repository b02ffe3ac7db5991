"""EventBridge glue: S3 notifications on a bucket, key policies, and rule targets."""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import Annotations, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.interfaces.aws_events import IRuleRef
from constructs import Construct, IValidation

#: What EventBridge needs from a KMS key to publish to a topic encrypted with it.
EVENTS_KEY_ACTIONS: tuple[str, ...] = ("kms:Decrypt", "kms:GenerateDataKey")


def bucket_event_bridge_state(bucket: s3.IBucket) -> bool | None:
    """Whether a bucket defined in this app sends its events to EventBridge.

    ``None`` for an imported bucket, whose configuration is not in the app.
    """
    resource = bucket.node.default_child
    if not isinstance(resource, s3.CfnBucket):
        return None
    configuration = Stack.of(resource).resolve(resource.notification_configuration)
    if not isinstance(configuration, dict):
        return False
    bridge = configuration.get("eventBridgeConfiguration") or configuration.get(
        "EventBridgeConfiguration"
    )
    if not isinstance(bridge, dict):
        return False
    return (bridge.get("eventBridgeEnabled") or bridge.get("EventBridgeEnabled")) is True


def enable_bucket_event_bridge(bucket: s3.IBucket) -> None:
    """Turn on EventBridge notifications of a bucket defined in this app (no custom resource).

    Sets ``NotificationConfiguration.EventBridgeConfiguration`` on the bucket's
    ``AWS::S3::Bucket`` and keeps any other notification configuration it has.
    """
    resource = bucket.node.default_child
    if not isinstance(resource, s3.CfnBucket):
        raise TypeError(f"'{bucket.node.path}' is not a bucket defined in this app")
    current = resource.notification_configuration
    bridge = s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True)
    if isinstance(current, s3.CfnBucket.NotificationConfigurationProperty):
        resource.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=bridge,
            lambda_configurations=current.lambda_configurations,
            queue_configurations=current.queue_configurations,
            topic_configurations=current.topic_configurations,
        )
    else:
        resource.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=bridge
        )


def allow_events_to_use_key(scope: Construct, key: kms.IKey, warning_id: str) -> None:
    """Let EventBridge use ``key`` when the key is defined in ``scope``'s stack; else warn."""
    if isinstance(key, kms.Key) and Stack.of(key) is Stack.of(scope):
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEventBridgeToPublishEncryptedMessages",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
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


def _warn_key_policy(scope: Construct, key: kms.IKey, warning_id: str) -> None:
    Annotations.of(scope).add_warning_v2(
        warning_id,
        f"the key '{key.node.path}' is not defined in this stack, so its key policy is not "
        "changed: it must let events.amazonaws.com use kms:Decrypt and kms:GenerateDataKey "
        "(PlatformKey(service_principals=['events.amazonaws.com']) or "
        "PlatformKey.allow_service) or EventBridge cannot publish to the encrypted topic",
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
        if not isinstance(document, dict):
            document = {}
        for statement in document.get("Statement", []):
            principals = statement.get("Principal", {}).get("Service", [])
            actions = statement.get("Action", [])
            if "events.amazonaws.com" in _as_list(principals) and set(EVENTS_KEY_ACTIONS) <= set(
                _as_list(actions)
            ):
                return []
        _warn_key_policy(self._scope, self._key, self._warning_id)
        return []


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@jsii.implements(events.IRuleTarget)
class PipelineRuleTarget:
    """An EventBridge rule target that starts a SageMaker pipeline execution.

    The execution gets the target's ``SageMakerPipelineParameters``: fixed values only. A value
    taken from the event (such as a new object's key) needs a step in between; see
    :class:`~mlpipes_constructs.sagemaker._trigger.S3PipelineTrigger`.
    """

    def __init__(
        self,
        pipeline_arn: str,
        role: iam.IRole,
        *,
        parameters: dict[str, str] | None = None,
    ) -> None:
        self._pipeline_arn = pipeline_arn
        self._role = role
        self._parameters = parameters or {}

    def bind(self, rule: IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        if self._parameters:
            resource = rule.node.default_child
            assert isinstance(resource, events.CfnRule)
            resource.add_property_override(
                "Targets.0.SageMakerPipelineParameters",
                _parameter_list(self._parameters),
            )
        return events.RuleTargetConfig(arn=self._pipeline_arn, role=self._role)


def _parameter_list(parameters: dict[str, str]) -> dict[str, Any]:
    return {
        "PipelineParameterList": [
            {"Name": name, "Value": value} for name, value in sorted(parameters.items())
        ]
    }
