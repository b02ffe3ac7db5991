"""A Step Functions state machine for an ML pipeline, production-ready by default."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
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
from mlpipes_constructs.compile import JobPlacement
from mlpipes_constructs.compliance import acknowledge, acknowledge_wildcards
from mlpipes_constructs.foundation import PlatformKey, SageMakerJobRole
from mlpipes_constructs.iam import ManagedPolicyRole, depend_only_on_policy
from mlpipes_constructs.spec import Pipeline, local_code_paths
from mlpipes_constructs.stepfunctions.compiler import (
    CompiledStateMachine,
    compile_state_machine,
)

#: Execution statuses that send a failure notification.
FAILURE_STATUSES: tuple[str, ...] = ("FAILED", "TIMED_OUT", "ABORTED")
_RATE = re.compile(r"rate\((1 (minute|hour|day)|([2-9]|[1-9]\d+) (minutes|hours|days))\)")
_CRON = re.compile(r"cron\(\S+( \S+){5}\)")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_MAX_TIMEOUT_DAYS = 365
_WILDCARD_REASONS = {
    "sagemaker": (
        "each SageMaker task may act only on names that start with its step's fixed slug; the "
        "rest of the name is the run token the execution makes, so only a prefix can be named"
    ),
    "s3": (
        "the condition steps read reports whose keys contain the execution name, inside this "
        "pipeline's folder of the artifact bucket only"
    ),
}


def check_schedule(problems: Problems, schedule: str | events.Schedule | None) -> None:
    """A schedule must be ``rate(<n> <unit>)`` or ``cron(<6 fields>)``."""
    if not isinstance(schedule, str) or is_unresolved(schedule):
        return
    problems.require(
        _RATE.fullmatch(schedule) is not None or _CRON.fullmatch(schedule) is not None,
        f"schedule '{schedule}' is not an EventBridge schedule expression; expected e.g. "
        "'rate(1 day)', 'rate(12 hours)' or 'cron(0 6 * * ? *)'",
    )


def default_job_key(job_key: kms.IKey | None, bucket: s3.IBucket) -> kms.IKey | None:
    """The key jobs use: the one given, else the artifact bucket's key, else none."""
    return job_key if job_key is not None else bucket.encryption_key


class MlStateMachine(Construct):
    """A STANDARD state machine that runs a pipeline spec or any CDK chainable.

    Given a ``pipeline``, the construct uploads each local code directory as a ZIP asset, lets
    the job role read it, and compiles the spec with :func:`compile_state_machine`. Either way
    the state machine logs every event with execution data to a KMS-encrypted log group,
    traces with X-Ray, stops after ``timeout``, notifies an encrypted SNS topic when an
    execution fails, times out or is aborted, and runs as a role whose only policy is a
    customer-managed one holding exactly what its tasks need.

    Args:
        pipeline: the spec to compile. Exactly one of ``pipeline`` and ``definition``.
        definition: a CDK chainable to run instead. Default: none.
        job_role: the role jobs and models run as (a ``SageMakerJobRole`` gets the code read
            permission in its managed policy). Required with ``pipeline``.
        artifact_bucket: where outputs go. Required with ``pipeline``.
        artifact_prefix: the folder for outputs. Default: ``pipelines/<pipeline name>/``.
        job_encryption_key: key for job outputs and volumes, and to read reports.
            Default: the artifact bucket's ``encryption_key`` when it has one (so reports on a
            KMS-encrypted bucket can be read), else the bucket's default encryption and
            SageMaker's volume encryption.
        network: VPC placement of jobs and models. Default: none.
        integration_pattern: ``RUN_JOB`` (wait for jobs) or ``REQUEST_RESPONSE``.
            Default: ``RUN_JOB``.
        encryption_key: key of the log group and topic; its policy must let CloudWatch Logs
            and EventBridge use it. Default: a new key with rotation that allows both.
        timeout: how long an execution may run, 1 second to 365 days. Default: 24 hours.
        state_machine_name: physical name. Default: a generated name.
        failure_notifications: notify on FAILED, TIMED_OUT and ABORTED executions.
            Default: True.
        notification_topic: the topic to notify. Default: a new encrypted, TLS-only topic.
        schedule: run on a schedule: an ``events.Schedule`` or a ``rate(...)`` / ``cron(...)``
            expression. Default: no schedule.
        schedule_input: the execution input of scheduled runs (parameter overrides).
            Default: ``{}`` (the parameters' defaults).
        log_retention: how long execution logs are kept. Default: one year.
        removal_policy: what happens to the log group when it leaves the stack.
            Default: ``RemovalPolicy.RETAIN``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline: Pipeline | None = None,
        definition: sfn.IChainable | None = None,
        job_role: SageMakerJobRole | iam.IRole | None = None,
        artifact_bucket: s3.IBucket | None = None,
        artifact_prefix: str | None = None,
        job_encryption_key: kms.IKey | None = None,
        network: JobPlacement | None = None,
        integration_pattern: sfn.IntegrationPattern = sfn.IntegrationPattern.RUN_JOB,
        encryption_key: kms.IKey | None = None,
        timeout: Duration | None = None,
        state_machine_name: str | None = None,
        failure_notifications: bool = True,
        notification_topic: sns.ITopic | None = None,
        schedule: str | events.Schedule | None = None,
        schedule_input: Mapping[str, Any] | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        self._check(
            pipeline=pipeline,
            definition=definition,
            job_role=job_role,
            artifact_bucket=artifact_bucket,
            artifact_prefix=artifact_prefix,
            job_encryption_key=job_encryption_key,
            network=network,
            timeout=timeout,
            state_machine_name=state_machine_name,
            failure_notifications=failure_notifications,
            notification_topic=notification_topic,
            schedule=schedule,
            schedule_input=schedule_input,
        )
        self.pipeline = pipeline
        self.compiled: CompiledStateMachine | None = None
        self.code_assets: dict[str, s3_assets.Asset] = {}
        if encryption_key is None:
            platform_key = PlatformKey(
                self,
                "Key",
                description=f"mlpipes state machine {self.node.path}: logs and notifications",
                service_principals=["events.amazonaws.com"],
            )
            encryption_key = platform_key.key
        self.encryption_key = encryption_key
        if pipeline is not None:
            assert job_role is not None and artifact_bucket is not None
            definition = self._compile(
                pipeline,
                job_role,
                artifact_bucket,
                artifact_prefix if artifact_prefix is not None else f"pipelines/{pipeline.name}/",
                default_job_key(job_encryption_key, artifact_bucket),
                network,
                integration_pattern,
            )
        assert definition is not None
        self.role = ManagedPolicyRole(
            self,
            "Role",
            service="states.amazonaws.com",
            description="Execution role of an mlpipes state machine",
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=encryption_key,
            retention=log_retention,
            removal_policy=removal_policy,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "Resource",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            state_machine_type=sfn.StateMachineType.STANDARD,
            state_machine_name=state_machine_name,
            role=self.role,
            timeout=timeout or Duration.hours(24),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group,
                level=sfn.LogLevel.ALL,
                include_execution_data=True,
            ),
        )
        depend_only_on_policy(self.state_machine, self.role.managed_policy)
        self.notification_topic: sns.ITopic | None = None
        self.failure_rule: events.Rule | None = None
        if failure_notifications:
            self._notify_failures(notification_topic)
        self.schedule_rule: events.Rule | None = None
        if schedule is not None:
            self._schedule(schedule, schedule_input or {})
        acknowledge(
            self.role.managed_policy,
            "AwsSolutions-IAM5[Resource::*]",
            "CDK grants the log delivery calls (logs:CreateLogDelivery, logs:PutResourcePolicy, "
            "...) and the X-Ray calls that logging and tracing need; those actions have no "
            "resource-level permissions, so AWS accepts only '*' for them",
        )
        acknowledge_wildcards(self.role.managed_policy, self._wildcard_reasons)

    # --- public API ---------------------------------------------------------------------------

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

    def metric(self, metric_name: str, **props: Any) -> cloudwatch.Metric:
        """A metric of this state machine (``AWS/States``, dimension ``StateMachineArn``)."""
        return self.state_machine.metric(metric_name, **props)

    def metric_started(self, **props: Any) -> cloudwatch.Metric:
        """Executions started (sum over 5 minutes)."""
        return self.state_machine.metric_started(**props)

    def metric_succeeded(self, **props: Any) -> cloudwatch.Metric:
        """Executions that succeeded (sum over 5 minutes)."""
        return self.state_machine.metric_succeeded(**props)

    def metric_failed(self, **props: Any) -> cloudwatch.Metric:
        """Executions that failed (sum over 5 minutes)."""
        return self.state_machine.metric_failed(**props)

    def metric_timed_out(self, **props: Any) -> cloudwatch.Metric:
        """Executions that timed out (sum over 5 minutes)."""
        return self.state_machine.metric_timed_out(**props)

    def metric_aborted(self, **props: Any) -> cloudwatch.Metric:
        """Executions that were aborted (sum over 5 minutes)."""
        return self.state_machine.metric_aborted(**props)

    def metric_time(self, **props: Any) -> cloudwatch.Metric:
        """Execution time in milliseconds (average over 5 minutes)."""
        return self.state_machine.metric_time(**props)

    # --- parts --------------------------------------------------------------------------------

    def _compile(
        self,
        pipeline: Pipeline,
        job_role: SageMakerJobRole | iam.IRole,
        bucket: s3.IBucket,
        prefix: str,
        job_key: kms.IKey | None,
        network: JobPlacement | None,
        pattern: sfn.IntegrationPattern,
    ) -> sfn.IChainable:
        role = job_role.role if isinstance(job_role, SageMakerJobRole) else job_role
        code_locations: dict[str, str] = {}
        for index, (code, directory) in enumerate(local_code_paths(pipeline).items()):
            asset = s3_assets.Asset(self, f"Code{index}", path=str(directory))
            self.code_assets[code] = asset
            code_locations[code] = asset.s3_object_url
            read = iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[asset.bucket.arn_for_objects(asset.s3_object_key)],
            )
            # The code input is an S3 prefix: SageMaker lists it before downloading.
            list_code = iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[asset.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [asset.s3_object_key]}},
            )
            for statement in (read, list_code):
                if isinstance(job_role, SageMakerJobRole):
                    job_role.add_to_policy(statement)
                else:
                    job_role.add_to_principal_policy(statement)
        self._bucket = bucket
        self._prefix = prefix
        self.compiled = compile_state_machine(
            Construct(self, "Definition"),
            pipeline,
            job_role=role,
            artifact_bucket=bucket,
            artifact_prefix=prefix,
            code_locations=code_locations,
            kms_key=job_key,
            placement=network,
            integration_pattern=pattern,
        )
        return self.compiled.definition

    def _wildcard_reasons(self) -> list[tuple[str, str]]:
        """Every wildcard resource in the role's statements, with why it is needed."""
        document = Stack.of(self).resolve(self.role.managed_policy.document.to_json())
        reasons: list[tuple[str, str]] = []
        for statement in document.get("Statement", []):
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            service = actions[0].split(":", 1)[0] if actions else ""
            resources = statement.get("Resource", [])
            resources = resources if isinstance(resources, list) else [resources]
            reason = _WILDCARD_REASONS.get(service)
            if reason is None:
                continue
            for resource in resources:
                if resource != "*" and "*" in str(resource):
                    reasons.append((resource, reason))
        return reasons

    def _notify_failures(self, topic: sns.ITopic | None) -> None:
        if topic is None:
            topic = sns.Topic(
                self,
                "FailureTopic",
                display_name="mlpipes state machine failures",
                master_key=self.encryption_key,
                enforce_ssl=True,
            )
        self.notification_topic = topic
        self.failure_rule = events.Rule(
            self,
            "FailureRule",
            description="Execution of the state machine failed, timed out or was aborted",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={
                    "status": list(FAILURE_STATUSES),
                    "stateMachineArn": [self.state_machine.state_machine_arn],
                },
            ),
            targets=[targets.SnsTopic(topic)],
        )

    def _schedule(self, schedule: str | events.Schedule, schedule_input: Mapping[str, Any]) -> None:
        rule_schedule = (
            events.Schedule.expression(schedule) if isinstance(schedule, str) else schedule
        )
        role = ManagedPolicyRole(
            self,
            "ScheduleRole",
            service="events.amazonaws.com",
            description="Starts scheduled executions of an mlpipes state machine",
        )
        self.schedule_rule = events.Rule(
            self,
            "Schedule",
            description="Scheduled executions of the state machine",
            schedule=rule_schedule,
            targets=[
                targets.SfnStateMachine(
                    self.state_machine,
                    role=role,
                    input=events.RuleTargetInput.from_object(dict(schedule_input)),
                )
            ],
        )

    def _check(
        self,
        *,
        pipeline: Pipeline | None,
        definition: sfn.IChainable | None,
        job_role: object,
        artifact_bucket: object,
        artifact_prefix: str | None,
        job_encryption_key: object,
        network: object,
        timeout: Duration | None,
        state_machine_name: str | None,
        failure_notifications: bool,
        notification_topic: object,
        schedule: str | events.Schedule | None,
        schedule_input: object,
    ) -> None:
        problems = Problems(self.node.path)
        if pipeline is not None and definition is not None:
            problems.conflict("pipeline", "definition", "give a spec or a chainable, not both")
        if pipeline is None and definition is None:
            problems.add("one of 'pipeline' and 'definition' is required")
        if pipeline is not None:
            problems.require(job_role is not None, "job_role is required with 'pipeline'")
            problems.require(
                artifact_bucket is not None, "artifact_bucket is required with 'pipeline'"
            )
        if definition is not None:
            for name, value in (
                ("job_role", job_role),
                ("artifact_bucket", artifact_bucket),
                ("artifact_prefix", artifact_prefix),
                ("job_encryption_key", job_encryption_key),
                ("network", network),
            ):
                if value is not None:
                    problems.conflict("definition", name, f"'{name}' only applies to a pipeline")
        if timeout is not None and not is_unresolved(timeout.to_seconds()):
            seconds = timeout.to_seconds()
            problems.require(
                1 <= seconds <= _MAX_TIMEOUT_DAYS * 86400,
                f"timeout {seconds} seconds must be from 1 second to {_MAX_TIMEOUT_DAYS} days",
            )
        if state_machine_name is not None and not is_unresolved(state_machine_name):
            problems.require(
                _NAME.fullmatch(state_machine_name) is not None,
                f"state_machine_name '{state_machine_name}' must be 1-80 letters, digits, "
                "'-' and '_'",
            )
        if notification_topic is not None and not failure_notifications:
            problems.conflict(
                "notification_topic",
                "failure_notifications=False",
                "a topic is only used for failure notifications",
            )
        check_schedule(problems, schedule)
        if schedule_input is not None and schedule is None:
            problems.conflict("schedule_input", "schedule=None", "there are no scheduled runs")
        problems.raise_if_any()
