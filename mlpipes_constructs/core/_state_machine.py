"""A STANDARD state machine with the hardening every mlpipes state machine gets."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from mlpipes_constructs.compliance import acknowledge
from mlpipes_constructs.core._trust import service_role
from mlpipes_constructs.iam import ManagedPolicyRole, depend_only_on_policy

#: Vended log delivery and X-Ray tracing of a state machine; none has a resource type.
STATE_MACHINE_LOG_ACTIONS: tuple[str, ...] = (
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
)
XRAY_ACTIONS: tuple[str, ...] = (
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
)
_STAR_REASON = (
    "CloudWatch Logs vended log delivery (how Step Functions writes execution logs) and "
    "X-Ray trace submission have no resource type, so AWS accepts only '*' for them"
)


class HardenedStateMachine(Construct):
    """A STANDARD state machine: every event with execution data to a KMS-encrypted log
    group, X-Ray tracing, a timeout, and a role whose only policy is a customer-managed one.

    Children: ``Role`` (with its ``Policy``), ``Logs`` and ``Resource`` (the
    ``sfn.StateMachine``), so ``node.default_child`` is the state machine.

    Args:
        definition: what the state machine runs.
        encryption_key: the log group's key; its policy must let CloudWatch Logs use it.
        timeout: how long an execution may run.
        role_description: what the role is for.
        policy_description: what its policy allows. Default: derived from ``role_description``.
        comment: the state machine's comment. Default: none.
        state_machine_name: physical name. Default: a generated name.
        task_grants: let the tasks add the permissions they need to the role's policy, as
            CDK tasks do. With False the caller writes every permission into :attr:`policy`,
            and the logging and tracing statements are added here. Default: True.
        log_retention: how long execution logs are kept. Default: one year.
        removal_policy: what happens to the log group when it leaves the stack.
            Default: ``RemovalPolicy.RETAIN``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        definition: sfn.IChainable,
        encryption_key: kms.IKey,
        timeout: Duration,
        role_description: str,
        policy_description: str | None = None,
        comment: str | None = None,
        state_machine_name: str | None = None,
        task_grants: bool = True,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role: ManagedPolicyRole = service_role(
            self,
            "Role",
            service="states.amazonaws.com",
            description=role_description,
            policy_description=policy_description,
        )
        self.policy: iam.ManagedPolicy = self.role.managed_policy
        if not task_grants:
            self.policy.add_statements(
                iam.PolicyStatement(
                    sid="DeliverExecutionLogs",
                    actions=list(STATE_MACHINE_LOG_ACTIONS),
                    resources=["*"],  # vended log delivery APIs have no resource type
                ),
                iam.PolicyStatement(
                    sid="WriteTraces",
                    actions=list(XRAY_ACTIONS),
                    resources=["*"],  # X-Ray trace and sampling APIs have no resource type
                ),
            )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=encryption_key,
            retention=log_retention,
            removal_policy=removal_policy,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "Resource",
            comment=comment,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            state_machine_type=sfn.StateMachineType.STANDARD,
            state_machine_name=state_machine_name,
            role=self.role if task_grants else self.role.without_policy_updates(),
            timeout=timeout,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group,
                level=sfn.LogLevel.ALL,
                include_execution_data=True,
            ),
        )
        cfn = self.state_machine.node.default_child
        assert isinstance(cfn, sfn.CfnStateMachine)
        self.cfn_state_machine: sfn.CfnStateMachine = cfn
        depend_only_on_policy(self.state_machine, self.policy)
        acknowledge(self.policy, "AwsSolutions-IAM5[Resource::*]", _STAR_REASON)

    @property
    def state_machine_arn(self) -> str:
        return self.state_machine.state_machine_arn
