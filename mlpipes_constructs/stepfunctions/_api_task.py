"""One SageMaker API call as a task state, with IAM scoped to the names it creates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Unpack

from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems
from mlpipes_constructs.stepfunctions._task_base import (
    CALL_PATTERNS,
    JOB_PATTERNS,
    SageMakerTaskBase,
    TaskStateOptions,
    check_request,
    integration_pattern_problem,
    is_expression,
    job_name_prefix_problems,
    pass_role_statement,
    sagemaker_arn,
    sync_rule_statement,
)
from mlpipes_constructs.stepfunctions.naming import MAX_NAME_LENGTH, MAX_TUNING_JOB_NAME_LENGTH


@dataclass(frozen=True)
class SageMakerApi:
    """How a SageMaker API is called from Step Functions and what IAM it needs.

    Attributes:
        api: the API in camel case, e.g. ``createTrainingJob``.
        resource_type: the ARN resource type of what it creates, e.g. ``training-job``.
        name_key: the request key of the name, e.g. ``TrainingJobName``.
        actions: IAM actions of a request-response call.
        max_name_length: SageMaker's limit on that name. Default: 63, SageMaker's usual limit.
        sync_actions: further IAM actions ``.sync`` needs to follow the job.
        sync_rule: the EventBridge rule ``.sync`` manages. Default: no ``.sync``.
        role_key: the request key of the role passed to SageMaker. Default: no role.
        required: request keys the caller must set.
        sdk: call through the AWS SDK integration instead of the optimized one.
    """

    api: str
    resource_type: str
    name_key: str
    actions: tuple[str, ...]
    max_name_length: int = MAX_NAME_LENGTH
    sync_actions: tuple[str, ...] = ()
    sync_rule: str | None = None
    role_key: str | None = None
    required: tuple[str, ...] = ()
    sdk: bool = False

    @property
    def patterns(self) -> tuple[sfn.IntegrationPattern, ...]:
        return JOB_PATTERNS if self.sync_rule else CALL_PATTERNS


class SageMakerApiTask(SageMakerTaskBase):
    """Call one SageMaker API that creates a named resource.

    The state machine role may call it only on names starting with ``name_prefix`` (SageMaker
    lowers names in ARNs), pass only ``role`` and only to SageMaker.

    Args:
        api: which API, and the IAM it needs.
        name: the resource name, a constant or a JSONPath / intrinsic expression.
        name_prefix: the fixed start of every name the task creates.
        request: the rest of the API request; keys ending in ``.$`` take expressions.
        role: the role passed to SageMaker, when the API takes one. Default: none.
        integration_pattern: ``RUN_JOB`` (``.sync``, jobs only) or ``REQUEST_RESPONSE``.
            Default: ``RUN_JOB`` for jobs, else ``REQUEST_RESPONSE``.
        extra_statements: further statements the call needs (e.g. on a model it reads).
            Default: none.
        name_prefix_prop: how error messages call ``name_prefix``. Default: ``name_prefix``.
        exact_name: scope the IAM to the constant ``name`` itself instead of every name
            starting with ``name_prefix`` (for a resource of a fixed name, e.g. an endpoint).
            Default: False.
        options: ``comment``, ``result_path``, ... as for any CDK task (see
            :class:`TaskStateOptions`).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: SageMakerApi,
        name: str,
        name_prefix: str,
        request: Mapping[str, Any],
        role: iam.IRole | None = None,
        integration_pattern: sfn.IntegrationPattern | None = None,
        extra_statements: Sequence[iam.PolicyStatement] = (),
        name_prefix_prop: str = "name_prefix",
        exact_name: bool = False,
        **options: Unpack[TaskStateOptions],
    ) -> None:
        pattern = integration_pattern or api.patterns[0]
        problems = Problems(f"{scope.node.path}/{construct_id}")
        message = integration_pattern_problem(type(self).__name__, pattern, api.patterns)
        if message:
            problems.add(message)
        job_name_prefix_problems(problems, name_prefix_prop, name_prefix, api.max_name_length)
        reserved = (api.name_key, *((api.role_key,) if api.role_key else ()))
        check_request(problems, request, required=api.required, reserved=reserved)
        if exact_name and is_expression(name):
            problems.add(f"exact_name needs a constant name, not the expression '{name}'")
        if api.role_key and role is None:
            problems.add(f"role is required: {api.api} passes a role to SageMaker")
        problems.raise_if_any()
        super().__init__(scope, construct_id, integration_pattern=pattern, **options)
        self.api = api
        self.name_prefix = name_prefix
        self.role = role
        self._scoped_name = name if exact_name else f"{name_prefix}*"
        parameters: dict[str, Any] = {
            f"{api.name_key}.$" if is_expression(name) else api.name_key: name,
            **request,
        }
        if api.role_key and role is not None:
            parameters[api.role_key] = role.role_arn
        resource = (
            self.sdk_resource("sagemaker", api.api)
            if api.sdk
            else self.optimized_resource(api.api, pattern)
        )
        self._configure(resource, parameters, self._statements(pattern, extra_statements))

    def _statements(
        self, pattern: sfn.IntegrationPattern, extra: Sequence[iam.PolicyStatement]
    ) -> list[iam.PolicyStatement]:
        sync = pattern == sfn.IntegrationPattern.RUN_JOB
        actions = [*self.api.actions, *(self.api.sync_actions if sync else ())]
        statements = [
            iam.PolicyStatement(
                actions=actions,
                resources=[sagemaker_arn(self, self.api.resource_type, self._scoped_name)],
            )
        ]
        if self.role is not None:
            statements.append(pass_role_statement(self.role))
        if sync and self.api.sync_rule:
            statements.append(sync_rule_statement(self, self.api.sync_rule))
        return [*statements, *extra]


#: CreateTrainingJob (``.sync`` supported).
TRAINING_JOB = SageMakerApi(
    api="createTrainingJob",
    resource_type="training-job",
    name_key="TrainingJobName",
    actions=("sagemaker:CreateTrainingJob", "sagemaker:ListTags"),
    sync_actions=("sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"),
    sync_rule="StepFunctionsGetEventsForSageMakerTrainingJobsRule",
    role_key="RoleArn",
    required=("AlgorithmSpecification", "OutputDataConfig", "ResourceConfig", "StoppingCondition"),
)
#: CreateProcessingJob (``.sync`` supported).
PROCESSING_JOB = SageMakerApi(
    api="createProcessingJob",
    resource_type="processing-job",
    name_key="ProcessingJobName",
    actions=("sagemaker:CreateProcessingJob", "sagemaker:ListTags"),
    sync_actions=("sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob"),
    sync_rule="StepFunctionsGetEventsForSageMakerProcessingJobsRule",
    role_key="RoleArn",
    required=("AppSpecification", "ProcessingResources"),
)
#: CreateHyperParameterTuningJob (``.sync`` supported); names are at most 32 characters.
TUNING_JOB = SageMakerApi(
    api="createHyperParameterTuningJob",
    resource_type="hyper-parameter-tuning-job",
    name_key="HyperParameterTuningJobName",
    max_name_length=MAX_TUNING_JOB_NAME_LENGTH,
    actions=("sagemaker:CreateHyperParameterTuningJob", "sagemaker:ListTags"),
    sync_actions=(
        "sagemaker:DescribeHyperParameterTuningJob",
        "sagemaker:StopHyperParameterTuningJob",
        "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
    ),
    sync_rule="StepFunctionsGetEventsForSageMakerTuningJobsRule",
    required=("HyperParameterTuningJobConfig", "TrainingJobDefinition"),
)
#: CreateTransformJob (``.sync`` supported); the model's role is used, none is passed.
TRANSFORM_JOB = SageMakerApi(
    api="createTransformJob",
    resource_type="transform-job",
    name_key="TransformJobName",
    actions=("sagemaker:CreateTransformJob", "sagemaker:ListTags"),
    sync_actions=("sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob"),
    sync_rule="StepFunctionsGetEventsForSageMakerTransformJobsRule",
    required=("ModelName", "TransformInput", "TransformOutput", "TransformResources"),
)
#: CreateModel.
MODEL = SageMakerApi(
    api="createModel",
    resource_type="model",
    name_key="ModelName",
    actions=("sagemaker:CreateModel",),
    role_key="ExecutionRoleArn",
)
#: CreateEndpointConfig.
ENDPOINT_CONFIG = SageMakerApi(
    api="createEndpointConfig",
    resource_type="endpoint-config",
    name_key="EndpointConfigName",
    actions=("sagemaker:CreateEndpointConfig",),
    required=("ProductionVariants",),
)
#: CreateEndpoint.
ENDPOINT = SageMakerApi(
    api="createEndpoint",
    resource_type="endpoint",
    name_key="EndpointName",
    actions=("sagemaker:CreateEndpoint",),
    required=("EndpointConfigName",),
)
#: UpdateEndpoint.
UPDATE_ENDPOINT = SageMakerApi(
    api="updateEndpoint",
    resource_type="endpoint",
    name_key="EndpointName",
    actions=("sagemaker:UpdateEndpoint",),
    required=("EndpointConfigName",),
)
#: DescribeEndpoint, through the AWS SDK integration.
DESCRIBE_ENDPOINT = SageMakerApi(
    api="describeEndpoint",
    resource_type="endpoint",
    name_key="EndpointName",
    actions=("sagemaker:DescribeEndpoint",),
    sdk=True,
)
