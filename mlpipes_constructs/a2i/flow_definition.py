"""An Amazon A2I flow definition: who reviews, with which task UI, and where answers go.

CloudFormation has no flow definition type, so a custom resource creates it
(``_lambda/a2i_handlers/flow_definition.py``): it waits until the flow definition is
Active, and since SageMaker cannot change one, any change creates a new one (a new name)
that CloudFormation swaps in, deleting the old one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from aws_cdk import Arn, ArnFormat, CustomResource, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.a2i._handler_function import HandlerFunction, HandlerPlacement
from mlpipes_constructs.a2i._names import check_name_prefix, default_prefix
from mlpipes_constructs.a2i.task_ui import IHumanTaskUi
from mlpipes_constructs.a2i.workteam import IWorkteam
from mlpipes_constructs.compliance import acknowledge_wildcard
from mlpipes_constructs.iam import ManagedPolicyRole

__all__ = ["FlowDefinition", "IFlowDefinition", "ReviewInput"]

RESOURCE_TYPE = "Custom::MlpipesFlowDefinition"
#: FlowDefinitionTaskKeyword (botocore's ``sagemaker`` model).
_KEYWORD_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
MAX_KEYWORDS = 5
#: TaskTimeLimitInSeconds: botocore's minimum; the maximum A2I accepts (8 hours).
TASK_TIME_LIMIT_RANGE = (30, 28_800)
#: TaskAvailabilityLifetimeInSeconds: botocore's minimum; A2I's maximum (10 days).
TASK_LIFETIME_RANGE = (1, 864_000)
#: Lambda runs a function at most 15 minutes; the handler keeps a minute to answer.
MAX_WAIT = Duration.minutes(14)


@dataclass(frozen=True)
class ReviewInput:
    """Objects the task UI shows reviewers, which the flow definition's role may read.

    The template's ``grant_read_access`` filter presigns their URLs with the role.

    Attributes:
        bucket: the bucket of the objects.
        prefix: the key prefix of the objects, ending in ``/``.
    """

    bucket: s3.IBucket
    prefix: str


@runtime_checkable
class IFlowDefinition(Protocol):
    """A flow definition human loops are started with."""

    @property
    def flow_definition_arn(self) -> str: ...

    @property
    def flow_definition_name(self) -> str: ...

    def grant_start_human_loop(
        self, grantee: iam.IGrantable, *, human_loop_name_prefix: str = ""
    ) -> iam.Grant: ...

    def grant_read_output(self, grantee: iam.IGrantable) -> iam.Grant: ...


def _human_loop_arns(scope: Construct, name_prefix: str) -> list[str]:
    return [
        Stack.of(scope).format_arn(
            service="sagemaker", resource="human-loop", resource_name=f"{name_prefix}*"
        )
    ]


def _grant_human_loops(
    scope: Construct, grantee: iam.IGrantable, flow_definition_arn: str, loop_prefix: str
) -> iam.Grant:
    """StartHumanLoop on the flow definition; Describe/Stop/Delete on the human loops."""
    grant = iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["sagemaker:StartHumanLoop"],
        resource_arns=[flow_definition_arn],
    )
    loops = iam.Grant.add_to_principal(
        grantee=grantee,
        actions=[
            "sagemaker:DescribeHumanLoop",
            "sagemaker:StopHumanLoop",
            "sagemaker:DeleteHumanLoop",
        ],
        resource_arns=_human_loop_arns(scope, loop_prefix),
    )
    return grant.combine(loops)


class _ImportedFlowDefinition(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        arn: str,
        output: tuple[s3.IBucket, str, kms.IKey | None] | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._arn = arn
        self._name = Arn.split(arn, ArnFormat.SLASH_RESOURCE_NAME).resource_name or ""
        self._output = output

    @property
    def flow_definition_arn(self) -> str:
        return self._arn

    @property
    def flow_definition_name(self) -> str:
        return self._name

    def grant_start_human_loop(
        self, grantee: iam.IGrantable, *, human_loop_name_prefix: str = ""
    ) -> iam.Grant:
        return _grant_human_loops(self, grantee, self._arn, human_loop_name_prefix)

    def grant_read_output(self, grantee: iam.IGrantable) -> iam.Grant:
        if self._output is None:
            raise ValueError(
                f"'{self.node.path}' was imported without output_bucket; pass it to "
                "from_flow_definition_arn to grant reading the reviewers' answers"
            )
        bucket, prefix, key = self._output
        return _grant_read(grantee, bucket, prefix, key)


def _grant_read(
    grantee: iam.IGrantable, bucket: s3.IBucket, prefix: str, key: kms.IKey | None
) -> iam.Grant:
    grant = iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["s3:GetObject"],
        resource_arns=[bucket.arn_for_objects(f"{prefix}*")],
    )
    if key is not None:
        grant = grant.combine(
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=["kms:Decrypt"],
                resource_arns=[key.key_arn],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": f"s3.{Stack.of(bucket).region}.amazonaws.com"
                    }
                },
            )
        )
    return grant


class FlowDefinition(Construct):
    """An A2I flow definition for human reviews by a private work team.

    Its name is ``<name_prefix>-<hash of the request>``, computed when it is created: a change
    to any field creates a new flow definition, and CloudFormation deletes the old one after
    the new one is Active.

    Args:
        human_task_ui: the worker task template reviewers see.
        workteam: the work team that reviews.
        task_title: the task's title in the worker portal (1 to 128 characters).
        task_description: what reviewers do (1 to 255 characters).
        output_bucket: where A2I writes each human loop's ``output.json``.
        output_prefix: the key prefix of the output, ending in ``/``. Default: ``"a2i/"``.
        encryption_key: the key A2I encrypts the output with. Default: the output bucket's
            key; an error when the bucket has none.
        task_count: how many reviewers answer each task (1 to 3). Default: 1.
        task_keywords: up to 5 keywords (1 to 30 letters and digits, single spaces) workers
            find the task by. Default: none.
        task_time_limit: how long a reviewer has for a task once they open it (30 seconds to
            8 hours). Default: 1 hour.
        task_availability_lifetime: how long a task waits for a reviewer before the human loop
            expires (1 second to 10 days). Default: 1 day.
        activation_conditions: ``HumanLoopActivationConditions`` JSON (a mapping or its text,
            at most 10,240 characters), for the Amazon Rekognition and Textract integrations.
            Default: none (every human loop started with StartHumanLoop is reviewed).
        review_inputs: objects the task UI shows reviewers through ``grant_read_access``.
            Default: none.
        name_prefix: the start of the name, at most 52 lowercase letters, digits and hyphens.
            Default: the construct id, lowercased.
        role: the role A2I uses. Default: a new role that writes under the output prefix only
            and reads ``review_inputs``; with your own role, add those permissions yourself.
        handler_placement: the VPC the custom resource handler runs in. Default: no VPC.
        log_key: the key the handler's logs are encrypted with. Default: ``encryption_key``.
        log_retention: how long the handler's logs are kept. Default: one year.
        wait_timeout: how long the handler waits for the flow definition to become Active (at
            most 14 minutes). Default: 10 minutes.

    Attributes:
        resource: the custom resource.
        handler: the custom resource's function.
        role: the role A2I uses.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        human_task_ui: IHumanTaskUi,
        workteam: IWorkteam,
        task_title: str,
        task_description: str,
        output_bucket: s3.IBucket,
        output_prefix: str = "a2i/",
        encryption_key: kms.IKey | None = None,
        task_count: int = 1,
        task_keywords: Sequence[str] = (),
        task_time_limit: Duration | None = None,
        task_availability_lifetime: Duration | None = None,
        activation_conditions: Mapping[str, Any] | str | None = None,
        review_inputs: Sequence[ReviewInput] = (),
        name_prefix: str | None = None,
        role: iam.IRole | None = None,
        handler_placement: HandlerPlacement | None = None,
        log_key: kms.IKey | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        wait_timeout: Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems(self.node.path)
        key = encryption_key or output_bucket.encryption_key
        if key is None:
            problems.add(
                f"encryption_key is required: output_bucket '{output_bucket.node.path}' has no "
                "KMS key of its own, and reviewers' answers are encrypted with a "
                "customer-managed key"
            )
        _check_length(problems, "task_title", task_title, 128)
        _check_length(problems, "task_description", task_description, 255)
        problems.check_int_range("task_count", task_count, 1, 3)
        _check_keywords(problems, task_keywords)
        time_limit = _seconds(
            problems, "task_time_limit", task_time_limit or Duration.hours(1), TASK_TIME_LIMIT_RANGE
        )
        lifetime = _seconds(
            problems,
            "task_availability_lifetime",
            task_availability_lifetime or Duration.days(1),
            TASK_LIFETIME_RANGE,
        )
        _check_prefix(problems, "output_prefix", output_prefix)
        for index, review_input in enumerate(review_inputs):
            _check_prefix(problems, f"review_inputs[{index}].prefix", review_input.prefix)
        conditions = _activation_conditions(problems, activation_conditions)
        prefix = name_prefix if name_prefix is not None else default_prefix(construct_id)
        check_name_prefix(problems, "name_prefix", prefix)
        wait = wait_timeout or Duration.minutes(10)
        if not 1 <= wait.to_seconds() <= MAX_WAIT.to_seconds():
            problems.add(
                f"wait_timeout of {wait.to_seconds():.0f} s must be from 1 s to "
                f"{MAX_WAIT.to_seconds():.0f} s (Lambda's 15-minute limit, less a minute)"
            )
        problems.raise_if_any()
        assert key is not None

        self._output_bucket = output_bucket
        self._output_prefix = output_prefix
        self._key = key
        self._name_prefix = prefix
        self.role = role or self._create_role(output_bucket, output_prefix, key, review_inputs)
        output_path = f"s3://{output_bucket.bucket_name}/{output_prefix}"
        loop_config: dict[str, Any] = {
            "WorkteamArn": workteam.workteam_arn,
            "HumanTaskUiArn": human_task_ui.human_task_ui_arn,
            "TaskTitle": task_title,
            "TaskDescription": task_description,
            "TaskCount": task_count,
            "TaskTimeLimitInSeconds": time_limit,
            "TaskAvailabilityLifetimeInSeconds": lifetime,
        }
        if task_keywords:
            loop_config["TaskKeywords"] = list(task_keywords)
        request: dict[str, Any] = {
            "HumanLoopConfig": loop_config,
            "OutputConfig": {"S3OutputPath": output_path, "KmsKeyId": key.key_arn},
            "RoleArn": self.role.role_arn,
        }
        if conditions is not None:
            request["HumanLoopActivationConfig"] = {
                "HumanLoopActivationConditionsConfig": {"HumanLoopActivationConditions": conditions}
            }
        self.handler = HandlerFunction(
            self,
            "Handler",
            entry_point="flow_definition.handler",
            description="creates and deletes Amazon A2I flow definitions",
            timeout=Duration.seconds(wait.to_seconds() + 60),
            log_key=log_key or key,
            log_retention=log_retention,
            placement=handler_placement,
        )
        flow_definitions = Stack.of(self).format_arn(
            service="sagemaker", resource="flow-definition", resource_name=f"{prefix}-*"
        )
        self.handler.policy.add_statements(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:CreateFlowDefinition",
                    "sagemaker:DescribeFlowDefinition",
                    "sagemaker:DeleteFlowDefinition",
                ],
                resources=[flow_definitions],
            ),
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
        )
        acknowledge_wildcard(
            self.handler.policy,
            flow_definitions,
            f"the flow definitions named '{prefix}-<hash>': a changed request gets a new name "
            "and the handler deletes the replaced one",
        )
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=self.handler.function.function_arn,
            resource_type=RESOURCE_TYPE,
            properties={
                "NamePrefix": prefix,
                "Request": request,
                "WaitTimeoutSeconds": int(wait.to_seconds()),
            },
        )
        self.resource.node.add_dependency(self.handler.policy)
        if isinstance(self.role, ManagedPolicyRole):
            self.resource.node.add_dependency(self.role.managed_policy)

    # -- attributes -----------------------------------------------------------------------

    @property
    def flow_definition_arn(self) -> str:
        """The flow definition's ARN (known once it is created)."""
        return self.resource.get_att_string("FlowDefinitionArn")

    @property
    def flow_definition_name(self) -> str:
        """The flow definition's name, ``<name_prefix>-<hash>`` (known once it is created)."""
        return self.resource.get_att_string("FlowDefinitionName")

    @property
    def name_prefix(self) -> str:
        """The start of the flow definition's name; the rest is a 10-digit hash."""
        return self._name_prefix

    @property
    def output_bucket(self) -> s3.IBucket:
        return self._output_bucket

    @property
    def output_prefix(self) -> str:
        """The key prefix A2I writes under: ``<prefix><flow definition name>/<date>/<loop>/``."""
        return self._output_prefix

    @property
    def output_s3_uri(self) -> str:
        """``s3://<bucket>/<prefix>``, the flow definition's ``S3OutputPath``."""
        return f"s3://{self._output_bucket.bucket_name}/{self._output_prefix}"

    @property
    def encryption_key(self) -> kms.IKey:
        return self._key

    # -- grants ---------------------------------------------------------------------------

    def grant_start_human_loop(
        self, grantee: iam.IGrantable, *, human_loop_name_prefix: str = ""
    ) -> iam.Grant:
        """Let ``grantee`` start human loops with this flow definition and describe, stop
        and delete human loops whose names start with ``human_loop_name_prefix``.

        Human loops are named by whoever starts them and are not ARNs under the flow
        definition, so give the prefix your loops use. Default: every human loop of the
        account and Region. ``ListHumanLoops`` takes no resource; see
        :meth:`grant_list_human_loops`.
        """
        return _grant_human_loops(self, grantee, self.flow_definition_arn, human_loop_name_prefix)

    def grant_list_human_loops(self, grantee: iam.IGrantable) -> iam.Grant:
        """``sagemaker:ListHumanLoops``, which IAM authorizes on ``*`` only."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["sagemaker:ListHumanLoops"], resource_arns=["*"]
        )

    def grant_read_output(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` read the reviewers' answers (``output.json`` under the prefix)."""
        return _grant_read(grantee, self._output_bucket, self._output_prefix, self._key)

    @classmethod
    def from_flow_definition_arn(
        cls,
        scope: Construct,
        construct_id: str,
        arn: str,
        *,
        output_bucket: s3.IBucket | None = None,
        output_prefix: str = "a2i/",
        encryption_key: kms.IKey | None = None,
    ) -> IFlowDefinition:
        """An existing flow definition; give its output location to grant reading answers."""
        output = None
        if output_bucket is not None:
            output = (output_bucket, output_prefix, encryption_key or output_bucket.encryption_key)
        return _ImportedFlowDefinition(scope, construct_id, arn, output)

    # -- the role A2I uses ----------------------------------------------------------------

    def _create_role(
        self,
        bucket: s3.IBucket,
        prefix: str,
        key: kms.IKey,
        review_inputs: Sequence[ReviewInput],
    ) -> ManagedPolicyRole:
        role = ManagedPolicyRole(
            self,
            "Role",
            service="sagemaker.amazonaws.com",
            description="Amazon A2I: writes human review output, reads what reviewers see",
        )
        outputs = bucket.arn_for_objects(f"{prefix}*")
        via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{Stack.of(self).region}.amazonaws.com"}}
        role.managed_policy.add_statements(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[outputs]),
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[key.key_arn],
                conditions=via_s3,
            ),
        )
        reasons = [
            (
                outputs,
                f"A2I writes one output.json per human loop under '{prefix}', named at "
                "run time after the flow definition, date and loop",
            ),
        ]
        for review_input in review_inputs:
            objects = review_input.bucket.arn_for_objects(f"{review_input.prefix}*")
            role.managed_policy.add_statements(
                iam.PolicyStatement(actions=["s3:GetObject"], resources=[objects])
            )
            if review_input.bucket.encryption_key not in (None, key):
                other = review_input.bucket.encryption_key
                assert other is not None
                role.managed_policy.add_statements(
                    iam.PolicyStatement(
                        actions=["kms:Decrypt"], resources=[other.key_arn], conditions=via_s3
                    )
                )
            reasons.append(
                (
                    objects,
                    f"reports and samples under '{review_input.prefix}' that the task "
                    "UI shows reviewers, written by pipeline runs at run time",
                )
            )
        for arn, reason in reasons:
            acknowledge_wildcard(role.managed_policy, arn, reason)
        return role


def _check_length(problems: Problems, prop: str, value: str, limit: int) -> None:
    if is_unresolved(value):
        return
    if not 1 <= len(value) <= limit:
        problems.add(f"{prop} has {len(value)} characters; A2I takes 1 to {limit}")


def _check_keywords(problems: Problems, keywords: Sequence[str]) -> None:
    if len(keywords) > MAX_KEYWORDS:
        problems.add(
            f"task_keywords has {len(keywords)} keywords; A2I takes at most {MAX_KEYWORDS}"
        )
    for keyword in keywords:
        if is_unresolved(keyword):
            continue
        words = keyword.split(" ")
        if not 1 <= len(keyword) <= 30 or not all(
            word and set(word) <= _KEYWORD_CHARACTERS for word in words
        ):
            problems.add(
                f"task_keywords '{keyword}' must be 1 to 30 letters and digits, words separated "
                "by single spaces"
            )


def _seconds(problems: Problems, prop: str, value: Duration, bounds: tuple[int, int]) -> int:
    seconds = value.to_seconds()
    low, high = bounds
    if seconds != int(seconds) or not low <= seconds <= high:
        problems.add(f"{prop} of {seconds:g} s must be whole seconds from {low} to {high}")
    return int(seconds)


def _check_prefix(problems: Problems, prop: str, prefix: str) -> None:
    if is_unresolved(prefix):
        return
    if not prefix.endswith("/") or prefix.startswith("/") or "//" in prefix:
        problems.add(
            f"{prop} '{prefix}' must be a key prefix ending in '/' without a leading '/' "
            "(e.g. 'a2i/')"
        )


def _activation_conditions(
    problems: Problems, conditions: Mapping[str, Any] | str | None
) -> str | None:
    if conditions is None:
        return None
    if isinstance(conditions, str):
        if is_unresolved(conditions):
            return conditions
        try:
            parsed = json.loads(conditions)
        except json.JSONDecodeError as error:
            problems.add(f"activation_conditions is not JSON: {error}")
            return None
    else:
        parsed = dict(conditions)
    if not isinstance(parsed, dict) or "Conditions" not in parsed:
        problems.add(
            "activation_conditions must be a JSON object with a 'Conditions' list (see "
            "'JSON Schema for Human Loop Activation Conditions in Amazon Augmented AI')"
        )
        return None
    text = json.dumps(parsed, separators=(",", ":"), sort_keys=True)
    if len(text) > 10_240:
        problems.add(
            f"activation_conditions has {len(text):,} characters; A2I takes at most 10,240"
        )
    return text
