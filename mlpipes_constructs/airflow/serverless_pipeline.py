"""A pipeline spec compiled to an MWAA Serverless workflow."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlpipes_constructs._internal.subnets import select_subnets
from mlpipes_constructs._internal.validation import Problems
from mlpipes_constructs.airflow._condition_gate_function import ConditionGateFunction
from mlpipes_constructs.airflow._serverless_rules import _is_cron
from mlpipes_constructs.airflow._task_permissions import DagPermissions, dag_permissions
from mlpipes_constructs.airflow._task_statements import task_statements
from mlpipes_constructs.airflow.serverless_compiler import (
    CompiledWorkflow,
    compile_serverless_workflow,
)
from mlpipes_constructs.airflow.serverless_workflow import MwaaServerlessWorkflow
from mlpipes_constructs.compile import JobPlacement
from mlpipes_constructs.compliance import acknowledge_wildcards
from mlpipes_constructs.core._defaults import (
    DEFAULT_ARTIFACT_PREFIX,
    artifact_folder,
    job_role_of,
    require_encryption_key,
)
from mlpipes_constructs.core._job_code import JobCode
from mlpipes_constructs.core._schedule import schedule_input_problems, spec_parameter_types
from mlpipes_constructs.core._wildcards import wildcard_reasons_by_service
from mlpipes_constructs.core.placement import JobPlacementOptions, resolve_placement
from mlpipes_constructs.foundation import FoundationResources, SageMakerJobRole
from mlpipes_constructs.spec import ConditionStep, Pipeline

_DAG_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,249}")
_WILDCARD_REASONS = {
    "sagemaker": (
        "each task may act only on SageMaker names that start with its step's fixed slug; the "
        "rest of the name is the run token of the workflow run, so only a prefix can be named"
    ),
    "s3": (
        "the SageMaker operators check inputs whose keys contain the workflow run's token, "
        "inside this pipeline's folder of the artifact bucket only"
    ),
    "logs": (
        "the training operator reads the log streams of this pipeline's training jobs, which "
        "SageMaker names after the job (a name with the run token)"
    ),
}


class MwaaServerlessPipeline(Construct):
    """A pipeline spec compiled to an MWAA Serverless workflow (pay per task-second).

    The spec is compiled with
    :func:`~mlpipes_constructs.airflow.serverless_compiler.compile_serverless_workflow` (which
    refuses, naming the step and the rule, what MWAA Serverless cannot run, e.g. register_model)
    and deployed as an :class:`MwaaServerlessWorkflow`. Each local code directory of the spec is
    uploaded as a ZIP asset that the job role may read. When the spec has a condition step, a
    gate function is created in the private subnets, with a role that may read only this
    pipeline's folder of the artifact bucket. The workflow's role gets what the tasks call (see
    ``_task_permissions``), in a managed policy of this construct: the SageMaker resources whose
    names start with each step's slug, ``iam:PassRole`` of the job role to SageMaker only, the
    operators' input checks in this pipeline's folder, the training jobs' log streams, and
    ``lambda:InvokeFunction`` on the gate.

    Args:
        pipeline: the spec to compile.
        job_role: the role the SageMaker jobs run as (it gets read access to the uploaded
            code through a managed policy).
        artifact_bucket: where outputs without a destination go, under
            ``<artifact_prefix><spec name>/<run token>/``; the definition is uploaded to it
            (it must be versioned).
        foundation: the platform the workflow and the gate run on (VPC, private subnets).
            Give this or ``vpc``.
        vpc: the VPC the workflow's tasks and the gate run in. Give this or ``foundation``.
        vpc_subnets: subnets of ``vpc``. Default: the foundation's private subnets, else the
            VPC's private subnets.
        encryption_key: the key of job outputs and volumes, of the workflow and its logs, and
            of reading reports. Default: ``artifact_bucket``'s KMS key; required when there is
            none.
        artifact_prefix: bucket folder the pipeline's folder goes under. Default:
            ``"pipelines/"``.
        placement: VPC placement of jobs and models. Default: no VPC configuration.
        job_name_prefix: start of every SageMaker name (1-16 letters, digits, hyphens).
            Default: the spec name, lowercased, at most 16 characters.
        dag_id: the DAG's id, and the workflow's name. Default: the spec name.
        schedule: a five-field cron expression (MWAA Serverless takes no presets).
            Default: no schedule (runs start with ``StartWorkflowRun``).
        schedule_input: parameter values of scheduled runs, checked against the spec's
            parameters. Scheduled runs take the params' defaults, so these become the
            defaults of every run. Default: the spec's defaults.
        log_retention: how long the workflow's and the gate's logs are kept.
            Default: one year.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline: Pipeline,
        job_role: SageMakerJobRole | iam.IRole,
        artifact_bucket: s3.IBucket,
        foundation: FoundationResources | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        encryption_key: kms.IKey | None = None,
        artifact_prefix: str | None = None,
        placement: JobPlacementOptions | None = None,
        job_name_prefix: str | None = None,
        dag_id: str | None = None,
        schedule: str | None = None,
        schedule_input: Mapping[str, Any] | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems(self.node.path)
        if not isinstance(pipeline, Pipeline):
            problems.add(
                f"pipeline {type(pipeline).__name__!r} is not a spec "
                "(mlpipes_constructs.spec.Pipeline); deploy your own dag-factory YAML with "
                "MwaaServerlessWorkflow(definition_file=...)"
            )
        key = require_encryption_key(problems, encryption_key, artifact_bucket)
        resolved_dag_id = dag_id or (pipeline.name if isinstance(pipeline, Pipeline) else "")
        problems.require(
            _DAG_ID.fullmatch(resolved_dag_id) is not None,
            f"dag_id '{resolved_dag_id}' must be 1-250 letters, digits, '.', '-' and '_'",
        )
        if schedule is not None:
            problems.require(
                _is_cron(schedule),
                f"schedule '{schedule}' must be a five-field cron expression (e.g. '0 6 * * 1'); "
                "MWAA Serverless takes no presets, intervals or assets",
            )
        if schedule_input is not None and schedule is None:
            problems.conflict("schedule_input", "schedule=None", "there are no scheduled runs")
        if isinstance(pipeline, Pipeline) and schedule_input:
            for problem in schedule_input_problems(spec_parameter_types(pipeline), schedule_input):
                problems.add(problem)
        if foundation is None and vpc is None:
            problems.add("one of 'vpc' or 'foundation' is required")
        if foundation is not None and vpc is not None:
            problems.conflict("vpc", "foundation", "the foundation already names the VPC")
        problems.raise_if_any()
        assert key is not None

        self.spec = pipeline
        self.dag_id = resolved_dag_id
        self.encryption_key: kms.IKey = key
        role = job_role_of(job_role)
        self.job_role = role
        self.artifact_bucket = artifact_bucket
        self.artifact_folder = artifact_folder(
            artifact_prefix if artifact_prefix is not None else DEFAULT_ARTIFACT_PREFIX,
            pipeline.name,
        )
        network_vpc = vpc or (foundation.vpc if foundation else None)
        assert network_vpc is not None
        selected = select_subnets(
            network_vpc, vpc_subnets or (foundation.private_subnets if foundation else None)
        )
        subnets = ec2.SubnetSelection(subnets=list(selected.subnets))
        code = JobCode(
            self,
            "JobCode",
            pipeline=pipeline,
            job_role=role,
            description="Lets the jobs of an mlpipes MWAA Serverless workflow read their code",
        )
        self.code_assets = code.assets
        self.security_groups: list[ec2.ISecurityGroup] = []
        network: JobPlacement | None = None
        if placement is not None:
            resolved = resolve_placement(
                self, placement, description="Jobs of an mlpipes MWAA Serverless workflow"
            )
            self.security_groups = list(resolved.security_groups)
            network = resolved.placement

        self.gate: ConditionGateFunction | None = None
        if any(isinstance(step, ConditionStep) for step in pipeline.steps):
            self.gate = ConditionGateFunction(
                self,
                "ConditionGate",
                artifact_bucket=artifact_bucket,
                artifact_folder=self.artifact_folder,
                encryption_key=key,
                vpc=network_vpc,
                vpc_subnets=subnets,
                log_retention=log_retention,
            )

        self.compiled: CompiledWorkflow = compile_serverless_workflow(
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
            condition_function_arn=self.gate.function.function_arn if self.gate else None,
            parameter_defaults=schedule_input,
        )
        self.workflow = MwaaServerlessWorkflow(
            self,
            "Workflow",
            definition=self.compiled.definition,
            bucket=artifact_bucket,
            vpc=network_vpc,
            vpc_subnets=subnets,
            encryption_key=key,
            log_retention=log_retention,
        )
        self.permissions: DagPermissions = dag_permissions(self.compiled.permission_definition())
        statements = task_statements(
            self,
            self.permissions,
            job_role=role,
            artifact_bucket=artifact_bucket,
            artifact_folder=self.artifact_folder,
            encryption_key=key,
        )
        if self.gate is not None:
            statements.append(
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"],
                    resources=[self.gate.function.function_arn],
                )
            )
        self.task_policy = iam.ManagedPolicy(
            self,
            "TaskPolicy",
            description=f"What the tasks of the MWAA Serverless workflow {resolved_dag_id} call",
            roles=[self.workflow.execution_role],
            statements=statements,
        )
        # The tasks must be allowed before the workflow can run.
        self.workflow.resource.node.add_dependency(self.task_policy)
        acknowledge_wildcards(
            self.task_policy, wildcard_reasons_by_service(self.task_policy, _WILDCARD_REASONS)
        )

    @property
    def pipeline_name(self) -> str:
        """The DAG id (the workflow's name)."""
        return self.dag_id

    @property
    def pipeline_arn(self) -> str:
        """The workflow's ARN."""
        return self.workflow.workflow_arn

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start runs of the workflow (``airflow-serverless:StartWorkflowRun``)."""
        return self.workflow.grant_start_execution(grantee)
