"""MlStateMachine: logging, tracing, timeout, notifications, IAM, schedule, metrics, props."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match, Template

from mlpipes_constructs.errors import PropsValidationError
from mlpipes_constructs.foundation import SageMakerJobRole
from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.stepfunctions import MlStateMachine
from tests.conftest import TEST_ENV


@pytest.fixture(scope="module")
def built() -> tuple[MlStateMachine, dict[str, Any]]:
    stack = cdk.Stack(cdk.App(), "Machine", env=TEST_ENV)
    bucket = s3.Bucket.from_bucket_name(stack, "Bucket", "artifacts")
    key = cdk.aws_kms.Key(stack, "JobKey", enable_key_rotation=True)
    job_role = SageMakerJobRole(stack, "JobRole", bucket=bucket, encryption_key=key)
    machine = MlStateMachine(
        stack,
        "Pipeline",
        pipeline=reference_pipeline(input_data_uri="s3://artifacts/data/"),
        job_role=job_role,
        artifact_bucket=bucket,
        encryption_key=key,
        schedule="rate(1 day)",
        schedule_input={"AccuracyThreshold": 0.8},
    )
    return machine, Template.from_stack(stack).to_json()


def _resources(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def test_state_machine_logs_everything_encrypted_traces_and_times_out(
    built: tuple[MlStateMachine, dict[str, Any]],
) -> None:
    template = Template.from_json(built[1])
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineType": "STANDARD",
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": Match.object_like(
                {"Level": "ALL", "IncludeExecutionData": True}
            ),
            "DefinitionString": Match.any_value(),
        },
    )
    definition = str(_resources(built[1], "AWS::StepFunctions::StateMachine")[0])
    assert '"TimeoutSeconds":86400' in definition
    template.has_resource_properties(
        "AWS::Logs::LogGroup", {"KmsKeyId": Match.any_value(), "RetentionInDays": 365}
    )


def test_failures_notify_an_encrypted_topic(built: tuple[MlStateMachine, dict[str, Any]]) -> None:
    template = Template.from_json(built[1])
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.states"],
                "detail-type": ["Step Functions Execution Status Change"],
                "detail": {
                    "status": ["FAILED", "TIMED_OUT", "ABORTED"],
                    "stateMachineArn": [Match.any_value()],
                },
            },
            "Targets": [Match.object_like({"Arn": Match.any_value()})],
        },
    )
    # The one key of the stack (no other is created) lets EventBridge publish, and no more.
    (key,) = _resources(built[1], "AWS::KMS::Key")
    (events_statement,) = [
        statement
        for statement in key["Properties"]["KeyPolicy"]["Statement"]
        if statement.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    assert events_statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    (policy,) = _resources(built[1], "AWS::SNS::TopicPolicy")
    (allow,) = [
        statement
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow"
    ]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert list(allow["Condition"]["ArnEquals"]) == ["aws:SourceArn"]


def test_roles_have_no_inline_policies(built: tuple[MlStateMachine, dict[str, Any]]) -> None:
    assert _resources(built[1], "AWS::IAM::Policy") == []
    machine = _resources(built[1], "AWS::StepFunctions::StateMachine")[0]
    assert len(machine["DependsOn"]) == 1
    actions = str(built[0].role.managed_policy.document.to_json())
    assert "sagemaker:CreateProcessingJob" in actions
    assert "sagemaker:*" not in actions


def test_job_role_may_read_the_uploaded_code(built: tuple[MlStateMachine, dict[str, Any]]) -> None:
    machine = built[0]
    assert list(machine.code_assets) == ["scripts"]
    job_policy = next(
        p for p in _resources(built[1], "AWS::IAM::ManagedPolicy") if "read their code" in str(p)
    )
    asset = machine.code_assets["scripts"]
    assert asset.s3_object_key.split(".")[0] in str(cdk.Stack.of(machine).resolve(job_policy))
    (role,) = job_policy["Properties"]["Roles"]
    assert role["Ref"].startswith("JobRole")


def test_job_role_may_list_the_code_prefix_that_sagemaker_reads(
    built: tuple[MlStateMachine, dict[str, Any]],
) -> None:
    machine = built[0]
    stack = cdk.Stack.of(machine)
    asset = machine.code_assets["scripts"]
    job_policy = next(
        p for p in _resources(built[1], "AWS::IAM::ManagedPolicy") if "read their code" in str(p)
    )
    statements = job_policy["Properties"]["PolicyDocument"]["Statement"]
    listing = [s for s in statements if s["Action"] == "s3:ListBucket"]
    expected_prefix = stack.resolve(asset.s3_object_key)
    assert any(
        s["Condition"] == {"StringLike": {"s3:prefix": [expected_prefix]}}
        and s["Resource"] == stack.resolve(asset.bucket.bucket_arn)
        for s in listing
    ), listing


def test_jobs_use_the_artifact_buckets_key_by_default() -> None:
    stack = cdk.Stack(cdk.App(), "BucketKey", env=TEST_ENV)
    key = cdk.aws_kms.Key(stack, "BucketKey", enable_key_rotation=True)
    bucket = s3.Bucket(stack, "Bucket", encryption_key=key, enforce_ssl=True)
    machine = MlStateMachine(
        stack,
        "Pipeline",
        pipeline=reference_pipeline(input_data_uri="s3://artifacts/data/"),
        job_role=iam.Role.from_role_arn(
            stack, "JobRole", "arn:aws:iam::123456789012:role/job", mutable=False
        ),
        artifact_bucket=bucket,
    )
    key_arn = stack.resolve(key.key_arn)
    template = Template.from_stack(stack).to_json()
    definition = str(_resources(template, "AWS::StepFunctions::StateMachine")[0])
    assert '"VolumeKmsKeyId":"' in definition
    assert str(key_arn["Fn::GetAtt"][0]) in definition
    # The condition step reads the evaluation report, which that key encrypts.
    policy = stack.resolve(machine.role.managed_policy.document.to_json())
    decrypts = [s for s in policy["Statement"] if s["Action"] == "kms:Decrypt"]
    assert any(s["Resource"] == key_arn for s in decrypts), decrypts


def test_schedule_starts_executions_with_the_given_input(
    built: tuple[MlStateMachine, dict[str, Any]],
) -> None:
    Template.from_json(built[1]).has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "rate(1 day)",
            "Targets": [Match.object_like({"Input": '{"AccuracyThreshold":0.8}'})],
        },
    )


def test_metrics_and_grants(built: tuple[MlStateMachine, dict[str, Any]]) -> None:
    machine = built[0]
    assert machine.metric_failed().metric_name == "ExecutionsFailed"
    assert machine.metric_timed_out().namespace == "AWS/States"
    assert machine.metric_duration().metric_name == "ExecutionTime"
    assert machine.metric_duration().statistic == "Average"
    assert machine.metric_stopped().metric_name == "ExecutionsAborted"
    assert machine.metric_failed(period=cdk.Duration.hours(1)).period.to_hours() == 1
    assert "StateMachineArn" in machine.metric_started().dimensions
    stack = cdk.Stack.of(machine)
    user = iam.User(stack, "Operator")
    machine.grant_start_execution(user)
    assert "states:StartExecution" in str(
        stack.resolve(user.node.find_child("DefaultPolicy").document.to_json())
    )  # type: ignore[attr-defined]


def _bad(**props: Any) -> None:
    stack = cdk.Stack(cdk.App(), "Bad", env=TEST_ENV)
    MlStateMachine(stack, "Machine", **props)


def _chain(stack: cdk.Stack | None = None) -> sfn.IChainable:
    return sfn.Pass(stack or cdk.Stack(cdk.App(), "Chain"), "Start")


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"pipeline": "not a pipeline"}, "pipeline 'str' is neither a spec"),
        (
            {"pipeline": reference_pipeline(input_data_uri="s3://b/d/")},
            "job_role is required with a spec",
        ),
        ({"timeout": cdk.Duration.days(400)}, "timeout 34560000 seconds must be from 1 second"),
        ({"schedule": "every day"}, "schedule 'every day' is not an EventBridge schedule"),
        ({"schedule": "rate(1 days)"}, "schedule 'rate\\(1 days\\)'"),
        ({"schedule_input": {"a": 1}}, "'schedule_input' and 'schedule=None'"),
        ({"state_machine_name": "has space"}, "state_machine_name 'has space'"),
        ({"artifact_prefix": "x/"}, "'artifact_prefix' and 'pipeline \\(a chainable\\)'"),
        ({}, "encryption_key is required: there is no artifact_bucket"),
    ],
)
def test_bad_props_fail_with_a_clear_error(props: dict[str, Any], message: str) -> None:
    stack = cdk.Stack(cdk.App(), "Bad", env=TEST_ENV)
    if "pipeline" not in props:
        props = {"pipeline": sfn.Pass(stack, "Start"), **props}
    with pytest.raises(PropsValidationError, match=message):
        MlStateMachine(stack, "Machine", **props)


def test_a_cdk_chainable_runs_without_a_spec() -> None:
    stack = cdk.Stack(cdk.App(), "Chain", env=TEST_ENV)
    key = cdk.aws_kms.Key(stack, "Key", enable_key_rotation=True)
    machine = MlStateMachine(
        stack,
        "Machine",
        pipeline=sfn.Pass(stack, "Hello"),
        encryption_key=key,
        timeout=cdk.Duration.hours(1),
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::StepFunctions::StateMachine", 1)
    assert machine.compiled is None
    assert '"TimeoutSeconds":3600' in str(
        _resources(template.to_json(), "AWS::StepFunctions::StateMachine")[0]
    )


def test_no_key_is_created_and_the_bucket_key_is_the_default() -> None:
    stack = cdk.Stack(cdk.App(), "OneKey", env=TEST_ENV)
    key = cdk.aws_kms.Key(stack, "BucketKey", enable_key_rotation=True)
    bucket = s3.Bucket(stack, "Bucket", encryption_key=key, enforce_ssl=True)
    machine = MlStateMachine(
        stack,
        "Pipeline",
        pipeline=reference_pipeline(input_data_uri="s3://artifacts/data/"),
        job_role=iam.Role.from_role_arn(
            stack, "JobRole", "arn:aws:iam::123456789012:role/job", mutable=False
        ),
        artifact_bucket=bucket,
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::KMS::Key", 1)
    assert machine.encryption_key is key
    (log_group,) = _resources(template.to_json(), "AWS::Logs::LogGroup")
    assert log_group["Properties"]["KmsKeyId"] == stack.resolve(key.key_arn)


def test_schedule_input_is_checked_against_the_specs_parameters() -> None:
    stack = cdk.Stack(cdk.App(), "Input", env=TEST_ENV)
    key = cdk.aws_kms.Key(stack, "Key", enable_key_rotation=True)
    bucket = s3.Bucket(stack, "Bucket", encryption_key=key, enforce_ssl=True)
    with pytest.raises(PropsValidationError) as error:
        MlStateMachine(
            stack,
            "Pipeline",
            pipeline=reference_pipeline(input_data_uri="s3://artifacts/data/"),
            job_role=iam.Role.from_role_arn(
                stack, "JobRole", "arn:aws:iam::123456789012:role/job", mutable=False
            ),
            artifact_bucket=bucket,
            schedule=cdk.aws_events.Schedule.rate(cdk.Duration.days(1)),
            schedule_input={"AccuracyThreshold": "0.8", "Unknown": 1},
        )
    assert error.value.problems == [
        "schedule_input 'AccuracyThreshold' is \"0.8\" (str); parameter 'AccuracyThreshold' "
        "is Float, so give a number (int or float)",
        "schedule_input names unknown parameter 'Unknown' (parameters: AccuracyThreshold, "
        "InputDataUri, ModelApprovalStatus, ProcessingInstanceType, TrainingInstanceType)",
    ]


def test_missing_code_directory_is_a_clear_error(tmp_path: Any) -> None:
    stack = cdk.Stack(cdk.App(), "Missing", env=TEST_ENV)
    key = cdk.aws_kms.Key(stack, "Key", enable_key_rotation=True)
    bucket = s3.Bucket(stack, "Bucket", encryption_key=key, enforce_ssl=True)
    spec = reference_pipeline(input_data_uri="s3://b/d/")
    missing = type(spec)(
        name=spec.name, steps=spec.steps, parameters=spec.parameters, base_directory=str(tmp_path)
    )
    with pytest.raises(PropsValidationError) as error:
        MlStateMachine(
            stack,
            "Pipeline",
            pipeline=missing,
            job_role=iam.Role.from_role_arn(
                stack, "JobRole", "arn:aws:iam::123456789012:role/job", mutable=False
            ),
            artifact_bucket=bucket,
        )
    assert error.value.problems == [
        f"pipeline step code 'scripts' is not a directory: '{tmp_path / 'scripts'}' does not exist"
    ]


def test_default_child_is_the_state_machine_resource(
    built: tuple[MlStateMachine, dict[str, Any]],
) -> None:
    machine = built[0]
    default_child = machine.node.default_child
    assert default_child is not None
    assert default_child.node.path == machine.cfn_state_machine.node.path
    assert isinstance(machine.cfn_state_machine, sfn.CfnStateMachine)
