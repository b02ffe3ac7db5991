"""Run-time calls of the MWAA Serverless stack: the workflow's role and the definition upload."""

from __future__ import annotations

from collections.abc import Iterator

from tests.iam.calls import Call, Declaration, Expect, RoleCalls
from tests.iam.cfn import ACCOUNT
from tests.iam.declarations._common import (
    DOC_SSE_KMS,
    OTHER_BUCKET,
    OTHER_KEY,
    assume_role_calls,
    log_group_arn,
)
from tests.iam.declarations.mwaa import DEPLOYMENT_ROLE, VIA_S3, deployment_calls
from tests.iam.model import AppModel, Document, RoleSelector, Use

DOC_SERVERLESS_ROLE = (
    "https://docs.aws.amazon.com/mwaa/latest/mwaa-serverless-userguide/security-iam.html"
)
DOC_WORKFLOW = (
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
    "aws-resource-mwaaserverless-workflow.html"
)
DOC_S3_LIST_OPERATOR = (
    "https://airflow.apache.org/docs/apache-airflow-providers-amazon/stable/operators/s3/s3.html"
)
SERVICE = "airflow-serverless.amazonaws.com"
EXECUTION_ROLE = RoleSelector(SERVICE, Use("AWS::MWAAServerless::Workflow", "RoleArn"))


def _workflow(model: AppModel, stack: str) -> Document:
    _, props = model.only(stack, "AWS::MWAAServerless::Workflow")
    return props


def _execution_role(model: AppModel, stack: str) -> Iterator[Call]:
    props = _workflow(model, stack)
    location = props["DefinitionS3Location"]
    bucket = f"arn:aws:s3:::{location['Bucket']}"
    definition = f"{bucket}/{location['ObjectKey']}"
    key = str(props["EncryptionConfiguration"]["KmsKeyId"])
    version = {"s3:VersionId": str(location["VersionId"])}
    yield Call("read the definition", "s3:GetObject", definition, DOC_WORKFLOW)
    yield Call(
        "read the definition's version",
        "s3:GetObjectVersion",
        definition,
        DOC_WORKFLOW,
        context=version,
    )
    yield Call("decrypt the definition", "kms:Decrypt", key, DOC_SSE_KMS, context=VIA_S3)
    yield Call(
        "read another workflow's definition",
        "s3:GetObject",
        f"{bucket}/workflows/other_workflow.yaml",
        DOC_WORKFLOW,
        expect=Expect.DENIED,
    )
    yield Call(
        "read the artifact bucket's data",
        "s3:GetObject",
        f"{bucket}/data/reviews/part-0000.csv",
        DOC_WORKFLOW,
        expect=Expect.DENIED,
    )
    yield Call(
        "read a definition in another bucket",
        "s3:GetObject",
        f"{OTHER_BUCKET}/{location['ObjectKey']}",
        DOC_WORKFLOW,
        expect=Expect.DENIED,
    )
    # The health-check task lists the data folder (S3ListOperator).
    listing = Call(
        "list the data folder",
        "s3:ListBucket",
        bucket,
        DOC_S3_LIST_OPERATOR,
        context={"s3:prefix": "data/"},
    )
    yield listing
    yield listing.denied("list outside the data folder", context={"s3:prefix": "models/"})
    group = log_group_arn(str(props["LoggingConfiguration"]["LogGroupName"]))
    stream = f"{group}:log-stream:dag_id=health/run_id=scheduled/task_id=list_data/attempt=1.log"
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        yield Call(f"task logs: {action}", action, stream, DOC_SERVERLESS_ROLE)
    yield Call(
        "describe the log streams",
        "logs:DescribeLogStreams",
        f"{group}:log-stream:",
        DOC_SERVERLESS_ROLE,
    )
    yield Call(
        "write another log group",
        "logs:PutLogEvents",
        f"{log_group_arn('airflow-other-Task')}:log-stream:x",
        DOC_SERVERLESS_ROLE,
        expect=Expect.DENIED,
    )
    context = {"kms:CallerAccount": ACCOUNT}
    for action in ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"):
        yield Call(
            f"workflow encryption: {action}", action, key, DOC_SERVERLESS_ROLE, context=context
        )
    yield Call(
        "use another key",
        "kms:Decrypt",
        OTHER_KEY,
        DOC_SERVERLESS_ROLE,
        context=context,
        expect=Expect.DENIED,
    )
    role = model.role(stack, EXECUTION_ROLE)
    yield from assume_role_calls(role.arn, SERVICE, DOC_SERVERLESS_ROLE)


def _definition_role(model: AppModel, stack: str) -> Iterator[Call]:
    key = str(_workflow(model, stack)["DefinitionS3Location"]["ObjectKey"])
    yield from deployment_calls(model, stack, [key], [], None)


DECLARATIONS: tuple[Declaration, ...] = (
    RoleCalls("mwaa-serverless", "workflow execution role", EXECUTION_ROLE, _execution_role),
    RoleCalls("mwaa-serverless", "definition upload function", DEPLOYMENT_ROLE, _definition_role),
)
