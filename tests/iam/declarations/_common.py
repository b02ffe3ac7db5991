"""Call builders shared by the stacks' declarations: SageMaker jobs, orchestrators, services."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from tests.iam.calls import OTHER_ACCOUNT, OTHER_ACCOUNT_ROLE, Call, Expect
from tests.iam.cfn import ACCOUNT, REGION
from tests.iam.model import AppModel, Document

ARN = f"{REGION}:{ACCOUNT}"
OTHER_BUCKET = "arn:aws:s3:::someone-elses-bucket"
OTHER_KEY = f"arn:aws:kms:{ARN}:key/00000000-1111-2222-3333-444444444444"
OTHER_VPC = f"arn:aws:ec2:{ARN}:vpc/vpc-0another0vpc0000"

DOC_EXECUTION_ROLE = "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html"
DOC_JOB_VPC = "https://docs.aws.amazon.com/sagemaker/latest/dg/process-vpc.html"
DOC_EC2_SAR = (
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html"
)
DOC_ECR_PULL = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-pull.html"
DOC_SSE_KMS = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html"
DOC_BUCKET_KEY = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html"
DOC_METRICS = "https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html"
DOC_JOB_LOGS = "https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html"
DOC_LOGS_ARNS = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/iam-access-control-overview-cwl.html"
)
DOC_SFN_SAGEMAKER = "https://docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html"
DOC_SFN_LOGS = "https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html"
DOC_SFN_ROLE = "https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html"
DOC_PIPELINES = "https://docs.aws.amazon.com/sagemaker/latest/dg/build-and-manage-access.html"
DOC_PASS_ROLE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html"
DOC_CONFUSED_DEPUTY = "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html"
DOC_SAGEMAKER_DEPUTY = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/security-confused-deputy-prevention.html"
)
DOC_EVENTS_DEPUTY = (
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/"
    "cross-service-confused-deputy-prevention.html"
)
DOC_EVENTS_SNS = (
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html"
    "#eb-sns-permissions"
)
DOC_SNS_KMS = (
    "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html"
    "#compatibility-with-aws-services"
)
DOC_LOGS_KMS = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html"
DOC_KMS_VIA = (
    "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html"
    "#conditions-kms-via-service"
)
DOC_TLS = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html"

#: What an AWS-owned framework image repository allows: pulls from any account.
AWS_OWNED_REPOSITORY_POLICY: Document = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": [
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
            ],
            "Resource": "*",
        }
    ],
}
#: A SageMaker Pipelines execution id and a Step Functions run token, as they look at run time.
EXECUTION_ID = "a1b2c3d4e5f6"
RUN_TOKEN = "0a1b2c3d4e5f60718293a4b5"


@dataclass(frozen=True)
class Foundation:
    """What the workload stacks share, found in the foundation stack by type and settings."""

    bucket: str
    bucket_arn: str
    log_bucket: str
    key_arn: str
    vpc_id: str
    vpc_arn: str
    subnet_ids: tuple[str, ...]
    flow_log_group: str


def foundation(model: AppModel) -> Foundation:
    """The artifact bucket (KMS-encrypted), log bucket (SSE-S3), key, VPC, private subnets."""

    def encryption(props: Document) -> str:
        rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        return str(rules[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"]) if rules else ""

    bucket_id, _ = model.only("foundation", "AWS::S3::Bucket", lambda p: encryption(p) == "aws:kms")
    log_id, _ = model.only("foundation", "AWS::S3::Bucket", lambda p: encryption(p) == "AES256")
    key_id, _ = model.only("foundation", "AWS::KMS::Key")
    vpc_id, _ = model.only("foundation", "AWS::EC2::VPC")
    _, flow_log = model.only("foundation", "AWS::EC2::FlowLog")
    subnets = tuple(
        model.ref("foundation", logical_id)
        for logical_id, props in model.resources("foundation", "AWS::EC2::Subnet")
        if {"Key": "aws-cdk:subnet-name", "Value": "Private"} in props.get("Tags", [])
    )
    bucket = model.ref("foundation", bucket_id)
    vpc = model.ref("foundation", vpc_id)
    return Foundation(
        bucket=bucket,
        bucket_arn=f"arn:aws:s3:::{bucket}",
        log_bucket=model.ref("foundation", log_id),
        key_arn=model.arn("foundation", key_id),
        vpc_id=vpc,
        vpc_arn=f"arn:aws:ec2:{ARN}:vpc/{vpc}",
        subnet_ids=subnets,
        flow_log_group=str(flow_log["LogGroupName"]),
    )


def log_group_arn(name: str) -> str:
    return f"arn:aws:logs:{ARN}:log-group:{name}"


# -- SageMaker jobs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobScope:
    """What one job role's jobs touch.

    Args:
        read_prefix: an object key the jobs read (under a read prefix).
        write_prefix: an object key the jobs write (under a write prefix).
        outside_prefix: an object key of the artifact bucket outside the jobs' prefixes.
        job_name: the name of a job, as the orchestrator names it.
        other_job_name: a job name outside the role's scope, when it has one.
        security_groups: the security groups of the jobs (and endpoints), in the foundation
            VPC.
        log_groups: the job log groups the role's jobs write to.
    """

    read_prefix: str
    write_prefix: str
    outside_prefix: str
    job_name: str
    security_groups: tuple[str, ...]
    log_groups: tuple[str, ...] = (
        "/aws/sagemaker/ProcessingJobs",
        "/aws/sagemaker/TrainingJobs",
        "/aws/sagemaker/TransformJobs",
    )
    other_job_name: str | None = None


def job_network_calls(shared: Foundation, security_groups: Sequence[str]) -> Iterator[Call]:
    """The ENI and ec2:Describe* calls SageMaker makes to place a job in the VPC."""
    subnet = shared.subnet_ids[0]
    eni_facts = {"ec2:Vpc": shared.vpc_arn, "ec2:Subnet": f"arn:aws:ec2:{ARN}:subnet/{subnet}"}
    create = Call(
        "create the job's network interface (the new interface)",
        "ec2:CreateNetworkInterface",
        f"arn:aws:ec2:{ARN}:network-interface/*",
        DOC_EC2_SAR,
        # The interface does not exist yet: AWS puts no ec2:Vpc into its part of the request.
        context={**eni_facts, "ec2:Region": REGION},
    )
    yield create
    subnet_call = Call(
        "create the job's network interface (its subnet)",
        "ec2:CreateNetworkInterface",
        f"arn:aws:ec2:{ARN}:subnet/{subnet}",
        DOC_EC2_SAR,
        context={"ec2:Vpc": shared.vpc_arn, "ec2:SubnetID": subnet, "ec2:Region": REGION},
    )
    yield subnet_call
    yield subnet_call.denied(
        "create a network interface in a subnet of another VPC",
        resource=f"arn:aws:ec2:{ARN}:subnet/subnet-0other0vpc0000000",
        context={"ec2:Vpc": OTHER_VPC, "ec2:Region": REGION},
    )
    for security_group in security_groups:
        group_call = Call(
            f"create the job's network interface (security group {security_group})",
            "ec2:CreateNetworkInterface",
            f"arn:aws:ec2:{ARN}:security-group/{security_group}",
            DOC_EC2_SAR,
            context={
                "ec2:Vpc": shared.vpc_arn,
                "ec2:SecurityGroupID": security_group,
                "ec2:Region": REGION,
            },
        )
        yield group_call
    yield group_call.denied(
        "create a network interface with a security group of another VPC",
        resource=f"arn:aws:ec2:{ARN}:security-group/sg-0other0vpc0000000",
        context={"ec2:Vpc": OTHER_VPC, "ec2:Region": REGION},
    )
    interface = f"arn:aws:ec2:{ARN}:network-interface/eni-0123456789abcdef0"
    for action in (
        "ec2:CreateNetworkInterfacePermission",
        "ec2:DeleteNetworkInterface",
        "ec2:DeleteNetworkInterfacePermission",
    ):
        call = Call(
            f"{action.split(':')[1]} on the job's interface",
            action,
            interface,
            DOC_JOB_VPC,
            context={**eni_facts, "ec2:Region": REGION},
        )
        yield call
        if action == "ec2:DeleteNetworkInterface":
            yield call.denied(
                "delete a network interface of another VPC",
                context={"ec2:Vpc": OTHER_VPC, "ec2:Region": REGION},
            )
    for action in (
        "ec2:DescribeDhcpOptions",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
    ):
        yield Call(action.split(":")[1], action, "*", DOC_JOB_VPC)


def job_calls(model: AppModel, scope: JobScope) -> Iterator[Call]:
    """What a SageMaker processing, training or transform job does as its execution role."""
    shared = foundation(model)
    yield from job_network_calls(shared, scope.security_groups)
    yield Call("get an ECR token", "ecr:GetAuthorizationToken", "*", DOC_EXECUTION_ROLE)
    registry = "683313688378"  # AWS's SageMaker framework images in us-east-1
    for repository in ("sagemaker-scikit-learn", "sagemaker-xgboost"):
        for action in (
            "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchGetImage",
        ):
            yield Call(
                f"pull {repository} ({action.split(':')[1]})",
                action,
                f"arn:aws:ecr:{REGION}:{registry}:repository/{repository}",
                DOC_ECR_PULL,
                resource_policy=AWS_OWNED_REPOSITORY_POLICY,
            )
    yield Call(
        "pull from a repository of another account",
        "ecr:BatchGetImage",
        f"arn:aws:ecr:{REGION}:{OTHER_ACCOUNT}:repository/any-image",
        DOC_ECR_PULL,
        expect=Expect.DENIED,
        resource_policy=AWS_OWNED_REPOSITORY_POLICY,
    )
    yield from s3_kms_calls(shared, scope)
    yield Call(
        "create a grant for the ML storage volumes",
        "kms:CreateGrant",
        shared.key_arn,
        DOC_EXECUTION_ROLE,
        context={
            "kms:GrantIsForAWSResource": "true",
            "kms:ViaService": f"sagemaker.{REGION}.amazonaws.com",
            "kms:CallerAccount": ACCOUNT,
        },
    )
    yield Call(
        "create a grant outside an AWS service",
        "kms:CreateGrant",
        shared.key_arn,
        DOC_EXECUTION_ROLE,
        context={"kms:GrantIsForAWSResource": "false", "kms:CallerAccount": ACCOUNT},
        expect=Expect.DENIED,
    )
    for namespace in ("/aws/sagemaker/ProcessingJobs", "/aws/sagemaker/TrainingJobs"):
        yield Call(
            f"put metrics in {namespace}",
            "cloudwatch:PutMetricData",
            "*",
            DOC_METRICS,
            context={"cloudwatch:namespace": namespace},
        )
    yield Call(
        "put metrics in another namespace",
        "cloudwatch:PutMetricData",
        "*",
        DOC_METRICS,
        context={"cloudwatch:namespace": "AWS/EC2"},
        expect=Expect.DENIED,
    )
    yield from job_log_calls(scope.log_groups, scope.job_name, scope.other_job_name)


def s3_kms_calls(shared: Foundation, scope: JobScope) -> Iterator[Call]:
    """Objects under the role's prefixes, through the bucket's SSE-KMS key (with bucket keys)."""
    via_s3 = {
        "kms:ViaService": f"s3.{REGION}.amazonaws.com",
        "kms:CallerAccount": ACCOUNT,
        # With S3 bucket keys, the encryption context is the bucket ARN.
        "kms:EncryptionContext:aws:s3:arn": shared.bucket_arn,
    }
    read = Call(
        "read an input object",
        "s3:GetObject",
        f"{shared.bucket_arn}/{scope.read_prefix}",
        DOC_EXECUTION_ROLE,
    )
    yield read
    yield read.denied(
        "read outside the role's prefixes", resource=f"{shared.bucket_arn}/{scope.outside_prefix}"
    )
    yield read.denied("read another bucket", resource=f"{OTHER_BUCKET}/{scope.read_prefix}")
    yield read.denied("read without TLS", context={"aws:SecureTransport": "false"})
    folder = scope.read_prefix.rsplit("/", 1)[0] + "/"
    yield Call(
        "list the input prefix",
        "s3:ListBucket",
        shared.bucket_arn,
        DOC_EXECUTION_ROLE,
        context={"s3:prefix": folder},
    )
    yield Call(
        "list another prefix",
        "s3:ListBucket",
        shared.bucket_arn,
        DOC_EXECUTION_ROLE,
        context={"s3:prefix": scope.outside_prefix},
        expect=Expect.DENIED,
    )
    yield Call("locate the bucket", "s3:GetBucketLocation", shared.bucket_arn, DOC_EXECUTION_ROLE)
    write = Call(
        "write an output object",
        "s3:PutObject",
        f"{shared.bucket_arn}/{scope.write_prefix}",
        DOC_EXECUTION_ROLE,
        context={"s3:x-amz-server-side-encryption": "aws:kms"},
    )
    yield write
    yield Call(
        "abort a multipart upload of an output",
        "s3:AbortMultipartUpload",
        f"{shared.bucket_arn}/{scope.write_prefix}",
        DOC_EXECUTION_ROLE,
    )
    yield write.denied(
        "write under a read-only prefix", resource=f"{shared.bucket_arn}/{scope.read_prefix}"
    )
    yield Call(
        "delete an artifact",
        "s3:DeleteObject",
        f"{shared.bucket_arn}/{scope.write_prefix}",
        DOC_EXECUTION_ROLE,
        expect=Expect.DENIED,
    )
    yield Call(
        "decrypt an input object", "kms:Decrypt", shared.key_arn, DOC_SSE_KMS, context=via_s3
    )
    yield Call(
        "encrypt an output object",
        "kms:GenerateDataKey",
        shared.key_arn,
        DOC_BUCKET_KEY,
        context=via_s3,
    )
    yield Call(
        "decrypt with a key that is not the platform's",
        "kms:Decrypt",
        OTHER_KEY,
        DOC_SSE_KMS,
        context=via_s3,
        expect=Expect.DENIED,
    )


def job_log_calls(
    groups: Sequence[str], job_name: str, other_job_name: str | None, outside: bool = True
) -> Iterator[Call]:
    """CloudWatch Logs calls of a job. ``CreateLogGroup`` and ``DescribeLogStreams`` are
    authorized on ``log-group:NAME:log-stream:`` (an empty stream name), so only a resource
    ending in ``:*`` matches them."""
    for group in groups:
        short = group.rsplit("/", 1)[1]
        group_resource = f"{log_group_arn(group)}:log-stream:"
        yield Call(
            f"create {short} log group", "logs:CreateLogGroup", group_resource, DOC_LOGS_ARNS
        )
        yield Call(
            f"describe {short} log streams", "logs:DescribeLogStreams", group_resource, DOC_JOB_LOGS
        )
        stream = f"{log_group_arn(group)}:log-stream:{job_name}/algo-1-1700000000"
        yield Call(f"create the {short} log stream", "logs:CreateLogStream", stream, DOC_JOB_LOGS)
        yield Call(f"put {short} log events", "logs:PutLogEvents", stream, DOC_JOB_LOGS)
        if other_job_name is not None:
            yield Call(
                f"write the log stream of a job outside the prefix ({short})",
                "logs:PutLogEvents",
                f"{log_group_arn(group)}:log-stream:{other_job_name}/algo-1-1700000000",
                DOC_JOB_LOGS,
                expect=Expect.DENIED,
            )
    if not outside:
        return
    yield Call(
        "create a log group outside /aws/sagemaker",
        "logs:CreateLogGroup",
        f"{log_group_arn('/other/application')}:log-stream:",
        DOC_LOGS_ARNS,
        expect=Expect.DENIED,
    )


# -- trust policies ------------------------------------------------------------------------------


def assume_role_calls(
    role_arn: str, service: str, doc: str, source_arn: str | None = None
) -> Iterator[Call]:
    """The service assuming the role for this account, and for another account (denied)."""
    context: dict[str, str] = {"aws:SourceAccount": ACCOUNT}
    if source_arn is not None:
        context["aws:SourceArn"] = source_arn
    call = Call(
        f"{service} assumes the role",
        "sts:AssumeRole",
        role_arn,
        doc,
        context=context,
        principal=service,
    )
    yield call
    other = {"aws:SourceAccount": OTHER_ACCOUNT}
    if source_arn is not None:
        other["aws:SourceArn"] = source_arn.replace(ACCOUNT, OTHER_ACCOUNT)
    yield call.denied(f"{service} assumes the role for another account", context=other)
    yield call.denied(
        "a principal of another account assumes the role",
        principal=OTHER_ACCOUNT_ROLE,
        context={},
    )


def other_account_call(action: str, resource: str, doc: str) -> Call:
    """An administrator of another account calling ``action`` on our ``resource``."""
    return Call(
        f"another account's administrator calls {action}",
        action,
        resource,
        doc,
        expect=Expect.DENIED,
        principal=OTHER_ACCOUNT_ROLE,
    )


# -- Step Functions ------------------------------------------------------------------------------


def definition(props: Document) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(props["DefinitionString"])
    return parsed


def task_states(states: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every Task state, inside Parallel branches and Map iterators too."""
    for state in states.values():
        if state.get("Type") == "Task":
            yield state
        for branch in state.get("Branches", []):
            yield from task_states(branch["States"])
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from task_states(state[key]["States"])


_FORMAT = re.compile(r"States\.Format\('([^']*)\{\}'")


def runtime_name(arguments: dict[str, Any], field: str) -> str:
    """The name a ``States.Format('<slug>-{}', token)`` field takes at run time."""
    if field in arguments:
        return str(arguments[field])
    expression = str(arguments[f"{field}.$"])
    match = _FORMAT.match(expression)
    if match is None:
        raise ValueError(f"cannot tell the run-time value of {field}: {expression}")
    return f"{match.group(1)}{RUN_TOKEN}"


def arguments_of(state: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = state.get("Arguments", state.get("Parameters", {}))
    return found


#: Optimized SageMaker integrations: resource suffix -> (API noun, event rule of ``.sync``).
SYNC_JOBS: dict[str, tuple[str, str, str]] = {
    "createProcessingJob": ("ProcessingJob", "processing-job", "ProcessingJobName"),
    "createTrainingJob": ("TrainingJob", "training-job", "TrainingJobName"),
    "createTransformJob": ("TransformJob", "transform-job", "TransformJobName"),
    "createHyperParameterTuningJob": (
        "HyperParameterTuningJob",
        "hyper-parameter-tuning-job",
        "HyperParameterTuningJobName",
    ),
}
SYNC_RULES: dict[str, str] = {
    "ProcessingJob": "StepFunctionsGetEventsForSageMakerProcessingJobsRule",
    "TrainingJob": "StepFunctionsGetEventsForSageMakerTrainingJobsRule",
    "TransformJob": "StepFunctionsGetEventsForSageMakerTransformJobsRule",
    "HyperParameterTuningJob": "StepFunctionsGetEventsForSageMakerTuningJobsRule",
}


def sagemaker_task_calls(state: dict[str, Any], job_role_arn: str) -> Iterator[Call]:
    """The calls of one Step Functions SageMaker task, as the integration makes them."""
    resource = str(state["Resource"])
    arguments = arguments_of(state)
    integration = resource.split(":::", 1)[1]
    service, api = integration.split(":", 1)
    sync = api.endswith(".sync")
    api = api.removesuffix(".sync")
    if service == "aws-sdk":
        yield from sdk_task_calls(api, arguments, job_role_arn)
        return
    if api in SYNC_JOBS:
        noun, resource_type, name_field = SYNC_JOBS[api]
        name = runtime_name(arguments, name_field)
        job_arn = f"arn:aws:sagemaker:{ARN}:{resource_type}/{name.lower()}"
        yield Call(f"Create{noun} {name}", f"sagemaker:Create{noun}", job_arn, DOC_SFN_SAGEMAKER)
        yield Call(
            f"Describe{noun} {name}", f"sagemaker:Describe{noun}", job_arn, DOC_SFN_SAGEMAKER
        )
        yield Call(f"Stop{noun} {name}", f"sagemaker:Stop{noun}", job_arn, DOC_SFN_SAGEMAKER)
        yield Call(
            f"Create{noun} of another pipeline",
            f"sagemaker:Create{noun}",
            f"arn:aws:sagemaker:{ARN}:{resource_type}/other-pipeline-{RUN_TOKEN}",
            DOC_SFN_SAGEMAKER,
            expect=Expect.DENIED,
        )
        if sync:
            rule = f"arn:aws:events:{ARN}:rule/{SYNC_RULES[noun]}"
            for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule"):
                yield Call(f"{action} for .sync {noun}", action, rule, DOC_SFN_SAGEMAKER)
        yield from pass_role_calls(job_role_arn, DOC_SFN_SAGEMAKER)
    elif api == "createModel":
        name = runtime_name(arguments, "ModelName")
        yield Call(
            f"CreateModel {name}",
            "sagemaker:CreateModel",
            f"arn:aws:sagemaker:{ARN}:model/{name.lower()}",
            DOC_SFN_SAGEMAKER,
        )
        yield from pass_role_calls(job_role_arn, DOC_SFN_SAGEMAKER)
    else:
        raise ValueError(f"no calls declared for the Step Functions integration {resource}")


def sdk_task_calls(api: str, arguments: dict[str, Any], job_role_arn: str) -> Iterator[Call]:
    """The call of an ``aws-sdk:`` task (one API call, authorized as itself)."""
    service, operation = api.split(":", 1)
    action = f"{service}:{operation[0].upper()}{operation[1:]}"
    if action == "sagemaker:CreateModelPackage":
        group = str(arguments["ModelPackageGroupName"])
        yield Call(
            f"register a version in {group}",
            action,
            # AWS authorizes CreateModelPackage on the new version only.
            f"arn:aws:sagemaker:{ARN}:model-package/{group.lower()}/1",
            "https://docs.aws.amazon.com/service-authorization/latest/reference/"
            "list_amazonsagemakerai.html",
        )
    elif service == "sagemakera2iruntime" or (action == "s3:GetObject" and "Bucket.$" in arguments):
        # A human review's calls (the loop, and its answers where A2I wrote them): declared
        # with the review by ``human_review_calls``.
        return
    elif action == "s3:GetObject":
        bucket = str(arguments["Bucket"])
        key = str(arguments.get("Key") or arguments["Key.$"])
        static = re.match(r"(?:States\.Format\(')?([^{']*)", key)
        prefix = static.group(1) if static else ""
        yield Call(
            "read the evaluation report",
            action,
            f"arn:aws:s3:::{bucket}/{prefix}{RUN_TOKEN}/evaluation.json",
            DOC_SFN_SAGEMAKER,
        )
    else:
        raise ValueError(f"no calls declared for the Step Functions SDK task {api}")


def pass_role_calls(job_role_arn: str, doc: str) -> Iterator[Call]:
    call = Call(
        "pass the job role to SageMaker",
        "iam:PassRole",
        job_role_arn,
        DOC_PASS_ROLE,
        context={"iam:PassedToService": "sagemaker.amazonaws.com"},
    )
    yield call
    yield call.denied(
        "pass the job role to another service", context={"iam:PassedToService": "ec2.amazonaws.com"}
    )
    yield call.denied(
        "pass another role to SageMaker", resource=f"arn:aws:iam::{ACCOUNT}:role/AdminRole"
    )


def log_delivery_calls() -> Iterator[Call]:
    """What Step Functions calls to deliver execution logs to CloudWatch Logs (vended logs)."""
    for action in (
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    ):
        yield Call(f"log delivery: {action}", action, "*", DOC_SFN_LOGS)


def state_machine_calls(model: AppModel, stack: str, mentions: str) -> Iterator[Call]:
    """Calls of every Task of the state machine whose definition mentions ``mentions``."""
    _, props = model.only(
        stack, "AWS::StepFunctions::StateMachine", lambda p: mentions in p["DefinitionString"]
    )
    states = definition(props)["States"]
    job_role = pass_role_target(props)
    seen: set[str] = set()
    for state in task_states(states):
        for call in sagemaker_task_calls(state, job_role):
            if call.what not in seen:  # tasks of one kind share their events rule and role
                seen.add(call.what)
                yield call
    yield from log_delivery_calls()


def pass_role_target(props: Document) -> str:
    """The job role a state machine passes (the ``RoleArn`` in its task arguments)."""
    found = re.findall(
        r'"(?:RoleArn|ExecutionRoleArn)":"(arn:aws:iam::[^"]+)"', props["DefinitionString"]
    )
    return found[0] if found else f"arn:aws:iam::{ACCOUNT}:role/none"


# -- Human review (A2I) and MLflow tracking ----------------------------------------------------

DOC_A2I_IAM = (
    "https://docs.aws.amazon.com/service-authorization/latest/reference/"
    "list_amazonsagemaker.html#amazonsagemaker-human-loop"
)
DOC_A2I_OUTPUT = "https://docs.aws.amazon.com/sagemaker/latest/dg/a2i-output-data.html"
DOC_SECRETS_READ = (
    "https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples.html"
)
#: The part of a human loop name unique to an execution (36 characters).
LOOP_UNIQUE = "0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1"


def flow_definition_arn(model: AppModel) -> str:
    """The ARN of the A2i stack's flow definition, as the custom resource returns it."""
    logical_id, _ = model.only("a2i", "Custom::MlpipesFlowDefinition")
    return model.arn("a2i", logical_id, "FlowDefinitionArn")


def human_review_calls(
    shared: Foundation, flow_definition: str, loop_prefix: str, *, stop: bool = True
) -> Iterator[Call]:
    """Start a human loop with the flow definition, watch (and stop) it, read the answers."""
    loop = f"arn:aws:sagemaker:{ARN}:human-loop/{loop_prefix}-{LOOP_UNIQUE}"
    start = Call(
        "start the review's human loop", "sagemaker:StartHumanLoop", flow_definition, DOC_A2I_IAM
    )
    yield start
    yield start.denied(
        "start a loop with another flow definition",
        resource=f"arn:aws:sagemaker:{ARN}:flow-definition/someone-elses-review",
    )
    describe = Call("watch the human loop", "sagemaker:DescribeHumanLoop", loop, DOC_A2I_IAM)
    yield describe
    yield describe.denied(
        "watch another pipeline's human loop",
        resource=f"arn:aws:sagemaker:{ARN}:human-loop/another-pipeline-{LOOP_UNIQUE}",
    )
    if stop:
        yield Call("stop the human loop on timeout", "sagemaker:StopHumanLoop", loop, DOC_A2I_IAM)
    answers = Call(
        "read the reviewers' answers",
        "s3:GetObject",
        f"{shared.bucket_arn}/a2i/mlpipes-model-review-0123456789/2026/12/02/10/00/00/"
        f"{loop_prefix}-{LOOP_UNIQUE}/output.json",
        DOC_A2I_OUTPUT,
    )
    yield answers
    yield answers.denied(
        "read an object outside the answers", resource=f"{shared.bucket_arn}/private/salaries.csv"
    )
    yield Call(
        "decrypt the answers",
        "kms:Decrypt",
        shared.key_arn,
        DOC_SSE_KMS,
        context={
            "kms:ViaService": f"s3.{REGION}.amazonaws.com",
            "kms:CallerAccount": ACCOUNT,
            "kms:EncryptionContext:aws:s3:arn": shared.bucket_arn,
        },
    )


def mlflow_secret_arn(model: AppModel) -> str:
    """The ARN of the MLflow stack's admin secret (the credentials jobs sign in with)."""
    for logical_id, props in model.resources("mlflow", "AWS::SecretsManager::Secret"):
        template = props.get("GenerateSecretString", {}).get("SecretStringTemplate", "")
        if '"username"' in template and "admin" in logical_id.lower():
            return model.ref("mlflow", logical_id)
    raise LookupError("the MLflow stack has no admin secret")


def tracking_calls(secret_arn: str) -> Iterator[Call]:
    """A job reads the MLflow credentials when it starts, and no other secret."""
    read = Call(
        "read the MLflow credentials", "secretsmanager:GetSecretValue", secret_arn, DOC_SECRETS_READ
    )
    yield read
    yield read.denied(
        "read another secret",
        resource=f"arn:aws:secretsmanager:{ARN}:secret:someone-elses-secret-AbCdEf",
    )
