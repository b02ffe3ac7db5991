"""Run-time calls of the Step Functions stack: state machine, job role, failure topic."""

from __future__ import annotations

import json
from collections.abc import Iterator

from mlpipes_constructs.compile.human_review import human_loop_prefix
from tests.iam.calls import OTHER_ACCOUNT, Call, Declaration, RoleCalls, ServiceCalls
from tests.iam.cfn import ACCOUNT
from tests.iam.declarations._common import (
    ARN,
    DOC_EVENTS_SNS,
    DOC_SAGEMAKER_DEPUTY,
    DOC_SFN_ROLE,
    DOC_SNS_KMS,
    RUN_TOKEN,
    JobScope,
    assume_role_calls,
    flow_definition_arn,
    foundation,
    human_review_calls,
    job_calls,
    mlflow_secret_arn,
    state_machine_calls,
    tracking_calls,
)
from tests.iam.model import AppModel, RoleSelector, Use

STATE_MACHINE_ROLE = RoleSelector(
    "states.amazonaws.com", Use("AWS::StepFunctions::StateMachine", "RoleArn")
)
JOB_ROLE = RoleSelector(
    "sagemaker.amazonaws.com", Use("AWS::StepFunctions::StateMachine", "DefinitionString")
)


def _state_machine(model: AppModel, stack: str) -> Iterator[Call]:
    yield from state_machine_calls(model, stack, "createTrainingJob")
    yield from human_review_calls(
        foundation(model),
        flow_definition_arn(model),
        human_loop_prefix("mlpipes-review-c", "Review"),
    )
    role = model.role(stack, STATE_MACHINE_ROLE)
    yield from assume_role_calls(
        role.arn,
        "states.amazonaws.com",
        DOC_SFN_ROLE,
        source_arn=f"arn:aws:states:{ARN}:stateMachine:any",
    )


def _job_security_groups(model: AppModel, stack: str) -> tuple[str, ...]:
    _, machine = model.only(stack, "AWS::StepFunctions::StateMachine")
    text = machine["DefinitionString"]
    start = text.index('"SecurityGroupIds":')
    groups: list[str] = json.loads(
        text[start + len('"SecurityGroupIds":') :].split("]", 1)[0] + "]"
    )
    return tuple(groups)


def _job_role(model: AppModel, stack: str) -> Iterator[Call]:
    yield from tracking_calls(mlflow_secret_arn(model))
    yield from job_calls(
        model,
        JobScope(
            read_prefix="data/reviews/part-0000.csv",
            write_prefix=f"pipelines/mlpipes-review-classifier/{RUN_TOKEN}/train/model.tar.gz",
            outside_prefix="private/salaries.csv",
            job_name=f"mlpipes-review-c-preprocess-{RUN_TOKEN}",
            security_groups=_job_security_groups(model, stack),
        ),
    )
    role = model.role(stack, JOB_ROLE)
    yield from assume_role_calls(role.arn, "sagemaker.amazonaws.com", DOC_SAGEMAKER_DEPUTY)


def failure_topic_calls(
    model: AppModel, stack: str, rule_mentions: str, key_arn: str | None = None
) -> Iterator[Call]:
    """EventBridge publishing a failure rule's events to its encrypted topic."""
    topic_id, _ = model.only(stack, "AWS::SNS::Topic")
    topic = model.ref(stack, topic_id)
    rule_id, _ = model.only(
        stack, "AWS::Events::Rule", lambda p: rule_mentions in json.dumps(p["EventPattern"])
    )
    rule_arn = f"arn:aws:events:{ARN}:rule/{model.ref(stack, rule_id)}"
    own = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": rule_arn}
    call = Call("publish a failure", "sns:Publish", topic, DOC_EVENTS_SNS, context=own)
    yield call
    yield call.denied(
        "publish from a rule of another account",
        context={
            "aws:SourceAccount": OTHER_ACCOUNT,
            "aws:SourceArn": f"arn:aws:events:us-east-1:{OTHER_ACCOUNT}:rule/forged",
        },
    )
    yield call.denied("publish without TLS", context={**own, "aws:SecureTransport": "false"})
    if key_arn is None:
        _, topic_props = model.only(stack, "AWS::SNS::Topic")
        key_arn = str(topic_props["KmsMasterKeyId"])
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        yield Call(f"encrypt the message ({action})", action, key_arn, DOC_SNS_KMS)
    for action in (
        "kms:Encrypt",
        "kms:ReEncryptFrom",
        "kms:ReEncryptTo",
        "kms:DescribeKey",
    ):
        yield Call(f"{action}, which SNS does not need", action, key_arn, DOC_SNS_KMS).denied(
            f"{action}, which SNS does not need"
        )


def _failure_topic(model: AppModel, stack: str) -> Iterator[Call]:
    yield from failure_topic_calls(model, stack, "Step Functions Execution Status Change")


DECLARATIONS: tuple[Declaration, ...] = (
    RoleCalls("stepfunctions", "state machine role", STATE_MACHINE_ROLE, _state_machine),
    RoleCalls("stepfunctions", "job role", JOB_ROLE, _job_role),
    ServiceCalls("stepfunctions", "failure topic and key", "events.amazonaws.com", _failure_topic),
)
