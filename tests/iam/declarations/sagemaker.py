"""Run-time calls of the SageMaker Pipelines stack: pipeline, jobs, trigger, deployment."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from mlpipes_constructs.compile.human_review import human_loop_prefix
from tests.iam.calls import Call, Declaration, Expect, RoleCalls, ServiceCalls
from tests.iam.cfn import ACCOUNT
from tests.iam.declarations._common import (
    ARN,
    DOC_EVENTS_DEPUTY,
    DOC_PIPELINES,
    DOC_SAGEMAKER_DEPUTY,
    DOC_SFN_ROLE,
    DOC_SSE_KMS,
    EXECUTION_ID,
    LOOP_UNIQUE,
    JobScope,
    assume_role_calls,
    definition,
    flow_definition_arn,
    foundation,
    human_review_calls,
    job_calls,
    job_log_calls,
    log_delivery_calls,
    mlflow_secret_arn,
    pass_role_calls,
    task_states,
    tracking_calls,
)
from tests.iam.declarations.stepfunctions import failure_topic_calls
from tests.iam.model import AppModel, RoleSelector, Use

DOC_AUTOSCALING = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-prerequisites.html"
)
DOC_SAGEMAKER_SAR = (
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemakerai.html"
)
DOC_FEATURE_STORE = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/feature-store-adding-policies.html"
)
DOC_DATA_CAPTURE = "https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture.html"

PIPELINE = Use("AWS::SageMaker::Pipeline", "PipelineDefinition")
PIPELINE_ROLE = RoleSelector("sagemaker.amazonaws.com", Use("AWS::SageMaker::Pipeline", "RoleArn"))
JOB_ROLE = RoleSelector("sagemaker.amazonaws.com", PIPELINE)
STATE_MACHINE = Use("AWS::StepFunctions::StateMachine", "RoleArn")
DEPLOY_ROLE = RoleSelector("states.amazonaws.com", STATE_MACHINE, "createEndpoint")
TRIGGER_ROLE = RoleSelector("states.amazonaws.com", STATE_MACHINE, "startPipelineExecution")
RULE_TARGET = Use("AWS::Events::Rule", "Targets")
APPROVAL_RULE_ROLE = RoleSelector(
    "events.amazonaws.com", RULE_TARGET, "SageMaker Model Package State Change"
)
TRIGGER_RULE_ROLE = RoleSelector("events.amazonaws.com", RULE_TARGET, "Object Created")
FEATURE_STORE_ROLE = RoleSelector(
    "sagemaker.amazonaws.com", Use("AWS::SageMaker::FeatureGroup", "RoleArn")
)


def _pipeline(model: AppModel, stack: str) -> tuple[str, dict[str, Any]]:
    _, props = model.only(stack, "AWS::SageMaker::Pipeline")
    body = json.loads(props["PipelineDefinition"]["PipelineDefinitionBody"])
    return str(props["PipelineName"]), body


def _steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for step in steps:
        yield step
        arguments = step.get("Arguments", {})
        yield from _steps(arguments.get("IfSteps", []))
        yield from _steps(arguments.get("ElseSteps", []))


#: SageMaker Pipelines step type -> (API noun, resource type) of the job it runs.
JOB_STEPS: dict[str, tuple[str, str]] = {
    "Processing": ("ProcessingJob", "processing-job"),
    "Training": ("TrainingJob", "training-job"),
    "Tuning": ("HyperParameterTuningJob", "hyper-parameter-tuning-job"),
    "Transform": ("TransformJob", "transform-job"),
}


def _job_name(step: dict[str, Any]) -> str:
    """SageMaker Pipelines names a step's job ``pipelines-<execution id>-<step>-<suffix>``."""
    return f"pipelines-{EXECUTION_ID}-{step['Name']}-0a1b2c3d4e".lower()


def _pipeline_role(model: AppModel, stack: str) -> Iterator[Call]:
    name, body = _pipeline(model, stack)
    job_role = model.role(stack, JOB_ROLE).arn
    shared = foundation(model)
    for step in _steps(body["Steps"]):
        kind = step["Type"]
        arguments = step.get("Arguments", {})
        if kind in JOB_STEPS:
            noun, resource_type = JOB_STEPS[kind]
            job = f"arn:aws:sagemaker:{ARN}:{resource_type}/{_job_name(step)}"
            for verb in ("Create", "Describe", "Stop"):
                yield Call(
                    f"{step['Name']}: {verb}{noun}", f"sagemaker:{verb}{noun}", job, DOC_PIPELINES
                )
            yield Call(f"{step['Name']}: tag the job", "sagemaker:AddTags", job, DOC_PIPELINES)
            yield Call(
                f"{step['Name']}: a job outside the pipeline's names",
                f"sagemaker:Create{noun}",
                f"arn:aws:sagemaker:{ARN}:{resource_type}/other-job",
                DOC_PIPELINES,
                expect=Expect.DENIED,
            )
        elif kind == "Model":
            model_arn = f"arn:aws:sagemaker:{ARN}:model/{_job_name(step)}"
            yield Call(
                f"{step['Name']}: CreateModel", "sagemaker:CreateModel", model_arn, DOC_PIPELINES
            )
        elif kind == "RegisterModel":
            group = str(arguments["ModelPackageGroupName"]).lower()
            version = f"arn:aws:sagemaker:{ARN}:model-package/{group}/1"
            yield Call(
                f"{step['Name']}: CreateModelPackage",
                "sagemaker:CreateModelPackage",
                version,
                DOC_SAGEMAKER_SAR,
            )
            yield Call(
                f"{step['Name']}: register in another group",
                "sagemaker:CreateModelPackage",
                f"arn:aws:sagemaker:{ARN}:model-package/other-group/1",
                DOC_SAGEMAKER_SAR,
                expect=Expect.DENIED,
            )
        elif kind == "Callback":
            yield from _callback_calls(model, stack, shared.key_arn)
        elif kind in {"EndpointConfig", "Endpoint"}:
            raise ValueError(f"declare the calls of the {kind} step {step['Name']}")
        for property_file in step.get("PropertyFiles", []):
            report = (
                f"{shared.bucket_arn}/pipelines/{name}/{EXECUTION_ID}/{step['Name']}/"
                f"output/{property_file['OutputName']}/{property_file['FilePath']}"
            )
            yield Call(
                f"{step['Name']}: read the property file", "s3:GetObject", report, DOC_PIPELINES
            )
            yield Call(
                f"{step['Name']}: decrypt the property file",
                "kms:Decrypt",
                shared.key_arn,
                DOC_SSE_KMS,
                context={
                    "kms:ViaService": "s3.us-east-1.amazonaws.com",
                    "kms:CallerAccount": ACCOUNT,
                },
            )
    yield from pass_role_calls(job_role, DOC_PIPELINES)
    role = model.role(stack, PIPELINE_ROLE)
    yield from assume_role_calls(role.arn, "sagemaker.amazonaws.com", DOC_SAGEMAKER_DEPUTY)


DOC_CALLBACK = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/build-and-manage-steps-types.html"
    "#step-type-callback"
)
DOC_SQS_KMS = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html"
REVIEW_HANDLER_ROLE = RoleSelector(
    "lambda.amazonaws.com", Use("AWS::Lambda::Function", "Role"), "RECORD_PREFIX"
)
REVIEW_LOOP_PREFIX = human_loop_prefix("mlpipes-review-classifier", "Review")


def _review_queue(model: AppModel, stack: str) -> str:
    """The ARN of the queue the callback steps send their messages to (the one with a DLQ)."""
    logical_id, _ = model.only(stack, "AWS::SQS::Queue", lambda props: "RedrivePolicy" in props)
    return model.arn(stack, logical_id)


def _callback_calls(model: AppModel, stack: str, key_arn: str) -> Iterator[Call]:
    """A callback step: SageMaker sends its message to the queue as the pipeline role."""
    queue = _review_queue(model, stack)
    send = Call("Review: send the callback message", "sqs:SendMessage", queue, DOC_CALLBACK)
    yield send
    yield send.denied("send to another queue", resource=f"arn:aws:sqs:{ARN}:someone-elses-queue")
    via_sqs = {"kms:ViaService": "sqs.us-east-1.amazonaws.com", "kms:CallerAccount": ACCOUNT}
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        yield Call(
            f"Review: encrypt the message ({action})", action, key_arn, DOC_SQS_KMS, context=via_sqs
        )


def _review_handler(model: AppModel, stack: str) -> Iterator[Call]:
    """The handler that starts each review's human loop and completes the callback step."""
    shared = foundation(model)
    queue = _review_queue(model, stack)
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
        yield Call(f"consume the callback messages ({action})", action, queue, DOC_CALLBACK)
    yield Call(
        "decrypt the callback messages",
        "kms:Decrypt",
        shared.key_arn,
        DOC_SQS_KMS,
        context={"kms:ViaService": "sqs.us-east-1.amazonaws.com", "kms:CallerAccount": ACCOUNT},
    )
    execution = (
        f"arn:aws:sagemaker:{ARN}:pipeline/mlpipes-review-classifier/execution/{EXECUTION_ID}"
    )
    for action in (
        "sagemaker:SendPipelineExecutionStepSuccess",
        "sagemaker:SendPipelineExecutionStepFailure",
    ):
        done = Call(f"complete the review step ({action})", action, execution, DOC_CALLBACK)
        yield done
    yield done.denied(
        "complete a step of another pipeline",
        resource=f"arn:aws:sagemaker:{ARN}:pipeline/other-pipeline/execution/{EXECUTION_ID}",
    )
    record = (
        f"{shared.bucket_arn}/pipelines/mlpipes-review-classifier/human-loops/"
        f"{REVIEW_LOOP_PREFIX}-{LOOP_UNIQUE}.json"
    )
    for action in ("s3:PutObject", "s3:GetObject"):
        yield Call(f"keep the loop's callback token ({action})", action, record, DOC_CALLBACK)
    yield Call(
        "write outside the loop records",
        "s3:PutObject",
        f"{shared.bucket_arn}/pipelines/mlpipes-review-classifier/model.tar.gz",
        DOC_CALLBACK,
        expect=Expect.DENIED,
    )
    yield Call(
        "encrypt the loop record",
        "kms:GenerateDataKey",
        shared.key_arn,
        DOC_SSE_KMS,
        context={"kms:ViaService": "s3.us-east-1.amazonaws.com", "kms:CallerAccount": ACCOUNT},
    )
    yield from human_review_calls(shared, flow_definition_arn(model), REVIEW_LOOP_PREFIX)
    role = model.role(stack, REVIEW_HANDLER_ROLE)
    yield Call(
        "lambda.amazonaws.com assumes the role",
        "sts:AssumeRole",
        role.arn,
        DOC_CALLBACK,
        principal="lambda.amazonaws.com",
    )


def _vpc_security_groups(body: dict[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(set(re.findall(r'"(sg-[0-9a-f]+)"', json.dumps(body)))))


def _job_role(model: AppModel, stack: str) -> Iterator[Call]:
    yield from tracking_calls(mlflow_secret_arn(model))
    name, body = _pipeline(model, stack)
    _, deploy = model.only(
        stack,
        "AWS::StepFunctions::StateMachine",
        lambda p: "createEndpoint" in p["DefinitionString"],
    )
    groups = _vpc_security_groups(body) + _vpc_security_groups(definition(deploy))
    step = next(s for s in _steps(body["Steps"]) if s["Type"] == "Processing")
    yield from job_calls(
        model,
        JobScope(
            read_prefix="data/reviews/reviews.csv",
            write_prefix=f"pipelines/{name}/{EXECUTION_ID}/Preprocess/output/train/train.csv",
            outside_prefix="data/other-team/x.csv",
            job_name=_job_name(step),
            other_job_name="other-job",
            security_groups=tuple(sorted(set(groups))),
        ),
    )
    for code in sorted(set(re.findall(r"s3://(cdk-[^/\"]+)/([^\"]+\.zip)", json.dumps(body)))):
        yield Call(
            "read the job code", "s3:GetObject", f"arn:aws:s3:::{code[0]}/{code[1]}", DOC_PIPELINES
        )
    yield from _endpoint_model_calls(model, stack)
    role = model.role(stack, JOB_ROLE)
    yield from assume_role_calls(role.arn, "sagemaker.amazonaws.com", DOC_SAGEMAKER_DEPUTY)


def _endpoint_model_calls(model: AppModel, stack: str) -> Iterator[Call]:
    """The served model runs as the job role: data capture and endpoint logs."""
    shared = foundation(model)
    _, deploy = model.only(
        stack,
        "AWS::StepFunctions::StateMachine",
        lambda p: "createEndpoint" in p["DefinitionString"],
    )
    endpoint = str(_deploy_arguments(deploy, "createEndpoint")["EndpointName"])
    capture = f"{shared.bucket_arn}/data-capture/{endpoint}/AllTraffic/2025/01/01/00/capture.jsonl"
    yield Call("write captured data", "s3:PutObject", capture, DOC_DATA_CAPTURE)
    yield Call(
        "encrypt captured data",
        "kms:GenerateDataKey",
        shared.key_arn,
        DOC_DATA_CAPTURE,
        context={"kms:ViaService": "s3.us-east-1.amazonaws.com", "kms:CallerAccount": ACCOUNT},
    )
    yield from job_log_calls(
        (f"/aws/sagemaker/Endpoints/{endpoint}",), "AllTraffic/i-0abc", None, outside=False
    )


def _deploy_arguments(props: dict[str, Any], api: str) -> dict[str, Any]:
    for state in task_states(definition(props)["States"]):
        if str(state["Resource"]).endswith(f":{api}"):
            found: dict[str, Any] = state.get("Arguments", state.get("Parameters", {}))
            return found
    raise LookupError(f"the deploy state machine has no {api} task")


def _deploy_role(model: AppModel, stack: str) -> Iterator[Call]:
    _, deploy = model.only(
        stack,
        "AWS::StepFunctions::StateMachine",
        lambda p: "createEndpoint" in p["DefinitionString"],
    )
    shared = foundation(model)
    endpoint = str(_deploy_arguments(deploy, "createEndpoint")["EndpointName"])
    version_name = f"{endpoint}-v3"
    package = f"arn:aws:sagemaker:{ARN}:model-package/{endpoint}/3"
    yield Call(
        "read the approved version", "sagemaker:DescribeModelPackage", package, DOC_SAGEMAKER_SAR
    )
    yield Call(
        "create the version's model",
        "sagemaker:CreateModel",
        f"arn:aws:sagemaker:{ARN}:model/{version_name}",
        DOC_SAGEMAKER_SAR,
    )
    model_role = str(_deploy_arguments(deploy, "createModel")["ExecutionRoleArn"])
    yield from pass_role_calls(model_role, DOC_SAGEMAKER_SAR)
    config = f"arn:aws:sagemaker:{ARN}:endpoint-config/{version_name}"
    endpoint_arn = f"arn:aws:sagemaker:{ARN}:endpoint/{endpoint}"
    yield Call(
        "create the endpoint config", "sagemaker:CreateEndpointConfig", config, DOC_SAGEMAKER_SAR
    )
    yield Call(
        "describe the endpoint", "sagemaker:DescribeEndpoint", endpoint_arn, DOC_SAGEMAKER_SAR
    )
    for action in ("sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint"):
        for resource in (endpoint_arn, config):
            yield Call(
                f"{action} ({resource.split(':')[-1].split('/')[0]})",
                action,
                resource,
                DOC_SAGEMAKER_SAR,
            )
    yield Call(
        "update another endpoint",
        "sagemaker:UpdateEndpoint",
        f"arn:aws:sagemaker:{ARN}:endpoint/other-endpoint",
        DOC_SAGEMAKER_SAR,
        expect=Expect.DENIED,
    )
    yield Call(
        "grant the key to the endpoint's volumes",
        "kms:CreateGrant",
        shared.key_arn,
        DOC_SAGEMAKER_SAR,
        context={
            "kms:GrantIsForAWSResource": "true",
            "kms:ViaService": "sagemaker.us-east-1.amazonaws.com",
        },
    )
    target = f"arn:aws:application-autoscaling:{ARN}:scalable-target/0123456789abcdef0123"
    variant = {
        "application-autoscaling:service-namespace": "sagemaker",
        "application-autoscaling:scalable-dimension": "sagemaker:variant:DesiredInstanceCount",
    }
    for action in (
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:PutScalingPolicy",
        "application-autoscaling:DeregisterScalableTarget",
    ):
        yield Call(
            f"{action.split(':')[1]} of the endpoint variant",
            action,
            target,
            DOC_AUTOSCALING,
            context=variant,
        )
    yield Call(
        "register a scalable target of another service (ECS)",
        "application-autoscaling:RegisterScalableTarget",
        target,
        DOC_AUTOSCALING,
        context={
            "application-autoscaling:service-namespace": "ecs",
            "application-autoscaling:scalable-dimension": "ecs:service:DesiredCount",
        },
        expect=Expect.DENIED,
    )
    alarm = (
        f"arn:aws:cloudwatch:{ARN}:alarm:TargetTracking-endpoint/{endpoint}/variant/"
        "AllTraffic-AlarmHigh-0a1b"
    )
    yield Call(
        "create the target tracking alarm", "cloudwatch:PutMetricAlarm", alarm, DOC_AUTOSCALING
    )
    yield from log_delivery_calls()
    role = model.role(stack, DEPLOY_ROLE)
    yield from assume_role_calls(
        role.arn,
        "states.amazonaws.com",
        DOC_SFN_ROLE,
        source_arn=f"arn:aws:states:{ARN}:stateMachine:any",
    )


def _trigger_role(model: AppModel, stack: str) -> Iterator[Call]:
    name, _ = _pipeline(model, stack)
    pipeline = f"arn:aws:sagemaker:{ARN}:pipeline/{name.lower()}"
    yield Call("start the pipeline", "sagemaker:StartPipelineExecution", pipeline, DOC_PIPELINES)
    yield Call(
        "start another pipeline",
        "sagemaker:StartPipelineExecution",
        f"arn:aws:sagemaker:{ARN}:pipeline/other-pipeline",
        DOC_PIPELINES,
        expect=Expect.DENIED,
    )
    yield from log_delivery_calls()
    role = model.role(stack, TRIGGER_ROLE)
    yield from assume_role_calls(
        role.arn,
        "states.amazonaws.com",
        DOC_SFN_ROLE,
        source_arn=f"arn:aws:states:{ARN}:stateMachine:any",
    )


def _rule_role(selector: RoleSelector, machine_mentions: str) -> Any:
    def calls(model: AppModel, stack: str) -> Iterator[Call]:
        machine_id, _ = model.only(
            stack,
            "AWS::StepFunctions::StateMachine",
            lambda p: machine_mentions in p["DefinitionString"],
        )
        machine = model.ref(stack, machine_id)
        yield Call(
            "start the state machine",
            "states:StartExecution",
            machine,
            "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html",
        )
        yield Call(
            "start another state machine",
            "states:StartExecution",
            f"arn:aws:states:{ARN}:stateMachine:other",
            DOC_EVENTS_DEPUTY,
            expect=Expect.DENIED,
        )
        role = model.role(stack, selector)
        yield from assume_role_calls(
            role.arn,
            "events.amazonaws.com",
            DOC_EVENTS_DEPUTY,
            source_arn=f"arn:aws:events:{ARN}:rule/any",
        )

    return calls


def _feature_store_role(model: AppModel, stack: str) -> Iterator[Call]:
    shared = foundation(model)
    _, group = model.only(stack, "AWS::SageMaker::FeatureGroup")
    uri = str(group["OfflineStoreConfig"]["S3StorageConfig"]["S3Uri"])
    prefix = uri.split("/", 3)[3].rstrip("/")
    record = f"{shared.bucket_arn}/{prefix}/{ACCOUNT}/sagemaker/us-east-1/offline-store/x.parquet"
    yield Call("write the offline store", "s3:PutObject", record, DOC_FEATURE_STORE)
    yield Call("check the bucket owner", "s3:GetBucketAcl", shared.bucket_arn, DOC_FEATURE_STORE)
    yield Call(
        "encrypt the offline store",
        "kms:GenerateDataKey",
        shared.key_arn,
        DOC_FEATURE_STORE,
        context={"kms:ViaService": "s3.us-east-1.amazonaws.com"},
    )
    for action, resource in (
        ("glue:CreateTable", f"arn:aws:glue:{ARN}:table/sagemaker_featurestore/reviews"),
        ("glue:GetTable", f"arn:aws:glue:{ARN}:table/sagemaker_featurestore/reviews"),
        ("glue:GetDatabase", f"arn:aws:glue:{ARN}:database/sagemaker_featurestore"),
        ("glue:CreateTable", f"arn:aws:glue:{ARN}:catalog"),
    ):
        kind = resource.split(":")[-1].split("/")[0]
        yield Call(
            f"catalog the offline store ({action} on the {kind})",
            action,
            resource,
            DOC_FEATURE_STORE,
        )
    yield Call(
        "write outside the offline store prefix",
        "s3:PutObject",
        f"{shared.bucket_arn}/data/reviews/x.csv",
        DOC_FEATURE_STORE,
        expect=Expect.DENIED,
    )
    role = model.role(stack, FEATURE_STORE_ROLE)
    yield from assume_role_calls(role.arn, "sagemaker.amazonaws.com", DOC_SAGEMAKER_DEPUTY)


def _failure_topic(model: AppModel, stack: str) -> Iterator[Call]:
    yield from failure_topic_calls(model, stack, "Pipeline Execution Status Change")


def _notification_key_logs(model: AppModel, stack: str) -> Iterator[Call]:
    _, topic = model.only(stack, "AWS::SNS::Topic")
    key = str(topic["KmsMasterKeyId"])
    yield Call(
        "CloudWatch Logs encrypts a log group with the notification key (none uses it)",
        "kms:GenerateDataKey",
        key,
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html",
        context={"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{ARN}:log-group:any"},
        expect=Expect.DENIED,
    )


DECLARATIONS: tuple[Declaration, ...] = (
    RoleCalls("sagemaker", "pipeline execution role", PIPELINE_ROLE, _pipeline_role),
    RoleCalls("sagemaker", "job and model role", JOB_ROLE, _job_role),
    RoleCalls("sagemaker", "human review handler", REVIEW_HANDLER_ROLE, _review_handler),
    RoleCalls("sagemaker", "deploy-on-approval state machine", DEPLOY_ROLE, _deploy_role),
    RoleCalls("sagemaker", "S3 trigger state machine", TRIGGER_ROLE, _trigger_role),
    RoleCalls(
        "sagemaker",
        "approval rule",
        APPROVAL_RULE_ROLE,
        _rule_role(APPROVAL_RULE_ROLE, "createEndpoint"),
    ),
    RoleCalls(
        "sagemaker",
        "S3 trigger rule",
        TRIGGER_RULE_ROLE,
        _rule_role(TRIGGER_RULE_ROLE, "startPipelineExecution"),
    ),
    RoleCalls("sagemaker", "feature store offline store", FEATURE_STORE_ROLE, _feature_store_role),
    ServiceCalls("sagemaker", "failure topic and key", "events.amazonaws.com", _failure_topic),
    ServiceCalls(
        "sagemaker",
        "notification key: CloudWatch Logs",
        "logs.us-east-1.amazonaws.com",
        _notification_key_logs,
    ),
)
