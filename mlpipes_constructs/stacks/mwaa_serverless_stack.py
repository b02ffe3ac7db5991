"""An Amazon MWAA Serverless workflow on the foundation."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from aws_cdk import CfnOutput
from aws_cdk import aws_iam as iam
from constructs import Construct

from mlpipes_constructs.airflow import MwaaServerlessWorkflow
from mlpipes_constructs.foundation import FoundationResources
from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.spec import ConditionStep, Pipeline, RegisterModelStep
from mlpipes_constructs.stacks.base import MlpipesStack

_S3 = "airflow.providers.amazon.aws"


def health_check_workflow(bucket_name: str) -> dict[str, Any]:
    """A small dag-factory workflow: list the artifact bucket's data folder, then finish.

    It starts no SageMaker job; a workflow compiled from a pipeline spec replaces it.
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
    pipeline = reference_pipeline(region, **options)
    dropped = {step.name for step in pipeline.steps if isinstance(step, RegisterModelStep)}
    steps = [
        dataclasses.replace(step, if_steps=tuple(n for n in step.if_steps if n not in dropped))
        if isinstance(step, ConditionStep)
        else step
        for step in pipeline.steps
        if step.name not in dropped
    ]
    return dataclasses.replace(pipeline, steps=tuple(steps))


class MwaaServerlessStack(MlpipesStack):
    """An :class:`MwaaServerlessWorkflow` in the foundation's private subnets.

    Its definition is uploaded to the foundation's artifact bucket under ``workflows/``, and
    the workflow may list the bucket's ``data/`` folder.

    Args:
        foundation: the platform to build on.
        definition: the dag-factory workflow. Default: :func:`health_check_workflow`.
        **kwargs: passed to :class:`aws_cdk.Stack`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        foundation: FoundationResources,
        definition: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        bucket = foundation.artifact_bucket
        self.workflow = MwaaServerlessWorkflow(
            self,
            "Workflow",
            foundation=foundation,
            definition=definition or health_check_workflow(bucket.bucket_name),
        )
        self.workflow.add_to_execution_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": ["data/*"]}},
            )
        )
        CfnOutput(self, "WorkflowArn", value=self.workflow.workflow_arn)
