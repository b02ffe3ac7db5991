"""The A2i stack: the role A2I writes answers with, and the two custom resource handlers."""

from __future__ import annotations

from collections.abc import Iterator

from tests.iam.calls import Call, Declaration, Expect, RoleCalls
from tests.iam.cfn import ACCOUNT, REGION
from tests.iam.declarations._common import (
    ARN,
    DOC_KMS_VIA,
    DOC_PASS_ROLE,
    DOC_SAGEMAKER_DEPUTY,
    DOC_SSE_KMS,
    OTHER_BUCKET,
    assume_role_calls,
    foundation,
    log_group_arn,
)
from tests.iam.model import AppModel, RoleSelector, Use

DOC_A2I_ROLE = "https://docs.aws.amazon.com/sagemaker/latest/dg/a2i-permissions-security.html"
DOC_A2I_OUTPUT = "https://docs.aws.amazon.com/sagemaker/latest/dg/a2i-output-data.html"
DOC_A2I_API = (
    "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateFlowDefinition.html"
)
DOC_COGNITO_CLIENT = (
    "https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/"
    "API_UpdateUserPoolClient.html"
)
DOC_WORKFORCE = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/sms-workforce-create-private-cognito.html"
)
DOC_LAMBDA_ROLE = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html"
DOC_LAMBDA_VPC = "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html"

FLOW_DEFINITION = "Custom::MlpipesFlowDefinition"
A2I_ROLE = RoleSelector("sagemaker.amazonaws.com", Use(FLOW_DEFINITION, "Request"))
FLOW_HANDLER = RoleSelector(
    "lambda.amazonaws.com", Use("AWS::Lambda::Function", "Role"), "a2i_handlers.flow_definition"
)
CALLBACK_HANDLER = RoleSelector(
    "lambda.amazonaws.com", Use("AWS::Lambda::Function", "Role"), "a2i_handlers.client_callback"
)
VIA_S3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com", "kms:CallerAccount": ACCOUNT}


def _flow_definition(model: AppModel) -> tuple[str, str]:
    """(name, ARN) of the flow definition, as the handler names it."""
    logical_id, _ = model.only("a2i", FLOW_DEFINITION)
    return (
        str(model.arn("a2i", logical_id, "FlowDefinitionName")),
        str(model.arn("a2i", logical_id, "FlowDefinitionArn")),
    )


def _a2i_role(model: AppModel, stack: str) -> Iterator[Call]:
    shared = foundation(model)
    name, _ = _flow_definition(model)
    _, props = model.only(stack, FLOW_DEFINITION)
    output_path = props["Request"]["OutputConfig"]["S3OutputPath"]
    assert output_path == f"s3://{shared.bucket}/a2i/", output_path
    answer = f"{shared.bucket_arn}/a2i/{name}/2025/01/01/00/00/00/mlpipes-review-a1b2c3/output.json"
    write = Call(
        "write a human loop's output.json",
        "s3:PutObject",
        answer,
        DOC_A2I_OUTPUT,
        context={"s3:x-amz-server-side-encryption": "aws:kms"},
    )
    yield write
    yield write.denied(
        "write outside the output prefix", resource=f"{shared.bucket_arn}/pipelines/model.tar.gz"
    )
    yield write.denied("write to another bucket", resource=f"{OTHER_BUCKET}/a2i/output.json")
    yield write.denied("write without TLS", context={"aws:SecureTransport": "false"})
    report = (
        f"{shared.bucket_arn}/pipelines/a1b2c3d4e5f6/Evaluate/output/evaluation/evaluation.json"
    )
    read = Call(
        "read the evaluation report the task UI links to (grant_read_access)",
        "s3:GetObject",
        report,
        DOC_A2I_ROLE,
    )
    yield read
    yield read.denied(
        "read the input data, which reviewers do not see",
        resource=f"{shared.bucket_arn}/data/reviews/reviews.csv",
    )
    yield read.denied("read another bucket", resource=f"{OTHER_BUCKET}/pipelines/report.json")
    yield Call(
        "delete an answer",
        "s3:DeleteObject",
        answer,
        DOC_A2I_OUTPUT,
        expect=Expect.DENIED,
    )
    yield Call(
        "encrypt the answer", "kms:GenerateDataKey", shared.key_arn, DOC_SSE_KMS, context=VIA_S3
    )
    yield Call("decrypt the report", "kms:Decrypt", shared.key_arn, DOC_SSE_KMS, context=VIA_S3)
    yield Call(
        "use the key directly, not through S3",
        "kms:Decrypt",
        shared.key_arn,
        DOC_KMS_VIA,
        context={"kms:CallerAccount": ACCOUNT},
        expect=Expect.DENIED,
    )
    role = model.role(stack, A2I_ROLE)
    yield from assume_role_calls(role.arn, "sagemaker.amazonaws.com", DOC_SAGEMAKER_DEPUTY)


def _handler_basics(
    model: AppModel, stack: str, selector: RoleSelector, entry: str
) -> Iterator[Call]:
    """Logs, network interfaces and the trust policy of one handler function."""
    role = model.role(stack, selector)
    _, function = model.only(
        stack, "AWS::Lambda::Function", lambda props: props["Handler"] == entry
    )
    group = log_group_arn(str(function["LoggingConfig"]["LogGroup"]))
    stream = f"{group}:log-stream:2025/01/01/[$LATEST]0123456789abcdef"
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        yield Call(f"handler logs: {action}", action, stream, DOC_LAMBDA_ROLE)
    yield Call(
        "write another function's logs",
        "logs:PutLogEvents",
        f"{log_group_arn('/aws/lambda/other')}:log-stream:x",
        DOC_LAMBDA_ROLE,
        expect=Expect.DENIED,
    )
    for action in (
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    ):
        yield Call(f"function network: {action}", action, "*", DOC_LAMBDA_VPC)
    yield Call(
        "lambda.amazonaws.com assumes the role",
        "sts:AssumeRole",
        role.arn,
        DOC_LAMBDA_ROLE,
        principal="lambda.amazonaws.com",
    )


def _flow_handler(model: AppModel, stack: str) -> Iterator[Call]:
    name, arn = _flow_definition(model)
    for action in (
        "sagemaker:CreateFlowDefinition",
        "sagemaker:DescribeFlowDefinition",
        "sagemaker:DeleteFlowDefinition",
    ):
        yield Call(f"{action.split(':')[1]} of {name}", action, arn, DOC_A2I_API)
    replaced = f"arn:aws:sagemaker:{ARN}:flow-definition/mlpipes-model-review-0000000000"
    yield Call(
        "delete the flow definition an update replaced",
        "sagemaker:DeleteFlowDefinition",
        replaced,
        DOC_A2I_API,
    )
    other = f"arn:aws:sagemaker:{ARN}:flow-definition/another-teams-review"
    yield Call(
        "delete another team's flow definition",
        "sagemaker:DeleteFlowDefinition",
        other,
        DOC_A2I_API,
        expect=Expect.DENIED,
    )
    a2i_role = model.role(stack, A2I_ROLE)
    pass_role = Call(
        "pass the A2I role to SageMaker",
        "iam:PassRole",
        a2i_role.arn,
        DOC_PASS_ROLE,
        context={"iam:PassedToService": "sagemaker.amazonaws.com"},
    )
    yield pass_role
    yield pass_role.denied(
        "pass the A2I role to another service",
        context={"iam:PassedToService": "lambda.amazonaws.com"},
    )
    yield pass_role.denied(
        "pass another role", resource=f"arn:aws:iam::{ACCOUNT}:role/administrator"
    )
    yield Call(
        "start a human loop (not the handler's job)",
        "sagemaker:StartHumanLoop",
        arn,
        DOC_A2I_API,
        expect=Expect.DENIED,
    )
    yield from _handler_basics(model, stack, FLOW_HANDLER, "a2i_handlers.flow_definition.handler")


def _callback_handler(model: AppModel, stack: str) -> Iterator[Call]:
    pool_id, _ = model.only(stack, "AWS::Cognito::UserPool")
    pool = model.arn(stack, pool_id)
    for action in ("cognito-idp:DescribeUserPoolClient", "cognito-idp:UpdateUserPoolClient"):
        yield Call(f"{action.split(':')[1]} of the workforce's client", action, pool, DOC_WORKFORCE)
    other_pool = f"arn:aws:cognito-idp:{ARN}:userpool/{REGION}_0ther0Pool"
    yield Call(
        "update a client of another user pool",
        "cognito-idp:UpdateUserPoolClient",
        other_pool,
        DOC_COGNITO_CLIENT,
        expect=Expect.DENIED,
    )
    yield Call(
        "delete the workforce's user pool",
        "cognito-idp:DeleteUserPool",
        pool,
        DOC_COGNITO_CLIENT,
        expect=Expect.DENIED,
    )
    yield from _handler_basics(
        model, stack, CALLBACK_HANDLER, "a2i_handlers.client_callback.handler"
    )


DECLARATIONS: tuple[Declaration, ...] = (
    RoleCalls("a2i", "A2I flow definition role", A2I_ROLE, _a2i_role),
    RoleCalls("a2i", "flow definition handler", FLOW_HANDLER, _flow_handler),
    RoleCalls("a2i", "workforce callback handler", CALLBACK_HANDLER, _callback_handler),
)
