"""The base of the SageMaker task states CDK does not provide.

``sfn.TaskStateBase`` renders a task's ``Resource`` and ``Parameters`` through the abstract
``_renderTask`` method. jsii treats members whose TypeScript name starts with ``_`` as internal and
does not list them in the type information it gives Python, so a Python subclass's override is
not registered on its own and rendering fails with ``this._renderTask is not a function``.
:class:`_RenderTaskHook` declares that one member with its jsii name, which makes jsii register
the override; everything else (``Next``/``End``, retries, catches, timeouts, result paths, IAM
registration with the state machine) stays CDK's own code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, TypedDict, Unpack

import jsii
from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems, is_unresolved

_PATTERN_NAMES = {
    sfn.IntegrationPattern.RUN_JOB: "RUN_JOB (.sync)",
    sfn.IntegrationPattern.REQUEST_RESPONSE: "REQUEST_RESPONSE",
    sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN: "WAIT_FOR_TASK_TOKEN (.waitForTaskToken)",
}
#: Job tasks: wait for the job (``.sync``) or only start it.
JOB_PATTERNS: tuple[sfn.IntegrationPattern, ...] = (
    sfn.IntegrationPattern.RUN_JOB,
    sfn.IntegrationPattern.REQUEST_RESPONSE,
)
#: Calls that return at once.
CALL_PATTERNS: tuple[sfn.IntegrationPattern, ...] = (sfn.IntegrationPattern.REQUEST_RESPONSE,)


class TaskStateOptions(TypedDict, total=False):
    """The options every task state takes, as for CDK's own tasks.

    Keys: ``comment``, ``state_name``, ``input_path``, ``output_path``, ``result_path``,
    ``result_selector`` and ``task_timeout``. Default (each): CDK's (the result replaces the
    input).
    """

    comment: str | None
    state_name: str | None
    input_path: str | None
    output_path: str | None
    result_path: str | None
    result_selector: Mapping[str, Any] | None
    task_timeout: sfn.Timeout | None


class _RenderTaskHook:
    """Declares ``TaskStateBase._renderTask`` to jsii so a Python override is registered."""

    # The jsii type of an interface every task state already implements: the kernel then accepts
    # the declaration without new type information. Not registered with jsii's type map.
    __jsii_type__ = "aws-cdk-lib.aws_stepfunctions.IChainable"

    @jsii.member(jsii_name="_renderTask")
    def _render_task(self, top_level_query_language: Any = None) -> Any:
        raise NotImplementedError


def integration_pattern_problem(
    cls_name: str, pattern: sfn.IntegrationPattern, supported: Sequence[sfn.IntegrationPattern]
) -> str | None:
    """The message for an integration pattern ``cls_name`` does not support, or None."""
    if pattern in supported:
        return None
    names = ", ".join(_PATTERN_NAMES[p] for p in supported)
    return (
        f"integration_pattern {_PATTERN_NAMES.get(pattern, str(pattern))} is not supported by "
        f"{cls_name}; expected one of: {names}"
    )


def sagemaker_arn(scope: Construct, resource: str, name: str) -> str:
    """``arn:<partition>:sagemaker:<region>:<account>:<resource>/<name>``.

    SageMaker puts job and model names into ARNs in lower case, so ``name`` is lowered (tokens
    are left as they are).
    """
    resource_name = name if is_unresolved(name) else name.lower()
    return Stack.of(scope).format_arn(
        service="sagemaker", resource=resource, resource_name=resource_name
    )


def events_rule_arn(scope: Construct, rule_name: str) -> str:
    """ARN of an EventBridge rule Step Functions manages for ``.sync`` tasks."""
    return Stack.of(scope).format_arn(service="events", resource="rule", resource_name=rule_name)


def sync_rule_statement(scope: Construct, rule_name: str) -> iam.PolicyStatement:
    """What ``.sync`` needs to keep its managed EventBridge rule for job state changes."""
    return iam.PolicyStatement(
        actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
        resources=[events_rule_arn(scope, rule_name)],
    )


def pass_role_statement(role: iam.IRole) -> iam.PolicyStatement:
    """``iam:PassRole`` on ``role``, to SageMaker only."""
    return iam.PolicyStatement(
        actions=["iam:PassRole"],
        resources=[role.role_arn],
        conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    )


def is_expression(value: object) -> bool:
    """Whether a ``Parameters`` value is a JSONPath or an intrinsic function."""
    return isinstance(value, str) and value.startswith(("$", "States."))


def job_name_prefix_problems(problems: Problems, prop: str, prefix: str, max_length: int) -> None:
    """A job name prefix: letters, digits and hyphens, starting with a letter or digit."""
    if is_unresolved(prefix):
        return
    valid = (
        0 < len(prefix) < max_length
        and prefix[0].isascii()
        and prefix[0].isalnum()
        and all(c.isascii() and (c.isalnum() or c == "-") for c in prefix)
    )
    problems.require(
        valid,
        f"{prop} '{prefix}' must be 1 to {max_length - 1} letters, digits and hyphens, "
        "starting with a letter or digit",
    )


def check_request(
    problems: Problems,
    request: Mapping[str, Any],
    *,
    required: Iterable[str],
    reserved: Iterable[str],
) -> None:
    """``request`` must hold the ``required`` keys and leave the ``reserved`` ones to the task."""
    keys = {key.removesuffix(".$") for key in request}
    for key in required:
        problems.require(key in keys, f"request must set '{key}'")
    for key in reserved:
        problems.require(key not in keys, f"request must not set '{key}': the task sets it")


class SageMakerTaskBase(sfn.TaskStateBase):
    """A Step Functions task that calls one API with a request given as ASL ``Parameters``.

    Subclasses call :meth:`_configure` with the resource ARN, the request (keys ending in
    ``.$`` take JSONPath or intrinsic functions) and the IAM statements the call needs; CDK
    adds the statements to the role of the state machine the task is part of.
    """

    __jsii_ifaces__: ClassVar[list[type]] = [
        *getattr(sfn.TaskStateBase, "__jsii_ifaces__", []),
        _RenderTaskHook,
    ]

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        integration_pattern: sfn.IntegrationPattern,
        **options: Unpack[TaskStateOptions],
    ) -> None:
        super().__init__(scope, construct_id, integration_pattern=integration_pattern, **options)
        self.integration_pattern = integration_pattern
        self._resource_arn = ""
        self._request: dict[str, Any] = {}
        self._statements_list: list[iam.PolicyStatement] = []

    def _configure(
        self, resource: str, parameters: Mapping[str, Any], policies: Sequence[iam.PolicyStatement]
    ) -> None:
        self._resource_arn = resource
        self._request = dict(parameters)
        self._statements_list = list(policies)

    @staticmethod
    def optimized_resource(api: str, pattern: sfn.IntegrationPattern) -> str:
        """``arn:<partition>:states:::sagemaker:<api>[.sync]``."""
        suffix = ".sync" if pattern == sfn.IntegrationPattern.RUN_JOB else ""
        return f"arn:{Aws.PARTITION}:states:::sagemaker:{api}{suffix}"

    @staticmethod
    def sdk_resource(service: str, api: str) -> str:
        """``arn:<partition>:states:::aws-sdk:<service>:<api>`` (request-response only)."""
        return f"arn:{Aws.PARTITION}:states:::aws-sdk:{service}:{api}"

    @property
    def resource_arn(self) -> str:
        """The task's ``Resource``."""
        return self._resource_arn

    @property
    def parameters(self) -> dict[str, Any]:
        """The task's ``Parameters`` (the API request) as rendered into the state."""
        return dict(self._request)

    @property
    def policy_statements(self) -> list[iam.PolicyStatement]:
        """The IAM statements the state machine role gets for this task."""
        return list(self._statements_list)

    @property
    def _task_metrics(self) -> sfn.TaskMetricsConfig | None:
        return None

    @property
    def _task_policies(self) -> list[iam.PolicyStatement] | None:
        return list(self._statements_list)

    def _render_task(self, top_level_query_language: Any = None) -> Any:
        return {"Resource": self._resource_arn, "Parameters": self._request}
