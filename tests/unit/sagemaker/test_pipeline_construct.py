from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sagemaker as sagemaker_l1
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template

from mlpipes_constructs.core import FailureNotifications, JobPlacementOptions
from mlpipes_constructs.errors import PropsValidationError
from mlpipes_constructs.reference.pipeline import reference_pipeline
from mlpipes_constructs.sagemaker import SageMakerPipeline
from mlpipes_constructs.sagemaker._pipeline_permissions import EndpointUsage, endpoint_usage
from mlpipes_constructs.sagemaker._pipeline_source import INLINE_DEFINITION_LIMIT
from mlpipes_constructs.spec import (
    CreateModelStep,
    EndpointStep,
    ModelArtifacts,
    ModelName,
    Pipeline,
    TrainingChannel,
    TrainingStep,
)
from tests.asl import resolve_tokens
from tests.unit.sagemaker.conftest import (
    ACCOUNT,
    BUCKET_NAME,
    JOB_ROLE_ARN,
    KEY_ARN,
    REGION,
    as_list,
    imported_platform,
    new_app,
    new_stack,
    policy_statements,
    resources,
    synthesized_templates,
)

ARN_PREFIX = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
REGISTER_STEP = {
    "Name": "Register",
    "Type": "RegisterModel",
    "Arguments": {
        "ModelPackageGroupName": "churn-models",
        "ModelApprovalStatus": "PendingManualApproval",
        "InferenceSpecification": {
            "Containers": [{"Image": "image", "ModelDataUrl": "s3://artifacts-bucket/m.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    },
}
DEFINITION: dict[str, Any] = {
    "Version": "2020-12-01",
    "Parameters": [
        {"Name": "InputDataUri", "Type": "String", "DefaultValue": "s3://artifacts-bucket/d/"},
        {"Name": "Threshold", "Type": "Float", "DefaultValue": 0.5},
    ],
    "Steps": [
        {
            "Name": "Prepare",
            "Type": "Processing",
            "Arguments": {
                "ProcessingResources": {
                    "ClusterConfig": {
                        "InstanceType": "ml.m5.large",
                        "InstanceCount": 1,
                        "VolumeSizeInGB": 30,
                    }
                },
                "AppSpecification": {"ImageUri": "image"},
                "RoleArn": JOB_ROLE_ARN,
            },
            "PropertyFiles": [
                {"PropertyFileName": "Report", "OutputName": "report", "FilePath": "r.json"}
            ],
        },
        {
            "Name": "Check",
            "Type": "Condition",
            "Arguments": {
                "Conditions": [
                    {
                        "Type": "GreaterThanOrEqualTo",
                        "LeftValue": {
                            "Std:JsonGet": {
                                "PropertyFile": {"Get": "Steps.Prepare.PropertyFiles.Report"},
                                "Path": "score",
                            }
                        },
                        "RightValue": {"Get": "Parameters.Threshold"},
                    }
                ],
                "IfSteps": [REGISTER_STEP],
                "ElseSteps": [{"Name": "Stop", "Type": "Fail", "Arguments": {"ErrorMessage": "x"}}],
            },
        },
    ],
}


#: A definition as the SDK writes endpoint steps: a constant configuration name, and an
#: endpoint named by a parameter.
PARAMETER_ENDPOINT_DEFINITION: dict[str, Any] = {
    "Version": "2020-12-01",
    "Parameters": [{"Name": "EndpointName", "Type": "String", "DefaultValue": "churn"}],
    "Steps": [
        {
            "Name": "Config",
            "Type": "EndpointConfig",
            "Arguments": {
                "EndpointConfigName": "Churn-Config",
                "ProductionVariants": [
                    {
                        "VariantName": "AllTraffic",
                        "ModelName": "churn-model",
                        "InitialVariantWeight": 1,
                        "InitialInstanceCount": 1,
                        "InstanceType": "ml.m5.large",
                    }
                ],
            },
        },
        {
            "Name": "Deploy",
            "Type": "Endpoint",
            "Arguments": {
                "EndpointName": {"Get": "Parameters.EndpointName"},
                "EndpointConfigName": {"Get": "Steps.Config.EndpointConfigName"},
            },
        },
    ],
}


def _serving_spec() -> Pipeline:
    """Train, create a model and deploy it to a named endpoint: no job code to upload."""
    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    return Pipeline(
        name="serving",
        steps=(
            TrainingStep(
                name="Train",
                image_uri=image,
                instance_type="ml.m5.large",
                channels=(TrainingChannel(name="train", source=f"s3://{BUCKET_NAME}/data/"),),
            ),
            CreateModelStep(name="Model", model=ModelArtifacts("Train"), image_uri=image),
            EndpointStep(
                name="Deploy",
                model=ModelName("Model"),
                instance_type="ml.m5.large",
                endpoint_name="Reviews-Live",
            ),
        ),
    )


def _definition(**changes: Any) -> dict[str, Any]:
    definition = copy.deepcopy(DEFINITION)
    definition.update(changes)
    return definition


def _sdk_pipeline() -> Any:
    """A real sagemaker SDK pipeline (processing + fail), built offline."""
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
        # PipelineSession announces that it starts no jobs; that is the point here.
        warnings.filterwarnings("ignore", message="Running within a PipelineSession")
        patch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        import boto3
        from sagemaker.core.processing import Processor
        from sagemaker.core.workflow.parameters import ParameterString
        from sagemaker.core.workflow.pipeline_context import PipelineSession
        from sagemaker.mlops.workflow.fail_step import FailStep
        from sagemaker.mlops.workflow.pipeline import Pipeline as SdkPipeline
        from sagemaker.mlops.workflow.steps import ProcessingStep as SdkProcessingStep

        session = PipelineSession(
            boto_session=boto3.Session(region_name=REGION), default_bucket=BUCKET_NAME
        )
        processor = Processor(
            role=JOB_ROLE_ARN,
            image_uri="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
            instance_count=1,
            instance_type="ml.m5.large",
            sagemaker_session=session,
            entrypoint=["python3", "-c", "print('prepared')"],
        )
        prepare = SdkProcessingStep(name="Prepare", step_args=processor.run())
        return SdkPipeline(
            name="sdk-built-pipeline",
            parameters=[ParameterString(name="InputDataUri", default_value="s3://b/d/")],
            steps=[prepare, FailStep(name="Stop", error_message="stop", depends_on=[prepare])],
            sagemaker_session=session,
        )


class Built:
    """The constructs of the module's app, kept for assertions on their attributes."""

    definition: SageMakerPipeline
    large: SageMakerPipeline
    sdk: SageMakerPipeline
    trigger: SageMakerPipeline
    serving: SageMakerPipeline
    templates: dict[str, dict[str, Any]]
    outdir: Path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    result = Built()
    result.outdir = tmp_path_factory.mktemp("cdk.out")
    app = new_app(result.outdir)

    stack = new_stack(app, "DefinitionStack")
    bucket, key, role = imported_platform(stack)
    topic_key = kms.Key(stack, "TopicKey", enable_key_rotation=True)
    result.definition = SageMakerPipeline(
        stack,
        "Churn",
        pipeline=DEFINITION,
        pipeline_name="Churn-Pipeline",
        job_role=role,
        artifact_bucket=bucket,
        encryption_key=key,
        schedule=events.Schedule.expression("cron(0 3 ? * MON-FRI *)"),
        schedule_input={"Threshold": 0.8},
        notifications=FailureNotifications(encryption_key=topic_key),
        max_parallel_steps=4,
    )
    operator = iam.Role(stack, "Operator", assumed_by=iam.AccountRootPrincipal())
    result.definition.grant_start_execution(operator)

    large_stack = new_stack(app, "LargeStack")
    bucket, key, role = imported_platform(large_stack)
    padding = "x" * (INLINE_DEFINITION_LIMIT + 10)
    result.large = SageMakerPipeline(
        large_stack,
        "Large",
        pipeline=_definition(Metadata={"padding": padding}),
        pipeline_name="large-pipeline",
        job_role=role,
        artifact_bucket=bucket,
        encryption_key=key,
        notifications=FailureNotifications(enabled=False),
    )

    sdk_stack = new_stack(app, "SdkStack")
    bucket, key, role = imported_platform(sdk_stack)
    result.sdk = SageMakerPipeline(
        sdk_stack,
        "Sdk",
        pipeline=_sdk_pipeline(),
        job_role=role,
        artifact_bucket=bucket,
        encryption_key=key,
        notifications=FailureNotifications(enabled=False),
    )

    trigger_stack = new_stack(app, "TriggerStack")
    own_key = kms.Key(trigger_stack, "OwnKey", enable_key_rotation=True)
    own_bucket = s3.Bucket(trigger_stack, "Artifacts", encryption_key=own_key, enforce_ssl=True)
    _, _, role = imported_platform(trigger_stack)
    result.trigger = SageMakerPipeline(
        trigger_stack,
        "Triggered",
        pipeline=DEFINITION,
        pipeline_name="triggered",
        job_role=role,
        artifact_bucket=own_bucket,
        encryption_key=own_key,
        trigger_prefix="incoming/",
        notifications=FailureNotifications(enabled=False),
    )

    endpoint_stack = new_stack(app, "EndpointStack")
    bucket, key, role = imported_platform(endpoint_stack)
    result.serving = SageMakerPipeline(
        endpoint_stack,
        "Serving",
        pipeline=_serving_spec(),
        job_role=role,
        artifact_bucket=bucket,
        encryption_key=key,
        notifications=FailureNotifications(enabled=False),
    )
    SageMakerPipeline(
        endpoint_stack,
        "ParameterEndpoint",
        pipeline=PARAMETER_ENDPOINT_DEFINITION,
        pipeline_name="parameter-endpoint",
        job_role=role,
        artifact_bucket=bucket,
        encryption_key=key,
        notifications=FailureNotifications(enabled=False),
    )
    result.templates = synthesized_templates(app)
    return result


def _actions(statement: dict[str, Any]) -> list[str]:
    return as_list(statement["Action"])


def _pipeline_policy(template: dict[str, Any]) -> list[dict[str, Any]]:
    return policy_statements(template, "Permissions of the SageMaker pipeline")


# --- The reference pipeline in the bundled stack ------------------------------------------


def test_reference_pipeline_role_has_scoped_statements_only(
    sagemaker_template: dict[str, Any],
) -> None:
    # The review queue's grant (statements without a Sid): send, and the key through SQS.
    statements = {
        s.get("Sid") or ",".join(_actions(s)): s for s in _pipeline_policy(sagemaker_template)
    }
    assert statements["sqs:SendMessage"]["Resource"] == {
        "Fn::GetAtt": [statements["sqs:SendMessage"]["Resource"]["Fn::GetAtt"][0], "Arn"]
    }
    assert statements["kms:Decrypt,kms:GenerateDataKey"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}
    }
    assert set(statements) == {
        "sqs:SendMessage",
        "kms:Decrypt,kms:GenerateDataKey",
        "PassJobRole",
        "RunModelPipelinesAny",
        "RunProcessingJobPipelinesAny",
        "RunTrainingJobPipelinesAny",
        "RunTransformJobPipelinesAny",
        "RegisterModelVersions",
        "UseModelPackageGroups",
        "ReadPropertyFiles",
        "UsePlatformKey",
    }
    for statement in statements.values():
        assert all("*" not in action for action in _actions(statement))
        assert "*" not in as_list(statement["Resource"])
    assert statements["PassJobRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    assert statements["RunProcessingJobPipelinesAny"]["Resource"] == (
        f"{ARN_PREFIX}:processing-job/pipelines-*"
    )
    assert set(_actions(statements["RunTrainingJobPipelinesAny"])) == {
        "sagemaker:AddTags",
        "sagemaker:CreateTrainingJob",
        "sagemaker:DescribeTrainingJob",
        "sagemaker:StopTrainingJob",
    }
    assert statements["UseModelPackageGroups"]["Resource"] == (
        f"{ARN_PREFIX}:model-package-group/mlpipes-review-classifier"
    )
    assert statements["RegisterModelVersions"]["Resource"] == (
        f"{ARN_PREFIX}:model-package/mlpipes-review-classifier/*"
    )
    read = json.dumps(statements["ReadPropertyFiles"]["Resource"])
    assert read.endswith('"/pipelines/mlpipes-review-classifier/*"]]}')


def test_bundled_stack_uses_no_inline_policies(sagemaker_template: dict[str, Any]) -> None:
    assert resources(sagemaker_template, "AWS::IAM::Policy") == {}
    for role in resources(sagemaker_template, "AWS::IAM::Role").values():
        assert "Policies" not in role["Properties"]


def test_reference_pipeline_definition_is_inline_with_uploaded_code(
    sagemaker_template: dict[str, Any],
) -> None:
    (pipeline,) = resources(sagemaker_template, "AWS::SageMaker::Pipeline").values()
    properties = pipeline["Properties"]
    assert properties["PipelineName"] == "mlpipes-review-classifier"
    body = json.dumps(properties["PipelineDefinition"]["PipelineDefinitionBody"])
    assert "cdk-hnb659fds-assets-123456789012-us-east-1" in body
    assert "NetworkConfig" in body and "VolumeKmsKeyId" in body
    code_policy = policy_statements(sagemaker_template, "Lets the jobs of the SageMaker pipeline")
    assert {s["Sid"] for s in code_policy} == {"ReadJobCode", "ListJobCode"}
    (read_code,) = [s for s in code_policy if s["Sid"] == "ReadJobCode"]
    assert read_code["Resource"].startswith("arn:aws:s3:::cdk-hnb659fds-assets-")
    assert read_code["Resource"].endswith(".zip")


def _trigger_parts(template: dict[str, Any]) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """The S3 trigger rule, the logical id of the state machine it starts, and that machine."""
    (rule,) = [
        rule["Properties"]
        for rule in resources(template, "AWS::Events::Rule").values()
        if rule["Properties"].get("EventPattern", {}).get("source") == ["aws.s3"]
    ]
    (target,) = rule["Targets"]
    machine_id = target["Arn"]["Ref"]
    return rule, machine_id, template["Resources"][machine_id]


def _managed_policy_of(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    (policy,) = [
        policy["Properties"]
        for policy in resources(template, "AWS::IAM::ManagedPolicy").values()
        if policy["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    statements: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    return statements


def test_new_reviews_start_the_trigger_state_machine(sagemaker_template: dict[str, Any]) -> None:
    rule, machine_id, _ = _trigger_parts(sagemaker_template)
    pattern = rule["EventPattern"]
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["object"] == {"key": [{"prefix": "data/reviews/incoming/"}]}
    # The foundation stack's artifact bucket, by name.
    (bucket_name,) = pattern["detail"]["bucket"]["name"]
    assert bucket_name["Fn::GetStackOutput"]["StackName"] == "mlpipes-Foundation"
    (target,) = rule["Targets"]
    # The whole event is the execution input: no Input, InputPath or InputTransformer.
    assert set(target) == {"Arn", "Id", "RoleArn"}
    rule_role = target["RoleArn"]["Fn::GetAtt"][0]
    assert _managed_policy_of(sagemaker_template, rule_role) == [
        {"Action": "states:StartExecution", "Effect": "Allow", "Resource": {"Ref": machine_id}}
    ]


def test_trigger_state_machine_starts_the_pipeline_with_the_object_uri(
    sagemaker_template: dict[str, Any],
) -> None:
    _, _, machine = _trigger_parts(sagemaker_template)
    definition = json.loads(
        resolve_tokens(machine["Properties"]["DefinitionString"], {"AWS::Partition": "aws"})
    )
    assert definition["TimeoutSeconds"] == 300
    assert definition["StartAt"] == "StartPipelineExecution"
    (state,) = definition["States"].values()
    assert state["Resource"] == "arn:aws:states:::aws-sdk:sagemaker:startPipelineExecution"
    assert state["End"] is True
    assert state["Parameters"] == {
        "PipelineName": "mlpipes-review-classifier",
        "PipelineParameters": [
            {
                "Name": "InputDataUri",
                "Value.$": "States.Format('s3://{}/{}', $.detail.bucket.name, $.detail.object.key)",
            }
        ],
        "ClientRequestToken.$": "$.id",
        "PipelineExecutionDescription.$": "States.Format('Started by the new object "
        "s3://{}/{} (EventBridge event {})', $.detail.bucket.name, $.detail.object.key, $.id)",
    }
    assert state["ResultSelector"] == {"PipelineExecutionArn.$": "$.PipelineExecutionArn"}
    (retry,) = state["Retry"]
    assert set(retry["ErrorEquals"]) == {
        "SageMaker.ThrottlingException",
        "SageMaker.SageMakerException",
        "SageMaker.AmazonSageMakerException",
    }
    assert retry["MaxAttempts"] > 1 and retry["BackoffRate"] > 1


def test_trigger_state_machine_logs_traces_and_starts_only_this_pipeline(
    sagemaker_template: dict[str, Any],
) -> None:
    _, machine_id, machine = _trigger_parts(sagemaker_template)
    properties = machine["Properties"]
    assert properties["StateMachineType"] == "STANDARD"
    assert properties["TracingConfiguration"] == {"Enabled": True}
    logging = properties["LoggingConfiguration"]
    assert logging["Level"] == "ALL" and logging["IncludeExecutionData"] is True
    (destination,) = logging["Destinations"]
    log_group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    log_group = sagemaker_template["Resources"][log_group_id]
    assert log_group["DeletionPolicy"] == "Retain"
    assert "KmsKeyId" in log_group["Properties"]
    assert "RetentionInDays" in log_group["Properties"]

    role_id = properties["RoleArn"]["Fn::GetAtt"][0]
    statements = _managed_policy_of(sagemaker_template, role_id)
    start, *delivery = statements
    assert start == {
        "Action": "sagemaker:StartPipelineExecution",
        "Effect": "Allow",
        "Resource": f"{ARN_PREFIX}:pipeline/mlpipes-review-classifier",
    }
    # Log delivery and X-Ray have no resource type; nothing else gets '*'.
    for statement in delivery:
        assert statement["Resource"] == "*"
        assert {action.split(":")[0] for action in _actions(statement)} <= {"logs", "xray"}
    # The state machine is created after its permissions exist.
    policy_id = next(
        logical_id
        for logical_id, policy in resources(sagemaker_template, "AWS::IAM::ManagedPolicy").items()
        if policy["Properties"]["Roles"] == [{"Ref": role_id}]
    )
    assert machine["DependsOn"] == [policy_id]
    assert machine_id.startswith("PipelineTrigger")


def test_failed_trigger_executions_go_to_the_failure_topic(
    sagemaker_template: dict[str, Any],
) -> None:
    _, machine_id, _ = _trigger_parts(sagemaker_template)
    (rule,) = [
        rule["Properties"]
        for rule in resources(sagemaker_template, "AWS::Events::Rule").values()
        if rule["Properties"]["EventPattern"].get("source") == ["aws.states"]
        and rule["Properties"]["EventPattern"]["detail"]["stateMachineArn"] == [{"Ref": machine_id}]
    ]
    assert rule["EventPattern"]["detail-type"] == ["Step Functions Execution Status Change"]
    assert rule["EventPattern"]["detail"]["status"] == ["FAILED", "TIMED_OUT"]
    (topic_id,) = resources(sagemaker_template, "AWS::SNS::Topic")
    assert rule["Targets"] == [{"Arn": {"Ref": topic_id}, "Id": "Target0"}]


def test_trigger_is_exposed_and_reports_nothing_without_a_topic(built: Built) -> None:
    trigger = built.trigger
    assert trigger.trigger_rule is not None and trigger.trigger_state_machine is not None
    template = built.templates["TriggerStack"]
    assert [
        rule["Properties"]["EventPattern"]["source"]
        for rule in resources(template, "AWS::Events::Rule").values()
    ] == [["aws.s3"]]
    assert built.definition.trigger_rule is None
    assert built.definition.trigger_state_machine is None
    assert resources(built.templates["DefinitionStack"], "AWS::StepFunctions::StateMachine") == {}


def test_failed_executions_go_to_an_encrypted_tls_only_topic(
    sagemaker_template: dict[str, Any],
) -> None:
    template = Template.from_json(sagemaker_template)
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.sagemaker"],
                "detail-type": ["SageMaker Model Building Pipeline Execution Status Change"],
                "detail": {
                    "pipelineArn": [f"{ARN_PREFIX}:pipeline/mlpipes-review-classifier"],
                    "currentPipelineExecutionStatus": ["Failed"],
                },
            },
            "Targets": [
                Match.object_like({"Arn": {"Ref": Match.string_like_regexp("Notifications")}})
            ],
        },
    )
    (topic,) = resources(sagemaker_template, "AWS::SNS::Topic").values()
    assert "KmsMasterKeyId" in topic["Properties"]
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_jobs_run_in_a_security_group_open_only_to_itself(
    sagemaker_template: dict[str, Any],
) -> None:
    ingress_rules = [
        rule["Properties"]
        for rule in resources(sagemaker_template, "AWS::EC2::SecurityGroupIngress").values()
    ]
    (own,) = [rule for rule in ingress_rules if rule["IpProtocol"] == "-1"]
    assert own["SourceSecurityGroupId"] == own["GroupId"]
    # The only other rule lets the jobs reach the MLflow server's port, on the server's group.
    (tracking,) = [rule for rule in ingress_rules if rule is not own]
    assert tracking["SourceSecurityGroupId"] == own["GroupId"]
    assert (tracking["IpProtocol"], tracking["FromPort"]) == ("tcp", tracking["ToPort"])
    assert "Fn::GetStackOutput" in tracking["GroupId"]


# --- Definition dicts, SDK pipelines, large definitions -----------------------------------


def test_definition_dict_role_covers_exactly_its_step_types(built: Built) -> None:
    statements = {s["Sid"]: s for s in _pipeline_policy(built.templates["DefinitionStack"])}
    assert set(statements) == {
        "PassJobRole",
        "RunProcessingJobPipelinesAny",
        "RegisterModelVersions",
        "UseModelPackageGroups",
        "ReadPropertyFiles",
        "UsePlatformKey",
    }
    assert statements["PassJobRole"]["Resource"] == JOB_ROLE_ARN
    assert statements["UsePlatformKey"]["Resource"] == KEY_ARN
    assert statements["ReadPropertyFiles"]["Resource"] == (
        f"arn:aws:s3:::{BUCKET_NAME}/pipelines/Churn-Pipeline/*"
    )
    assert built.definition.step_types == frozenset(
        {"Processing", "Condition", "RegisterModel", "Fail"}
    )
    assert built.definition.model_package_group_names == ("churn-models",)


def test_definition_dict_is_inlined_with_its_settings(built: Built) -> None:
    template = built.templates["DefinitionStack"]
    (pipeline,) = resources(template, "AWS::SageMaker::Pipeline").values()
    properties = pipeline["Properties"]
    assert json.loads(properties["PipelineDefinition"]["PipelineDefinitionBody"]) == DEFINITION
    assert properties["ParallelismConfiguration"] == {"MaxParallelExecutionSteps": 4}
    # The pipeline ARN uses the lowercased name, as SageMaker does.
    assert built.definition.pipeline_arn == f"{ARN_PREFIX}:pipeline/churn-pipeline"


def test_schedule_starts_executions_with_fixed_parameters(built: Built) -> None:
    template = Template.from_json(built.templates["DefinitionStack"])
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "cron(0 3 ? * MON-FRI *)",
            "Targets": [
                Match.object_like(
                    {
                        "Arn": f"{ARN_PREFIX}:pipeline/churn-pipeline",
                        "SageMakerPipelineParameters": {
                            "PipelineParameterList": [{"Name": "Threshold", "Value": "0.8"}]
                        },
                    }
                )
            ],
        },
    )


def test_topic_key_in_the_same_stack_lets_eventbridge_publish(built: Built) -> None:
    template = Template.from_json(built.templates["DefinitionStack"])
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "AllowEventBridgeToPublishEncryptedMessages",
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                            }
                        )
                    ]
                )
            }
        },
    )


def test_grant_start_execution_names_only_this_pipeline(built: Built) -> None:
    template = Template.from_json(built.templates["DefinitionStack"])
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "sagemaker:StartPipelineExecution",
                        "Effect": "Allow",
                        "Resource": f"{ARN_PREFIX}:pipeline/churn-pipeline",
                    }
                ]
            }
        },
    )


def test_metrics_use_the_model_building_pipeline_namespace(built: Built) -> None:
    stack = cdk.Stack.of(built.definition)
    expected = {
        built.definition.metric_started(): ("ExecutionStarted", "Sum"),
        built.definition.metric_succeeded(): ("ExecutionSucceeded", "Sum"),
        built.definition.metric_failed(): ("ExecutionFailed", "Sum"),
        built.definition.metric_stopped(): ("ExecutionStopped", "Sum"),
        built.definition.metric_duration(): ("ExecutionDuration", "Average"),
    }
    for metric, (name, statistic) in expected.items():
        assert metric.namespace == "AWS/Sagemaker/ModelBuildingPipeline"
        assert metric.metric_name == name
        assert metric.statistic == statistic
        assert stack.resolve(metric.dimensions) == {"PipelineName": "Churn-Pipeline"}


def test_large_definition_is_uploaded_and_referenced(built: Built) -> None:
    (pipeline,) = resources(built.templates["LargeStack"], "AWS::SageMaker::Pipeline").values()
    location = pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionS3Location"]
    assert location["Bucket"] == "cdk-hnb659fds-assets-123456789012-us-east-1"
    assert location["Key"].endswith(".json")
    assert built.large.definition_asset is not None
    assert resources(built.templates["LargeStack"], "AWS::Events::Rule") == {}


def test_sdk_pipeline_definition_is_used_as_is(built: Built) -> None:
    (pipeline,) = resources(built.templates["SdkStack"], "AWS::SageMaker::Pipeline").values()
    body = json.loads(pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"])
    assert [step["Name"] for step in body["Steps"]] == ["Prepare", "Stop"]
    assert pipeline["Properties"]["PipelineName"] == "sdk-built-pipeline"
    statements = {s["Sid"] for s in _pipeline_policy(built.templates["SdkStack"])}
    assert statements == {
        "PassJobRole",
        "RunProcessingJobPipelinesAny",
        "ReadPropertyFiles",
        "UsePlatformKey",
    }


# --- Endpoint steps ------------------------------------------------------------------------


def _acknowledged_wildcards(built: Built, stack_name: str, construct: str) -> dict[str, str]:
    """IAM5 findings acknowledged on a construct of the module's app: resource -> reason."""
    metadata = json.loads((built.outdir / f"{stack_name}.metadata.json").read_text("utf-8"))
    return {
        rule.split("::", 1)[-1].removeprefix("AwsSolutions-IAM5[Resource::").removesuffix("]"): (
            reason
        )
        for path, entries in metadata.items()
        if path.startswith(f"/{stack_name}/{construct}/")
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
        for rule, reason in entry["data"].items()
        if "AwsSolutions-IAM5[" in rule
    }


def test_endpoint_steps_get_their_configurations_and_named_endpoint_only(built: Built) -> None:
    statements = {
        s["Sid"]: s
        for s in policy_statements(
            built.templates["EndpointStack"], "Permissions of the SageMaker pipeline serving"
        )
    }
    assert set(statements) == {
        "PassJobRole",
        "RunModelPipelinesAny",
        "RunTrainingJobPipelinesAny",
        "CreateEndpointConfigs",
        "DeployEndpoints",
        "DeployEndpointConfigs",
        "ReadPropertyFiles",
        "UsePlatformKey",
        "EncryptEndpointStorage",
    }
    configs = f"{ARN_PREFIX}:endpoint-config/serving-deploy-*"
    assert statements["CreateEndpointConfigs"] == {
        "Sid": "CreateEndpointConfigs",
        "Effect": "Allow",
        "Action": [
            "sagemaker:AddTags",
            "sagemaker:CreateEndpointConfig",
            "sagemaker:DescribeEndpointConfig",
        ],
        "Resource": configs,
    }
    # The endpoint's name is lowercased in its ARN, as SageMaker writes it.
    assert statements["DeployEndpoints"] == {
        "Sid": "DeployEndpoints",
        "Effect": "Allow",
        "Action": [
            "sagemaker:AddTags",
            "sagemaker:CreateEndpoint",
            "sagemaker:DescribeEndpoint",
            "sagemaker:UpdateEndpoint",
        ],
        "Resource": f"{ARN_PREFIX}:endpoint/reviews-live",
    }
    assert statements["DeployEndpointConfigs"] == {
        "Sid": "DeployEndpointConfigs",
        "Effect": "Allow",
        "Action": ["sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint"],
        "Resource": configs,
    }
    assert statements["EncryptEndpointStorage"] == {
        "Sid": "EncryptEndpointStorage",
        "Effect": "Allow",
        "Action": "kms:CreateGrant",
        "Resource": KEY_ARN,
        "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
    }
    assert built.serving.step_types >= {"EndpointConfig", "Endpoint"}
    wildcards = _acknowledged_wildcards(built, "EndpointStack", "Serving")
    assert "execution id" in wildcards[configs]
    assert not any(resource.startswith(f"{ARN_PREFIX}:endpoint/") for resource in wildcards)


def test_endpoint_named_by_a_parameter_is_any_endpoint_of_the_account_and_region(
    built: Built,
) -> None:
    statements = {
        s["Sid"]: s
        for s in policy_statements(
            built.templates["EndpointStack"],
            "Permissions of the SageMaker pipeline parameter-endpoint",
        )
    }
    assert set(statements) == {
        "PassJobRole",
        "CreateEndpointConfigs",
        "DeployEndpoints",
        "DeployEndpointConfigs",
        "ReadPropertyFiles",
        "UsePlatformKey",
    }
    # The SDK's constant configuration name, lowercased; the endpoint is known at run time.
    assert statements["CreateEndpointConfigs"]["Resource"] == (
        f"{ARN_PREFIX}:endpoint-config/churn-config"
    )
    assert statements["DeployEndpointConfigs"]["Resource"] == (
        f"{ARN_PREFIX}:endpoint-config/churn-config"
    )
    assert statements["DeployEndpoints"]["Resource"] == f"{ARN_PREFIX}:endpoint/*"
    wildcards = _acknowledged_wildcards(built, "EndpointStack", "ParameterEndpoint")
    assert "pipeline parameter" in wildcards[f"{ARN_PREFIX}:endpoint/*"]


def test_endpoint_usage_reads_names_as_arn_patterns() -> None:
    execution_id = {"Get": "Execution.PipelineExecutionId"}
    definition = {
        "Steps": [
            {
                "Name": "Gate",
                "Type": "Condition",
                "Arguments": {
                    "IfSteps": [
                        {
                            "Name": "A-Config",
                            "Type": "EndpointConfig",
                            "Arguments": {
                                "EndpointConfigName": {
                                    "Std:Join": {"On": "-", "Values": ["P-A", execution_id]}
                                },
                                "KmsKeyId": "key",
                            },
                        },
                        {
                            "Name": "A",
                            "Type": "Endpoint",
                            "Arguments": {
                                "EndpointName": "Live",
                                "EndpointConfigName": {"Get": "Steps.A-Config.EndpointConfigName"},
                            },
                        },
                    ],
                    "ElseSteps": [
                        {
                            "Name": "B",
                            "Type": "Endpoint",
                            "Arguments": {
                                "EndpointName": {"Std:Join": {"On": "-", "Values": ["live", "b"]}},
                                "EndpointConfigName": "Existing",
                            },
                        }
                    ],
                },
            }
        ]
    }
    assert endpoint_usage(definition) == EndpointUsage(
        configs=("p-a-*",),
        deployed_configs=("existing", "p-a-*"),
        endpoints=("live", "live-b"),
        encrypted=True,
    )
    # A parameter or a deploy-time token is any name; "*" then covers every other pattern.
    definition["Steps"][0]["Arguments"]["ElseSteps"][0]["Arguments"]["EndpointName"] = (
        "${Token[TOKEN.7]}"
    )
    assert endpoint_usage(definition).endpoints == ("*",)
    assert endpoint_usage({"Steps": []}) == EndpointUsage((), (), (), encrypted=False)


def test_trigger_turns_on_eventbridge_for_a_bucket_in_the_same_stack(built: Built) -> None:
    template = Template.from_json(built.templates["TriggerStack"])
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {"NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}},
    )


def test_trigger_on_another_stacks_bucket_needs_eventbridge_there() -> None:
    app = new_app()
    producer = new_stack(app, "Producer")
    key = kms.Key(producer, "Key", enable_key_rotation=True)
    bucket = s3.Bucket(producer, "Bucket", encryption_key=key)
    consumer = new_stack(app, "Consumer")
    _, _, role = imported_platform(consumer)
    SageMakerPipeline(
        consumer,
        "Triggered",
        pipeline=DEFINITION,
        pipeline_name="triggered",
        job_role=role,
        artifact_bucket=bucket,
        encryption_key=key,
        trigger_prefix="incoming/",
        notifications=FailureNotifications(enabled=False),
    )
    with pytest.raises(RuntimeError) as error:
        app.synth()
    assert (
        "trigger_prefix 'incoming/' needs the artifact bucket 'Producer/Bucket' to send events "
        "to EventBridge; it is defined in another stack, so turn it on there "
        "(ArtifactStorage(event_bridge_enabled=True) or s3.Bucket(event_bridge_enabled=True))"
    ) in str(error.value)


# --- Bad props --------------------------------------------------------------------------------


def _problems(stack: cdk.Stack, **props: Any) -> list[str]:
    bucket, key, role = imported_platform(stack)
    arguments: dict[str, Any] = {
        "job_role": role,
        "artifact_bucket": bucket,
        "encryption_key": key,
        "notifications": FailureNotifications(enabled=False),
    }
    arguments.update(props)
    with pytest.raises(PropsValidationError) as error:
        SageMakerPipeline(stack, f"Bad{len(stack.node.children)}", **arguments)
    return error.value.problems


def test_pipeline_must_be_a_spec_a_definition_or_an_sdk_pipeline(stack: cdk.Stack) -> None:
    assert _problems(stack, pipeline=["not", "a", "pipeline"], pipeline_name="p") == [
        "pipeline 'list' is not a pipeline: expected a spec (mlpipes_constructs.spec.Pipeline), "
        "a SageMaker pipeline definition dict or a sagemaker SDK pipeline "
        "(sagemaker.mlops.workflow.pipeline.Pipeline)"
    ]


def test_pipeline_name_rules(stack: cdk.Stack) -> None:
    assert _problems(stack, pipeline=DEFINITION) == [
        "pipeline_name is required with a definition dict"
    ]
    assert _problems(stack, pipeline=DEFINITION, pipeline_name="bad_name-") == [
        "pipeline_name 'bad_name-' is not a valid SageMaker name: use 1-256 letters, digits "
        "and hyphens, starting and ending with a letter or digit"
    ]


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        (
            "cron(0 3 * * *)",
            "schedule 'cron(0 3 * * *)' has 5 cron fields; EventBridge needs 6: minutes hours "
            "day-of-month month day-of-week year",
        ),
        (
            "cron(0 3 * * * *)",
            "schedule 'cron(0 3 * * * *)': exactly one of day-of-month ('*') and day-of-week "
            "('*') must be '?'",
        ),
        (
            "cron(0 24 ? * MON *)",
            "schedule 'cron(0 24 ? * MON *)': invalid hours field '24' (expected values from 0 "
            "to 23, with '*', ',', '-' and '/' as EventBridge allows)",
        ),
        ("rate(1 days)", "schedule 'rate(1 days)': use '1 day' (EventBridge is strict)"),
        (
            "rate(2 weeks)",
            "schedule 'rate(2 weeks)': the rate unit 'weeks' must be minute(s), hour(s) or day(s)",
        ),
        (
            "at(2030-01-01T00:00:00)",
            "schedule 'at(2030-01-01T00:00:00)' is not an EventBridge schedule expression; "
            "expected 'rate(<value> <unit>)' such as 'rate(1 day)' or 'cron(<6 fields>)' such "
            "as 'cron(0 3 * * ? *)'",
        ),
    ],
)
def test_invalid_schedules_are_refused(stack: cdk.Stack, expression: str, problem: str) -> None:
    assert _problems(
        stack,
        pipeline=DEFINITION,
        pipeline_name="p",
        schedule=events.Schedule.expression(expression),
    ) == [problem]


def test_missing_property_file_is_refused(stack: cdk.Stack) -> None:
    definition = _definition()
    definition["Steps"][0]["PropertyFiles"] = []
    assert _problems(stack, pipeline=definition, pipeline_name="p") == [
        "definition reads property file 'Report' of step 'Prepare' (Std:JsonGet), but that "
        "step declares no such PropertyFiles entry (declared: none)"
    ]


def test_property_file_of_unknown_step_is_refused(stack: cdk.Stack) -> None:
    definition = _definition()
    definition["Steps"][0]["Name"] = "Preprocess"
    assert _problems(stack, pipeline=definition, pipeline_name="p") == [
        "definition reads property file 'Report' of step 'Prepare' (Std:JsonGet), but there is "
        "no such step"
    ]


def test_invalid_instance_type_in_definition_is_refused(stack: cdk.Stack) -> None:
    definition = _definition()
    definition["Steps"][0]["Arguments"]["ProcessingResources"]["ClusterConfig"]["InstanceType"] = (
        "m5.large"
    )
    assert _problems(stack, pipeline=definition, pipeline_name="p") == [
        "definition Steps.Prepare.ProcessingResources.ClusterConfig.InstanceType 'm5.large' is "
        "not a SageMaker instance type; expected e.g. 'ml.m5.large'"
    ]


def test_definition_over_the_service_limit_is_refused(stack: cdk.Stack) -> None:
    definition = _definition(Metadata={"padding": "x" * (1024 * 1024)})
    (problem,) = _problems(stack, pipeline=definition, pipeline_name="p")
    assert problem.startswith("the pipeline definition is 104")
    assert problem.endswith(
        "bytes; SageMaker accepts at most 1048576 bytes (1 MiB): split the pipeline or move "
        "large literals (such as inline scripts) into job code"
    )


def test_large_definition_with_deploy_time_values_is_refused(stack: cdk.Stack) -> None:
    definition = _definition(Metadata={"padding": "x" * INLINE_DEFINITION_LIMIT})
    definition["Parameters"][0]["DefaultValue"] = f"s3://{stack.account}-{stack.stack_id}/"
    (problem,) = _problems(stack, pipeline=definition, pipeline_name="p")
    assert problem.endswith(
        f"more than the {INLINE_DEFINITION_LIMIT} bytes kept inline, so it is uploaded to S3 as "
        "a file, where deploy-time values (role ARNs, bucket names, asset locations) cannot be "
        "filled in: use literal values in a definition this large"
    )


def test_register_step_with_run_time_group_needs_explicit_groups(stack: cdk.Stack) -> None:
    definition = _definition()
    register = definition["Steps"][1]["Arguments"]["IfSteps"][0]
    register["Arguments"]["ModelPackageGroupName"] = {"Get": "Parameters.Group"}
    assert _problems(stack, pipeline=definition, pipeline_name="p") == [
        "RegisterModel step 'Register' takes its model package group from {\"Get\": "
        '"Parameters.Group"}, which is only known at run time: pass the groups it may use as '
        "model_package_group_names"
    ]


def test_trigger_parameter_must_be_a_pipeline_parameter(stack: cdk.Stack) -> None:
    assert _problems(
        stack,
        pipeline=DEFINITION,
        pipeline_name="p",
        trigger_prefix="incoming/",
        trigger_parameter="DataUri",
    ) == [
        "trigger_parameter 'DataUri' is not a parameter of the pipeline (parameters: "
        "InputDataUri, Threshold)"
    ]


def test_trigger_parameter_must_be_a_string_parameter(stack: cdk.Stack) -> None:
    assert _problems(
        stack,
        pipeline=DEFINITION,
        pipeline_name="p",
        trigger_prefix="incoming/",
        trigger_parameter="Threshold",
    ) == [
        "trigger_parameter 'Threshold' is a Float parameter; it receives the new object's "
        "s3:// URI, so it must be a String parameter"
    ]


def test_conflicting_and_malformed_props_are_all_reported(stack: cdk.Stack) -> None:
    vpc = ec2.Vpc.from_vpc_attributes(
        stack, "Vpc", vpc_id="vpc-1", availability_zones=["us-east-1a"]
    )
    assert _problems(
        stack,
        pipeline=DEFINITION,
        pipeline_name="p",
        placement=JobPlacementOptions(vpc=vpc),
        trigger_prefix="/incoming",
        schedule_input={"Threshold": 1},
        max_parallel_steps=0,
    ) == [
        "trigger_prefix entry '/incoming' must be a folder such as 'data/': not empty, ending "
        "with '/', not starting with '/', without '*'",
        "'placement' and 'pipeline (a definition dict)' cannot be used together: a native "
        "definition carries its own NetworkConfig; 'placement' applies to a spec",
        "'schedule_input' and 'schedule=None' cannot be used together: there are no scheduled runs",
        "max_parallel_steps 0 must be a whole number from 1 to 1000",
    ]


def test_spec_code_directory_must_exist(stack: cdk.Stack, tmp_path: Path) -> None:
    spec = reference_pipeline(input_data_uri="s3://b/d/")
    missing = type(spec)(
        name=spec.name,
        steps=spec.steps,
        parameters=spec.parameters,
        base_directory=str(tmp_path),
    )
    assert _problems(stack, pipeline=missing) == [
        f"pipeline step code 'scripts' is not a directory: '{tmp_path / 'scripts'}' does not exist"
    ]


# --- One vocabulary: schedules, schedule input, placement, notifications -----------------


def test_schedule_given_as_an_expression_string_is_a_rule(stack: cdk.Stack) -> None:
    bucket, key, role = imported_platform(stack)
    SageMakerPipeline(
        stack,
        "Daily",
        pipeline=DEFINITION,
        pipeline_name="daily",
        job_role=role,
        artifact_bucket=bucket,
        encryption_key=key,
        schedule="rate(1 day)",
        schedule_input={"Threshold": 0.7, "InputDataUri": "s3://b/today/"},
        notifications=FailureNotifications(enabled=False),
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "rate(1 day)",
            "Targets": [
                Match.object_like(
                    {
                        "SageMakerPipelineParameters": {
                            "PipelineParameterList": [
                                {"Name": "InputDataUri", "Value": "s3://b/today/"},
                                {"Name": "Threshold", "Value": "0.7"},
                            ]
                        }
                    }
                )
            ],
        },
    )


def test_invalid_schedule_string_is_refused(stack: cdk.Stack) -> None:
    assert _problems(stack, pipeline=DEFINITION, pipeline_name="p", schedule="every day") == [
        "schedule 'every day' is not an EventBridge schedule expression; expected "
        "'rate(<value> <unit>)' such as 'rate(1 day)' or 'cron(<6 fields>)' such as "
        "'cron(0 3 * * ? *)'"
    ]


def test_schedule_input_is_checked_against_the_parameters(stack: cdk.Stack) -> None:
    assert _problems(
        stack,
        pipeline=DEFINITION,
        pipeline_name="p",
        schedule="rate(1 day)",
        schedule_input={"Threshold": "0.8", "InputDataUri": 3, "Epochs": 2},
    ) == [
        "schedule_input 'Threshold' is \"0.8\" (str); parameter 'Threshold' is Float, so give a "
        "number (int or float)",
        "schedule_input 'InputDataUri' is 3 (int); parameter 'InputDataUri' is String, so give "
        "a str",
        "schedule_input names unknown parameter 'Epochs' (parameters: InputDataUri, Threshold)",
    ]


def test_placement_that_selects_no_subnets_is_refused(stack: cdk.Stack) -> None:
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "NoSubnets",
        vpc_id="vpc-1",
        availability_zones=["us-east-1a"],
        private_subnet_ids=[],
    )
    spec = reference_pipeline(input_data_uri="s3://b/d/")
    (problem,) = _problems(stack, pipeline=spec, placement=JobPlacementOptions(vpc=vpc))
    assert problem.startswith("placement.vpc_subnets selects no subnets of ")


def test_placement_with_no_security_group_is_refused(stack: cdk.Stack) -> None:
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-1",
        availability_zones=["us-east-1a"],
        private_subnet_ids=["subnet-1"],
    )
    spec = reference_pipeline(input_data_uri="s3://b/d/")
    assert _problems(
        stack, pipeline=spec, placement=JobPlacementOptions(vpc=vpc, security_groups=[])
    ) == ["placement.security_groups has 0 groups; a job needs 1 to 5 (omit it for a new group)"]


def test_notification_options_that_contradict_each_other_are_refused(stack: cdk.Stack) -> None:
    topic = sns.Topic(stack, "Topic")
    other_key = kms.Key(stack, "OtherKey", enable_key_rotation=True)
    assert _problems(
        stack,
        pipeline=DEFINITION,
        pipeline_name="p",
        notifications=FailureNotifications(topic=topic, encryption_key=other_key),
    ) == [
        "'notifications.encryption_key' and 'notifications.topic' cannot be used together: "
        "the key applies only to a new topic; an existing topic keeps its own"
    ]


def test_only_this_pipelines_rules_may_publish_to_its_topic(built: Built) -> None:
    template = built.templates["DefinitionStack"]
    (policy,) = resources(template, "AWS::SNS::TopicPolicy").values()
    allows = [
        statement
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow"
    ]
    (rule_id,) = resources(template, "AWS::Events::Rule").keys() - {
        logical_id
        for logical_id, rule in resources(template, "AWS::Events::Rule").items()
        if "ScheduleExpression" in rule["Properties"]
    }
    (allow,) = allows
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Action"] == "sns:Publish"
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}


def test_default_child_is_the_pipeline_resource(built: Built) -> None:
    default_child = built.definition.node.default_child
    assert default_child is not None
    assert default_child.node.path == built.definition.cfn_pipeline.node.path
    assert isinstance(built.definition.cfn_pipeline, sagemaker_l1.CfnPipeline)


def test_trigger_accepts_a_bucket_with_eventbridge_on_through_cdk(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    producer = new_stack(app, "Producer")
    key = kms.Key(producer, "Key", enable_key_rotation=True)
    bucket = s3.Bucket(producer, "Bucket", encryption_key=key, event_bridge_enabled=True)
    consumer = new_stack(app, "Consumer")
    _, _, role = imported_platform(consumer)
    SageMakerPipeline(
        consumer,
        "Triggered",
        pipeline=DEFINITION,
        pipeline_name="triggered",
        job_role=role,
        artifact_bucket=bucket,
        encryption_key=key,
        trigger_prefix="incoming/",
        notifications=FailureNotifications(enabled=False),
    )
    assembly = app.synth()
    rules = resources(assembly.get_stack_by_name("Consumer").template, "AWS::Events::Rule")
    assert [rule["Properties"]["EventPattern"]["source"] for rule in rules.values()] == [["aws.s3"]]


def test_trigger_on_a_bucket_with_cdk_notifications_keeps_them_in_one_place(
    stack: cdk.Stack,
) -> None:
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    bucket = s3.Bucket(stack, "Bucket", encryption_key=key)
    bucket.add_object_created_notification(
        s3n.SnsDestination(sns.Topic(stack, "Uploads")), s3.NotificationKeyFilter(prefix="x/")
    )
    _, _, role = imported_platform(stack)
    SageMakerPipeline(
        stack,
        "Triggered",
        pipeline=DEFINITION,
        pipeline_name="triggered",
        job_role=role,
        artifact_bucket=bucket,
        encryption_key=key,
        trigger_prefix="incoming/",
        notifications=FailureNotifications(enabled=False),
    )
    template = Template.from_stack(stack)
    (bucket_resource,) = resources(template.to_json(), "AWS::S3::Bucket").values()
    assert "NotificationConfiguration" not in bucket_resource["Properties"]
    template.has_resource_properties(
        "Custom::S3BucketNotifications",
        {"NotificationConfiguration": Match.object_like({"EventBridgeConfiguration": {}})},
    )
