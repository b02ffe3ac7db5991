"""A pipeline spec compiled to an Airflow DAG and deployed into an MWAA environment."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Unpack

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.a2i import IFlowDefinition
from mlpipes_constructs.airflow._metrics import environment_metric
from mlpipes_constructs.airflow._task_permissions import (
    DagPermissions,
    dag_permissions,
)
from mlpipes_constructs.airflow._task_statements import task_statements
from mlpipes_constructs.airflow.compiler import DAG_FACTORY, CompiledDag, compile_dag
from mlpipes_constructs.airflow.environment import MwaaEnvironment
from mlpipes_constructs.compile import JobPlacement
from mlpipes_constructs.compile.naming import default_prefix
from mlpipes_constructs.compliance import acknowledge_wildcards
from mlpipes_constructs.core._defaults import (
    DEFAULT_ARTIFACT_PREFIX,
    artifact_folder,
    default_notifications,
    job_role_of,
    require_encryption_key,
)
from mlpipes_constructs.core._human_review import (
    acknowledge_human_review_wildcards,
    flow_definition_problems,
    grant_human_reviews,
)
from mlpipes_constructs.core._job_code import JobCode
from mlpipes_constructs.core._schedule import schedule_input_problems, spec_parameter_types
from mlpipes_constructs.core._wildcards import wildcard_reasons_by_service
from mlpipes_constructs.core.metrics import MetricOptions
from mlpipes_constructs.core.notifications import FailureNotifications, notifications_problems
from mlpipes_constructs.core.pipeline_base import MlPipelineBase
from mlpipes_constructs.core.placement import JobPlacementOptions, resolve_placement
from mlpipes_constructs.core.tracking import MlflowTracking
from mlpipes_constructs.foundation import SageMakerJobRole
from mlpipes_constructs.spec import Pipeline

#: Airflow's schedule presets; anything else must be a five-field cron expression.
SCHEDULE_PRESETS = frozenset(
    {"@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly", "@annually"}
)
_CRON = re.compile(r"[0-9*/,\-A-Za-z?LW#]+(\s+[0-9*/,\-A-Za-z?LW#]+){4}")
_DAG_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,249}")
_WILDCARD_REASONS = {
    "sagemaker": (
        "each task may act only on SageMaker names that start with its step's fixed slug; the "
        "rest of the name is the run token of the DAG run, so only a prefix can be named"
    ),
    "s3": (
        "the tasks read reports and check inputs whose keys contain the DAG run's token, "
        "inside this pipeline's folder of the artifact bucket only"
    ),
    "logs": (
        "the training operator reads the log streams of this pipeline's training jobs, which "
        "SageMaker names after the job (a name with the run token)"
    ),
}


class MwaaPipeline(MlPipelineBase):
    """A pipeline spec compiled to an Airflow DAG and deployed to an MWAA environment.

    The spec is compiled with :func:`~mlpipes_constructs.airflow.compiler.compile_dag`; the
    DAG factory and the compiled definition are deployed to ``dags/mlpipes/<dag_id>.py`` and
    ``.json`` in the environment's source bucket (both are removed when the construct leaves
    the stack, so the DAG stops being scheduled). Each local code directory of the spec is
    uploaded as a ZIP asset that the job role may read. The environment's execution role
    gets exactly what the DAG's tasks call (see ``_task_permissions``), in a managed policy
    of this construct: the SageMaker resources whose names start with each step's slug,
    ``iam:PassRole`` of the job role to SageMaker only, reading this pipeline's folder of the
    artifact bucket, the training jobs' log streams, and publishing to the failure topic.

    A failed DAG run is published to the failure topic by the DAG's failure callback (MWAA
    emits no EventBridge event for DAG runs).

    A human review step is a sensor task that starts an Amazon A2I human loop and waits for
    the decision (see ``airflow.compiler``); the execution role gets, from each of
    ``flow_definitions``, StartHumanLoop on the flow definition, DescribeHumanLoop and
    StopHumanLoop on the loops whose names start with the step's prefix
    (``<job name prefix>-<step>``, 26 characters at most), and reading the reviewers'
    answers.

    Args:
        environment: the MWAA environment whose DAG folder gets the DAG.
        pipeline: the spec to compile.
        job_role: the role the SageMaker jobs run as (it gets read access to the uploaded
            code through a managed policy).
        artifact_bucket: where outputs without a destination go, under
            ``<artifact_prefix><spec name>/<run token>/``.
        encryption_key: the key of job outputs and volumes (and of reading reports) and of the
            new failure topic. Default: ``artifact_bucket``'s KMS key; required when there is
            none.
        artifact_prefix: bucket folder the pipeline's folder goes under. Default:
            ``"pipelines/"``.
        placement: VPC placement of jobs and models. Default: no VPC configuration.
        job_name_prefix: start of every SageMaker name (1-16 letters, digits, hyphens).
            Default: the spec name, lowercased, at most 16 characters.
        dag_id: the DAG's id. Default: the spec name.
        schedule: a five-field cron expression or an Airflow preset (``@daily``...).
            Default: no schedule (runs start through the Airflow UI, CLI or REST API).
        schedule_input: parameter values of scheduled runs, checked against the spec's
            parameters. Airflow's scheduled runs take the DAG params' defaults, so these
            become the defaults of manual runs too. Default: the spec's defaults.
        notifications: where failed DAG runs are published, by the DAG's failure callback as
            the execution role (a given topic's policy must not refuse it; its key, if any,
            must let the role use it). Default: ``FailureNotifications()``: a new topic
            encrypted with ``encryption_key``, TLS only.
        flow_definitions: the A2I flow definitions the spec's human review steps start
            loops with. Default: none; required when the pipeline has human review steps.
        tracking: the MLflow server the spec's jobs log to, with the DAG run id as their run's
            execution id; the job role may read its credentials secret and the jobs' security
            groups may reach it. Default: no tracking.
    """

    METRIC_NAMESPACE: ClassVar[str] = "AmazonMWAA"
    METRIC_NAMES: ClassVar[Mapping[str, str]] = {
        "started": "FirstTaskSchedulingDelay",
        "succeeded": "DAGDurationSuccess",
        "failed": "DAGDurationFailed",
        "stopped": "DAGDurationFailed",
        "duration": "DAGDurationSuccess",
    }

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: MwaaEnvironment,
        pipeline: Pipeline,
        job_role: SageMakerJobRole | iam.IRole,
        artifact_bucket: s3.IBucket,
        encryption_key: kms.IKey | None = None,
        artifact_prefix: str | None = None,
        placement: JobPlacementOptions | None = None,
        job_name_prefix: str | None = None,
        dag_id: str | None = None,
        schedule: str | None = None,
        schedule_input: Mapping[str, Any] | None = None,
        notifications: FailureNotifications | None = None,
        flow_definitions: Sequence[IFlowDefinition] = (),
        tracking: MlflowTracking | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        notifications = default_notifications(notifications)
        problems = Problems(self.node.path)
        if not isinstance(pipeline, Pipeline):
            problems.add(
                f"pipeline {type(pipeline).__name__!r} is not a spec "
                "(mlpipes_constructs.spec.Pipeline); deploy your own DAGs with "
                "MwaaSourceFiles(dags_folder=...) or MwaaEnvironment.add_dag_file"
            )
        key = require_encryption_key(problems, encryption_key, artifact_bucket)
        resolved_dag_id = dag_id or (pipeline.name if isinstance(pipeline, Pipeline) else "")
        if not is_unresolved(resolved_dag_id):
            problems.require(
                _DAG_ID.fullmatch(resolved_dag_id) is not None,
                f"dag_id '{resolved_dag_id}' must be 1-250 letters, digits, '.', '-' and '_'",
            )
        if schedule is not None:
            problems.require(
                schedule in SCHEDULE_PRESETS or _CRON.fullmatch(schedule.strip()) is not None,
                f"schedule '{schedule}' must be a five-field cron expression or one of "
                f"{', '.join(sorted(SCHEDULE_PRESETS))}",
            )
        if schedule_input is not None and schedule is None:
            problems.conflict("schedule_input", "schedule=None", "there are no scheduled runs")
        if isinstance(pipeline, Pipeline) and schedule_input:
            for problem in schedule_input_problems(spec_parameter_types(pipeline), schedule_input):
                problems.add(problem)
        notifications_problems(notifications, problems)
        if isinstance(pipeline, Pipeline):
            flow_definition_problems(problems, pipeline, flow_definitions)
        problems.raise_if_any()
        assert key is not None

        self.environment = environment
        self.spec = pipeline
        self.encryption_key: kms.IKey = key
        self.dag_id = resolved_dag_id
        role = job_role_of(job_role)
        self.job_role = role
        self.artifact_bucket = artifact_bucket
        self.artifact_folder = artifact_folder(
            artifact_prefix if artifact_prefix is not None else DEFAULT_ARTIFACT_PREFIX,
            pipeline.name,
        )
        code = JobCode(
            self,
            "JobCode",
            pipeline=pipeline,
            job_role=role,
            description="Lets the jobs of an mlpipes Airflow DAG read their code",
        )
        self.code_assets = code.assets
        self.security_groups: list[ec2.ISecurityGroup] = []
        network: JobPlacement | None = None
        if placement is not None:
            resolved = resolve_placement(
                self, placement, description="Jobs of an mlpipes Airflow DAG"
            )
            self.security_groups = list(resolved.security_groups)
            network = resolved.placement
        if tracking is not None:
            tracking.grant_jobs(role, self.security_groups)

        # The DAG's failure callback publishes as the execution role; no EventBridge rule or
        # service principal is involved, so the topic needs no statement for one.
        self.notification_topic: sns.ITopic | None = None
        if notifications.enabled:
            self.notification_topic = notifications.topic or sns.Topic(
                self,
                "FailureTopic",
                display_name="mlpipes Airflow DAG failures",
                master_key=notifications.encryption_key or key,
                enforce_ssl=True,
            )

        self.compiled: CompiledDag = compile_dag(
            pipeline,
            role_arn=role.role_arn,
            artifact_bucket_name=artifact_bucket.bucket_name,
            artifact_prefix=self.artifact_folder,
            code_locations=code.locations,
            kms_key_id=key.key_arn,
            placement=network,
            job_name_prefix=job_name_prefix,
            dag_id=resolved_dag_id,
            schedule=schedule,
            parameter_defaults=schedule_input,
            notification_topic_arn=(
                self.notification_topic.topic_arn if self.notification_topic else None
            ),
            tracking=tracking.compile_options() if tracking is not None else None,
        )
        self.permissions: DagPermissions = dag_permissions(self.compiled.definition)
        self.task_policy = iam.ManagedPolicy(
            self,
            "TaskPolicy",
            description=f"What the tasks of the Airflow DAG {resolved_dag_id} call",
            roles=[environment.execution_role],
            statements=task_statements(
                self,
                self.permissions,
                job_role=role,
                artifact_bucket=artifact_bucket,
                artifact_folder=self.artifact_folder,
                encryption_key=key,
                notification_topic=self.notification_topic,
            ),
        )
        files = self.compiled.files()
        self.dag_file = environment.add_dag_file(
            f"{construct_id}DagFactory",
            file_name=f"{resolved_dag_id}.py",
            source=DAG_FACTORY,
        )
        self.definition_file = environment.add_dag_file(
            f"{construct_id}DagDefinition",
            file_name=f"{resolved_dag_id}.json",
            content=files[f"{resolved_dag_id}.json"],
        )
        # The tasks must be allowed before the DAG can run.
        self.definition_file.node.add_dependency(self.task_policy)
        # The review tasks' loops are named after the same job name prefix as the compiler's.
        self.human_review_grant: iam.Grant | None = grant_human_reviews(
            environment.execution_role,
            pipeline,
            flow_definitions,
            job_prefix=job_name_prefix or default_prefix(pipeline.name),
        )
        if self.human_review_grant is not None:
            self.human_review_grant.apply_before(self.definition_file)
        acknowledge_human_review_wildcards(environment.execution_policy, self.human_review_grant)
        acknowledge_wildcards(
            self.task_policy, wildcard_reasons_by_service(self.task_policy, _WILDCARD_REASONS)
        )

    # --- public API ---------------------------------------------------------------------------

    @property
    def pipeline_name(self) -> str:
        """The DAG id."""
        return self.dag_id

    @property
    def pipeline_arn(self) -> str:
        """The ARN of the environment the DAG runs in (Airflow DAGs have no ARN)."""
        return self.environment.environment_arn

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` trigger runs: a CLI token for the environment (``airflow dags
        trigger``), and the REST API as the Airflow ``User`` role (``POST
        /dags/<dag_id>/dagRuns``). Airflow's roles are per environment, not per DAG."""
        cli = self.environment.grant_cli_token(grantee)
        rest = self.environment.grant_invoke_rest_api(grantee, "User")
        return cli.combine(rest)

    def metric_started(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """DAG runs started: one ``FirstTaskSchedulingDelay`` datum per run, when its first
        task is scheduled (sample count over 5 minutes)."""
        options.setdefault("statistic", "SampleCount")
        return self.metric("FirstTaskSchedulingDelay", **options)

    def metric_succeeded(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """DAG runs that succeeded (sample count of ``DAGDurationSuccess`` over 5 minutes)."""
        options.setdefault("statistic", "SampleCount")
        return self.metric("DAGDurationSuccess", **options)

    def metric_failed(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """DAG runs that failed (sample count of ``DAGDurationFailed`` over 5 minutes)."""
        options.setdefault("statistic", "SampleCount")
        return self.metric("DAGDurationFailed", **options)

    def metric_stopped(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """DAG runs stopped by hand: Airflow marks a stopped run failed, so this is
        :meth:`metric_failed` (sample count over 5 minutes)."""
        return self.metric_failed(**options)

    def metric_duration(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """How long successful DAG runs took (average ``DAGDurationSuccess`` over 5
        minutes)."""
        options.setdefault("statistic", "Average")
        return self.metric("DAGDurationSuccess", **options)

    def metric(self, metric_name: str, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """A metric of this DAG in ``AmazonMWAA`` (dimensions ``Environment`` and ``DAG``).
        Default: the sum over 5 minutes."""
        return environment_metric(
            self.environment.environment_name,
            metric_name,
            options,
            dimensions=self._metric_dimensions(),
            statistic=options.get("statistic", "Sum"),
        )

    def _metric_dimensions(self) -> Mapping[str, str]:
        return {"DAG": self.dag_id}
