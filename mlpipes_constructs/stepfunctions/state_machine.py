"""A Step Functions state machine for an ML pipeline, production-ready by default."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Unpack

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.a2i import IFlowDefinition
from mlpipes_constructs.compile import JobPlacement
from mlpipes_constructs.compliance import acknowledge_wildcards
from mlpipes_constructs.core._defaults import (
    DEFAULT_ARTIFACT_PREFIX,
    artifact_folder,
    default_notifications,
    job_role_of,
    require_encryption_key,
)
from mlpipes_constructs.core._failure_topic import FailureNotificationTopic
from mlpipes_constructs.core._human_review import flow_definition_problems, grant_human_reviews
from mlpipes_constructs.core._job_code import JobCode
from mlpipes_constructs.core._schedule import (
    resolve_schedule,
    schedule_input_problems,
    spec_parameter_types,
)
from mlpipes_constructs.core._state_machine import HardenedStateMachine
from mlpipes_constructs.core._trust import service_role
from mlpipes_constructs.core._wildcards import wildcard_reasons_by_service
from mlpipes_constructs.core.metrics import MetricOptions
from mlpipes_constructs.core.notifications import FailureNotifications, notifications_problems
from mlpipes_constructs.core.pipeline_base import MlPipelineBase
from mlpipes_constructs.core.placement import JobPlacementOptions, resolve_placement
from mlpipes_constructs.core.tracking import MlflowTracking
from mlpipes_constructs.foundation import SageMakerJobRole
from mlpipes_constructs.iam import ManagedPolicyRole
from mlpipes_constructs.spec import Pipeline
from mlpipes_constructs.stepfunctions.compiler import (
    CompiledStateMachine,
    compile_state_machine,
)

#: Execution statuses that send a failure notification.
FAILURE_STATUSES: tuple[str, ...] = ("FAILED", "TIMED_OUT", "ABORTED")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_MAX_TIMEOUT_DAYS = 365
_WILDCARD_REASONS = {
    "sagemaker": (
        "each SageMaker task may act only on names that start with its step's fixed slug (a "
        "review step's human loops: the step's loop prefix); the rest of the name is the run "
        "token or UUID the execution makes, so only a prefix can be named"
    ),
    "s3": (
        "the condition steps read reports whose keys contain the execution name, inside this "
        "pipeline's folder of the artifact bucket only, and the review steps read the answers "
        "A2I writes under each flow definition's output folder, one key per human loop"
    ),
}


class MlStateMachine(MlPipelineBase):
    """A STANDARD state machine that runs a pipeline spec or any CDK chainable.

    Given a spec, the construct uploads each local code directory as a ZIP asset, lets the
    job role read it, and compiles the spec with :func:`compile_state_machine`. Either way
    the state machine logs every event with execution data to a log group encrypted with
    ``encryption_key``, traces with X-Ray, stops after ``timeout``, notifies an encrypted SNS
    topic when an execution fails, times out or is aborted, and runs as a role whose only
    policy is a customer-managed one holding exactly what its tasks need.

    What it creates besides the state machine, its role and log group: the failure topic
    (unless ``notifications`` names one or turns them off), a security group for the jobs
    (with ``placement`` and no security groups), and with ``schedule`` an EventBridge rule and
    its role. It creates no KMS key.

    Args:
        pipeline: the spec to compile, or a CDK chainable to run instead.
        job_role: the role jobs and models run as (it gets read access to the uploaded code
            through a managed policy). Required with a spec.
        artifact_bucket: where outputs go. Required with a spec.
        encryption_key: the key of everything the state machine writes: job outputs and
            volumes (and reading reports), the execution log group (its policy must let
            CloudWatch Logs use it, as ``PlatformKey``'s does) and the new failure topic.
            Default: ``artifact_bucket``'s KMS key; required when there is none.
        artifact_prefix: bucket folder outputs go under (``<artifact_prefix><spec name>/``).
            Default: ``"pipelines/"``.
        placement: VPC placement of jobs and models. Default: no VPC configuration.
        integration_pattern: ``RUN_JOB`` (wait for jobs) or ``REQUEST_RESPONSE``.
            Default: ``RUN_JOB``.
        timeout: how long an execution may run, 1 second to 365 days. Default: 24 hours.
        state_machine_name: physical name. Default: a generated name.
        notifications: where failed, timed-out and aborted executions are published.
            Default: ``FailureNotifications()``: a new topic encrypted with
            ``encryption_key``, TLS only.
        schedule: run on a schedule: an ``events.Schedule`` or a ``rate(...)`` / ``cron(...)``
            expression. Default: no schedule.
        schedule_input: the execution input of scheduled runs (parameter values), checked
            against the spec's parameters (names and types). Default: ``{}`` (the
            parameters' defaults).
        log_retention: how long execution logs are kept. Default: one year.
        removal_policy: what happens to the log group when it leaves the stack.
            Default: ``RemovalPolicy.RETAIN``.
        flow_definitions: the A2I flow definitions the spec's human review steps start
            loops with; the state machine role may start loops with these only, describe and
            stop its own loops, and read their output. Default: none; required when the
            pipeline has human review steps.
        tracking: the MLflow server the jobs log to, with the execution ARN as their run's
            execution id; the job role may read its credentials secret and the jobs' security
            groups may reach it. Default: no tracking.
    """

    METRIC_NAMESPACE: ClassVar[str] = "AWS/States"
    METRIC_NAMES: ClassVar[Mapping[str, str]] = {
        "started": "ExecutionsStarted",
        "succeeded": "ExecutionsSucceeded",
        "failed": "ExecutionsFailed",
        "stopped": "ExecutionsAborted",
        "duration": "ExecutionTime",
    }

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline: Pipeline | sfn.IChainable,
        job_role: SageMakerJobRole | iam.IRole | None = None,
        artifact_bucket: s3.IBucket | None = None,
        encryption_key: kms.IKey | None = None,
        artifact_prefix: str | None = None,
        placement: JobPlacementOptions | None = None,
        integration_pattern: sfn.IntegrationPattern = sfn.IntegrationPattern.RUN_JOB,
        timeout: Duration | None = None,
        state_machine_name: str | None = None,
        notifications: FailureNotifications | None = None,
        schedule: str | events.Schedule | None = None,
        schedule_input: Mapping[str, Any] | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        flow_definitions: Sequence[IFlowDefinition] = (),
        tracking: MlflowTracking | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        notifications = default_notifications(notifications)
        problems = Problems(self.node.path)
        spec = pipeline if isinstance(pipeline, Pipeline) else None
        if spec is None and not _is_chainable(pipeline):
            problems.add(
                f"pipeline {type(pipeline).__name__!r} is neither a spec "
                "(mlpipes_constructs.spec.Pipeline) nor a CDK chainable (sfn.IChainable)"
            )
        if spec is not None:
            problems.require(job_role is not None, "job_role is required with a spec")
            problems.require(artifact_bucket is not None, "artifact_bucket is required with a spec")
        else:
            for name, value in (
                ("job_role", job_role),
                ("artifact_bucket", artifact_bucket),
                ("artifact_prefix", artifact_prefix),
                ("placement", placement),
                ("tracking", tracking),
            ):
                if value is not None:
                    problems.conflict(
                        name, "pipeline (a chainable)", f"'{name}' only applies to a spec"
                    )
        key = require_encryption_key(problems, encryption_key, artifact_bucket)
        _check_timeout(problems, timeout)
        if state_machine_name is not None and not is_unresolved(state_machine_name):
            problems.require(
                _NAME.fullmatch(state_machine_name) is not None,
                f"state_machine_name '{state_machine_name}' must be 1-80 letters, digits, "
                "'-' and '_'",
            )
        notifications_problems(notifications, problems)
        rule_schedule = resolve_schedule(problems, schedule)
        if schedule_input is not None and schedule is None:
            problems.conflict("schedule_input", "schedule=None", "there are no scheduled runs")
        if spec is not None:
            flow_definition_problems(problems, spec, flow_definitions)
        elif flow_definitions:
            problems.conflict(
                "flow_definitions",
                "pipeline (a chainable)",
                "'flow_definitions' applies to a spec's human review steps",
            )
        if spec is not None and schedule_input:
            for problem in schedule_input_problems(spec_parameter_types(spec), schedule_input):
                problems.add(problem)
        problems.raise_if_any()
        assert key is not None

        self.spec = spec
        self.encryption_key: kms.IKey = key
        self.compiled: CompiledStateMachine | None = None
        self.code_assets: dict[str, s3_assets.Asset] = {}
        self.security_groups: list[ec2.ISecurityGroup] = []
        if spec is not None:
            assert job_role is not None and artifact_bucket is not None
            definition = self._compile(
                spec,
                job_role_of(job_role),
                artifact_bucket,
                artifact_folder(
                    artifact_prefix if artifact_prefix is not None else DEFAULT_ARTIFACT_PREFIX,
                    spec.name,
                ),
                placement,
                integration_pattern,
                tracking,
            )
        else:
            definition = pipeline  # type: ignore[assignment]
        self.hardened = HardenedStateMachine(
            self,
            "StateMachine",
            definition=definition,
            encryption_key=key,
            timeout=timeout or Duration.hours(24),
            state_machine_name=state_machine_name,
            role_description="Execution role of an mlpipes state machine",
            log_retention=log_retention,
            removal_policy=removal_policy,
        )
        self.state_machine = self.hardened.state_machine
        self.cfn_state_machine: sfn.CfnStateMachine = self.hardened.cfn_state_machine
        self.node.default_child = self.cfn_state_machine
        self.role: ManagedPolicyRole = self.hardened.role
        if spec is not None and self.compiled is not None:
            grant_human_reviews(
                self.role, spec, flow_definitions, job_prefix=self.compiled.job_name_prefix
            )
        self.log_group = self.hardened.log_group
        self.notifications: FailureNotificationTopic | None = None
        self.notification_topic: sns.ITopic | None = None
        self.failure_rule: events.Rule | None = None
        if notifications.enabled:
            self._notify_failures(notifications)
        self.schedule_rule: events.Rule | None = None
        if rule_schedule is not None:
            self._schedule(rule_schedule, schedule_input or {})
        acknowledge_wildcards(
            self.role.managed_policy,
            wildcard_reasons_by_service(self.role.managed_policy, _WILDCARD_REASONS),
        )

    # --- public API ---------------------------------------------------------------------------

    @property
    def pipeline_name(self) -> str:
        """The state machine's name (a deploy-time value when it is generated)."""
        return self.state_machine.state_machine_name

    @property
    def pipeline_arn(self) -> str:
        """The state machine's ARN."""
        return self.state_machine.state_machine_arn

    @property
    def state_machine_arn(self) -> str:
        return self.state_machine.state_machine_arn

    @property
    def state_machine_name(self) -> str:
        return self.state_machine.state_machine_name

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start executions of this state machine."""
        return self.state_machine.grant_start_execution(grantee)

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` list and describe executions of this state machine."""
        return self.state_machine.grant_read(grantee)

    def metric_timed_out(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Executions that timed out (sum over 5 minutes)."""
        return self.metric("ExecutionsTimedOut", **options)

    def _metric_dimensions(self) -> Mapping[str, str]:
        return {"StateMachineArn": self.state_machine.state_machine_arn}

    # --- parts --------------------------------------------------------------------------------

    def _compile(
        self,
        spec: Pipeline,
        role: iam.IRole,
        bucket: s3.IBucket,
        prefix: str,
        placement: JobPlacementOptions | None,
        pattern: sfn.IntegrationPattern,
        tracking: MlflowTracking | None,
    ) -> sfn.IChainable:
        code = JobCode(
            self,
            "JobCode",
            pipeline=spec,
            job_role=role,
            description="Lets the jobs of an mlpipes state machine read their code",
        )
        self.code_assets = code.assets
        network: JobPlacement | None = None
        if placement is not None:
            resolved = resolve_placement(
                self, placement, description="Jobs of an mlpipes state machine"
            )
            self.security_groups = list(resolved.security_groups)
            network = resolved.placement
        self._bucket = bucket
        self._prefix = prefix
        self.compiled = compile_state_machine(
            Construct(self, "Definition"),
            spec,
            job_role=role,
            artifact_bucket=bucket,
            artifact_prefix=prefix,
            code_locations=code.locations,
            kms_key=self.encryption_key,
            placement=network,
            integration_pattern=pattern,
            tracking=tracking.compile_options() if tracking is not None else None,
        )
        if tracking is not None:
            tracking.grant_jobs(role, self.security_groups)
        return self.compiled.definition

    def _notify_failures(self, options: FailureNotifications) -> None:
        self.notifications = FailureNotificationTopic(
            self,
            "Notifications",
            display_name="mlpipes state machine failures",
            topic=options.topic,
            encryption_key=options.encryption_key or self.encryption_key,
            warning_id="mlpipes:state-machine-topic-key-policy",
        )
        self.notification_topic = self.notifications.topic
        self.failure_rule = self.notifications.add_state_machine_rule(
            "FailureRule",
            description="Execution of the state machine failed, timed out or was aborted",
            state_machine_arn=self.state_machine.state_machine_arn,
            statuses=FAILURE_STATUSES,
        )

    def _schedule(self, schedule: events.Schedule, schedule_input: Mapping[str, Any]) -> None:
        role = service_role(
            self,
            "ScheduleRole",
            service="events.amazonaws.com",
            description="Starts scheduled executions of an mlpipes state machine",
        )
        self.schedule_rule = events.Rule(
            self,
            "Schedule",
            description="Scheduled executions of the state machine",
            schedule=schedule,
            targets=[
                targets.SfnStateMachine(
                    self.state_machine,
                    role=role,
                    input=events.RuleTargetInput.from_object(dict(schedule_input)),
                )
            ],
        )


def _is_chainable(value: object) -> bool:
    return all(hasattr(value, name) for name in ("start_state", "end_states", "id"))


def _check_timeout(problems: Problems, timeout: Duration | None) -> None:
    if timeout is None or is_unresolved(timeout.to_seconds()):
        return
    seconds = timeout.to_seconds()
    problems.require(
        1 <= seconds <= _MAX_TIMEOUT_DAYS * 86400,
        f"timeout {seconds} seconds must be from 1 second to {_MAX_TIMEOUT_DAYS} days",
    )
