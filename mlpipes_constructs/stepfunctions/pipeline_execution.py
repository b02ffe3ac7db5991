"""Step Functions task: start a SageMaker pipeline execution."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Unpack

from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.stepfunctions._task_base import (
    CALL_PATTERNS,
    SageMakerTaskBase,
    TaskStateOptions,
    integration_pattern_problem,
    is_expression,
    sagemaker_arn,
)

_PIPELINE_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}")


class SageMakerStartPipelineExecution(SageMakerTaskBase):
    """Start an execution of a SageMaker pipeline (request-response).

    Step Functions has no optimized SageMaker Pipelines integration and the AWS SDK
    integration (``aws-sdk:sagemaker:startPipelineExecution``) it uses has no ``.sync``
    pattern, so this task returns ``{"PipelineExecutionArn": ...}`` as soon as the execution
    starts. To wait for it, use :class:`SageMakerRunPipelineExecution`, which polls
    ``DescribePipelineExecution``. The state machine role gets
    ``sagemaker:StartPipelineExecution`` on this pipeline only.

    Args:
        pipeline_name: name of the SageMaker pipeline (a constant, so IAM can be scoped).
        pipeline_parameters: parameter name -> value; values may be JSONPath or intrinsic
            expressions (``$.x``, ``States.Format(...)``). Default: the pipeline's defaults.
        display_name: execution display name, constant or expression. Default: none.
        integration_pattern: only ``REQUEST_RESPONSE``. Default: ``REQUEST_RESPONSE``.
        options: ``comment``, ``state_name``, ``input_path``, ``output_path``,
            ``result_path``, ``result_selector``, ``task_timeout``, as for any CDK task
            (:class:`TaskStateOptions`). Default: CDK's (the result replaces the input).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline_name: str,
        pipeline_parameters: Mapping[str, Any] | None = None,
        display_name: str | None = None,
        integration_pattern: sfn.IntegrationPattern = sfn.IntegrationPattern.REQUEST_RESPONSE,
        **options: Unpack[TaskStateOptions],
    ) -> None:
        problems = Problems(f"{scope.node.path}/{construct_id}")
        message = integration_pattern_problem(
            type(self).__name__, integration_pattern, CALL_PATTERNS
        )
        if message:
            problems.add(
                f"{message}: Step Functions cannot wait for a pipeline execution (.sync); use "
                "SageMakerRunPipelineExecution to start one and poll until it finishes"
            )
        if not is_unresolved(pipeline_name):
            problems.require(
                _PIPELINE_NAME.fullmatch(pipeline_name) is not None,
                f"pipeline_name '{pipeline_name}' must be 1-256 letters, digits and hyphens, "
                "starting and ending with a letter or digit",
            )
        problems.raise_if_any()
        super().__init__(scope, construct_id, integration_pattern=integration_pattern, **options)
        self.pipeline_name = pipeline_name
        self.pipeline_arn = sagemaker_arn(self, "pipeline", pipeline_name)
        parameters: dict[str, Any] = {"PipelineName": pipeline_name}
        if pipeline_parameters:
            parameters["PipelineParameters"] = [
                {"Name": name, "Value.$" if is_expression(value) else "Value": _text(value)}
                for name, value in pipeline_parameters.items()
            ]
        if display_name is not None:
            key = "PipelineExecutionDisplayName"
            parameters[f"{key}.$" if is_expression(display_name) else key] = display_name
        self._configure(
            self.sdk_resource("sagemaker", "startPipelineExecution"),
            parameters,
            [
                iam.PolicyStatement(
                    actions=["sagemaker:StartPipelineExecution"], resources=[self.pipeline_arn]
                )
            ],
        )


def _text(value: Any) -> Any:
    """Pipeline parameter values are strings in the API; JSON booleans become true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value
