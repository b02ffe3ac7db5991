"""A worker task template for Amazon A2I human reviews (``AWS::SageMaker::HumanTaskUi``)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Protocol, runtime_checkable

from aws_cdk import Arn, ArnFormat, Stack
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.a2i._names import check_name_prefix, default_prefix, hashed_name

__all__ = ["MAX_TEMPLATE_LENGTH", "MODEL_REVIEW_TEMPLATE", "HumanTaskUi", "IHumanTaskUi"]

#: The packaged template for reviewing a model's evaluation metrics, report and sample
#: predictions before it is registered; the reviewer approves or rejects, with a comment.
MODEL_REVIEW_TEMPLATE = Path(__file__).resolve().parent / "templates" / "model_review.liquid.html"
#: The most characters SageMaker takes in a worker task template (``TemplateContent``).
MAX_TEMPLATE_LENGTH = 128_000
#: The script that defines the Crowd HTML Elements, which every A2I template loads.
CROWD_ELEMENTS_SCRIPT = "https://assets.crowd.aws/crowd-html-elements.js"
_CROWD_FORM_OPEN = re.compile(r"<crowd-form[\s>]")


@runtime_checkable
class IHumanTaskUi(Protocol):
    """A worker task template a flow definition shows reviewers."""

    @property
    def human_task_ui_arn(self) -> str: ...

    @property
    def human_task_ui_name(self) -> str: ...


class _ImportedHumanTaskUi(Construct):
    def __init__(self, scope: Construct, construct_id: str, arn: str) -> None:
        super().__init__(scope, construct_id)
        self._arn = arn
        self._name = Arn.split(arn, ArnFormat.SLASH_RESOURCE_NAME).resource_name or ""

    @property
    def human_task_ui_arn(self) -> str:
        return self._arn

    @property
    def human_task_ui_name(self) -> str:
        return self._name


class HumanTaskUi(Construct):
    """A Liquid worker task template, checked at synth.

    SageMaker cannot change a task UI in place, so its name is ``<name_prefix>-<hash of the
    template>``: a changed template creates a new task UI (and a flow definition that uses
    it), and CloudFormation deletes the old one.

    Args:
        template: the template's text. Give this or ``template_file``.
        template_file: a file with the template (UTF-8). Default: the packaged model review
            template, :data:`MODEL_REVIEW_TEMPLATE`, when ``template`` is not given either.
        name_prefix: the start of the task UI's name, at most 52 lowercase letters, digits
            and hyphens. Default: the construct id, lowercased.

    Attributes:
        resource: the ``AWS::SageMaker::HumanTaskUi``.
        template: the template's text.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        template: str | None = None,
        template_file: str | os.PathLike[str] | None = None,
        name_prefix: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems(self.node.path)
        if template is not None and template_file is not None:
            problems.conflict("template", "template_file", "the task UI has one template")
        content = template
        if content is None:
            path = Path(template_file) if template_file is not None else MODEL_REVIEW_TEMPLATE
            try:
                content = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                problems.add(f"template_file '{path}' cannot be read as UTF-8 text: {error}")
                content = ""
            prop = "template_file" if template_file is not None else "template"
        else:
            prop = "template"
        if not problems.has("template_file"):
            problems_of_template(problems, prop, content)
        prefix = name_prefix if name_prefix is not None else default_prefix(construct_id)
        check_name_prefix(problems, "name_prefix", prefix)
        problems.raise_if_any()
        self.template = content
        self.resource = sagemaker.CfnHumanTaskUi(
            self,
            "Resource",
            human_task_ui_name=hashed_name(prefix, content),
            ui_template=sagemaker.CfnHumanTaskUi.UiTemplateProperty(content=content),
        )

    @property
    def human_task_ui_arn(self) -> str:
        """The task UI's ARN."""
        return self.resource.attr_human_task_ui_arn

    @property
    def human_task_ui_name(self) -> str:
        """The task UI's name (``<name_prefix>-<hash of the template>``)."""
        return str(self.resource.human_task_ui_name)

    @classmethod
    def from_human_task_ui_arn(cls, scope: Construct, construct_id: str, arn: str) -> IHumanTaskUi:
        """An existing task UI, by ARN."""
        return _ImportedHumanTaskUi(scope, construct_id, arn)

    @staticmethod
    def arn_for(scope: Construct, name: str) -> str:
        """The ARN of the task UI ``name`` in ``scope``'s account and Region."""
        return Stack.of(scope).format_arn(
            service="sagemaker", resource="human-task-ui", resource_name=name
        )


def problems_of_template(problems: Problems, prop: str, content: str) -> None:
    """Record why ``content`` is not a template A2I can render (tokens are not checked)."""
    if is_unresolved(content):
        return
    if not content.strip():
        problems.add(f"{prop} is empty; A2I needs a template with a <crowd-form> element")
        return
    if len(content) > MAX_TEMPLATE_LENGTH:
        problems.add(
            f"{prop} has {len(content):,} characters; SageMaker takes at most "
            f"{MAX_TEMPLATE_LENGTH:,}"
        )
    if not _CROWD_FORM_OPEN.search(content) or "</crowd-form>" not in content:
        problems.add(
            f"{prop} has no <crowd-form>...</crowd-form> element; A2I submits the reviewer's "
            "answer through it"
        )
    if CROWD_ELEMENTS_SCRIPT not in content:
        problems.add(
            f"{prop} does not load {CROWD_ELEMENTS_SCRIPT}, which defines <crowd-form> and the "
            "other Crowd HTML Elements"
        )
    for opening, closing in (("{{", "}}"), ("{%", "%}")):
        if content.count(opening) != content.count(closing):
            problems.add(
                f"{prop} has {content.count(opening)} '{opening}' but "
                f"{content.count(closing)} '{closing}': a Liquid tag is not closed"
            )
