"""Amazon A2I human review of models before registration, on the foundation."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput
from constructs import Construct

from mlpipes_constructs.a2i import (
    FlowDefinition,
    HandlerPlacement,
    HumanTaskUi,
    PrivateWorkteam,
    ReviewInput,
)
from mlpipes_constructs.foundation import FoundationResources
from mlpipes_constructs.stacks.base import MlpipesStack

#: Where A2I writes the reviewers' answers in the artifact bucket.
OUTPUT_PREFIX = "a2i/"
#: Where the pipelines write evaluation reports that the task UI links to.
PIPELINE_PREFIX = "pipelines/"


class A2iStack(MlpipesStack):
    """A model review task UI, a private work team and the flow definition that joins them.

    The reviewers' answers go to the foundation's artifact bucket under ``a2i/``, encrypted
    with the platform key; the custom resource handlers run in the foundation's private
    subnets. The stack creates the account's private workforce (one per account and Region):
    deploy it once per Region, or pass ``existing_workforce`` through your own stack.

    Args:
        foundation: the platform to build on.
        workteam_name: the work team's name. Default: ``"mlpipes-model-reviewers"``.
        **kwargs: passed to :class:`aws_cdk.Stack`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        foundation: FoundationResources,
        workteam_name: str = "mlpipes-model-reviewers",
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        bucket = foundation.artifact_bucket
        key = foundation.encryption_key
        placement = HandlerPlacement(vpc=foundation.vpc, vpc_subnets=foundation.private_subnets)
        self.task_ui = HumanTaskUi(self, "ModelReviewUi", name_prefix="mlpipes-model-review")
        self.workteam = PrivateWorkteam(
            self,
            "Workteam",
            workteam_name=workteam_name,
            encryption_key=key,
            handler_placement=placement,
        )
        self.flow_definition = FlowDefinition(
            self,
            "ModelReview",
            human_task_ui=self.task_ui,
            workteam=self.workteam,
            task_title="Review a model before it is registered",
            task_description=(
                "Check the model's evaluation metrics and sample predictions, then approve "
                "or reject its registration with a comment."
            ),
            task_keywords=["model review", "approval"],
            output_bucket=bucket,
            output_prefix=OUTPUT_PREFIX,
            encryption_key=key,
            review_inputs=[ReviewInput(bucket=bucket, prefix=PIPELINE_PREFIX)],
            name_prefix="mlpipes-model-review",
            handler_placement=placement,
        )
        CfnOutput(self, "FlowDefinitionArn", value=self.flow_definition.flow_definition_arn)
        CfnOutput(self, "WorkteamArn", value=self.workteam.workteam_arn)
        CfnOutput(self, "HumanTaskUiArn", value=self.task_ui.human_task_ui_arn)
        CfnOutput(self, "UserPoolId", value=self.workteam.user_pool.user_pool_id)
        CfnOutput(self, "OutputS3Uri", value=self.flow_definition.output_s3_uri)
