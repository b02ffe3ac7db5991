"""Step Functions fragment: run a SageMaker pipeline execution and wait until it finishes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems
from mlpipes_constructs.stepfunctions.pipeline_execution import SageMakerStartPipelineExecution

#: Statuses of ``DescribePipelineExecution`` that end the wait.
SUCCEEDED = "Succeeded"
FAILED_STATUSES: tuple[str, ...] = ("Failed", "Stopped")


class SageMakerRunPipelineExecution(sfn.StateMachineFragment):
    """Start a SageMaker pipeline execution and poll until it succeeds, fails or stops.

    Step Functions cannot wait for a pipeline execution by itself (``.sync`` is not available
    for ``StartPipelineExecution``), so the fragment is a small loop::

        Start -> Wait(poll_interval) -> Describe -> Choice
                   ^---- Executing / Stopping ----------'   Succeeded -> (next state)
                                                            Failed / Stopped -> Fail

    The last ``DescribePipelineExecution`` result is kept at ``result_path``; a failed or
    stopped execution fails the state machine with that description (status and
    ``FailureReason``) as the cause. The
    loop ends when the state machine's own timeout does, so set one.

    Args:
        pipeline_name: name of the SageMaker pipeline.
        pipeline_parameters: parameter values, constants or expressions. Default: none.
        poll_interval: time between two status checks, 10 s to 1 h. Default: 60 seconds.
        result_path: where the fragment keeps the execution's description.
            Default: ``$.pipelineExecution``.
        state_prefix: prefix of the fragment's state names, so several fragments can share a
            state machine. Default: the construct id.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline_name: str,
        pipeline_parameters: Mapping[str, Any] | None = None,
        poll_interval: Duration | None = None,
        result_path: str = "$.pipelineExecution",
        state_prefix: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems(self.node.path)
        interval = poll_interval or Duration.seconds(60)
        seconds = interval.to_seconds()
        problems.require(
            10 <= seconds <= 3600,
            f"poll_interval {seconds} seconds must be from 10 seconds to 1 hour",
        )
        problems.require(
            result_path.startswith("$.") and len(result_path) > 2,
            f"result_path '{result_path}' must be a path such as '$.pipelineExecution'",
        )
        problems.raise_if_any()
        prefix = state_prefix or construct_id
        self.start = SageMakerStartPipelineExecution(
            self,
            "Start",
            state_name=f"{prefix}-Start",
            pipeline_name=pipeline_name,
            pipeline_parameters=pipeline_parameters,
            result_path=result_path,
        )
        wait = sfn.Wait(
            self, "Wait", state_name=f"{prefix}-Wait", time=sfn.WaitTime.duration(interval)
        )
        self.describe = tasks.CallAwsService(
            self,
            "Describe",
            state_name=f"{prefix}-Describe",
            service="sagemaker",
            action="describePipelineExecution",
            parameters={
                "PipelineExecutionArn": sfn.JsonPath.string_at(
                    f"{result_path}.PipelineExecutionArn"
                )
            },
            iam_action="sagemaker:DescribePipelineExecution",
            iam_resources=[f"{self.start.pipeline_arn}/execution/*"],
            result_path=result_path,
        )
        self.describe.add_retry(
            errors=["SageMaker.SageMakerException", "SageMaker.ThrottlingException"],
            interval=Duration.seconds(5),
            backoff_rate=2,
            max_attempts=5,
        )
        failed = sfn.Fail(
            self,
            "Failed",
            state_name=f"{prefix}-Failed",
            error="SageMakerPipelineExecutionFailed",
            cause_path=f"States.JsonToString({result_path})",
        )
        self.done = sfn.Pass(self, "Done", state_name=f"{prefix}-Done")
        status = f"{result_path}.PipelineExecutionStatus"
        check = sfn.Choice(self, "Check", state_name=f"{prefix}-Check")
        check.when(sfn.Condition.string_equals(status, SUCCEEDED), self.done)
        check.when(
            sfn.Condition.or_(*(sfn.Condition.string_equals(status, s) for s in FAILED_STATUSES)),
            failed,
        )
        check.otherwise(wait)
        self.start.next(wait).next(self.describe).next(check)
        self.policy_statements: list[iam.PolicyStatement] = [
            *self.start.policy_statements,
            iam.PolicyStatement(
                actions=["sagemaker:DescribePipelineExecution"],
                resources=[f"{self.start.pipeline_arn}/execution/*"],
            ),
        ]

    @property
    def start_state(self) -> sfn.State:
        return self.start

    @property
    def end_states(self) -> list[sfn.INextable]:
        return [self.done]
