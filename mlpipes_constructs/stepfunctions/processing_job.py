"""Step Functions task: run a SageMaker processing job."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Unpack

from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from mlpipes_constructs.stepfunctions._api_task import PROCESSING_JOB, SageMakerApiTask
from mlpipes_constructs.stepfunctions._task_base import TaskStateOptions


class SageMakerCreateProcessingJob(SageMakerApiTask):
    """Create a SageMaker processing job and, by default, wait for it to finish (``.sync``).

    ``request`` is the ``CreateProcessingJob`` request without ``ProcessingJobName`` and
    ``RoleArn``, which the task sets; keys ending in ``.$`` take JSONPath or intrinsic
    functions, as in any ``Parameters`` field. The state machine role gets
    ``sagemaker:CreateProcessingJob`` and ``sagemaker:ListTags`` (plus, with ``.sync``,
    ``DescribeProcessingJob``, ``StopProcessingJob`` and the managed EventBridge rule
    ``StepFunctionsGetEventsForSageMakerProcessingJobsRule``) on jobs whose names start with
    ``job_name_prefix``, and ``iam:PassRole`` on ``role`` to SageMaker only.

    Args:
        processing_job_name: the job name, a constant or a JSONPath / ``States.Format``
            expression that makes it unique per execution; it must start with
            ``job_name_prefix`` and be at most 63 characters when evaluated.
        job_name_prefix: the fixed start of every job name this task creates.
        role: the role the job runs as.
        request: the rest of the request (``AppSpecification`` and ``ProcessingResources``
            required; ``ProcessingInputs``, ``ProcessingOutputConfig``, ... optional).
        integration_pattern: ``RUN_JOB`` waits for the job; ``REQUEST_RESPONSE`` returns once
            it is created. Default: ``RUN_JOB``.
        options: ``comment``, ``state_name``, ``input_path``, ``output_path``,
            ``result_path``, ``result_selector``, ``task_timeout``, as for any CDK task
            (:class:`TaskStateOptions`). Default: CDK's (the result replaces the input).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        processing_job_name: str,
        job_name_prefix: str,
        role: iam.IRole,
        request: Mapping[str, Any],
        integration_pattern: sfn.IntegrationPattern = sfn.IntegrationPattern.RUN_JOB,
        **options: Unpack[TaskStateOptions],
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            api=PROCESSING_JOB,
            name=processing_job_name,
            name_prefix=job_name_prefix,
            request=request,
            role=role,
            integration_pattern=integration_pattern,
            name_prefix_prop="job_name_prefix",
            **options,
        )
