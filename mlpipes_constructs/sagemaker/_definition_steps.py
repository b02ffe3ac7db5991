"""What SageMaker Pipelines adds to the requests of :mod:`mlpipes_constructs.compile.requests`.

The request bodies themselves come from the compile core. This module holds what only a
pipeline definition has: property files, the fail step's arguments, and the two steps an
endpoint step becomes, as in the SDK: an ``EndpointConfig`` step (CreateEndpointConfig) and
an ``Endpoint`` step (CreateEndpoint, or UpdateEndpoint when the endpoint exists), with the
names they use.
"""

from __future__ import annotations

from mlpipes_constructs.compile import naming
from mlpipes_constructs.compile.renderer import JobContext
from mlpipes_constructs.compile.requests import endpoint_config
from mlpipes_constructs.sagemaker._definition_refs import (
    EXECUTION_ID,
    DefinitionContext,
    DefinitionRenderer,
    Expression,
    get,
    join,
    value_expression,
)
from mlpipes_constructs.spec import EndpointStep, FailStep, ProcessingStep

#: Ending of the name of the ``EndpointConfig`` step an endpoint step compiles to.
CONFIG_STEP_SUFFIX = "-Config"
#: Length of a pipeline execution id (the last part of the execution ARN, lowercase letters and
#: digits), which makes each execution's endpoint configuration name unique.
EXECUTION_ID_LENGTH = 12


def property_files(step: ProcessingStep) -> list[Expression]:
    """The ``PropertyFiles`` of a processing step (a key of the step, not of its arguments)."""
    return [
        {"PropertyFileName": file.name, "OutputName": file.output_name, "FilePath": file.path}
        for file in step.property_files
    ]


def config_step_name(step: EndpointStep) -> str:
    """Name of the ``EndpointConfig`` step of an endpoint step: ``<step>-Config``.

    A step name too long for the suffix keeps its start and gets a hash of the full name, so
    the result stays within SageMaker's 64 characters and differs for different steps.
    """
    limit = naming.MAX_STEP_NAME_LENGTH - len(CONFIG_STEP_SUFFIX)
    return f"{naming.shortened(step.name, limit)}{CONFIG_STEP_SUFFIX}"


def default_endpoint_name(step: EndpointStep, context: DefinitionContext) -> str:
    """The endpoint name of a step without ``endpoint_name``: ``<pipeline>-<step>``, lowercased.

    Lowercase because SageMaker lowercases endpoint names in ARNs, so the role can name it.
    """
    return naming.slug(context.pipeline.name, step.name, naming.MAX_NAME_LENGTH)


def endpoint_config_name(step: EndpointStep, context: DefinitionContext) -> Expression:
    """``<pipeline>-<step>-<execution id>``: a new endpoint configuration per execution.

    CreateEndpointConfig refuses an existing name, and an endpoint being updated still uses its
    old configuration, so each execution needs its own.
    """
    limit = naming.MAX_NAME_LENGTH - EXECUTION_ID_LENGTH - 1
    return join("-", [naming.slug(context.pipeline.name, step.name, limit), EXECUTION_ID])


def endpoint_config_arguments(
    step: EndpointStep, job: JobContext, render: DefinitionRenderer
) -> Expression:
    """CreateEndpointConfig request of an endpoint step, named for this execution."""
    return {
        "EndpointConfigName": endpoint_config_name(step, render.context),
        **endpoint_config(step, job, render),
    }


def endpoint_arguments(step: EndpointStep, context: DefinitionContext) -> Expression:
    """CreateEndpoint request of an endpoint step, deploying its ``EndpointConfig`` step's config.

    SageMaker Pipelines updates the endpoint instead when one of that name exists.
    """
    name = step.endpoint_name
    return {
        "EndpointName": (
            default_endpoint_name(step, context)
            if name is None
            else value_expression(name, context)
        ),
        "EndpointConfigName": get(f"Steps.{config_step_name(step)}.EndpointConfigName"),
    }


def fail_arguments(step: FailStep, context: DefinitionContext) -> Expression:
    """Arguments of a fail step."""
    return {"ErrorMessage": value_expression(step.error_message, context)}
