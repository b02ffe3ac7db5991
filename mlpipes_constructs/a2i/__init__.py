"""Amazon A2I human review: worker task templates, private work teams and flow definitions.

* :class:`HumanTaskUi`: a Liquid worker task template, checked at synth; the packaged
  :data:`MODEL_REVIEW_TEMPLATE` reviews a model's evaluation before it is registered.
* :class:`PrivateWorkteam`: reviewers in a Cognito user group, with the account's private
  workforce (or an :class:`ExistingWorkforce`).
* :class:`FlowDefinition`: who reviews with which template and where the answers go, as a
  custom resource (CloudFormation has no type for it); :class:`IFlowDefinition` for imports.
"""

from mlpipes_constructs.a2i._handler_function import HandlerPlacement
from mlpipes_constructs.a2i.flow_definition import FlowDefinition, IFlowDefinition, ReviewInput
from mlpipes_constructs.a2i.task_ui import (
    MAX_TEMPLATE_LENGTH,
    MODEL_REVIEW_TEMPLATE,
    HumanTaskUi,
    IHumanTaskUi,
)
from mlpipes_constructs.a2i.workteam import ExistingWorkforce, IWorkteam, PrivateWorkteam

__all__ = [
    "MAX_TEMPLATE_LENGTH",
    "MODEL_REVIEW_TEMPLATE",
    "ExistingWorkforce",
    "FlowDefinition",
    "HandlerPlacement",
    "HumanTaskUi",
    "IFlowDefinition",
    "IHumanTaskUi",
    "IWorkteam",
    "PrivateWorkteam",
    "ReviewInput",
]
