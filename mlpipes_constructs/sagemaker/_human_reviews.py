"""What runs the human review steps of a SageMaker pipeline: a queue, a handler and a rule.

SageMaker Pipelines sends each review step's callback message to :attr:`HumanReviews.queue`
(as the pipeline role, which gets ``sqs:SendMessage`` and the key). The handler
(``_review_handler/index.py``) reads it, keeps the callback token under
``<artifact folder>human-loops/`` and starts the human loop; an EventBridge rule sends it the
"SageMaker A2I HumanLoop Status Change" events of the pipeline's loops (their names start
with each review step's prefix), and it completes the callback step with the outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from mlpipes_constructs._internal.python_handler import HandlerReasons, python_handler
from mlpipes_constructs.a2i import IFlowDefinition
from mlpipes_constructs.compile.human_review import TERMINAL_STATUSES, human_loop_prefix
from mlpipes_constructs.compliance import acknowledge, acknowledge_wildcards
from mlpipes_constructs.core._human_review import grant_human_reviews, human_review_steps
from mlpipes_constructs.core._wildcards import wildcard_reasons_by_service
from mlpipes_constructs.iam import ManagedPolicyRole
from mlpipes_constructs.spec import Pipeline

#: The handler's code: one module, on the Lambda runtime's boto3.
REVIEW_HANDLER_DIRECTORY = Path(__file__).resolve().parent / "_review_handler"
STATUS_CHANGE = "SageMaker A2I HumanLoop Status Change"
#: The folder of the pipeline's artifact folder where the handler keeps callback tokens.
RECORD_FOLDER = "human-loops/"
#: How many times a callback message is tried before it goes to the dead-letter queue.
MAX_RECEIVE_COUNT = 5
HANDLER_TIMEOUT = Duration.minutes(1)
_WILDCARD_REASONS = {
    "sagemaker": (
        "callback steps belong to executions of this one pipeline, whose ids SageMaker makes "
        "when each execution starts; human loops are named with the review step's fixed prefix "
        "and a hash of the callback token, so only the prefix can be named"
    ),
    "s3": (
        "the handler keeps one callback token per human loop in this pipeline's human-loops "
        "folder, and reads the answers A2I writes under each flow definition's output folder, "
        "one key per human loop"
    ),
}


class HumanReviews(Construct):
    """The callback queue, its dead-letter queue, the review handler and its event rule.

    Args:
        pipeline: the spec (its review steps name the loops).
        pipeline_arn: the SageMaker pipeline's ARN (the handler completes its steps only).
        flow_definitions: the flow definitions the loops are started with.
        artifact_bucket: where the handler keeps the callback tokens.
        artifact_folder: the pipeline's folder in it (ends with ``/``).
        encryption_key: the key of the queues, the tokens and the handler's logs.
        log_retention: how long the handler's logs are kept. Default: one year.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline: Pipeline,
        pipeline_arn: str,
        flow_definitions: Sequence[IFlowDefinition],
        artifact_bucket: s3.IBucket,
        artifact_folder: str,
        encryption_key: kms.IKey,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
    ) -> None:
        super().__init__(scope, construct_id)
        self._key = encryption_key
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=encryption_key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.dead_letter_queue,
            "AwsSolutions-SQS3",
            "this is the dead-letter queue of the callback queue and of the review handler's "
            "event rule; it has no dead-letter queue of its own",
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=encryption_key,
            enforce_ssl=True,
            # AWS's advice for a Lambda event source: six times the function's timeout.
            visibility_timeout=Duration.seconds(HANDLER_TIMEOUT.to_seconds() * 6),
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=MAX_RECEIVE_COUNT, queue=self.dead_letter_queue
            ),
        )
        records = artifact_bucket.arn_for_objects(f"{artifact_folder}{RECORD_FOLDER}*")
        stack = Stack.of(self)
        executions = f"{pipeline_arn}/execution/*"
        parts = python_handler(
            self,
            code_directory=REVIEW_HANDLER_DIRECTORY,
            handler="index.handler",
            description="mlpipes: runs the A2I human loops of a SageMaker pipeline's reviews",
            role_description="Starts and completes the human review steps of a SageMaker pipeline",
            timeout=HANDLER_TIMEOUT,
            memory_size=256,
            log_key=encryption_key,
            log_retention=log_retention,
            network=None,
            reasons=HandlerReasons(
                concurrency=(
                    "the handler runs once per review step that starts and once per human loop "
                    "that ends; reserving concurrency would fail to deploy in accounts at the "
                    "minimum unreserved concurrency"
                ),
                dead_letter_queue=(
                    "the handler is invoked by its SQS queue, whose redrive policy moves a "
                    "message that keeps failing to the dead-letter queue, and by an EventBridge "
                    "rule whose target has that dead-letter queue; an asynchronous-invocation "
                    "dead-letter queue would receive nothing"
                ),
                outside_vpc=(
                    "the handler calls only the SageMaker, A2I runtime and S3 APIs, and the "
                    "review steps take no VPC placement"
                ),
            ),
            statements=[
                iam.PolicyStatement(
                    actions=[
                        "sagemaker:SendPipelineExecutionStepFailure",
                        "sagemaker:SendPipelineExecutionStepSuccess",
                    ],
                    resources=[executions],
                ),
                iam.PolicyStatement(actions=["s3:GetObject", "s3:PutObject"], resources=[records]),
                iam.PolicyStatement(
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[encryption_key.key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}
                    },
                ),
            ],
        )
        acknowledge_wildcards(
            parts.policy, wildcard_reasons_by_service(parts.policy, _WILDCARD_REASONS)
        )
        self.role: ManagedPolicyRole = parts.role
        self.log_group = parts.log_group
        self.function: lambda_.Function = parts.function
        self.function.add_environment("RECORD_BUCKET", artifact_bucket.bucket_name)
        self.function.add_environment("RECORD_PREFIX", f"{artifact_folder}{RECORD_FOLDER}")
        # The queue's consumer permissions (and the key's decrypt) go into the role's policy.
        self.queue.grant_consume_messages(self.role)
        self.function.add_event_source(
            sources.SqsEventSource(self.queue, batch_size=1, report_batch_item_failures=True)
        )
        grant_human_reviews(self.role, pipeline, flow_definitions, job_prefix=pipeline.name)
        self.prefixes = tuple(
            human_loop_prefix(pipeline.name, step.name) for step in human_review_steps(pipeline)
        )
        self.rule = events.Rule(
            self,
            "LoopEnded",
            description="Human loops of the pipeline's review steps that ended",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=[STATUS_CHANGE],
                detail={
                    "humanLoopName": [{"prefix": f"{prefix}-"} for prefix in self.prefixes],
                    "humanLoopStatus": sorted(TERMINAL_STATUSES),
                },
            ),
            targets=[
                targets.LambdaFunction(
                    self.function,
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=10,
                    max_event_age=Duration.hours(24),
                )
            ],
        )

    def grant_send_messages(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` (the pipeline role) send callback messages to the queue: SendMessage
        on it, and the two key actions SQS needs to encrypt a message, through SQS only."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["sqs:SendMessage"], resource_arns=[self.queue.queue_arn]
        )
        return grant.combine(
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resource_arns=[self._key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"sqs.{Stack.of(self).region}.amazonaws.com"}
                },
            )
        )
