"""Step Functions task: run a SageMaker hyperparameter tuning job."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Unpack

from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems
from mlpipes_constructs.stepfunctions._api_task import TUNING_JOB, SageMakerApiTask
from mlpipes_constructs.stepfunctions._task_base import TaskStateOptions, pass_role_statement


class SageMakerCreateHyperParameterTuningJob(SageMakerApiTask):
    """Create a SageMaker hyperparameter tuning job and, by default, wait for it (``.sync``).

    ``request`` is the ``CreateHyperParameterTuningJob`` request without
    ``HyperParameterTuningJobName``; the task sets ``TrainingJobDefinition.RoleArn`` to
    ``role``. With ``.sync`` the result is ``DescribeHyperParameterTuningJob``'s, including
    ``BestTrainingJob``. The state machine role gets ``sagemaker:CreateHyperParameterTuningJob``
    and ``sagemaker:ListTags`` (plus, with ``.sync``, ``Describe``/``Stop``
    ``HyperParameterTuningJob``, ``ListTrainingJobsForHyperParameterTuningJob`` and the managed
    EventBridge rule ``StepFunctionsGetEventsForSageMakerTuningJobsRule``) on tuning jobs whose
    names start with ``job_name_prefix``, and ``iam:PassRole`` on ``role`` to SageMaker only.

    Args:
        tuning_job_name: the tuning job name (at most 32 characters when evaluated), a constant
            or a JSONPath / ``States.Format`` expression starting with ``job_name_prefix``.
        job_name_prefix: the fixed start of every tuning job name this task creates.
        role: the role the training jobs run as.
        request: the rest of the request: ``HyperParameterTuningJobConfig`` and
            ``TrainingJobDefinition`` (without ``RoleArn``).
        integration_pattern: ``RUN_JOB`` or ``REQUEST_RESPONSE``. Default: ``RUN_JOB``.
        options: ``comment``, ``state_name``, ``input_path``, ``output_path``,
            ``result_path``, ``result_selector``, ``task_timeout``, as for any CDK task
            (:class:`TaskStateOptions`). Default: CDK's (the result replaces the input).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tuning_job_name: str,
        job_name_prefix: str,
        role: iam.IRole,
        request: Mapping[str, Any],
        integration_pattern: sfn.IntegrationPattern = sfn.IntegrationPattern.RUN_JOB,
        **options: Unpack[TaskStateOptions],
    ) -> None:
        definition = request.get("TrainingJobDefinition")
        if isinstance(definition, Mapping) and "RoleArn" in definition:
            problems = Problems(f"{scope.node.path}/{construct_id}")
            problems.add("request must not set 'TrainingJobDefinition.RoleArn': pass 'role'")
            problems.raise_if_any()
        full_request = dict(request)
        if isinstance(definition, Mapping):
            full_request["TrainingJobDefinition"] = {**definition, "RoleArn": role.role_arn}
        super().__init__(
            scope,
            construct_id,
            api=TUNING_JOB,
            name=tuning_job_name,
            name_prefix=job_name_prefix,
            request=full_request,
            integration_pattern=integration_pattern,
            extra_statements=[pass_role_statement(role)],
            name_prefix_prop="job_name_prefix",
            **options,
        )
        self.role = role
