"""Run-time calls of the MWAA stack: the execution role, the source deployment function and
the source bucket's access logs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tests.iam.calls import OTHER_ACCOUNT, Call, Declaration, Expect, RoleCalls, ServiceCalls
from tests.iam.cfn import ACCOUNT, REGION
from tests.iam.declarations._common import (
    ARN,
    DOC_KMS_VIA,
    DOC_LOGS_ARNS,
    DOC_SAGEMAKER_DEPUTY,
    DOC_SNS_KMS,
    DOC_SSE_KMS,
    DOC_TLS,
    OTHER_BUCKET,
    RUN_TOKEN,
    JobScope,
    assume_role_calls,
    flow_definition_arn,
    foundation,
    human_review_calls,
    job_calls,
    log_group_arn,
    mlflow_secret_arn,
    other_account_call,
    pass_role_calls,
    tracking_calls,
)
from tests.iam.model import AppModel, Document, RoleSelector, Use

DOC_EXECUTION_ROLE = "https://docs.aws.amazon.com/mwaa/latest/userguide/mwaa-create-role.html"
DOC_MWAA_LOGS = "https://docs.aws.amazon.com/mwaa/latest/userguide/monitoring-airflow.html"
DOC_MWAA_DEPUTY = "https://docs.aws.amazon.com/mwaa/latest/userguide/cross-service-confused-deputy-prevention.html"
DOC_MWAA_ENCRYPTION = "https://docs.aws.amazon.com/mwaa/latest/userguide/encryption-at-rest.html"
DOC_LAMBDA_ROLE = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html"
DOC_LAMBDA_VPC = "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html"
DOC_COPY_OBJECT = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html"
DOC_DELETE_OBJECTS = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html"
DOC_LIST_OBJECTS = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html"
DOC_ACCESS_LOGS = (
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html"
)
EXECUTION_ROLE = RoleSelector(
    "airflow-env.amazonaws.com", Use("AWS::MWAA::Environment", "ExecutionRoleArn")
)
#: What the deployment function's description says (a stack may have other functions).
DEPLOYMENT_FUNCTION = "copies deployed files into a bucket"
DEPLOYMENT_ROLE = RoleSelector(
    "lambda.amazonaws.com", Use("AWS::Lambda::Function", "Role"), mentions=DEPLOYMENT_FUNCTION
)
#: The role the DAG's SageMaker jobs run as: named in the deployed DAG definition.
JOB_ROLE = RoleSelector("sagemaker.amazonaws.com", Use("Custom::MlpipesS3Deployment", "Body"))
DOC_AIRFLOW_SAGEMAKER = "https://airflow.apache.org/docs/apache-airflow-providers-amazon/stable/operators/sagemaker.html"
DOC_SNS_PUBLISH = "https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html"
#: The run token the DAG factory puts in names: 20 hex digits of the run id's SHA-256.
DAG_RUN_TOKEN = RUN_TOKEN[:20]
#: ``<operator>`` -> (request field of the name, resource type, noun of the actions).
_DAG_JOBS = {
    "processing": ("ProcessingJobName", "processing-job", "ProcessingJob"),
    "training": ("TrainingJobName", "training-job", "TrainingJob"),
    "transform": ("TransformJobName", "transform-job", "TransformJob"),
}
#: The account MWAA runs an environment's Celery queue in (owned by MWAA, not the customer).
MWAA_SERVICE_ACCOUNT = "111122223333"
#: What MWAA's queue allows: the environment's account (MWAA owns the queue and its policy).
MWAA_QUEUE_POLICY: Document = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "sqs:*",
            "Resource": "*",
        }
    ],
}
LOG_TYPES = ("DAGProcessing", "Scheduler", "Task", "WebServer", "Worker")
#: Another environment of the account whose name starts with this environment's name.
OTHER_ENVIRONMENT_SUFFIX = "-staging"
VIA_S3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com", "kms:CallerAccount": ACCOUNT}
VIA_SQS = {"kms:ViaService": f"sqs.{REGION}.amazonaws.com", "kms:CallerAccount": ACCOUNT}


def _environment(model: AppModel, stack: str) -> tuple[str, Document]:
    logical_id, props = model.only(stack, "AWS::MWAA::Environment")
    return model.arn(stack, logical_id), props


def _source_objects(props: Document) -> list[str]:
    """Object keys MWAA reads from the source bucket: the DAGs and each file it names."""
    keys = [f"{props['DagS3Path']}/health_check.py"]
    for prop in ("RequirementsS3Path", "PluginsS3Path", "StartupScriptS3Path"):
        if prop in props:
            keys.append(str(props[prop]))
    return keys


def _execution_role(model: AppModel, stack: str) -> Iterator[Call]:
    environment_arn, props = _environment(model, stack)
    name = str(props["Name"])
    bucket = str(props["SourceBucketArn"])
    key = str(props["KmsKey"])
    for object_key in _source_objects(props):
        for action in ("s3:GetObject", "s3:GetObjectVersion"):
            yield Call(
                f"read {object_key} ({action})",
                action,
                f"{bucket}/{object_key}",
                DOC_EXECUTION_ROLE,
            )
    dags = f"{props['DagS3Path']}/"
    yield Call(
        "list the DAG folder",
        "s3:ListBucket",
        bucket,
        DOC_EXECUTION_ROLE,
        context={"s3:prefix": dags},
    )
    for action in (
        "s3:GetBucketLocation",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetBucketVersioning",
        "s3:GetEncryptionConfiguration",
    ):
        yield Call(f"check the source bucket: {action}", action, bucket, DOC_EXECUTION_ROLE)
    yield Call(
        "check the account's public access block",
        "s3:GetAccountPublicAccessBlock",
        "*",
        DOC_EXECUTION_ROLE,
    )
    yield Call(
        "list the account's buckets",
        "s3:ListAllMyBuckets",
        "*",
        DOC_EXECUTION_ROLE,
        expect=Expect.DENIED,
    )
    yield Call(
        "read outside the environment's files",
        "s3:GetObject",
        f"{bucket}/private/credentials.json",
        DOC_EXECUTION_ROLE,
        expect=Expect.DENIED,
    )
    yield Call(
        "list outside the DAG folder",
        "s3:ListBucket",
        bucket,
        DOC_EXECUTION_ROLE,
        context={"s3:prefix": "private/"},
        expect=Expect.DENIED,
    )
    yield Call(
        "read another bucket's DAGs",
        "s3:GetObject",
        f"{OTHER_BUCKET}/{dags}health_check.py",
        DOC_EXECUTION_ROLE,
        expect=Expect.DENIED,
    )
    yield Call(
        "read the DAGs without TLS",
        "s3:GetObject",
        f"{bucket}/{dags}health_check.py",
        DOC_TLS,
        context={"aws:SecureTransport": "false"},
        expect=Expect.DENIED,
    )
    for action in ("kms:Decrypt", "kms:GenerateDataKey"):
        yield Call(f"source bucket encryption: {action}", action, key, DOC_SSE_KMS, context=VIA_S3)
        yield Call(
            f"Celery queue encryption: {action}", action, key, DOC_MWAA_ENCRYPTION, context=VIA_SQS
        )
    yield Call(
        "use the key directly, not through S3 or SQS",
        "kms:Decrypt",
        key,
        DOC_KMS_VIA,
        context={"kms:CallerAccount": ACCOUNT},
        expect=Expect.DENIED,
    )
    yield Call(
        "use the key through another service",
        "kms:Decrypt",
        key,
        DOC_KMS_VIA,
        context={
            "kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com",
            "kms:CallerAccount": ACCOUNT,
        },
        expect=Expect.DENIED,
    )
    yield from _log_calls(name)
    yield Call(
        "publish environment metrics", "airflow:PublishMetrics", environment_arn, DOC_EXECUTION_ROLE
    )
    yield Call(
        "publish metrics of another environment",
        "airflow:PublishMetrics",
        f"arn:aws:airflow:{ARN}:environment/other-environment",
        DOC_EXECUTION_ROLE,
        expect=Expect.DENIED,
    )
    metric = Call(
        "put AmazonMWAA metrics",
        "cloudwatch:PutMetricData",
        "*",
        DOC_EXECUTION_ROLE,
        context={"cloudwatch:namespace": "AmazonMWAA"},
    )
    yield metric
    yield metric.denied(
        "put metrics in another namespace", context={"cloudwatch:namespace": "AWS/EC2"}
    )
    yield from _queue_calls()
    yield from _dag_task_calls(model, stack, key)
    role = model.role(stack, EXECUTION_ROLE)
    yield from assume_role_calls(role.arn, "airflow-env.amazonaws.com", DOC_MWAA_DEPUTY)
    for call in assume_role_calls(role.arn, "airflow.amazonaws.com", DOC_MWAA_DEPUTY):
        if call.principal == "airflow.amazonaws.com":  # the other account's call is above
            yield call


def _dag_definition(model: AppModel, stack: str) -> dict[str, Any]:
    """The compiled DAG definition the stack deploys (a ``Content`` deployment)."""
    (body,) = [
        resource["Body"]
        for _, resource in model.resources(stack, "Custom::MlpipesS3Deployment")
        if resource.get("Kind") == "Content"
    ]
    definition: dict[str, Any] = json.loads(body)
    return definition


def _run_name(template: str) -> str:
    return template.replace("{{ mlpipes_run_token(run_id) }}", DAG_RUN_TOKEN)


def _dag_task_calls(model: AppModel, stack: str, key: str) -> Iterator[Call]:
    """What the DAG's tasks call as the execution role, task by task (the calls recorded
    under ``dag.test()`` in tests/integration/airflow), and what they must not."""
    definition = _dag_definition(model, stack)
    job_role_arn = ""
    for task in definition["tasks"]:
        operator, config = task["operator"], task.get("config", {})
        if operator in _DAG_JOBS:
            field, resource_type, noun = _DAG_JOBS[operator]
            name = _run_name(config[field])
            arn = f"arn:aws:sagemaker:{ARN}:{resource_type}/{name.lower()}"
            for verb in ("Create", "Describe", "Stop"):
                yield Call(
                    f"{verb}{noun} {name}", f"sagemaker:{verb}{noun}", arn, DOC_AIRFLOW_SAGEMAKER
                )
            if operator == "training":
                group = f"arn:aws:logs:{ARN}:log-group:/aws/sagemaker/TrainingJobs"
                yield Call(
                    f"read the log streams of {name}",
                    "logs:GetLogEvents",
                    f"{group}:log-stream:{name}/algo-1-1700000000",
                    DOC_AIRFLOW_SAGEMAKER,
                )
                yield Call(
                    "list the training jobs' log streams",
                    "logs:DescribeLogStreams",
                    group,
                    DOC_AIRFLOW_SAGEMAKER,
                )
            job_role_arn = str(config.get("RoleArn", job_role_arn))
        elif operator == "model":
            name = _run_name(config["ModelName"])
            arn = f"arn:aws:sagemaker:{ARN}:model/{name.lower()}"
            for action in ("sagemaker:CreateModel", "sagemaker:DescribeModel"):
                yield Call(f"{action} {name}", action, arn, DOC_AIRFLOW_SAGEMAKER)
        elif operator == "register_model":
            group = str(config["ModelPackageGroupName"])
            yield Call(
                f"register a version in {group}",
                "sagemaker:CreateModelPackage",
                f"arn:aws:sagemaker:{ARN}:model-package/{group.lower()}/1",
                DOC_AIRFLOW_SAGEMAKER,
            )
            yield Call(
                "register a version in another group",
                "sagemaker:CreateModelPackage",
                f"arn:aws:sagemaker:{ARN}:model-package/other-models/1",
                DOC_AIRFLOW_SAGEMAKER,
                expect=Expect.DENIED,
            )
        elif operator == "human_review":
            yield from human_review_calls(
                foundation(model), flow_definition_arn(model), task["human_loop_prefix"]
            )
        elif operator == "condition" and "json" in task["condition"]["left"]:
            operand = task["condition"]["left"]
            bucket, report = operand["json"]["uri"].removeprefix("s3://").split("/", 1)
            report = report.replace("{{ mlpipes_run_token(run_id) }}", DAG_RUN_TOKEN)
            read = Call(
                "read the evaluation report",
                "s3:GetObject",
                f"arn:aws:s3:::{bucket}/{report}",
                DOC_AIRFLOW_SAGEMAKER,
            )
            yield read
            yield read.denied(
                "read outside the pipeline's folder",
                resource=f"arn:aws:s3:::{bucket}/private/salaries.csv",
            )
            yield Call(
                "check the inputs exist (HeadBucket, ListObjectsV2)",
                "s3:ListBucket",
                f"arn:aws:s3:::{bucket}",
                DOC_AIRFLOW_SAGEMAKER,
            )
            yield Call(
                "decrypt the report",
                "kms:Decrypt",
                foundation(model).key_arn,
                DOC_SSE_KMS,
                context=VIA_S3,
            )
    yield Call(
        "create a job of another pipeline",
        "sagemaker:CreateTrainingJob",
        f"arn:aws:sagemaker:{ARN}:training-job/other-pipeline-{DAG_RUN_TOKEN}",
        DOC_AIRFLOW_SAGEMAKER,
        expect=Expect.DENIED,
    )
    yield from pass_role_calls(job_role_arn, DOC_AIRFLOW_SAGEMAKER)
    topic = str(definition["notification_topic_arn"])
    yield Call("publish a failed DAG run", "sns:Publish", topic, DOC_SNS_PUBLISH)
    yield Call(
        "publish to another topic",
        "sns:Publish",
        f"arn:aws:sns:{ARN}:someone-elses-topic",
        DOC_SNS_PUBLISH,
        expect=Expect.DENIED,
    )
    via_sns = {"kms:ViaService": f"sns.{REGION}.amazonaws.com", "kms:CallerAccount": ACCOUNT}
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        yield Call(
            f"encrypt the notification ({action})",
            action,
            foundation(model).key_arn,
            DOC_SNS_KMS,
            context=via_sns,
        )


def _job_role(model: AppModel, stack: str) -> Iterator[Call]:
    yield from tracking_calls(mlflow_secret_arn(model))
    definition = _dag_definition(model, stack)
    (preprocess,) = [t for t in definition["tasks"] if t["task_id"] == "Preprocess"]
    security_groups = tuple(preprocess["config"]["NetworkConfig"]["VpcConfig"]["SecurityGroupIds"])
    yield from job_calls(
        model,
        JobScope(
            read_prefix="data/reviews/part-0000.csv",
            write_prefix=(
                f"pipelines/mlpipes-review-classifier/{DAG_RUN_TOKEN}/Train/output/model.tar.gz"
            ),
            outside_prefix="private/salaries.csv",
            job_name=_run_name(preprocess["config"]["ProcessingJobName"]),
            security_groups=security_groups,
        ),
    )
    role = model.role(stack, JOB_ROLE)
    yield from assume_role_calls(role.arn, "sagemaker.amazonaws.com", DOC_SAGEMAKER_DEPUTY)


def _log_calls(name: str) -> Iterator[Call]:
    """What the environment's components write and the web server reads, per log type."""
    for log_type in LOG_TYPES:
        group = log_group_arn(f"airflow-{name}-{log_type}")
        stream = f"{group}:log-stream:dag_id=health_check/run_id=manual/task_id=ping/attempt=1.log"
        yield Call(
            f"create {log_type} log group",
            "logs:CreateLogGroup",
            f"{group}:log-stream:",
            DOC_LOGS_ARNS,
        )
        for action in ("logs:CreateLogStream", "logs:PutLogEvents", "logs:GetLogEvents"):
            yield Call(f"{log_type} logs: {action}", action, stream, DOC_MWAA_LOGS)
    yield Call("describe log groups", "logs:DescribeLogGroups", "*", DOC_EXECUTION_ROLE)
    other = log_group_arn(f"airflow-{name}{OTHER_ENVIRONMENT_SUFFIX}-Task")
    yield Call(
        "write the task logs of another environment whose name starts with this one's",
        "logs:PutLogEvents",
        f"{other}:log-stream:dag_id=x/run_id=y/task_id=z/attempt=1.log",
        DOC_MWAA_LOGS,
        expect=Expect.DENIED,
    )
    yield Call(
        "read the task logs of another environment",
        "logs:GetLogEvents",
        f"{log_group_arn('airflow-other-environment-Task')}:log-stream:x",
        DOC_MWAA_LOGS,
        expect=Expect.DENIED,
    )
    yield Call(
        "create a log group outside the environment's",
        "logs:CreateLogGroup",
        f"{log_group_arn('/other/application')}:log-stream:",
        DOC_LOGS_ARNS,
        expect=Expect.DENIED,
    )


def _queue_calls() -> Iterator[Call]:
    """The Celery executor's queue, in an account MWAA owns (so the ARN's account is ``*``)."""
    queue = f"arn:aws:sqs:{REGION}:{MWAA_SERVICE_ACCOUNT}:airflow-celery-0a1b2c3d-4e5f"
    for action in (
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sqs:ReceiveMessage",
        "sqs:SendMessage",
    ):
        yield Call(
            f"Celery queue: {action}",
            action,
            queue,
            DOC_EXECUTION_ROLE,
            resource_policy=MWAA_QUEUE_POLICY,
        )
    yield Call(
        "send to another queue of the account",
        "sqs:SendMessage",
        f"arn:aws:sqs:{ARN}:orders",
        DOC_EXECUTION_ROLE,
        expect=Expect.DENIED,
    )
    yield Call(
        "send to a Celery queue of another region",
        "sqs:SendMessage",
        f"arn:aws:sqs:eu-west-1:{MWAA_SERVICE_ACCOUNT}:airflow-celery-0a1b2c3d-4e5f",
        DOC_EXECUTION_ROLE,
        expect=Expect.DENIED,
        resource_policy=MWAA_QUEUE_POLICY,
    )


# -- the source deployment function (shared with the MWAA Serverless stack) ---------------------


def deployment_calls(
    model: AppModel, stack: str, writes: list[str], reads: list[str], folder: str | None
) -> Iterator[Call]:
    """What the deployment handler calls: read each asset, write each key (or the folder's
    files, removing stale ones), with the destination bucket's key, its logs and network."""
    role = model.role(stack, DEPLOYMENT_ROLE)
    _, resource = next(iter(model.resources(stack, "Custom::MlpipesS3Deployment")))
    bucket = f"arn:aws:s3:::{resource['DestinationBucket']}"
    key = foundation(model).key_arn
    for asset in reads:
        yield Call(
            f"read the asset {asset.rsplit('/', 1)[1]}", "s3:GetObject", asset, DOC_COPY_OBJECT
        )
    for object_key in writes:
        yield Call(f"write {object_key}", "s3:PutObject", f"{bucket}/{object_key}", DOC_COPY_OBJECT)
    if folder is not None:
        yield Call(
            "remove a stale file of the folder",
            "s3:DeleteObject",
            f"{bucket}/{folder}removed.py",
            DOC_DELETE_OBJECTS,
        )
        yield Call(
            "list the folder",
            "s3:ListBucket",
            bucket,
            DOC_LIST_OBJECTS,
            context={"s3:prefix": folder},
        )
        yield Call(
            "list outside the folder",
            "s3:ListBucket",
            bucket,
            DOC_LIST_OBJECTS,
            context={"s3:prefix": "private/"},
            expect=Expect.DENIED,
        )
    yield Call(
        "write outside the deployed keys",
        "s3:PutObject",
        f"{bucket}/private/overwrite.txt",
        DOC_COPY_OBJECT,
        expect=Expect.DENIED,
    )
    yield Call(
        "delete outside the deployed keys",
        "s3:DeleteObject",
        f"{bucket}/private/data.csv",
        DOC_DELETE_OBJECTS,
        expect=Expect.DENIED,
    )
    yield Call(
        "read another asset",
        "s3:GetObject",
        f"arn:aws:s3:::cdk-hnb659fds-assets-{ACCOUNT}-{REGION}/0000another0asset.zip",
        DOC_COPY_OBJECT,
        expect=Expect.DENIED,
    )
    yield Call(
        "encrypt the written objects",
        "kms:GenerateDataKey",
        key,
        DOC_SSE_KMS,
        context=VIA_S3,
    )
    yield Call(
        "use the key directly, not through S3",
        "kms:Decrypt",
        key,
        DOC_KMS_VIA,
        context={"kms:CallerAccount": ACCOUNT},
        expect=Expect.DENIED,
    )
    (function,) = [
        function
        for _, function in model.resources(stack, "AWS::Lambda::Function")
        if DEPLOYMENT_FUNCTION in str(function.get("Description", ""))
    ]
    group = log_group_arn(str(function["LoggingConfig"]["LogGroup"]))
    stream = f"{group}:log-stream:2025/01/01/[$LATEST]0123456789abcdef"
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        yield Call(f"handler logs: {action}", action, stream, DOC_LAMBDA_ROLE)
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
    yield Call(
        "lambda.amazonaws.com assumes the role",
        "sts:AssumeRole",
        role.arn,
        DOC_LAMBDA_ROLE,
        principal="lambda.amazonaws.com",
    )


def _deployment_role(model: AppModel, stack: str) -> Iterator[Call]:
    _, props = _environment(model, stack)
    reads = [
        f"arn:aws:s3:::{resource['SourceBucket']}/{resource['SourceKey']}"
        for _, resource in model.resources(stack, "Custom::MlpipesS3Deployment")
        if "SourceKey" in resource
    ]
    dags = f"{props['DagS3Path']}/"
    writes = [key for key in _source_objects(props) if not key.startswith(dags)]
    pipeline_files = [
        str(resource["DestinationKey"])
        for _, resource in model.resources(stack, "Custom::MlpipesS3Deployment")
        if resource.get("RemoveOnDelete") == "true"
    ]
    yield from deployment_calls(
        model, stack, [f"{dags}health_check.py", *writes, *pipeline_files], reads, dags
    )
    bucket = str(props["SourceBucketArn"])
    for key in pipeline_files:
        yield Call(
            f"remove {key} when the pipeline leaves the stack",
            "s3:DeleteObject",
            f"{bucket}/{key}",
            DOC_DELETE_OBJECTS,
        )


# -- resource policies ---------------------------------------------------------------------------


def _access_logs(model: AppModel, stack: str) -> Iterator[Call]:
    source_id, source = model.only(stack, "AWS::S3::Bucket", lambda p: "LoggingConfiguration" in p)
    logging = source["LoggingConfiguration"]
    source_arn = f"arn:aws:s3:::{model.ref(stack, source_id)}"
    log_object = (
        f"arn:aws:s3:::{logging['DestinationBucketName']}/"
        f"{logging.get('LogFilePrefix', '')}2025-01-01-00-00-00-ABCDEF"
    )
    context = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": source_arn}
    call = Call(
        "deliver the source bucket's access logs",
        "s3:PutObject",
        log_object,
        DOC_ACCESS_LOGS,
        context=context,
    )
    yield call
    yield call.denied(
        "deliver access logs of another bucket", context={**context, "aws:SourceArn": OTHER_BUCKET}
    )
    yield call.denied(
        "deliver access logs for another account",
        context={**context, "aws:SourceAccount": OTHER_ACCOUNT},
    )
    yield other_account_call("s3:GetObject", log_object, DOC_ACCESS_LOGS)


DECLARATIONS: tuple[Declaration, ...] = (
    RoleCalls("mwaa", "execution role", EXECUTION_ROLE, _execution_role),
    RoleCalls("mwaa", "source deployment function", DEPLOYMENT_ROLE, _deployment_role),
    RoleCalls("mwaa", "SageMaker job role", JOB_ROLE, _job_role),
    ServiceCalls("mwaa", "source bucket access logs", "logging.s3.amazonaws.com", _access_logs),
)
