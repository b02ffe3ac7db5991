"""The states of an endpoint step: create a configuration, create or update the endpoint, and
wait until it is in service."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn

from mlpipes_constructs.compile import requests as sagemaker_requests
from mlpipes_constructs.spec import EndpointStep
from mlpipes_constructs.stepfunctions import naming
from mlpipes_constructs.stepfunctions._api_task import (
    DESCRIBE_ENDPOINT,
    ENDPOINT,
    ENDPOINT_CONFIG,
    UPDATE_ENDPOINT,
    SageMakerApiTask,
)
from mlpipes_constructs.stepfunctions._asl import state_name
from mlpipes_constructs.stepfunctions._renderer import asl_parameters
from mlpipes_constructs.stepfunctions._task_base import sagemaker_arn

if TYPE_CHECKING:
    from mlpipes_constructs.stepfunctions._builder import Builder

_DISCARD = sfn.JsonPath.DISCARD
#: Errors DescribeEndpoint raises through the SDK integration when there is no endpoint of that
#: name (SageMaker answers with a ValidationException, which the integration names generically).
ENDPOINT_MISSING_ERRORS: tuple[str, ...] = (
    "SageMaker.SageMakerException",
    "SageMaker.AmazonSageMakerException",
)
#: How long the state machine waits between checks of a deploying endpoint.
ENDPOINT_POLL_INTERVAL = Duration.seconds(30)


def endpoint_states(builder: Builder, step: EndpointStep) -> tuple[sfn.State, list[sfn.INextable]]:
    """Create an endpoint config, create or update the endpoint, wait until it is in service.

    DescribeEndpoint tells whether the endpoint exists: only its "not found" error leads to
    CreateEndpoint, any other error fails the step. The state machine may act on that one
    endpoint name only.
    """
    endpoint_name = (
        step.endpoint_name
        if isinstance(step.endpoint_name, str)
        else naming.slug(
            builder.name_prefix, step.name, naming.MAX_NAME_LENGTH + naming.RUN_TOKEN_LENGTH + 1
        )
    )
    config_name, config_prefix = builder.name(step.name)
    request = sagemaker_requests.endpoint_config(step, builder.job, builder.render)
    key_statements: list[iam.PolicyStatement] = []
    # Instance types with local storage only get no KmsKeyId (the hardware encrypts it).
    if builder.kms_key is not None and "KmsKeyId" in request:
        key_statements.append(
            iam.PolicyStatement(
                actions=["kms:CreateGrant"],
                resources=[builder.kms_key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )
    config = SageMakerApiTask(
        builder.scope,
        state_name(step.name, "Config"),
        comment=step.description,
        api=ENDPOINT_CONFIG,
        name=config_name,
        name_prefix=config_prefix,
        request=asl_parameters(request),
        extra_statements=key_statements,
        result_path=_DISCARD,
    )
    config_arn = sagemaker_arn(builder.scope, "endpoint-config", f"{config_prefix}*")
    uses_config = iam.PolicyStatement(
        actions=["sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint"],
        resources=[config_arn],
    )
    describe = _describe_endpoint(builder, state_name(step.name, "Describe"), endpoint_name)
    deploy: dict[str, sfn.TaskStateBase] = {}
    for label, api in (("Create", ENDPOINT), ("Update", UPDATE_ENDPOINT)):
        deploy[label] = SageMakerApiTask(
            builder.scope,
            state_name(step.name, label),
            api=api,
            name=endpoint_name,
            name_prefix=endpoint_name,
            exact_name=True,
            request={"EndpointConfigName.$": config_name},
            extra_statements=[uses_config],
            result_path=_DISCARD,
        )
    # The SDK integration raises SageMaker's ValidationException for a missing endpoint
    # under a generic name; only its message says "not found".
    missing = sfn.Choice(builder.scope, state_name(step.name, "Exists"))
    missing.when(
        sfn.Condition.string_matches("$.error.Cause", "*Could not find endpoint*"),
        deploy["Create"],
    )
    missing.otherwise(builder.handler(step.name))
    describe.add_catch(missing, errors=list(ENDPOINT_MISSING_ERRORS), result_path="$.error")
    wait = sfn.Wait(
        builder.scope,
        state_name(step.name, "Wait"),
        comment="Give the endpoint time to come into service",
        time=sfn.WaitTime.duration(ENDPOINT_POLL_INTERVAL),
    )
    status = _describe_endpoint(
        builder, state_name(step.name, "Status"), endpoint_name, f"$.steps.{step.name}"
    )
    failed = sfn.Pass(
        builder.scope,
        state_name(step.name, "EndpointFailed"),
        comment="The endpoint did not come into service: keep SageMaker's reason",
        parameters={
            "Cause.$": (
                f"States.Format('Step {step.name} failed: endpoint {{}} is Failed: {{}}', "
                f"$.steps.{step.name}.EndpointName, $.steps.{step.name}.FailureReason)"
            ),
        },
    )
    failed.next(builder.fail_target())
    done = sfn.Pass(builder.scope, state_name(step.name, "Deployed"))
    check = sfn.Choice(builder.scope, state_name(step.name, "InService"))
    check.when(
        sfn.Condition.string_equals(f"$.steps.{step.name}.EndpointStatus", "InService"), done
    )
    check.when(sfn.Condition.string_equals(f"$.steps.{step.name}.EndpointStatus", "Failed"), failed)
    check.otherwise(wait)
    builder.guard(config, step.name)
    builder.guard(describe, step.name, ["ThrottlingException"])
    builder.guard(deploy["Create"], step.name)
    builder.guard(deploy["Update"], step.name)
    builder.guard(status, step.name, ["ThrottlingException"])
    config.next(describe)
    describe.next(deploy["Update"])
    deploy["Create"].next(wait)
    deploy["Update"].next(wait)
    wait.next(status)
    status.next(check)
    return config, [done]


def _describe_endpoint(
    builder: Builder, state: str, endpoint_name: str, result_path: str = _DISCARD
) -> SageMakerApiTask:
    return SageMakerApiTask(
        builder.scope,
        state,
        api=DESCRIBE_ENDPOINT,
        name=endpoint_name,
        name_prefix=endpoint_name,
        exact_name=True,
        request={},
        result_path=result_path,
    )
