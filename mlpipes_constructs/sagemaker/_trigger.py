"""Starting a SageMaker pipeline for each new object under an S3 prefix, without Lambda.

The parameters of an EventBridge rule target that is a SageMaker pipeline are the target's
fixed ``SageMakerPipelineParameters``; nothing documents a way to fill one from the event. So
the rule starts a small Step Functions state machine instead, whose input is the whole event
(documented behaviour), and its one task calls ``StartPipelineExecution`` through the AWS SDK
integration with a parameter built from the event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from mlpipes_constructs.core._failure_topic import FailureNotificationTopic
from mlpipes_constructs.core._state_machine import HardenedStateMachine
from mlpipes_constructs.core._trust import service_role

#: The state name of the task, and so of its entries in execution histories and logs.
START_STATE = "StartPipelineExecution"
#: An execution makes one API call and a few retries; anything longer is stuck.
TRIGGER_TIMEOUT = Duration.minutes(5)
#: What an AWS SDK task raises when SageMaker throttles (``ServiceName.ErrorNameException``)
#: and for its unmodelled service errors (5xx).
#: ``AmazonSageMakerException`` is the name the rest of the library retries as well.
RETRY_ERRORS: tuple[str, ...] = (
    "SageMaker.ThrottlingException",
    "SageMaker.SageMakerException",
    "SageMaker.AmazonSageMakerException",
)
#: Trigger executions that did not start a pipeline execution.
FAILURE_STATUSES: tuple[str, ...] = ("FAILED", "TIMED_OUT")

_OBJECT_URI = sfn.JsonPath.format(
    "s3://{}/{}",
    sfn.JsonPath.string_at("$.detail.bucket.name"),
    sfn.JsonPath.string_at("$.detail.object.key"),
)


def trigger_parameter_problems(definition: Mapping[str, Any], parameter: str) -> list[str]:
    """Why ``parameter`` cannot receive an object's ``s3://`` URI in this pipeline definition.

    It must be one of the definition's parameters, of type ``String``.
    """
    declared = {
        entry["Name"]: entry
        for entry in definition.get("Parameters") or []
        if isinstance(entry, Mapping) and isinstance(entry.get("Name"), str)
    }
    if parameter not in declared:
        return [
            f"trigger_parameter '{parameter}' is not a parameter of the pipeline "
            f"(parameters: {', '.join(sorted(declared)) or 'none'})"
        ]
    kind = declared[parameter].get("Type", "String")
    if kind != "String":
        return [
            f"trigger_parameter '{parameter}' is a {kind} parameter; it receives the new "
            "object's s3:// URI, so it must be a String parameter"
        ]
    return []


class S3PipelineTrigger(Construct):
    """Starts an execution of a SageMaker pipeline for every new object under a bucket prefix.

    An EventBridge rule on the bucket's S3 ``Object Created`` events under ``prefix`` starts a
    STANDARD state machine with the whole event as input. Its one task calls SageMaker's
    ``StartPipelineExecution`` (AWS SDK integration) with ``parameter`` set to
    ``s3://<bucket>/<key>`` and the event id (a UUID) as ``ClientRequestToken``: an event that
    EventBridge delivers twice, or a call retried after a lost response, starts one pipeline
    execution, not two. Throttling and SageMaker service errors are retried with backoff.

    STANDARD rather than EXPRESS: Step Functions sends execution status changes to EventBridge
    for standard workflows only, and those events are what reports a failed trigger (the few
    state transitions an object costs are next to nothing). The execution history shows, per
    object, the pipeline execution it started or the reason it did not.

    The object key is passed on as the event carries it; keys made of S3's safe characters
    (letters, digits, ``/ ! - _ . * ' ( )``) need no thought. SageMaker accepts parameter
    values of up to 1024 characters, so a longer ``s3://`` URI fails the trigger execution.

    Args:
        bucket: the bucket whose new objects start executions; it must send its events to
            EventBridge (checked by the caller).
        prefix: the folder of ``bucket`` to watch, e.g. ``"data/incoming/"``.
        pipeline_name: the SageMaker pipeline to start.
        pipeline_arn: its ARN; the only resource the state machine may start.
        parameter: the String pipeline parameter that receives the object's URI.
        encryption_key: the key of the execution log group; its policy must let CloudWatch
            Logs use it (``PlatformKey`` does).
        notifications: the failure topic that failed and timed-out trigger executions are
            published to. Default: not published; they show as failed executions of
            :attr:`state_machine` and in its ``ExecutionsFailed`` metric.
        log_retention: how long execution logs are kept. Default: one year.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        prefix: str,
        pipeline_name: str,
        pipeline_arn: str,
        parameter: str,
        encryption_key: kms.IKey,
        notifications: FailureNotificationTopic | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
    ) -> None:
        super().__init__(scope, construct_id)
        start = tasks.CallAwsService(
            self,
            "Start",
            state_name=START_STATE,
            comment=f"Start {pipeline_name} with the new object as {parameter}",
            service="sagemaker",
            action="startPipelineExecution",
            iam_action="sagemaker:StartPipelineExecution",
            iam_resources=[pipeline_arn],
            parameters={
                "PipelineName": pipeline_name,
                "PipelineParameters": [{"Name": parameter, "Value": _OBJECT_URI}],
                # A version 4 UUID (36 characters; the API takes 32 to 128), the same on
                # every delivery of the event: SageMaker starts one execution per token.
                "ClientRequestToken": sfn.JsonPath.string_at("$.id"),
                "PipelineExecutionDescription": sfn.JsonPath.format(
                    "Started by the new object s3://{}/{} (EventBridge event {})",
                    sfn.JsonPath.string_at("$.detail.bucket.name"),
                    sfn.JsonPath.string_at("$.detail.object.key"),
                    sfn.JsonPath.string_at("$.id"),
                ),
            },
            result_selector={
                "PipelineExecutionArn": sfn.JsonPath.string_at("$.PipelineExecutionArn")
            },
        )
        start.add_retry(
            errors=list(RETRY_ERRORS),
            interval=Duration.seconds(2),
            backoff_rate=2,
            max_attempts=6,
            jitter_strategy=sfn.JitterType.FULL,
        )

        self.hardened = HardenedStateMachine(
            self,
            "StateMachine",
            definition=start,
            encryption_key=encryption_key,
            timeout=TRIGGER_TIMEOUT,
            comment=f"Starts {pipeline_name} for new objects under {prefix}",
            role_description=f"Starts the SageMaker pipeline {pipeline_name} for new objects",
            log_retention=log_retention,
        )
        self.state_machine = self.hardened.state_machine
        self.role = self.hardened.role
        self.log_group = self.hardened.log_group

        # targets.SfnStateMachine grants states:StartExecution on this state machine only, to
        # this role, whose statements go to its managed policy rather than an inline one.
        self.rule_role = service_role(
            self,
            "RuleRole",
            service="events.amazonaws.com",
            description=f"Lets EventBridge start the trigger of the SageMaker pipeline "
            f"{pipeline_name}",
        )
        self.rule = events.Rule(
            self,
            "Rule",
            description=f"Starts the SageMaker pipeline {pipeline_name} for new objects under "
            f"{prefix}",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [bucket.bucket_name]},
                    "object": {"key": [{"prefix": prefix}]},
                },
            ),
            targets=[targets.SfnStateMachine(self.state_machine, role=self.rule_role)],
        )

        self.failure_rule: events.Rule | None = None
        if notifications is not None:
            self.failure_rule = notifications.add_state_machine_rule(
                "TriggerFailureRule",
                description=f"Publishes new objects under {prefix} that failed to start the "
                f"SageMaker pipeline {pipeline_name}",
                state_machine_arn=self.state_machine.state_machine_arn,
                statuses=FAILURE_STATUSES,
            )
