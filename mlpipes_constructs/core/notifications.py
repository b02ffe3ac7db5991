"""Where a pipeline construct announces failed executions."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns

from mlpipes_constructs._internal.validation import Problems


@dataclass(frozen=True)
class FailureNotifications:
    """Failure notifications of a pipeline construct, taken as ``notifications=``.

    Each construct publishes its failed executions (and, where it has them, the failures of
    its helpers, such as an S3 trigger) to one SNS topic through EventBridge rules. The
    topic's policy lets EventBridge publish only from those rules (``aws:SourceArn``).

    Attributes:
        enabled: publish failures at all. Default: True.
        topic: the topic to publish to; its policy must let ``events.amazonaws.com`` publish
            (a topic of this app gets the statement). Default: a new topic encrypted with
            ``encryption_key`` that refuses requests without TLS.
        encryption_key: the key of the new topic. EventBridge must be allowed to use it: a
            ``kms.Key`` in the construct's stack gets a key policy statement
            (``kms:Decrypt`` and ``kms:GenerateDataKey*`` for ``events.amazonaws.com``); for
            any other key, add that statement yourself (a warning says so). Default: the
            construct's ``encryption_key``.
    """

    enabled: bool = True
    topic: sns.ITopic | None = None
    encryption_key: kms.IKey | None = None


def notifications_problems(
    notifications: FailureNotifications, problems: Problems, *, prop: str = "notifications"
) -> None:
    """Record the options of ``notifications`` that contradict each other."""
    if not notifications.enabled:
        if notifications.topic is not None:
            problems.conflict(
                f"{prop}.topic", f"{prop}.enabled=False", "nothing would be published"
            )
        if notifications.encryption_key is not None:
            problems.conflict(
                f"{prop}.encryption_key", f"{prop}.enabled=False", "no topic is created"
            )
    elif notifications.topic is not None and notifications.encryption_key is not None:
        problems.conflict(
            f"{prop}.encryption_key",
            f"{prop}.topic",
            "the key applies only to a new topic; an existing topic keeps its own",
        )
