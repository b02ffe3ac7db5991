"""An Amazon MWAA Serverless workflow on the foundation."""

from __future__ import annotations

import dataclasses
from typing import Any

from aws_cdk import CfnOutput
from constructs import Construct

from mlpipes_constructs.airflow import MwaaServerlessPipeline
from mlpipes_constructs.foundation import FoundationResources
from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.spec import ConditionStep, Pipeline, RegisterModelStep
from mlpipes_constructs.stacks.base import MlpipesStack
from mlpipes_constructs.stacks.reference_jobs import reference_jobs

_S3 = "airflow.providers.amazon.aws"


def health_check_workflow(bucket_name: str) -> dict[str, Any]:
    """A small dag-factory workflow: list the artifact bucket's data folder, then finish.

    It starts no SageMaker job: a smoke test of a workflow without a spec (e.g. for
    :class:`~mlpipes_constructs.airflow.MwaaServerlessWorkflow`).
    """
    return {
        "mlpipes_serverless_health_check": {
            "description": "Lists the artifact bucket's data folder (no SageMaker job)",
            "schedule": "0 6 * * 1",
            "start_date": "2025-01-01",
            "default_args": {"owner": "mlpipes", "retries": 1},
            "tasks": {
                "list_data": {
                    "operator": f"{_S3}.operators.s3.S3ListOperator",
                    "bucket": bucket_name,
                    "prefix": "data/",
                    "execution_timeout": {"__type__": "datetime.timedelta", "minutes": 10},
                },
                "done": {
                    "operator": "airflow.providers.standard.operators.empty.EmptyOperator",
                    "dependencies": ["list_data"],
                },
            },
        }
    }


def serverless_reference_pipeline(region: str = "us-east-1", **options: Any) -> Pipeline:
    """The reference pipeline as MWAA Serverless runs it: without its ``RegisterModel`` step.

    MWAA Serverless runs no custom Python, and its model registry operator cannot send the
    pipeline's CreateModelPackage request (see ``airflow.serverless_compiler``), so the
    workflow trains, evaluates, gates on the accuracy, creates the model and runs the batch
    transform, and registers nothing.

    Args:
        region: as :func:`~mlpipes_constructs.reference.reference_pipeline`.
        **options: passed to :func:`~mlpipes_constructs.reference.reference_pipeline`.
    """
    return without_registration(reference_pipeline(region, **options))


def without_registration(pipeline: Pipeline) -> Pipeline:
    """``pipeline`` without its register_model steps (and their names in condition branches)."""
    dropped = {step.name for step in pipeline.steps if isinstance(step, RegisterModelStep)}
    steps = [
        dataclasses.replace(step, if_steps=tuple(n for n in step.if_steps if n not in dropped))
        if isinstance(step, ConditionStep)
        else step
        for step in pipeline.steps
        if step.name not in dropped
    ]
    return dataclasses.replace(pipeline, steps=tuple(steps))


#: The model package group of this stack (its own, so it does not collide with the other
#: orchestrators' stacks). The workflow registers no model (see
#: :func:`serverless_reference_pipeline`); the group is where a reviewer registers one.
MODEL_PACKAGE_GROUP = "mlpipes-review-classifier-serverless"
INPUT_DATA_PREFIX = "data/reviews/"


class MwaaServerlessStack(MlpipesStack):
    """The reference review-classifier pipeline as an MWAA Serverless workflow
    (:class:`MwaaServerlessPipeline`), in the foundation's private subnets.

    The workflow's SageMaker jobs run in the foundation's private subnets as a job role created
    here on the foundation bucket and key, with a job security group of their own; the accuracy
    condition runs as a gate function. MWAA Serverless runs no custom Python, so the workflow
    is :func:`serverless_reference_pipeline` (no RegisterModel step).

    Args:
        foundation: the platform to build on.
        schedule: a five-field cron expression the workflow runs on. Default: no schedule.
        **kwargs: passed to :class:`aws_cdk.Stack`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        foundation: FoundationResources,
        schedule: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        bucket = foundation.artifact_bucket
        jobs = reference_jobs(
            self,
            foundation,
            runner="the Serverless workflow",
            model_package_group_name=MODEL_PACKAGE_GROUP,
            model_package_group_description="Review classifiers of the MWAA Serverless workflow",
        )
        self.job_security_group = jobs.security_group
        self.job_role = jobs.job_role
        self.model_package_group = jobs.model_package_group
        self.pipeline = MwaaServerlessPipeline(
            self,
            "ReviewClassifier",
            pipeline=serverless_reference_pipeline(
                self.region,
                input_data_uri=f"s3://{bucket.bucket_name}/{INPUT_DATA_PREFIX}",
                model_package_group_name=MODEL_PACKAGE_GROUP,
            ),
            job_role=self.job_role,
            artifact_bucket=bucket,
            foundation=foundation,
            encryption_key=foundation.encryption_key,
            placement=jobs.placement,
            schedule=schedule,
        )
        self.workflow = self.pipeline.workflow
        CfnOutput(self, "WorkflowArn", value=self.workflow.workflow_arn)
        CfnOutput(self, "WorkflowRoleArn", value=self.workflow.execution_role.role_arn)
