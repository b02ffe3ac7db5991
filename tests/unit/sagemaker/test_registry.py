from __future__ import annotations

import json
import uuid
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template

from mlpipes_constructs.errors import PropsValidationError
from mlpipes_constructs.sagemaker import EndpointDeployment, ModelRegistry
from mlpipes_constructs.sagemaker.approval_deployment import (
    ENDPOINT_NAME_MAX,
    NAME_TOKEN_LENGTH,
    VERSION_DIGITS_MAX,
)
from tests.unit.sagemaker.conftest import (
    ACCOUNT,
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


def _state_machine(template: dict[str, Any]) -> dict[str, Any]:
    # The pipeline's S3 trigger has a state machine of its own.
    (machine,) = [
        machine
        for logical_id, machine in resources(template, "AWS::StepFunctions::StateMachine").items()
        if logical_id.startswith("ModelRegistry")
    ]
    return machine


def _definition(template: dict[str, Any]) -> dict[str, Any]:
    """The state machine definition, with CloudFormation references replaced by markers."""
    parts = _state_machine(template)["Properties"]["DefinitionString"]["Fn::Join"][1]
    text = "".join(part if isinstance(part, str) else "REF" for part in parts)
    definition: dict[str, Any] = json.loads(text)
    return definition


def test_group_is_retained_on_delete(sagemaker_template: dict[str, Any]) -> None:
    (group,) = resources(sagemaker_template, "AWS::SageMaker::ModelPackageGroup").values()
    assert group["DeletionPolicy"] == "Retain"
    assert group["UpdateReplacePolicy"] == "Retain"
    assert group["Properties"]["ModelPackageGroupName"] == "mlpipes-review-classifier"


def test_only_approved_versions_of_this_group_start_a_deployment(
    sagemaker_template: dict[str, Any],
) -> None:
    Template.from_json(sagemaker_template).has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.sagemaker"],
                "detail-type": ["SageMaker Model Package State Change"],
                "detail": {
                    "ModelPackageGroupName": ["mlpipes-review-classifier"],
                    "ModelApprovalStatus": ["Approved"],
                },
            },
            "Targets": [Match.object_like({"Arn": {"Ref": Match.string_like_regexp("Deploy")}})],
        },
    )


def test_deployment_flow_creates_or_updates_the_endpoint_then_scales_it(
    sagemaker_template: dict[str, Any],
) -> None:
    states = _definition(sagemaker_template)["States"]
    resources_by_state = {
        name: state["Resource"].rsplit(":", 1)[-1]
        for name, state in states.items()
        if state["Type"] == "Task"
    }
    assert resources_by_state == {
        "DescribeModelPackage": "describeModelPackage",
        "CreateModel": "createModel",
        "CreateEndpointConfig": "createEndpointConfig",
        "FindEndpoint": "describeEndpoint",
        "CreateEndpoint": "createEndpoint",
        "DeregisterScalableTarget": "deregisterScalableTarget",
        "UpdateEndpoint": "updateEndpoint",
        "CheckEndpoint": "describeEndpoint",
        "RegisterScalableTarget": "registerScalableTarget",
        "PutScalingPolicy": "putScalingPolicy",
        "RestoreScalableTarget": "registerScalableTarget",
        "RestoreScalingPolicy": "putScalingPolicy",
    }
    assert states["StillApproved?"]["Choices"][0] == {
        "Variable": "$.package.status",
        "StringEquals": "Approved",
        "Next": "NameResources",
    }
    assert states["EndpointExists?"]["Choices"][0]["Next"] == "DeregisterScalableTarget"
    assert states["EndpointExists?"]["Default"] == "CreateEndpoint"
    assert states["FindEndpoint"]["Catch"][0]["Next"] == "CreateEndpoint"
    config = states["CreateEndpointConfig"]["Parameters"]
    assert config["KmsKeyId"] == "REF"
    assert config["DataCaptureConfig"]["InitialSamplingPercentage"] == 100
    assert config["DataCaptureConfig"]["DestinationS3Uri"] == (
        "s3://REF/data-capture/mlpipes-review-classifier/"
    )
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.large"
    model = states["CreateModel"]["Parameters"]
    assert model["PrimaryContainer"] == {"ModelPackageName.$": "$.package.arn"}
    assert set(model["VpcConfig"]) == {"Subnets", "SecurityGroupIds"}
    scaling = states["RegisterScalableTarget"]["Parameters"]
    assert scaling == {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "endpoint/mlpipes-review-classifier/variant/AllTraffic",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "MinCapacity": 1,
        "MaxCapacity": 2,
    }
    policy = states["PutScalingPolicy"]["Parameters"]["TargetTrackingScalingPolicyConfiguration"]
    assert policy["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
    }


def test_deployment_succeeds_only_when_the_new_config_is_live(
    sagemaker_template: dict[str, Any],
) -> None:
    states = _definition(sagemaker_template)["States"]
    # The whole description is kept: its EndpointConfigName and FailureReason are read below.
    assert "ResultSelector" not in states["CheckEndpoint"]
    assert states["CheckEndpoint"]["ResultPath"] == "$.endpoint"
    in_service, failed = states["EndpointInService?"]["Choices"]
    assert in_service == {
        "Variable": "$.endpoint.EndpointStatus",
        "StringEquals": "InService",
        "Next": "NewConfigLive?",
    }
    assert failed["Next"] == "EndpointFailed"
    live = states["NewConfigLive?"]
    assert live["Choices"] == [
        {
            "Variable": "$.endpoint.EndpointConfigName",
            "StringEqualsPath": "$.names.name",
            "Next": "RegisterScalableTarget",
        },
        {
            "Variable": "$.endpoint.FailureReason",
            "IsPresent": True,
            "Next": "RestoreScalableTarget",
        },
    ]
    assert live["Default"] == "EndpointConfigReplaced"
    # Autoscaling was deregistered for the update: it is restored before the execution fails,
    # whether SageMaker rolled the update back or UpdateEndpoint itself kept failing.
    assert (
        states["RestoreScalableTarget"]["Parameters"]
        == (states["RegisterScalableTarget"]["Parameters"])
    )
    assert states["RestoreScalableTarget"]["Next"] == "RestoreScalingPolicy"
    assert states["RestoreScalingPolicy"]["Next"] == "UpdateRejected?"
    assert states["UpdateRejected?"]["Choices"] == [
        {"Variable": "$.updateError", "IsPresent": True, "Next": "UpdateEndpointFailed"}
    ]
    assert states["UpdateRejected?"]["Default"] == "EndpointRolledBack"
    assert states["UpdateEndpoint"]["Catch"] == [
        {
            "ErrorEquals": ["States.ALL"],
            "ResultPath": "$.updateError",
            "Next": "RestoreScalableTarget",
        }
    ]
    # UpdateEndpoint failed and SageMaker went back to the old config: not deployed.
    rolled_back = states["EndpointRolledBack"]
    assert rolled_back["Type"] == "Fail"
    assert rolled_back["Error"] == "EndpointRolledBack"
    assert rolled_back["CausePath"] == (
        "States.Format('Updating the endpoint mlpipes-review-classifier to the endpoint config "
        "{} failed and SageMaker rolled it back to {}: {}', $.names.name, "
        "$.endpoint.EndpointConfigName, $.endpoint.FailureReason)"
    )
    assert states["EndpointConfigReplaced"]["Type"] == "Fail"


def test_deployment_names_fit_sagemaker_whatever_the_execution_name(
    sagemaker_template: dict[str, Any],
) -> None:
    name = _definition(sagemaker_template)["States"]["NameResources"]["Parameters"]["name.$"]
    # A fixed-length random token, not part of the execution's name (up to 80 characters).
    assert "$$.Execution.Name" not in name
    assert name == (
        "States.Format('mlpipes-review-classifier-v{}-{}', $.package.version, "
        "States.ArrayGetItem(States.StringSplit(States.UUID(), '-'), 0))"
    )
    longest = f"{'e' * ENDPOINT_NAME_MAX}-v{'9' * VERSION_DIGITS_MAX}-{'f' * NAME_TOKEN_LENGTH}"
    assert len(str(uuid.uuid4()).split("-")[0]) == NAME_TOKEN_LENGTH
    assert len(longest) == 63


def test_state_machine_logs_everything_encrypted_and_traces(
    sagemaker_template: dict[str, Any],
) -> None:
    properties = _state_machine(sagemaker_template)["Properties"]
    assert properties["TracingConfiguration"] == {"Enabled": True}
    assert properties["LoggingConfiguration"]["Level"] == "ALL"
    assert properties["LoggingConfiguration"]["IncludeExecutionData"] is True
    (log_group,) = [
        group
        for logical_id, group in resources(sagemaker_template, "AWS::Logs::LogGroup").items()
        if logical_id.startswith("ModelRegistryDeploymentStateMachineLogs")
    ]
    assert "KmsKeyId" in log_group["Properties"]
    assert log_group["DeletionPolicy"] == "Retain"
    # It waits for its managed policy (logging permissions are checked at creation).
    (dependency,) = _state_machine(sagemaker_template)["DependsOn"]
    assert dependency.startswith("ModelRegistryDeploymentStateMachineRolePolicy")


def test_deployment_role_is_least_privilege(sagemaker_template: dict[str, Any]) -> None:
    statements = {
        s["Sid"]: s for s in policy_statements(sagemaker_template, "Permissions of the deployment")
    }
    star = {
        action
        for s in statements.values()
        if "*" in as_list(s["Resource"])
        for action in as_list(s["Action"])
    }
    assert star == {
        "logs:CreateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:DescribeLogGroups",
        "logs:DescribeResourcePolicies",
        "logs:GetLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:UpdateLogDelivery",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    }
    assert all("*" not in a for s in statements.values() for a in as_list(s["Action"]))
    assert statements["CreateModels"]["Resource"] == (
        f"{ARN_PREFIX}:model/mlpipes-review-classifier-v*"
    )
    assert sorted(statements["DeployEndpoint"]["Resource"]) == [
        f"{ARN_PREFIX}:endpoint-config/mlpipes-review-classifier-v*",
        f"{ARN_PREFIX}:endpoint/mlpipes-review-classifier",
    ]
    assert statements["PassModelRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    # Only SageMaker variants' instance counts, not the account's other scalable targets.
    assert statements["ScaleEndpointVariant"]["Condition"] == {
        "StringEquals": {
            "application-autoscaling:service-namespace": "sagemaker",
            "application-autoscaling:scalable-dimension": "sagemaker:variant:DesiredInstanceCount",
        }
    }
    assert statements["CreateAutoScalingServiceRole"]["Resource"] == (
        f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/"
        "sagemaker.application-autoscaling.amazonaws.com/"
        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
    )


def test_model_role_may_write_data_capture_and_endpoint_logs(
    sagemaker_template: dict[str, Any],
) -> None:
    statements = {
        s["Sid"]: s for s in policy_statements(sagemaker_template, "Lets the model behind")
    }
    assert set(statements) == {
        "WriteDataCapture",
        "EncryptDataCapture",
        "CreateEndpointLogGroup",
        "WriteEndpointLogs",
    }
    assert json.dumps(statements["WriteDataCapture"]["Resource"]).endswith(
        '"/data-capture/mlpipes-review-classifier/*"]]}'
    )


@pytest.fixture(scope="module")
def registry_templates() -> dict[str, dict[str, Any]]:
    app = new_app()
    stack = new_stack(app, "RegistryStack")
    registry = ModelRegistry(
        stack,
        "Registry",
        model_package_group_name="Churn-Models",
        cross_account_read_ids=["111122223333"],
    )
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    grant = registry.grant_read(reader)
    # One grant holds both statements: the group's and its versions'.
    assert [
        stack.resolve(statement.to_statement_json())["Action"]
        for statement in grant.principal_statements
    ] == ["sagemaker:DescribeModelPackageGroup", "sagemaker:DescribeModelPackage"]
    assert grant.success
    registrar = iam.Role(stack, "Registrar", assumed_by=iam.AccountRootPrincipal())
    assert len(registry.grant_register(registrar).principal_statements) == 2
    imported = ModelRegistry.from_model_package_group_name(stack, "Imported", "Shared-Models")
    importer = iam.Role(stack, "Importer", assumed_by=iam.AccountRootPrincipal())
    assert imported.grant_read(importer).success
    assert imported.model_package_group_name == "Shared-Models"
    return synthesized_templates(app)


def test_cross_account_read_policy_names_the_accounts(
    registry_templates: dict[str, dict[str, Any]],
) -> None:
    template = registry_templates["RegistryStack"]
    (group,) = resources(template, "AWS::SageMaker::ModelPackageGroup").values()
    (statement,) = group["Properties"]["ModelPackageGroupPolicy"]["Statement"]
    assert statement["Principal"] == {"AWS": ["arn:aws:iam::111122223333:root"]}
    assert statement["Action"] == [
        "sagemaker:DescribeModelPackageGroup",
        "sagemaker:DescribeModelPackage",
        "sagemaker:ListModelPackages",
    ]
    # SageMaker keeps the group name's case in some ARNs and lowercases it in others.
    assert statement["Resource"] == [
        f"{ARN_PREFIX}:model-package-group/Churn-Models",
        f"{ARN_PREFIX}:model-package-group/churn-models",
        f"{ARN_PREFIX}:model-package/Churn-Models/*",
        f"{ARN_PREFIX}:model-package/churn-models/*",
    ]
    assert resources(template, "AWS::StepFunctions::StateMachine") == {}


def test_grants_name_the_group_and_its_versions(
    registry_templates: dict[str, dict[str, Any]],
) -> None:
    policies = {
        logical_id.split("DefaultPolicy")[0]: policy["Properties"]["PolicyDocument"]["Statement"]
        for logical_id, policy in resources(
            registry_templates["RegistryStack"], "AWS::IAM::Policy"
        ).items()
    }
    packages = [
        f"{ARN_PREFIX}:model-package/Churn-Models/*",
        f"{ARN_PREFIX}:model-package/churn-models/*",
    ]
    assert policies["Reader"] == [
        {
            "Action": "sagemaker:DescribeModelPackageGroup",
            "Effect": "Allow",
            "Resource": [
                f"{ARN_PREFIX}:model-package-group/Churn-Models",
                f"{ARN_PREFIX}:model-package-group/churn-models",
            ],
        },
        {"Action": "sagemaker:DescribeModelPackage", "Effect": "Allow", "Resource": packages},
    ]
    # CreateModelPackage is authorized on the new version only, never on the group.
    on_group, on_versions = policies["Registrar"]
    assert on_group["Action"] == "sagemaker:DescribeModelPackageGroup"
    assert on_versions["Action"] == [
        "sagemaker:CreateModelPackage",
        "sagemaker:DescribeModelPackage",
    ]
    assert on_versions["Resource"] == packages
    assert policies["Importer"][1]["Resource"] == [
        f"{ARN_PREFIX}:model-package/Shared-Models/*",
        f"{ARN_PREFIX}:model-package/shared-models/*",
    ]


def _problems(stack: cdk.Stack, **props: Any) -> list[str]:
    arguments: dict[str, Any] = {"model_package_group_name": "models"}
    arguments.update(props)
    with pytest.raises(PropsValidationError) as error:
        ModelRegistry(stack, f"Bad{len(stack.node.children)}", **arguments)
    return error.value.problems


def test_invalid_group_name_and_accounts(stack: cdk.Stack) -> None:
    assert _problems(
        stack, model_package_group_name="models_v2", cross_account_read_ids=["12345"]
    ) == [
        "model_package_group_name 'models_v2' is not a valid SageMaker name: use 1-63 "
        "letters, digits and hyphens, starting and ending with a letter or digit",
        "cross_account_read_ids entry '12345' is not a 12-digit account id",
    ]


def test_deployment_needs_its_resources(stack: cdk.Stack) -> None:
    assert _problems(stack, deploy_on_approval=EndpointDeployment(endpoint_name="churn")) == [
        "job_role is required with deploy_on_approval",
        "artifact_bucket is required with deploy_on_approval",
        "encryption_key is required: there is no artifact_bucket whose KMS key it could default to",
    ]


def test_deployment_settings_are_checked(stack: cdk.Stack) -> None:
    bucket, key, role = imported_platform(stack)
    deployment = EndpointDeployment(
        endpoint_name="an-endpoint-name-that-is-far-too-long-for-us",
        instance_type="ml.m5.huge",
        data_capture_percentage=150,
        min_capacity=3,
        max_capacity=2,
    )
    assert _problems(
        stack,
        deploy_on_approval=deployment,
        job_role=role,
        artifact_bucket=bucket,
        encryption_key=key,
    ) == [
        "deploy_on_approval.endpoint_name 'an-endpoint-name-that-is-far-too-long-for-us' is not "
        "a valid SageMaker name: use 1-40 letters, digits and hyphens, starting and ending "
        "with a letter or digit",
        "deploy_on_approval.instance_type 'ml.m5.huge' is not a SageMaker instance type; "
        "expected e.g. 'ml.m5.large'",
        "deploy_on_approval.data_capture_percentage 150 must be a whole number from 0 to 100",
        "deploy_on_approval.max_capacity 2 must be at least min_capacity 3",
    ]


def test_deployment_props_without_deployment_conflict(stack: cdk.Stack) -> None:
    bucket, _, _ = imported_platform(stack)
    assert _problems(stack, artifact_bucket=bucket) == [
        "'artifact_bucket' and 'deploy_on_approval=None' cannot be used together: it "
        "configures deployment"
    ]
