"""A SageMaker Pipelines pipeline with a least-privilege role, triggers and failure alerts."""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import Annotations, Duration, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct, IValidation

from mlpipes_constructs._internal.subnets import select_subnets
from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.compile import JobPlacement
from mlpipes_constructs.compliance import acknowledge, acknowledge_wildcard
from mlpipes_constructs.errors import PropsValidationError
from mlpipes_constructs.foundation import SageMakerJobRole
from mlpipes_constructs.foundation._s3_access import KEY_READ_ACTIONS, check_prefixes
from mlpipes_constructs.iam import ManagedPolicyRole
from mlpipes_constructs.sagemaker._arns import model_package_arns, model_package_group_arns
from mlpipes_constructs.sagemaker._checks import (
    PIPELINE_NAME_MAX,
    RESOURCE_NAME_MAX,
    check_name,
    definition_problems,
    iter_steps,
    schedule_problems,
)
from mlpipes_constructs.sagemaker._event_bridge import (
    PipelineRuleTarget,
    allow_events_to_use_key,
    bucket_event_bridge_state,
    enable_bucket_event_bridge,
)
from mlpipes_constructs.sagemaker._pipeline_permissions import (
    DEPLOY_CONFIG_ACTIONS,
    ENDPOINT_ACTIONS,
    ENDPOINT_CONFIG_ACTIONS,
    REGISTER_GROUP_ACTIONS,
    REGISTER_PACKAGE_ACTIONS,
    endpoint_usage,
    job_permissions,
    unmapped_step_types,
)
from mlpipes_constructs.sagemaker._trigger import S3PipelineTrigger, trigger_parameter_problems
from mlpipes_constructs.sagemaker.compiler import (
    compile_pipeline_definition,
    pipeline_step_types,
)
from mlpipes_constructs.spec import Pipeline, local_code_paths

#: Definitions up to this size (UTF-8 bytes) are inlined in the template
#: (``PipelineDefinitionBody``); larger ones are uploaded as an asset and referenced
#: (``PipelineDefinitionS3Location``), as the SageMaker SDK does above 100 KB.
INLINE_DEFINITION_LIMIT = 100 * 1024
#: The largest pipeline definition SageMaker accepts (``PipelineDefinition``: 1 MiB).
MAX_DEFINITION_SIZE = 1024 * 1024
METRIC_NAMESPACE = "AWS/Sagemaker/ModelBuildingPipeline"
EXECUTION_STATUS_CHANGE = "SageMaker Model Building Pipeline Execution Status Change"


class SageMakerPipeline(Construct):
    """A SageMaker Pipelines pipeline (``AWS::SageMaker::Pipeline``) and what runs it.

    The definition comes from exactly one of ``spec`` (compiled here; local job code is
    uploaded as assets), ``definition`` (a definition dict) or ``sdk_pipeline`` (a ``sagemaker``
    SDK pipeline object; its ``definition()`` is called). The pipeline runs as a new role whose
    customer-managed policy is derived from the step types the definition uses: it may pass
    only the job role, to SageMaker only; create, describe and stop only the kinds of jobs it
    starts, named ``pipelines-*`` as SageMaker Pipelines names them; register versions in the
    model package groups of its register steps only; create the endpoint configurations of
    its endpoint steps and create or update only the endpoints they name (any endpoint of the
    account and region when a parameter names it); read property files under its artifact
    prefix only; and decrypt with the platform key.

    Args:
        job_role: the role the pipeline's jobs and models run as.
        artifact_bucket: the bucket pipeline outputs go to (``<artifact_prefix><name>/``).
        encryption_key: the key job volumes, outputs, the failure topic and the S3 trigger's
            execution logs are encrypted with (for the logs, its policy must let CloudWatch
            Logs use it, as ``PlatformKey``'s does).
        spec: an orchestrator-neutral pipeline to compile. Default: none.
        definition: a SageMaker pipeline definition dict (``Version``, ``Parameters``,
            ``Steps``...); tokens are allowed in its strings. Default: none.
        sdk_pipeline: a ``sagemaker`` SDK pipeline object. Default: none.
        pipeline_name: the SageMaker pipeline name (1-256 letters, digits and hyphens).
            Default: the spec's or SDK pipeline's name; required with ``definition``.
        description: the pipeline description. Default: the spec's description, else none.
        artifact_prefix: bucket folder pipeline outputs go under. Default: ``"pipelines/"``.
        vpc: the VPC the spec's jobs run in. Default: jobs run without VPC configuration.
        vpc_subnets: the subnets of ``vpc`` jobs run in. Default: the VPC's private subnets.
        security_groups: security groups of the jobs in ``vpc``. Default: a new group that
            allows traffic between the jobs' instances only.
        model_package_group_names: model package groups the pipeline registers models in.
            Default: the literal group names of the definition's register steps.
        max_parallel_steps: most steps that run at once in an execution. Default: the
            service default (50).
        schedule: when to start executions (an EventBridge rule). Default: no schedule.
        schedule_parameters: pipeline parameters of scheduled executions. Default: the
            parameters' defaults.
        trigger_prefix: folder of ``artifact_bucket`` (e.g. ``"data/incoming/"``); a new
            object under it starts an execution with the object's ``s3://`` URI as
            ``trigger_parameter``: an EventBridge rule starts a small Step Functions state
            machine (:attr:`trigger_state_machine`) that calls ``StartPipelineExecution``
            with the event id as idempotency token, logging to a log group encrypted with
            ``encryption_key``. The bucket must send events to EventBridge: a bucket in
            this stack is switched on here; another stack's bucket must be switched on there
            (``ArtifactStorage(event_bridge_enabled=True)``), which is checked at synth time.
            Default: no S3 trigger.
        trigger_parameter: the String pipeline parameter that receives the new object's URI.
            Default: ``"InputDataUri"``.
        notify_on_failure: publish failed executions, and new objects whose trigger
            execution failed, to an encrypted SNS topic. Default: True.
        notification_topic: the topic for failure notifications. Default: a new topic
            encrypted with ``notification_key``, TLS only.
        notification_key: the key of the new topic. EventBridge must be allowed to use it:
            a ``kms.Key`` in this stack gets a key policy statement; for any other key, add
            ``events.amazonaws.com`` to its policy yourself. Default: ``encryption_key``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        job_role: SageMakerJobRole | iam.IRole,
        artifact_bucket: s3.IBucket,
        encryption_key: kms.IKey,
        spec: Pipeline | None = None,
        definition: Mapping[str, Any] | None = None,
        sdk_pipeline: Any = None,
        pipeline_name: str | None = None,
        description: str | None = None,
        artifact_prefix: str = "pipelines/",
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        model_package_group_names: Sequence[str] | None = None,
        max_parallel_steps: int | None = None,
        schedule: events.Schedule | None = None,
        schedule_parameters: Mapping[str, str] | None = None,
        trigger_prefix: str | None = None,
        trigger_parameter: str = "InputDataUri",
        notify_on_failure: bool = True,
        notification_topic: sns.ITopic | None = None,
        notification_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems(self.node.path)
        sources = [
            name
            for name, value in (
                ("spec", spec),
                ("definition", definition),
                ("sdk_pipeline", sdk_pipeline),
            )
            if value is not None
        ]
        if not sources:
            problems.add("one of 'spec', 'definition' or 'sdk_pipeline' is required")
        for index, first in enumerate(sources):
            for second in sources[index + 1 :]:
                problems.conflict(first, second, "give the pipeline exactly one definition")
        if sdk_pipeline is not None and not callable(getattr(sdk_pipeline, "definition", None)):
            problems.add(
                f"sdk_pipeline {type(sdk_pipeline).__name__!r} has no definition() method; "
                "expected a sagemaker.mlops.workflow.pipeline.Pipeline"
            )
        name = pipeline_name or _default_name(spec, sdk_pipeline)
        if name is None and len(sources) == 1:
            problems.add(
                "pipeline_name is required with 'definition'"
                if definition is not None
                else "pipeline_name is required: the sdk_pipeline has no name"
            )
        check_name(problems, "pipeline_name", name, PIPELINE_NAME_MAX)
        check_prefixes(problems, "artifact_prefix", [artifact_prefix])
        if trigger_prefix is not None:
            check_prefixes(problems, "trigger_prefix", [trigger_prefix])
        if vpc is None:
            if vpc_subnets is not None:
                problems.conflict("vpc_subnets", "vpc", "'vpc_subnets' needs 'vpc'")
            if security_groups is not None:
                problems.conflict("security_groups", "vpc", "'security_groups' needs 'vpc'")
        if vpc is not None and spec is None:
            problems.conflict(
                "vpc",
                "definition" if definition is not None else "sdk_pipeline",
                "a native definition carries its own NetworkConfig; 'vpc' applies to 'spec'",
            )
        if schedule is not None:
            for problem in schedule_problems(schedule.expression_string):
                problems.add(problem)
        elif schedule_parameters:
            problems.conflict("schedule_parameters", "schedule", "they need a 'schedule'")
        if notification_topic is not None and not notify_on_failure:
            problems.conflict(
                "notification_topic", "notify_on_failure=False", "nothing would be published"
            )
        if notification_key is not None and (notification_topic or not notify_on_failure):
            problems.add("notification_key applies only to a new topic (notify_on_failure=True)")
        problems.check_int_range("max_parallel_steps", max_parallel_steps, 1, 1000)
        for group in model_package_group_names or ():
            check_name(problems, "model_package_group_names entry", group, RESOURCE_NAME_MAX)
        problems.raise_if_any()
        assert name is not None

        stack = Stack.of(self)
        self.pipeline_name = name
        self.artifact_bucket = artifact_bucket
        self.encryption_key = encryption_key
        self.job_role: iam.IRole = (
            job_role.role if isinstance(job_role, SageMakerJobRole) else job_role
        )
        self.artifact_prefix = f"{artifact_prefix}{name}/"
        self.artifact_root = f"s3://{artifact_bucket.bucket_name}/{self.artifact_prefix}"
        self.code_assets: dict[str, s3_assets.Asset] = {}
        self.security_groups: list[ec2.ISecurityGroup] = []

        if spec is not None:
            definition_dict = self._compile(spec, vpc, vpc_subnets, security_groups)
            description = description or spec.description
        elif definition is not None:
            definition_dict = copy.deepcopy(dict(definition))
        else:
            definition_dict = _sdk_definition(self.node.path, sdk_pipeline)

        problems = Problems(self.node.path)
        for problem in definition_problems(definition_dict):
            problems.add(problem)
        parameters = _parameter_names(definition_dict)
        if trigger_prefix is not None:
            for problem in trigger_parameter_problems(definition_dict, trigger_parameter):
                problems.add(problem)
        for parameter in schedule_parameters or {}:
            if parameter not in parameters:
                problems.add(f"schedule_parameters names unknown parameter '{parameter}'")
        groups = (
            list(model_package_group_names)
            if model_package_group_names is not None
            else _register_groups(definition_dict, problems)
        )
        body = json.dumps(definition_dict, separators=(",", ":"), sort_keys=True)
        size = len(body.encode("utf-8"))
        if size > MAX_DEFINITION_SIZE:
            problems.add(
                f"the pipeline definition is {size} bytes; SageMaker accepts at most "
                f"{MAX_DEFINITION_SIZE} bytes (1 MiB): split the pipeline or move large "
                "literals (such as inline scripts) into job code"
            )
        elif size > INLINE_DEFINITION_LIMIT and Token.is_unresolved(body):
            problems.add(
                f"the pipeline definition is {size} bytes, more than the "
                f"{INLINE_DEFINITION_LIMIT} bytes kept inline, so it is uploaded to S3 as a "
                "file, where deploy-time values (role ARNs, bucket names, asset locations) "
                "cannot be filled in: use literal values in a definition this large"
            )
        problems.raise_if_any()

        self.definition: dict[str, Any] = definition_dict
        self.step_types: frozenset[str] = frozenset(pipeline_step_types(definition_dict))
        self.model_package_group_names: tuple[str, ...] = tuple(groups)
        self.pipeline_arn = stack.format_arn(
            service="sagemaker",
            resource="pipeline",
            # SageMaker lowercases pipeline names in ARNs and events.
            resource_name=name if is_unresolved(name) else name.lower(),
        )

        self.role = ManagedPolicyRole(
            self,
            "Role",
            service="sagemaker.amazonaws.com",
            description=f"Execution role of the SageMaker pipeline {name}",
            policy_description=f"Permissions of the SageMaker pipeline {name}",
        )
        self.policy = self.role.managed_policy
        self._add_role_permissions(stack)

        if size > INLINE_DEFINITION_LIMIT:
            self.definition_asset: s3_assets.Asset | None = _definition_asset(self, body)
            pipeline_definition: dict[str, Any] = {
                "PipelineDefinitionS3Location": {
                    "Bucket": self.definition_asset.s3_bucket_name,
                    "Key": self.definition_asset.s3_object_key,
                }
            }
        else:
            self.definition_asset = None
            pipeline_definition = {"PipelineDefinitionBody": stack.to_json_string(definition_dict)}
        self.pipeline = sagemaker.CfnPipeline(
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
        self.pipeline.node.add_dependency(self.policy)

        self.events_role: iam.Role | None = None
        self.schedule_rule: events.Rule | None = None
        self.trigger_rule: events.Rule | None = None
        if schedule is not None:
            self.schedule_rule = events.Rule(
                self,
                "Schedule",
                description=f"Starts the SageMaker pipeline {name} on a schedule",
                schedule=schedule,
                targets=[
                    PipelineRuleTarget(
                        self.pipeline_arn,
                        self._events_role(),
                        parameters=dict(schedule_parameters or {}),
                    )
                ],
            )

        self.failure_topic: sns.ITopic | None = None
        self.failure_rule: events.Rule | None = None
        if notify_on_failure:
            self._add_failure_notifications(notification_topic, notification_key)

        self.trigger_state_machine: sfn.StateMachine | None = None
        if trigger_prefix is not None:
            trigger = self._add_trigger(trigger_prefix, trigger_parameter)
            self.trigger_rule = trigger.rule
            self.trigger_state_machine = trigger.state_machine

    # --- Public API ------------------------------------------------------------------------

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

    def metric(
        self,
        metric_name: str,
        *,
        statistic: str = "Sum",
        period: Duration | None = None,
    ) -> cloudwatch.Metric:
        """A metric of this pipeline in ``AWS/Sagemaker/ModelBuildingPipeline``."""
        return cloudwatch.Metric(
            namespace=METRIC_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={"PipelineName": self.pipeline_name},
            statistic=statistic,
            period=period or Duration.minutes(5),
        )

    def metric_execution_started(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """Executions started (sum over 5 minutes by default)."""
        return self.metric("ExecutionStarted", period=period)

    def metric_execution_succeeded(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """Executions that succeeded (sum over 5 minutes by default)."""
        return self.metric("ExecutionSucceeded", period=period)

    def metric_execution_failed(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """Executions that failed (sum over 5 minutes by default)."""
        return self.metric("ExecutionFailed", period=period)

    def metric_execution_stopped(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """Executions that were stopped (sum over 5 minutes by default)."""
        return self.metric("ExecutionStopped", period=period)

    def metric_execution_duration(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """How long executions ran, in milliseconds (average over 5 minutes by default)."""
        return self.metric("ExecutionDuration", statistic="Average", period=period)

    # --- Definition ------------------------------------------------------------------------

    def _compile(
        self,
        spec: Pipeline,
        vpc: ec2.IVpc | None,
        vpc_subnets: ec2.SubnetSelection | None,
        security_groups: Sequence[ec2.ISecurityGroup] | None,
    ) -> dict[str, Any]:
        code_locations: dict[str, str] = {}
        for index, (code, directory) in enumerate(local_code_paths(spec).items()):
            if not directory.is_dir():
                raise PropsValidationError(
                    self.node.path,
                    [f"spec step code '{code}' is not a directory: '{directory}' does not exist"],
                )
            asset = s3_assets.Asset(self, f"Code{index}", path=str(directory))
            self.code_assets[code] = asset
            code_locations[code] = asset.s3_object_url
        if self.code_assets:
            self._grant_code_read()
        network = None
        if vpc is not None:
            network = self._job_network(vpc, vpc_subnets, security_groups)
        try:
            return compile_pipeline_definition(
                spec,
                role_arn=self.job_role.role_arn,
                artifact_root=self.artifact_root,
                code_locations=code_locations,
                kms_key_id=self.encryption_key.key_arn,
                placement=network,
            )
        except ValueError as error:
            # Spec steps whose compiled names clash; the code locations are complete here.
            raise PropsValidationError(self.node.path, [f"spec: {error}"]) from error

    def _grant_code_read(self) -> None:
        """Let the job role download the uploaded code archives (those objects only)."""
        assets = list(self.code_assets.values())
        self.job_code_policy = iam.ManagedPolicy(
            self,
            "JobCodePolicy",
            roles=[self.job_role],
            description=f"Lets the jobs of the SageMaker pipeline {self.pipeline_name} read "
            "their code",
            statements=[
                iam.PolicyStatement(
                    sid="ReadJobCode",
                    actions=["s3:GetObject"],
                    resources=[
                        asset.bucket.arn_for_objects(asset.s3_object_key) for asset in assets
                    ],
                ),
                # A processing input is an S3 prefix: SageMaker lists it before downloading.
                iam.PolicyStatement(
                    sid="ListJobCode",
                    actions=["s3:ListBucket"],
                    resources=sorted({asset.bucket.bucket_arn for asset in assets}),
                    conditions={
                        "StringLike": {"s3:prefix": [asset.s3_object_key for asset in assets]}
                    },
                ),
            ],
        )

    def _job_network(
        self,
        vpc: ec2.IVpc,
        vpc_subnets: ec2.SubnetSelection | None,
        security_groups: Sequence[ec2.ISecurityGroup] | None,
    ) -> JobPlacement:
        subnets = select_subnets(vpc, vpc_subnets)
        if security_groups is None:
            group = ec2.SecurityGroup(
                self,
                "JobSecurityGroup",
                vpc=vpc,
                description=f"Jobs of the SageMaker pipeline {self.pipeline_name}",
                allow_all_outbound=True,
            )
            # Distributed training and inter-container traffic encryption need the job's
            # instances to reach each other; nothing else may connect to them.
            group.add_ingress_rule(
                group, ec2.Port.all_traffic(), "Traffic between the instances of one job"
            )
            acknowledge(
                group,
                [
                    "HIPAA.Security-EC2RestrictedCommonPorts",
                    "NIST.800.53.R5-EC2RestrictedCommonPorts",
                ],
                "the group's only inbound rule has the group itself as source: instances of the "
                "pipeline's own jobs reach each other, nothing outside the group reaches any port",
            )
            security_groups = [group]
        self.security_groups = list(security_groups)
        return JobPlacement(
            subnet_ids=tuple(subnets.subnet_ids),
            security_group_ids=tuple(group.security_group_id for group in security_groups),
        )

    # --- Role ------------------------------------------------------------------------------

    def _add_role_permissions(self, stack: Stack) -> None:
        statements = [
            iam.PolicyStatement(
                sid="PassJobRole",
                actions=["iam:PassRole"],
                resources=[self.job_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        ]
        wildcard_arns: list[tuple[str, str]] = []
        for permissions in job_permissions(self.step_types):
            arn = stack.format_arn(
                service="sagemaker",
                resource=permissions.resource_type,
                resource_name=permissions.name_pattern,
            )
            statements.append(
                iam.PolicyStatement(
                    sid=_sid("Run", permissions.resource_type, permissions.name_pattern),
                    actions=list(permissions.actions),
                    resources=[arn],
                )
            )
            reason = (
                f"SageMaker Pipelines names each {permissions.resource_type} it starts "
                "'pipelines-<execution id>-<step>-<suffix>' at run time; the wildcard covers "
                "only names with that prefix"
                if permissions.name_pattern != "*"
                else f"SageMaker generates {permissions.resource_type} names for tuning at run "
                "time without a documented prefix; the actions are limited to this account "
                "and region and to the tuning steps the definition contains"
            )
            wildcard_arns.append((arn, reason))
        if self.model_package_group_names:
            group_arns, package_arns = [], []
            for group in self.model_package_group_names:
                group_arns.extend(model_package_group_arns(stack, group))
                package_arns.extend(model_package_arns(stack, group))
            statements.append(
                iam.PolicyStatement(
                    sid="RegisterModelVersions",
                    actions=list(REGISTER_PACKAGE_ACTIONS),
                    resources=package_arns,
                )
            )
            statements.append(
                iam.PolicyStatement(
                    sid="UseModelPackageGroups",
                    actions=list(REGISTER_GROUP_ACTIONS),
                    resources=group_arns,
                )
            )
            wildcard_arns.extend(
                (
                    arn,
                    "a model package version's ARN ends with the version number SageMaker "
                    "assigns at registration; the wildcard stays inside one model package group",
                )
                for arn in package_arns
            )
        endpoints = endpoint_usage(self.definition)
        endpoint_arns: dict[tuple[str, str], str] = {}
        for sid, actions, resource_type, patterns in (
            (
                "CreateEndpointConfigs",
                ENDPOINT_CONFIG_ACTIONS,
                "endpoint-config",
                endpoints.configs,
            ),
            ("DeployEndpoints", ENDPOINT_ACTIONS, "endpoint", endpoints.endpoints),
            (
                "DeployEndpointConfigs",
                DEPLOY_CONFIG_ACTIONS,
                "endpoint-config",
                endpoints.deployed_configs,
            ),
        ):
            if not patterns:
                continue
            arns = []
            for pattern in patterns:
                if (resource_type, pattern) not in endpoint_arns:
                    arn = stack.format_arn(
                        service="sagemaker", resource=resource_type, resource_name=pattern
                    )
                    endpoint_arns[resource_type, pattern] = arn
                    if pattern.endswith("*"):
                        wildcard_arns.append(
                            (arn, _endpoint_wildcard_reason(resource_type, pattern))
                        )
                arns.append(endpoint_arns[resource_type, pattern])
            statements.append(iam.PolicyStatement(sid=sid, actions=list(actions), resources=arns))
        output_arn = self.artifact_bucket.arn_for_objects(f"{self.artifact_prefix}*")
        statements.append(
            iam.PolicyStatement(
                sid="ReadPropertyFiles",
                actions=["s3:GetObject"],
                resources=[output_arn],
            )
        )
        wildcard_arns.append(
            (
                output_arn,
                "the pipeline reads the property files its steps write under per-execution "
                "keys chosen at run time, inside this pipeline's artifact folder only",
            )
        )
        statements.append(
            iam.PolicyStatement(
                sid="UsePlatformKey",
                actions=[*KEY_READ_ACTIONS, "kms:GenerateDataKey"],
                resources=[self.encryption_key.key_arn],
            )
        )
        if endpoints.encrypted:
            # CreateEndpoint and UpdateEndpoint create grants on the configuration's key for
            # the endpoint's storage volumes, with the caller's permissions.
            statements.append(
                iam.PolicyStatement(
                    sid="EncryptEndpointStorage",
                    actions=["kms:CreateGrant"],
                    resources=[self.encryption_key.key_arn],
                    conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
                )
            )
        self.policy.add_statements(*statements)
        for arn, reason in wildcard_arns:
            acknowledge_wildcard(self.policy, arn, reason)
        unmapped = unmapped_step_types(self.step_types)
        if unmapped:
            Annotations.of(self).add_warning_v2(
                "mlpipes:sagemaker-pipeline-unmapped-step-types",
                f"the definition uses step types {', '.join(unmapped)}, whose permissions are "
                "not derived: add them with add_to_role_policy()",
            )

    def _events_role(self) -> iam.Role:
        if self.events_role is None:
            self.events_role = ManagedPolicyRole(
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

    # --- Triggers and notifications --------------------------------------------------------

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
            self.node.add_validation(_BucketSendsEvents(bucket, prefix))
        return S3PipelineTrigger(
            self,
            "Trigger",
            bucket=bucket,
            prefix=prefix,
            pipeline_name=self.pipeline_name,
            pipeline_arn=self.pipeline_arn,
            parameter=parameter,
            encryption_key=self.encryption_key,
            failure_topic=self.failure_topic,
        )

    def _add_failure_notifications(
        self, topic: sns.ITopic | None, notification_key: kms.IKey | None
    ) -> None:
        if topic is None:
            key = notification_key or self.encryption_key
            topic = sns.Topic(
                self,
                "FailureTopic",
                display_name=f"Failed executions of {self.pipeline_name}",
                master_key=key,
                enforce_ssl=True,
            )
            allow_events_to_use_key(self, key, "mlpipes:sagemaker-pipeline-topic-key-policy")
        self.failure_topic = topic
        self.failure_rule = events.Rule(
            self,
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
            targets=[targets.SnsTopic(topic)],
        )


@jsii.implements(IValidation)
class _BucketSendsEvents:
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
            "another stack, so turn it on there (ArtifactStorage(event_bridge_enabled=True))"
        ]


def _default_name(spec: Pipeline | None, sdk_pipeline: Any) -> str | None:
    if spec is not None:
        return spec.name
    name = getattr(sdk_pipeline, "name", None) if sdk_pipeline is not None else None
    return name if isinstance(name, str) else None


def _sdk_definition(path: str, sdk_pipeline: Any) -> dict[str, Any]:
    text = sdk_pipeline.definition()
    try:
        loaded = json.loads(text)
    except (TypeError, json.JSONDecodeError) as error:
        raise PropsValidationError(
            path, [f"sdk_pipeline.definition() did not return JSON: {error}"]
        ) from None
    if not isinstance(loaded, dict):
        raise PropsValidationError(path, ["sdk_pipeline.definition() is not a JSON object"])
    return loaded


def _parameter_names(definition: Mapping[str, Any]) -> set[str]:
    parameters = definition.get("Parameters") or []
    return {
        parameter["Name"]
        for parameter in parameters
        if isinstance(parameter, Mapping) and isinstance(parameter.get("Name"), str)
    }


def _register_groups(definition: Mapping[str, Any], problems: Problems) -> list[str]:
    """The literal model package group names of the definition's RegisterModel steps."""
    groups: list[str] = []
    for step in iter_steps(definition.get("Steps")):
        if step.get("Type") != "RegisterModel":
            continue
        arguments = step.get("Arguments")
        group = arguments.get("ModelPackageGroupName") if isinstance(arguments, Mapping) else None
        if isinstance(group, str) and "model-package-group/" in group:
            group = group.split("model-package-group/", 1)[1]
        if not isinstance(group, str) or is_unresolved(group):
            problems.add(
                f"RegisterModel step '{step.get('Name')}' takes its model package group from "
                f"{json.dumps(group)}, which is only known at run time: pass the groups it may "
                "use as model_package_group_names"
            )
        elif group not in groups:
            groups.append(group)
    return groups


def _definition_asset(scope: Construct, body: str) -> s3_assets.Asset:
    directory = Path(tempfile.mkdtemp(prefix="mlpipes-definition-"))
    path = directory / "pipeline-definition.json"
    path.write_text(body, encoding="utf-8")
    return s3_assets.Asset(scope, "Definition", path=str(path))


def _endpoint_wildcard_reason(resource_type: str, pattern: str) -> str:
    if resource_type == "endpoint-config" and pattern != "*":
        return (
            "an endpoint configuration name ends with a value known at run time (for a compiled "
            "spec, the execution id: each execution creates its own configuration); the "
            "wildcard covers only what follows the name's fixed start"
        )
    # A name given as a pipeline parameter (or a deploy-time value) is unknown at synth.
    return (
        f"the definition names an {resource_type} with a pipeline parameter or a deploy-time "
        "value, so the policy cannot name it; the actions are limited to this account and "
        "region and to creating, updating and describing endpoints and their configurations"
    )


def _sid(*parts: str) -> str:
    return "".join(
        piece.capitalize() for part in parts for piece in part.replace("*", "Any").split("-")
    )
