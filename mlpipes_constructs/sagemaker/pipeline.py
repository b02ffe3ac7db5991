"""A SageMaker Pipelines pipeline with a least-privilege role, triggers and failure alerts."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from aws_cdk import Annotations, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.a2i import IFlowDefinition
from mlpipes_constructs.compile import CompileError, JobPlacement
from mlpipes_constructs.core._defaults import (
    DEFAULT_ARTIFACT_PREFIX,
    artifact_folder,
    default_notifications,
    job_role_of,
    require_encryption_key,
)
from mlpipes_constructs.core._failure_topic import FailureNotificationTopic
from mlpipes_constructs.core._human_review import flow_definition_problems, human_review_steps
from mlpipes_constructs.core._job_code import JobCode
from mlpipes_constructs.core._schedule import (
    resolve_schedule,
    schedule_input_problems,
)
from mlpipes_constructs.core._trust import service_role
from mlpipes_constructs.core.notifications import FailureNotifications, notifications_problems
from mlpipes_constructs.core.pipeline_base import MlPipelineBase
from mlpipes_constructs.core.placement import JobPlacementOptions, resolve_placement
from mlpipes_constructs.core.tracking import MlflowTracking
from mlpipes_constructs.errors import PropsValidationError
from mlpipes_constructs.foundation import SageMakerJobRole
from mlpipes_constructs.foundation._s3_access import check_prefixes
from mlpipes_constructs.iam import ManagedPolicyRole
from mlpipes_constructs.sagemaker._checks import (
    PIPELINE_NAME_MAX,
    RESOURCE_NAME_MAX,
    check_name,
    definition_problems,
)
from mlpipes_constructs.sagemaker._event_bridge import (
    BucketSendsEvents,
    PipelineRuleTarget,
    bucket_event_bridge_state,
    enable_bucket_event_bridge,
)
from mlpipes_constructs.sagemaker._human_reviews import HumanReviews
from mlpipes_constructs.sagemaker._pipeline_role import add_pipeline_permissions
from mlpipes_constructs.sagemaker._pipeline_source import (
    INLINE_DEFINITION_LIMIT,
    SourceKind,
    default_name,
    definition_asset,
    parameter_types,
    register_groups,
    sdk_definition,
    size_problems,
    source_kind,
)
from mlpipes_constructs.sagemaker._review_step import check_review_step
from mlpipes_constructs.sagemaker._trigger import S3PipelineTrigger, trigger_parameter_problems
from mlpipes_constructs.sagemaker.compiler import (
    ORCHESTRATOR,
    compile_pipeline_definition,
    pipeline_step_types,
)
from mlpipes_constructs.spec import Pipeline

EXECUTION_STATUS_CHANGE = "SageMaker Model Building Pipeline Execution Status Change"


class SageMakerPipeline(MlPipelineBase):
    """A SageMaker Pipelines pipeline (``AWS::SageMaker::Pipeline``) and what runs it.

    The definition comes from ``pipeline``: a spec (compiled here; local job code is uploaded
    as assets), a definition dict or a ``sagemaker`` SDK pipeline object (its
    ``definition()`` is called). The pipeline runs as a new role whose customer-managed
    policy is derived from the step types the definition uses: it may pass only the job
    role, to SageMaker only; create, describe and stop only the kinds of jobs it starts,
    named ``pipelines-*`` as SageMaker Pipelines names them; register versions in the model
    package groups of its register steps only; create the endpoint configurations of its
    endpoint steps and create or update only the endpoints they name (any endpoint of the
    account and region when a parameter names it); read property files under its artifact
    folder only; and use ``encryption_key``.

    What it creates besides the pipeline and its role: the failure topic (unless
    ``notifications`` names one or turns them off), a security group for the jobs (with
    ``placement`` and no security groups), with ``schedule`` or ``trigger_prefix`` the
    EventBridge rules and the trigger state machine, and for a spec with human review steps
    what runs them (:attr:`human_reviews`): the callback queue the review steps send to
    (encrypted with ``encryption_key``, TLS only, with a dead-letter queue), the review handler
    function that starts each human loop and completes its step when the loop ends, and the
    EventBridge rule of the loops' status changes. It creates no KMS key.

    Args:
        pipeline: the spec to compile, a SageMaker pipeline definition dict (``Version``,
            ``Parameters``, ``Steps``...; tokens are allowed in its strings) or a
            ``sagemaker`` SDK pipeline object.
        job_role: the role the pipeline's jobs and models run as.
        artifact_bucket: the bucket pipeline outputs go to (``<artifact_prefix><name>/``).
        encryption_key: the key of everything the pipeline writes: job volumes and outputs
            (a compiled spec), the execution logs of the S3 trigger (its policy must let
            CloudWatch Logs use it, as ``PlatformKey``'s does) and the new failure topic.
            Default: ``artifact_bucket``'s KMS key; required when the bucket has none.
        pipeline_name: the SageMaker pipeline name (1-256 letters, digits and hyphens).
            Default: the spec's or SDK pipeline's name; required with a definition dict.
        description: the pipeline description. Default: the spec's description, else none.
        artifact_prefix: bucket folder pipeline outputs go under. Default: ``"pipelines/"``.
        placement: the VPC placement of the spec's jobs and models. Default: jobs run
            without VPC configuration. A native definition carries its own
            ``NetworkConfig``, so this applies to a spec only.
        model_package_group_names: model package groups the pipeline registers models in.
            Default: the literal group names of the definition's register steps.
        max_parallel_steps: most steps that run at once in an execution. Default: the
            service default (50).
        schedule: when to start executions (an EventBridge rule): an ``events.Schedule`` or
            an expression such as ``"rate(1 day)"`` or ``"cron(0 3 * * ? *)"``.
            Default: no schedule.
        schedule_input: parameter values of scheduled executions, checked against the
            pipeline's parameters (names and types). Default: the parameters' defaults.
        trigger_prefix: folder of ``artifact_bucket`` (e.g. ``"data/incoming/"``); a new
            object under it starts an execution with the object's ``s3://`` URI as
            ``trigger_parameter``: an EventBridge rule starts a small Step Functions state
            machine (:attr:`trigger_state_machine`) that calls ``StartPipelineExecution``
            with the event id as idempotency token, logging to a log group encrypted with
            ``encryption_key``. The bucket must send events to EventBridge: a bucket in
            this stack is switched on here; another stack's bucket must be switched on there
            (``ArtifactStorage(event_bridge_enabled=True)`` or
            ``s3.Bucket(event_bridge_enabled=True)``), which is checked at synth time.
            Default: no S3 trigger.
        trigger_parameter: the String pipeline parameter that receives the new object's URI.
            Default: ``"InputDataUri"``.
        notifications: where failed executions, and new objects whose trigger execution
            failed, are published. Default: ``FailureNotifications()``: a new topic
            encrypted with ``encryption_key``, TLS only.
        flow_definitions: the A2I flow definitions the spec's human review steps start
            loops with; the review handler may start loops with these only, and read their
            output. A review step's ``timeout_seconds`` is refused: on SageMaker Pipelines
            the flow definition's task lifetime bounds the wait. Default: none; required
            when the pipeline has human review steps.
        tracking: the MLflow server the spec's jobs log to, with the pipeline execution's
            ARN as their run's execution id; the job role may read its credentials secret and
            the jobs' security groups may reach it. Default: no tracking.
    """

    METRIC_NAMESPACE: ClassVar[str] = "AWS/Sagemaker/ModelBuildingPipeline"
    METRIC_NAMES: ClassVar[Mapping[str, str]] = {
        "started": "ExecutionStarted",
        "succeeded": "ExecutionSucceeded",
        "failed": "ExecutionFailed",
        "stopped": "ExecutionStopped",
        "duration": "ExecutionDuration",
    }

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline: Pipeline | Mapping[str, Any] | Any,
        job_role: SageMakerJobRole | iam.IRole,
        artifact_bucket: s3.IBucket,
        encryption_key: kms.IKey | None = None,
        pipeline_name: str | None = None,
        description: str | None = None,
        artifact_prefix: str = DEFAULT_ARTIFACT_PREFIX,
        placement: JobPlacementOptions | None = None,
        model_package_group_names: Sequence[str] | None = None,
        max_parallel_steps: int | None = None,
        schedule: str | events.Schedule | None = None,
        schedule_input: Mapping[str, Any] | None = None,
        trigger_prefix: str | None = None,
        trigger_parameter: str = "InputDataUri",
        notifications: FailureNotifications | None = None,
        flow_definitions: Sequence[IFlowDefinition] = (),
        tracking: MlflowTracking | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        notifications = default_notifications(notifications)
        problems = Problems(self.node.path)
        kind = source_kind(problems, pipeline)
        name = pipeline_name or default_name(kind, pipeline)
        if name is None and kind is not None:
            problems.add(
                "pipeline_name is required with a definition dict"
                if kind is SourceKind.DEFINITION
                else "pipeline_name is required: the sdk pipeline has no name"
            )
        check_name(problems, "pipeline_name", name, PIPELINE_NAME_MAX)
        check_prefixes(problems, "artifact_prefix", [artifact_prefix])
        if trigger_prefix is not None:
            check_prefixes(problems, "trigger_prefix", [trigger_prefix])
        if placement is not None and kind not in (SourceKind.SPEC, None):
            problems.conflict(
                "placement",
                f"pipeline (a {kind.value})" if kind is not None else "pipeline",
                "a native definition carries its own NetworkConfig; 'placement' applies to a spec",
            )
        rule_schedule = resolve_schedule(problems, schedule)
        if schedule is None and schedule_input:
            problems.conflict("schedule_input", "schedule=None", "there are no scheduled runs")
        notifications_problems(notifications, problems)
        key = require_encryption_key(problems, encryption_key, artifact_bucket)
        problems.check_int_range("max_parallel_steps", max_parallel_steps, 1, 1000)
        for group in model_package_group_names or ():
            check_name(problems, "model_package_group_names entry", group, RESOURCE_NAME_MAX)
        if isinstance(pipeline, Pipeline):
            flow_definition_problems(problems, pipeline, flow_definitions)
            for review in human_review_steps(pipeline):
                try:
                    check_review_step(review, ORCHESTRATOR)
                except CompileError as error:
                    problems.add(f"pipeline: {error}")
        elif flow_definitions:
            problems.conflict(
                "flow_definitions",
                "pipeline (a native definition)",
                "'flow_definitions' applies to a spec's human review steps",
            )
        if tracking is not None and not isinstance(pipeline, Pipeline):
            problems.conflict(
                "tracking", "pipeline (a native definition)", "'tracking' applies to a spec"
            )
        problems.raise_if_any()
        assert name is not None and key is not None and kind is not None

        stack = Stack.of(self)
        self._pipeline_name = name
        self.spec: Pipeline | None = pipeline if isinstance(pipeline, Pipeline) else None
        self.artifact_bucket = artifact_bucket
        self.encryption_key: kms.IKey = key
        self.job_role: iam.IRole = job_role_of(job_role)
        self.artifact_prefix = artifact_folder(artifact_prefix, name)
        self.artifact_root = f"s3://{artifact_bucket.bucket_name}/{self.artifact_prefix}"
        self.code_assets: dict[str, s3_assets.Asset] = {}
        self.security_groups: list[ec2.ISecurityGroup] = []
        self._pipeline_arn = stack.format_arn(
            service="sagemaker",
            resource="pipeline",
            # SageMaker lowercases pipeline names in ARNs and events.
            resource_name=name if is_unresolved(name) else name.lower(),
        )
        self.human_reviews: HumanReviews | None = None
        if self.spec is not None and human_review_steps(self.spec):
            self.human_reviews = HumanReviews(
                self,
                "HumanReviews",
                pipeline=self.spec,
                pipeline_arn=self._pipeline_arn,
                flow_definitions=flow_definitions,
                artifact_bucket=artifact_bucket,
                artifact_folder=self.artifact_prefix,
                encryption_key=key,
            )

        if self.spec is not None:
            definition_dict = self._compile(self.spec, placement, tracking)
            description = description or self.spec.description
        elif isinstance(pipeline, Mapping):
            definition_dict = copy.deepcopy(dict(pipeline))
        else:
            definition_dict = sdk_definition(self.node.path, pipeline)

        problems = Problems(self.node.path)
        for problem in definition_problems(definition_dict):
            problems.add(problem)
        types = parameter_types(definition_dict)
        if trigger_prefix is not None:
            for problem in trigger_parameter_problems(definition_dict, trigger_parameter):
                problems.add(problem)
        for problem in schedule_input_problems(types, schedule_input or {}):
            problems.add(problem)
        groups = (
            list(model_package_group_names)
            if model_package_group_names is not None
            else register_groups(definition_dict, problems)
        )
        body = json.dumps(definition_dict, separators=(",", ":"), sort_keys=True)
        for problem in size_problems(body):
            problems.add(problem)
        problems.raise_if_any()

        self.definition: dict[str, Any] = definition_dict
        self.step_types: frozenset[str] = frozenset(pipeline_step_types(definition_dict))
        self.model_package_group_names: tuple[str, ...] = tuple(groups)

        self.role: ManagedPolicyRole = service_role(
            self,
            "Role",
            service="sagemaker.amazonaws.com",
            description=f"Execution role of the SageMaker pipeline {name}",
            policy_description=f"Permissions of the SageMaker pipeline {name}",
        )
        self.policy = self.role.managed_policy
        add_pipeline_permissions(
            self,
            self.policy,
            job_role=self.job_role,
            definition=self.definition,
            # The callback steps' queue is granted below, with the review handler.
            step_types=(
                self.step_types - {"Callback"}
                if self.human_reviews is not None
                else self.step_types
            ),
            model_package_group_names=self.model_package_group_names,
            artifact_bucket=artifact_bucket,
            artifact_prefix=self.artifact_prefix,
            encryption_key=key,
        )

        if self.human_reviews is not None:
            # SageMaker sends the callback messages as the pipeline role.
            self.human_reviews.grant_send_messages(self.role)

        pipeline_definition: dict[str, Any]
        self.definition_asset: s3_assets.Asset | None = None
        if len(body.encode("utf-8")) > INLINE_DEFINITION_LIMIT:
            self.definition_asset = definition_asset(self, body)
            pipeline_definition = {
                "PipelineDefinitionS3Location": {
                    "Bucket": self.definition_asset.s3_bucket_name,
                    "Key": self.definition_asset.s3_object_key,
                }
            }
        else:
            pipeline_definition = {"PipelineDefinitionBody": stack.to_json_string(definition_dict)}
        self.cfn_pipeline = sagemaker.CfnPipeline(
            self,
            "Resource",
            pipeline_name=name,
            pipeline_description=description,
            role_arn=self.role.role_arn,
            pipeline_definition=pipeline_definition,
            parallelism_configuration=(
                None
                if max_parallel_steps is None
                # An untyped property in the L1: written in CloudFormation's own casing.
                else {"MaxParallelExecutionSteps": max_parallel_steps}
            ),
        )
        self.cfn_pipeline.node.add_dependency(self.policy)

        self.events_role: iam.Role | None = None
        self.schedule_rule: events.Rule | None = None
        if rule_schedule is not None:
            self.schedule_rule = events.Rule(
                self,
                "Schedule",
                description=f"Starts the SageMaker pipeline {name} on a schedule",
                schedule=rule_schedule,
                targets=[
                    PipelineRuleTarget(
                        self.pipeline_arn,
                        self._events_role(),
                        parameters=_parameter_values(schedule_input or {}),
                    )
                ],
            )

        self.notifications: FailureNotificationTopic | None = None
        self.notification_topic: sns.ITopic | None = None
        self.failure_rule: events.Rule | None = None
        if notifications.enabled:
            self._add_failure_notifications(notifications)

        self.trigger: S3PipelineTrigger | None = None
        self.trigger_rule: events.Rule | None = None
        self.trigger_state_machine: sfn.StateMachine | None = None
        if trigger_prefix is not None:
            self.trigger = self._add_trigger(trigger_prefix, trigger_parameter)
            self.trigger_rule = self.trigger.rule
            self.trigger_state_machine = self.trigger.state_machine

    # --- Public API ------------------------------------------------------------------------

    @property
    def review_queue(self) -> sqs.IQueue | None:
        """The queue the human review steps send their callback messages to; None without
        review steps."""
        return self.human_reviews.queue if self.human_reviews is not None else None

    @property
    def review_handler(self) -> lambda_.IFunction | None:
        """The function that runs the human review steps' loops; None without review steps."""
        return self.human_reviews.function if self.human_reviews is not None else None

    @property
    def pipeline_name(self) -> str:
        """The SageMaker pipeline's name."""
        return self._pipeline_name

    @property
    def pipeline_arn(self) -> str:
        """The pipeline's ARN (its name lowercased, as SageMaker writes it)."""
        return self._pipeline_arn

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start executions of this pipeline (and nothing else)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:StartPipelineExecution"],
            resource_arns=[self.pipeline_arn],
        )

    def add_to_role_policy(self, statement: iam.PolicyStatement) -> None:
        """Add a statement to the pipeline role's policy (e.g. for Lambda or EMR steps)."""
        self.policy.add_statements(statement)

    def _metric_dimensions(self) -> Mapping[str, str]:
        return {"PipelineName": self.pipeline_name}

    # --- Definition ------------------------------------------------------------------------

    def _compile(
        self,
        spec: Pipeline,
        placement: JobPlacementOptions | None,
        tracking: MlflowTracking | None,
    ) -> dict[str, Any]:
        code = JobCode(
            self,
            "JobCode",
            pipeline=spec,
            job_role=self.job_role,
            description=f"Lets the jobs of the SageMaker pipeline {self.pipeline_name} read "
            "their code",
        )
        self.code_assets = code.assets
        self.job_code_policy = code.policy
        network: JobPlacement | None = None
        if placement is not None:
            resolved = resolve_placement(
                self,
                placement,
                description=f"Jobs of the SageMaker pipeline {self.pipeline_name}",
            )
            self.security_groups = list(resolved.security_groups)
            network = resolved.placement
        if tracking is not None:
            tracking.grant_jobs(self.job_role, self.security_groups)
        try:
            return compile_pipeline_definition(
                spec,
                role_arn=self.job_role.role_arn,
                artifact_root=self.artifact_root,
                code_locations=code.locations,
                kms_key_id=self.encryption_key.key_arn,
                placement=network,
                callback_queue_url=(
                    self.human_reviews.queue.queue_url if self.human_reviews is not None else None
                ),
                tracking=tracking.compile_options() if tracking is not None else None,
            )
        except (CompileError, ValueError) as error:
            # Spec steps whose compiled names clash; the code locations are complete here.
            raise PropsValidationError(self.node.path, [f"pipeline: {error}"]) from error

    # --- Triggers and notifications --------------------------------------------------------

    def _events_role(self) -> iam.Role:
        if self.events_role is None:
            self.events_role = service_role(
                self,
                "EventsRole",
                service="events.amazonaws.com",
                description=f"Lets EventBridge start the SageMaker pipeline {self.pipeline_name}",
                policy_description=(
                    f"Start executions of the SageMaker pipeline {self.pipeline_name}"
                ),
                statements=[
                    iam.PolicyStatement(
                        actions=["sagemaker:StartPipelineExecution"],
                        resources=[self.pipeline_arn],
                    )
                ],
            )
        return self.events_role

    def _add_trigger(self, prefix: str, parameter: str) -> S3PipelineTrigger:
        bucket = self.artifact_bucket
        state = bucket_event_bridge_state(bucket)
        if state is False and Stack.of(bucket) is Stack.of(self):
            enable_bucket_event_bridge(bucket)
        elif state is None:
            Annotations.of(self).add_warning_v2(
                "mlpipes:sagemaker-trigger-bucket-events",
                f"artifact_bucket is imported, so whether it sends events to EventBridge "
                f"cannot be checked: the S3 trigger on '{prefix}' needs EventBridge "
                "notifications turned on for the bucket",
            )
        else:
            self.node.add_validation(BucketSendsEvents(bucket, prefix))
        return S3PipelineTrigger(
            self,
            "Trigger",
            bucket=bucket,
            prefix=prefix,
            pipeline_name=self.pipeline_name,
            pipeline_arn=self.pipeline_arn,
            parameter=parameter,
            encryption_key=self.encryption_key,
            notifications=self.notifications,
        )

    def _add_failure_notifications(self, options: FailureNotifications) -> None:
        self.notifications = FailureNotificationTopic(
            self,
            "Notifications",
            display_name=f"Failed executions of {self.pipeline_name}",
            topic=options.topic,
            encryption_key=options.encryption_key or self.encryption_key,
            warning_id="mlpipes:sagemaker-pipeline-topic-key-policy",
        )
        self.notification_topic = self.notifications.topic
        self.failure_rule = self.notifications.add_rule(
            "FailureRule",
            description=f"Publishes failed executions of the SageMaker pipeline "
            f"{self.pipeline_name}",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=[EXECUTION_STATUS_CHANGE],
                detail={
                    "pipelineArn": [self.pipeline_arn],
                    "currentPipelineExecutionStatus": ["Failed"],
                },
            ),
        )


def _parameter_values(schedule_input: Mapping[str, Any]) -> dict[str, str]:
    """Execution parameters as SageMaker takes them: strings (JSON for numbers and bools)."""
    return {
        name: value if isinstance(value, str) else json.dumps(value)
        for name, value in schedule_input.items()
    }
