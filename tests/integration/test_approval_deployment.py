"""The approval deployment's state machine, executed by moto's Step Functions interpreter.

The definition comes from a synthesized stack (a registry with ``deploy_on_approval``) and runs
in moto with the executor on, against moto's SageMaker and Application Auto Scaling. The
harness bridges what moto lacks, and nothing of ours:

* moto names an AWS SDK task's error after the lower-case service id
  (``sagemaker.sagemakerException``), where Step Functions writes ``SageMaker.SageMakerException``
  and ``ApplicationAutoScaling.…``; the service names are registered the way Step Functions
  spells them.
* moto's boto3 client for ``applicationautoscaling`` is ``application-autoscaling``.
* moto has no ``UpdateEndpoint``: the harness applies it to moto's endpoint as SageMaker does
  (the configuration is switched) or, for the rollback case, as SageMaker reports a failed
  update (the endpoint is InService again on the old configuration, with a ``FailureReason``).
* moto hands SDK responses on with ``datetime`` values; they are turned into JSON text, as
  Step Functions returns them.
* Waits and retry intervals are shortened to one second (no backoff), so an execution takes
  seconds.

Faults (throttling, a failed update) are injected at the service boundary, on moto's side.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.sagemaker.models import sagemaker_backends
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service,
    state_task_service_aws_sdk,
)

from mlpipes_constructs.sagemaker import EndpointDeployment, ModelRegistry
from tests.asl import resolve_tokens

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"
REGION = "us-east-1"
GROUP = "churn-models"
ENDPOINT = "churn"
BUCKET = "mlpipes-deploy-test"
MODEL_ROLE = f"arn:aws:iam::{ACCOUNT}:role/mlpipes-model-role"
RESOURCE_ID = f"endpoint/{ENDPOINT}/variant/AllTraffic"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
#: (service id in the resource ARN, service name in error names, boto3 client name)
SERVICES = (
    ("sagemaker", "SageMaker", "sagemaker"),
    ("applicationautoscaling", "ApplicationAutoScaling", "application-autoscaling"),
)


def _shorten(node: Any) -> Any:
    """The definition with every wait and retry interval at one second."""
    if isinstance(node, dict):
        shortened = {key: _shorten(value) for key, value in node.items()}
        for key in ("Seconds", "IntervalSeconds"):
            if key in shortened:
                shortened[key] = 1
        if "BackoffRate" in shortened:
            shortened["BackoffRate"] = 1
        shortened.pop("MaxDelaySeconds", None)
        return shortened
    if isinstance(node, list):
        return [_shorten(item) for item in node]
    return node


@pytest.fixture(scope="module")
def deployment_definition() -> dict[str, Any]:
    app = cdk.App()
    stack = cdk.Stack(app, "Deploy", env=cdk.Environment(account=ACCOUNT, region=REGION))
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    bucket = s3.Bucket(stack, "Artifacts", bucket_name=BUCKET, encryption_key=key, enforce_ssl=True)
    ModelRegistry(
        stack,
        "Registry",
        model_package_group_name=GROUP,
        deploy_on_approval=EndpointDeployment(endpoint_name=ENDPOINT, data_capture_percentage=0),
        job_role=iam.Role.from_role_arn(stack, "ModelRole", MODEL_ROLE, mutable=False),
        artifact_bucket=bucket,
        encryption_key=key,
    )
    template = app.synth().get_stack_by_name("Deploy").template
    (machine,) = [
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::StepFunctions::StateMachine"
    ]
    text = resolve_tokens(machine["Properties"]["DefinitionString"], {"AWS::Partition": "aws"})
    definition: dict[str, Any] = _shorten(json.loads(text))
    return definition


class Faults:
    """Failures the emulated services give, consumed in order per API call."""

    def __init__(self) -> None:
        #: action -> faults; a fault raises the service's error, or applies the call itself
        #: and returns True.
        self.pending: dict[str, list[Callable[[dict[str, Any]], bool | None]]] = {}
        self.calls: list[str] = []

    def add(self, action: str, fault: Callable[[dict[str, Any]], bool | None]) -> None:
        self.pending.setdefault(action, []).append(fault)


def _service_error(code: str, message: str, status: int) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": str(uuid.uuid4())},
        },
        "Call",
    )


def _throttle(_: dict[str, Any]) -> None:
    raise _service_error("ThrottlingException", "Rate exceeded", 400)


@pytest.fixture
def aws(
    deployment_definition: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    faults = Faults()
    errors = dict(state_task_service_aws_sdk._SERVICE_ERROR_NAMES)
    overrides = dict(state_task_service.StateTaskService._SERVICE_NAME_SFN_TO_BOTO_OVERRIDES)
    for service_id, error_name, client_name in SERVICES:
        errors[service_id] = error_name
        overrides[service_id] = client_name
    monkeypatch.setattr(state_task_service_aws_sdk, "_SERVICE_ERROR_NAMES", errors)
    monkeypatch.setattr(
        state_task_service.StateTaskService, "_SERVICE_NAME_SFN_TO_BOTO_OVERRIDES", overrides
    )
    service = state_task_service_aws_sdk.StateTaskServiceAwsSdk
    original = service._eval_service_task

    def call(self: Any, env: Any, **arguments: Any) -> None:
        action = self.resource.api_action
        parameters: dict[str, Any] = arguments["normalised_parameters"]
        faults.calls.append(action)
        queued = faults.pending.get(action)
        handled = bool(queued) and queued.pop(0)(parameters) is True
        if action == "updateEndpoint":
            if not handled:
                _update_endpoint(parameters)
            env.stack.append({"EndpointArn": "updated"})
            return
        original(self, env, **arguments)
        env.stack[-1] = _as_json(env.stack[-1])

    monkeypatch.setattr(service, "_eval_service_task", call)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        clients: dict[str, Any] = {
            name: boto3.client(name, region_name=REGION)
            for name in ("sagemaker", "stepfunctions", "application-autoscaling")
        }
        clients["faults"] = faults
        clients["arn"] = clients["stepfunctions"].create_state_machine(
            name="deploy",
            definition=json.dumps(deployment_definition),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/deploy",
        )["stateMachineArn"]
        yield clients


def _as_json(value: Any) -> Any:
    """An SDK response as Step Functions hands it on: JSON, timestamps as text."""
    return json.loads(json.dumps(value, default=str))


def _update_endpoint(parameters: dict[str, Any]) -> None:
    """UpdateEndpoint as SageMaker applies it: the endpoint switches to the new config."""
    endpoint = sagemaker_backends[ACCOUNT][REGION].endpoints[parameters["EndpointName"]]
    endpoint.endpoint_config_name = parameters["EndpointConfigName"]


def _roll_back(parameters: dict[str, Any]) -> bool:
    """A failed update as SageMaker reports it: InService on the old config, with a reason."""
    endpoint = sagemaker_backends[ACCOUNT][REGION].endpoints[parameters["EndpointName"]]
    endpoint.failure_reason = "The primary container failed its health check"
    return True


def _approved_version(aws: dict[str, Any]) -> str:
    sagemaker = aws["sagemaker"]
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    arn: str = sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": "image", "ModelDataUrl": f"s3://{BUCKET}/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    return arn


def _existing_endpoint(aws: dict[str, Any]) -> None:
    """An endpoint on an earlier configuration, scaled by an earlier deployment."""
    sagemaker = aws["sagemaker"]
    sagemaker.create_model(
        ModelName="churn-v0-old",
        ExecutionRoleArn=MODEL_ROLE,
        PrimaryContainer={"Image": "image"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="churn-v0-old",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "churn-v0-old",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="churn-v0-old")
    aws["application-autoscaling"].register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=RESOURCE_ID,
        ScalableDimension=DIMENSION,
        MinCapacity=1,
        MaxCapacity=2,
    )


def _run(aws: dict[str, Any], package_arn: str) -> dict[str, Any]:
    """Start a deployment as the approval rule does (the event as input) and wait for it."""
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker",
        "account": ACCOUNT,
        "region": REGION,
        "detail": {
            "ModelPackageGroupName": GROUP,
            "ModelPackageArn": package_arn,
            "ModelApprovalStatus": "Approved",
        },
    }
    functions = aws["stepfunctions"]
    execution = functions.start_execution(stateMachineArn=aws["arn"], input=json.dumps(event))
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        description: dict[str, Any] = functions.describe_execution(
            executionArn=execution["executionArn"]
        )
        if description["status"] != "RUNNING":
            return description
        time.sleep(0.1)
    raise AssertionError("the deployment did not finish")


def _scalable_targets(aws: dict[str, Any]) -> list[dict[str, Any]]:
    targets: list[dict[str, Any]] = aws["application-autoscaling"].describe_scalable_targets(
        ServiceNamespace="sagemaker"
    )["ScalableTargets"]
    return targets


def test_endpoint_not_found_is_created_and_scaled(aws: dict[str, Any]) -> None:
    result = _run(aws, _approved_version(aws))

    assert result["status"] == "SUCCEEDED", result
    faults: Faults = aws["faults"]
    assert "createEndpoint" in faults.calls and "updateEndpoint" not in faults.calls
    endpoint = aws["sagemaker"].describe_endpoint(EndpointName=ENDPOINT)
    assert endpoint["EndpointConfigName"].startswith("churn-v1-")
    (target,) = _scalable_targets(aws)
    assert (target["ResourceId"], target["MinCapacity"], target["MaxCapacity"]) == (
        RESOURCE_ID,
        1,
        2,
    )


def test_existing_endpoint_is_updated_in_place(aws: dict[str, Any]) -> None:
    _existing_endpoint(aws)
    result = _run(aws, _approved_version(aws))

    assert result["status"] == "SUCCEEDED", result
    faults: Faults = aws["faults"]
    assert faults.calls.index("deregisterScalableTarget") < faults.calls.index("updateEndpoint")
    assert "createEndpoint" not in faults.calls
    endpoint = aws["sagemaker"].describe_endpoint(EndpointName=ENDPOINT)
    assert endpoint["EndpointConfigName"].startswith("churn-v1-")
    assert [target["ResourceId"] for target in _scalable_targets(aws)] == [RESOURCE_ID]


def test_rolled_back_update_restores_autoscaling_and_fails_with_the_cause(
    aws: dict[str, Any],
) -> None:
    _existing_endpoint(aws)
    faults: Faults = aws["faults"]
    faults.add("updateEndpoint", _roll_back)

    result = _run(aws, _approved_version(aws))

    assert result["status"] == "FAILED", result
    assert result["error"] == "EndpointRolledBack"
    assert "rolled it back to churn-v0-old" in result["cause"]
    assert "failed its health check" in result["cause"]
    # Deregistered before the update, registered again after the rollback.
    assert faults.calls.count("registerScalableTarget") == 1
    assert faults.calls.index("deregisterScalableTarget") < faults.calls.index(
        "registerScalableTarget"
    )
    (target,) = _scalable_targets(aws)
    assert (target["ResourceId"], target["ScalableDimension"]) == (RESOURCE_ID, DIMENSION)
    endpoint = aws["sagemaker"].describe_endpoint(EndpointName=ENDPOINT)
    assert endpoint["EndpointConfigName"] == "churn-v0-old"


def test_update_that_keeps_failing_restores_autoscaling_and_fails(aws: dict[str, Any]) -> None:
    _existing_endpoint(aws)
    faults: Faults = aws["faults"]

    def refuse(_: dict[str, Any]) -> None:
        raise _service_error("ValidationException", "Cannot update in progress", 400)

    for _ in range(12):
        faults.add("updateEndpoint", refuse)

    result = _run(aws, _approved_version(aws))

    assert result["status"] == "FAILED", result
    assert result["error"] == "UpdateEndpointFailed"
    assert "Cannot update in progress" in result["cause"]
    assert [target["ResourceId"] for target in _scalable_targets(aws)] == [RESOURCE_ID]


def test_throttled_calls_are_retried(aws: dict[str, Any]) -> None:
    _existing_endpoint(aws)
    faults: Faults = aws["faults"]
    faults.add("describeModelPackage", _throttle)
    faults.add("updateEndpoint", _throttle)

    result = _run(aws, _approved_version(aws))

    assert result["status"] == "SUCCEEDED", result
    assert faults.calls.count("describeModelPackage") == 2
    assert faults.calls.count("updateEndpoint") == 2
