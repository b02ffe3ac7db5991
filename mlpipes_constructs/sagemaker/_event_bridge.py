"""EventBridge glue: S3 notifications on a bucket, and the pipeline rule target."""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import CfnResource, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.interfaces.aws_events import IRuleRef
from constructs import IValidation

#: The custom resource through which ``s3.Bucket`` configures notifications, EventBridge's
#: included (``event_bridge_enabled=True``, ``enable_event_bridge_notification()``).
BUCKET_NOTIFICATIONS_TYPE = "Custom::S3BucketNotifications"


def bucket_event_bridge_state(bucket: s3.IBucket) -> bool | None:
    """Whether a bucket defined in this app sends its events to EventBridge.

    ``None`` for an imported bucket, whose configuration is not in the app.
    """
    resource = bucket.node.default_child
    if not isinstance(resource, s3.CfnBucket):
        return None
    configuration = Stack.of(resource).resolve(resource.notification_configuration)
    if _event_bridge_on(configuration):
        return True
    notifications = _notifications_resource(bucket)
    if notifications is None:
        return False
    properties = Stack.of(notifications).resolve(notifications._cfn_properties)
    return isinstance(properties, dict) and _event_bridge_on(
        properties.get("NotificationConfiguration")
    )


def _event_bridge_on(configuration: Any) -> bool:
    if not isinstance(configuration, dict):
        return False
    bridge = configuration.get("eventBridgeConfiguration") or configuration.get(
        "EventBridgeConfiguration"
    )
    if not isinstance(bridge, dict):
        return False
    # The custom resource writes an empty object for "on"; the L1 property a flag.
    enabled = bridge.get("eventBridgeEnabled", bridge.get("EventBridgeEnabled", True))
    return enabled is True


def _notifications_resource(bucket: s3.IBucket) -> CfnResource | None:
    """The bucket's ``Custom::S3BucketNotifications`` resource, if CDK created one."""
    notifications = bucket.node.try_find_child("Notifications")
    resource = notifications.node.try_find_child("Resource") if notifications else None
    if isinstance(resource, CfnResource) and (
        resource.cfn_resource_type == BUCKET_NOTIFICATIONS_TYPE
    ):
        return resource
    return None


def enable_bucket_event_bridge(bucket: s3.IBucket) -> None:
    """Turn on EventBridge notifications of a bucket defined in this app (no custom resource).

    Sets ``NotificationConfiguration.EventBridgeConfiguration`` on the bucket's
    ``AWS::S3::Bucket`` and keeps any other notification configuration it has. A bucket whose
    notifications CDK already manages through its custom resource is switched on there, as
    the two would otherwise overwrite each other.
    """
    resource = bucket.node.default_child
    if not isinstance(resource, s3.CfnBucket):
        raise TypeError(f"'{bucket.node.path}' is not a bucket defined in this app")
    if isinstance(bucket, s3.Bucket) and _notifications_resource(bucket) is not None:
        bucket.enable_event_bridge_notification()
        return
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


@jsii.implements(IValidation)
class BucketSendsEvents:
    """Synth-time check that another stack's bucket has EventBridge notifications on."""

    def __init__(self, bucket: s3.IBucket, prefix: str) -> None:
        self._bucket = bucket
        self._prefix = prefix

    def validate(self) -> list[str]:
        if bucket_event_bridge_state(self._bucket):
            return []
        return [
            f"trigger_prefix '{self._prefix}' needs the artifact bucket "
            f"'{self._bucket.node.path}' to send events to EventBridge; it is defined in "
            "another stack, so turn it on there (ArtifactStorage(event_bridge_enabled=True) "
            "or s3.Bucket(event_bridge_enabled=True))"
        ]
