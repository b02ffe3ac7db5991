"""Run-time calls of the MWAA Serverless stack: the workflow's role (its tasks included), the
definition upload, the condition gate and the SageMaker job role."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import yaml

from mlpipes_constructs.airflow.serverless_compiler import SERVERLESS_RUN_TOKEN
from tests.iam.calls import Call, Declaration, Expect, RoleCalls
from tests.iam.cfn import ACCOUNT
from tests.iam.declarations._common import (
    ARN,
    DOC_SAGEMAKER_DEPUTY,
    DOC_SSE_KMS,
    OTHER_BUCKET,
    OTHER_KEY,
    JobScope,
    assume_role_calls,
    foundation,
    job_calls,
    log_group_arn,
    pass_role_calls,
)
from tests.iam.declarations.mwaa import (
    DEPLOYMENT_ROLE,
    DOC_LAMBDA_ROLE,
    DOC_LAMBDA_VPC,
    JOB_ROLE,
    VIA_S3,
    deployment_calls,
)
from tests.iam.model import AppModel, Document, RoleSelector, Use

DOC_SERVERLESS_ROLE = (
    "https://docs.aws.amazon.com/mwaa/latest/mwaa-serverless-userguide/security-iam.html"
)
DOC_WORKFLOW = (
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
    "aws-resource-mwaaserverless-workflow.html"
)
DOC_SAGEMAKER_OPS = "https://airflow.apache.org/docs/apache-airflow-providers-amazon/stable/operators/sagemaker.html"
DOC_LAMBDA_OP = (
    "https://airflow.apache.org/docs/apache-airflow-providers-amazon/stable/operators/lambda.html"
)
DOC_GATE = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html"
SERVICE = "airflow-serverless.amazonaws.com"
EXECUTION_ROLE = RoleSelector(SERVICE, Use("AWS::MWAAServerless::Workflow", "RoleArn"))
#: What the gate function's description says.
GATE_FUNCTION = "evaluates a pipeline condition"
GATE_ROLE = RoleSelector(
    "lambda.amazonaws.com", Use("AWS::Lambda::Function", "Role"), mentions=GATE_FUNCTION
)
#: The run token the compiled workflow puts in names (the UUID 5 of a run id, 20 hex digits).
WORKFLOW_RUN_TOKEN = uuid.uuid5(uuid.NAMESPACE_URL, "scheduled__2026-12-01T06:00:00+00:00").hex[:20]
TOKEN_TEMPLATE = "{{ " + SERVERLESS_RUN_TOKEN + " }}"
#: ``<operator class>`` -> (request field of the name, resource type, noun of the actions).
_JOBS = {
    "SageMakerProcessingOperator": ("ProcessingJobName", "processing-job", "ProcessingJob"),
    "SageMakerTrainingOperator": ("TrainingJobName", "training-job", "TrainingJob"),
    "SageMakerTransformOperator": ("TransformJobName", "transform-job", "TransformJob"),
}


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
    group = log_group_arn(str(props["LoggingConfiguration"]["LogGroupName"]))
    stream = f"{group}:log-stream:dag_id=p/run_id=scheduled/task_id=Preprocess/attempt=1.log"
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
    yield from _task_calls(model, stack)
    role = model.role(stack, EXECUTION_ROLE)
    yield from assume_role_calls(role.arn, SERVICE, DOC_SERVERLESS_ROLE)


def _workflow_tasks(model: AppModel, stack: str) -> dict[str, Any]:
    """The tasks of the uploaded workflow definition (a ``Content`` deployment's YAML)."""
    (body,) = [
        resource["Body"]
        for _, resource in model.resources(stack, "Custom::MlpipesS3Deployment")
        if resource.get("Kind") == "Content"
    ]
    definition = yaml.safe_load(body)
    (dag,) = definition.values()
    tasks: dict[str, Any] = dag["tasks"]
    return tasks


def _run_name(template: str) -> str:
    return template.replace(TOKEN_TEMPLATE, WORKFLOW_RUN_TOKEN)


def _task_calls(model: AppModel, stack: str) -> Iterator[Call]:
    """What the workflow's tasks call as its role, task by task, and what they must not."""
    job_role_arn = ""
    gate_arn = ""
    for task_id, task in _workflow_tasks(model, stack).items():
        kind = task["operator"].rsplit(".", 1)[1]
        config = task.get("config", {})
        if kind in _JOBS:
            field, resource_type, noun = _JOBS[kind]
            name = _run_name(config[field])
            arn = f"arn:aws:sagemaker:{ARN}:{resource_type}/{name.lower()}"
            for verb in ("Create", "Describe", "Stop"):
                yield Call(
                    f"{verb}{noun} {name}", f"sagemaker:{verb}{noun}", arn, DOC_SAGEMAKER_OPS
                )
            if kind == "SageMakerTrainingOperator":
                group = f"arn:aws:logs:{ARN}:log-group:/aws/sagemaker/TrainingJobs"
                yield Call(
                    f"read the log streams of {name}",
                    "logs:GetLogEvents",
                    f"{group}:log-stream:{name}/algo-1-1700000000",
                    DOC_SAGEMAKER_OPS,
                )
            job_role_arn = str(config.get("RoleArn", job_role_arn))
        elif kind == "SageMakerModelOperator":
            name = _run_name(config["ModelName"])
            arn = f"arn:aws:sagemaker:{ARN}:model/{name.lower()}"
            for action in ("sagemaker:CreateModel", "sagemaker:DescribeModel"):
                yield Call(f"{action} {name}", action, arn, DOC_SAGEMAKER_OPS)
        elif kind == "LambdaInvokeFunctionOperator":
            gate_arn = str(task["function_name"])
            yield Call(
                f"invoke the gate of {task_id}", "lambda:InvokeFunction", gate_arn, DOC_LAMBDA_OP
            )
    assert gate_arn and job_role_arn
    yield Call(
        "invoke another function",
        "lambda:InvokeFunction",
        f"arn:aws:lambda:{ARN}:function:other-function",
        DOC_LAMBDA_OP,
        expect=Expect.DENIED,
    )
    yield Call(
        "create a job of another pipeline",
        "sagemaker:CreateTrainingJob",
        f"arn:aws:sagemaker:{ARN}:training-job/other-pipeline-{WORKFLOW_RUN_TOKEN}",
        DOC_SAGEMAKER_OPS,
        expect=Expect.DENIED,
    )
    yield Call(
        "register a model version (the workflow registers none)",
        "sagemaker:CreateModelPackage",
        f"arn:aws:sagemaker:{ARN}:model-package/mlpipes-review-classifier-serverless/1",
        DOC_SAGEMAKER_OPS,
        expect=Expect.DENIED,
    )
    shared = foundation(model)
    folder = f"{shared.bucket_arn}/pipelines/mlpipes-review-classifier/{WORKFLOW_RUN_TOKEN}"
    check = Call(
        "check an input exists (HeadObject)",
        "s3:GetObject",
        f"{folder}/Preprocess/output/train/train.csv",
        DOC_SAGEMAKER_OPS,
    )
    yield check
    yield check.denied(
        "read outside the pipeline's folder", resource=f"{shared.bucket_arn}/private/salaries.csv"
    )
    yield Call(
        "check the inputs exist (HeadBucket, ListObjectsV2)",
        "s3:ListBucket",
        shared.bucket_arn,
        DOC_SAGEMAKER_OPS,
    )
    yield from pass_role_calls(job_role_arn, DOC_SAGEMAKER_OPS)


def _gate_role(model: AppModel, stack: str) -> Iterator[Call]:
    """What the condition gate calls: read the run's evaluation report, its logs, its network."""
    shared = foundation(model)
    folder = f"{shared.bucket_arn}/pipelines/mlpipes-review-classifier/{WORKFLOW_RUN_TOKEN}"
    read = Call(
        "read the evaluation report",
        "s3:GetObject",
        f"{folder}/Evaluate/output/evaluation/evaluation.json",
        DOC_GATE,
    )
    yield read
    yield read.denied(
        "read outside the pipeline's folder", resource=f"{shared.bucket_arn}/data/reviews/a.csv"
    )
    yield read.denied("read another bucket", resource=f"{OTHER_BUCKET}/evaluation.json")
    yield Call("decrypt the report", "kms:Decrypt", shared.key_arn, DOC_SSE_KMS, context=VIA_S3)
    yield Call(
        "use the key directly, not through S3",
        "kms:Decrypt",
        shared.key_arn,
        DOC_SSE_KMS,
        context={"kms:CallerAccount": ACCOUNT},
        expect=Expect.DENIED,
    )
    yield Call(
        "write a report",
        "s3:PutObject",
        f"{folder}/Evaluate/output/evaluation/evaluation.json",
        DOC_GATE,
        expect=Expect.DENIED,
    )
    (function,) = [
        function
        for _, function in model.resources(stack, "AWS::Lambda::Function")
        if GATE_FUNCTION in str(function.get("Description", ""))
    ]
    group = log_group_arn(str(function["LoggingConfig"]["LogGroup"]))
    stream = f"{group}:log-stream:2025/01/01/[$LATEST]0123456789abcdef"
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        yield Call(f"gate logs: {action}", action, stream, DOC_LAMBDA_ROLE)
    yield Call(
        "write another log group",
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
    role = model.role(stack, GATE_ROLE)
    yield Call(
        "lambda.amazonaws.com assumes the role",
        "sts:AssumeRole",
        role.arn,
        DOC_LAMBDA_ROLE,
        principal="lambda.amazonaws.com",
    )


def _job_role(model: AppModel, stack: str) -> Iterator[Call]:
    preprocess = _workflow_tasks(model, stack)["Preprocess"]["config"]
    security_groups = tuple(preprocess["NetworkConfig"]["VpcConfig"]["SecurityGroupIds"])
    yield from job_calls(
        model,
        JobScope(
            read_prefix="data/reviews/part-0000.csv",
            write_prefix=(
                f"pipelines/mlpipes-review-classifier/{WORKFLOW_RUN_TOKEN}/Train/output/model.tar.gz"
            ),
            outside_prefix="private/salaries.csv",
            job_name=_run_name(preprocess["ProcessingJobName"]),
            security_groups=security_groups,
        ),
    )
    role = model.role(stack, JOB_ROLE)
    yield from assume_role_calls(role.arn, "sagemaker.amazonaws.com", DOC_SAGEMAKER_DEPUTY)


def _definition_role(model: AppModel, stack: str) -> Iterator[Call]:
    key = str(_workflow(model, stack)["DefinitionS3Location"]["ObjectKey"])
    yield from deployment_calls(model, stack, [key], [], None)


DECLARATIONS: tuple[Declaration, ...] = (
    RoleCalls("mwaa-serverless", "workflow execution role", EXECUTION_ROLE, _execution_role),
    RoleCalls("mwaa-serverless", "definition upload function", DEPLOYMENT_ROLE, _definition_role),
    RoleCalls("mwaa-serverless", "condition gate function", GATE_ROLE, _gate_role),
    RoleCalls("mwaa-serverless", "SageMaker job role", JOB_ROLE, _job_role),
)
