"""SageMaker requests the compiler emits, checked against botocore's service model."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn

from mlpipes_constructs.compile import JobPlacement
from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.spec import (
    Pipeline,
    local_code_paths,
)
from mlpipes_constructs.stepfunctions import compile_state_machine
from tests.asl import all_states, definition_of, resolve_tokens
from tests.conftest import TEST_ENV
from tests.contract.pipelines import every_step_kind
from tests.sagemaker_api import check_request

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1"
NETWORK = JobPlacement(subnet_ids=("subnet-1",), security_group_ids=("sg-1",))


def _compiled(pipeline: Pipeline, network: JobPlacement | None) -> tuple[dict[str, Any], Any]:
    stack = cdk.Stack(cdk.App(), "Requests", env=TEST_ENV)
    compiled = compile_state_machine(
        stack,
        pipeline,
        job_role=iam.Role.from_role_arn(
            stack, "Role", "arn:aws:iam::123456789012:role/job", mutable=False
        ),
        artifact_bucket=s3.Bucket.from_bucket_name(stack, "Bucket", "artifacts"),
        artifact_prefix="pipelines/ref/",
        code_locations={code: "s3://code/scripts.zip" for code in local_code_paths(pipeline)},
        kms_key=kms.Key.from_key_arn(stack, "Key", KEY_ARN),
        placement=network,
    )
    sfn.StateMachine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(compiled.definition)
    )
    template = cdk.assertions.Template.from_stack(stack).to_json()
    policy = next(r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy")
    return definition_of(template, {"AWS::Partition": "aws"}), policy["Properties"][
        "PolicyDocument"
    ]


@pytest.fixture(scope="module")
def every_kind() -> tuple[dict[str, Any], dict[str, Any]]:
    definition, policy = _compiled(every_step_kind(), NETWORK)
    return dict(all_states(definition)), policy


def _sagemaker_tasks(states: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each SageMaker task state's API operation name and parameters."""
    tasks = {}
    for name, state in states.items():
        resource = state.get("Resource", "") if state["Type"] == "Task" else ""
        if ":sagemaker:" not in resource:
            continue
        api = resource.rsplit(":", 1)[1].removesuffix(".sync")
        tasks[name] = (api[0].upper() + api[1:], state["Parameters"])
    return tasks


@pytest.mark.parametrize("network", [None, NETWORK], ids=["no-network", "network"])
def test_reference_requests_match_the_sagemaker_api(network: JobPlacement | None) -> None:
    definition, _ = _compiled(reference_pipeline(input_data_uri="s3://artifacts/data/"), network)
    tasks = _sagemaker_tasks(dict(all_states(definition)))
    assert {op for op, _ in tasks.values()} >= {"CreateProcessingJob", "CreateTrainingJob"}
    problems = [p for op, params in tasks.values() for p in check_request(op, params)]
    assert problems == []


def test_every_step_kinds_requests_match_the_sagemaker_api(
    every_kind: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    tasks = _sagemaker_tasks(every_kind[0])
    assert {op for op, _ in tasks.values()} == {
        "CreateProcessingJob",
        "CreateTrainingJob",
        "CreateHyperParameterTuningJob",
        "CreateModelPackage",
        "CreateModel",
        "CreateTransformJob",
        "CreateEndpointConfig",
        "CreateEndpoint",
        "UpdateEndpoint",
        "DescribeEndpoint",
    }
    problems = [p for op, params in tasks.values() for p in check_request(op, params)]
    assert problems == []


def test_the_checker_finds_what_the_api_refuses() -> None:
    problems = check_request(
        "CreateTrainingJob",
        {
            "InputDataConfig": [],
            "AlgorithmSpecification": {"TrainingInputMode": "Streaming"},
            "StoppingCondition.$": "$.x",
            "Extra": 1,
        },
        runtime_fields=("TrainingJobName",),
    )
    assert "CreateTrainingJob.InputDataConfig: 0 items, at least 1 required" in problems
    assert any("TrainingInputMode: 'Streaming' is not one of" in p for p in problems)
    assert "CreateTrainingJob.Extra: not a member of CreateTrainingJobRequest" in problems
    assert "CreateTrainingJob.RoleArn: required, missing" in problems
    assert not any("TrainingJobName" in p or "StoppingCondition" in p for p in problems)


def test_jobs_without_channels_send_no_input_data_config(
    every_kind: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    states = every_kind[0]
    assert "InputDataConfig" not in states["SpotTrain"]["Parameters"]
    assert "InputDataConfig" not in states["Tune"]["Parameters"]["TrainingJobDefinition"]
    assert states["Train"]["Parameters"]["InputDataConfig"]


def test_spot_training_runs_no_longer_than_it_may_wait(
    every_kind: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    stopping = every_kind[0]["SpotTrain"]["Parameters"]["StoppingCondition"]
    assert stopping == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 3600}


def test_jobs_encrypt_traffic_between_their_instances_by_default(
    every_kind: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    states = every_kind[0]
    assert states["Preprocess"]["Parameters"]["NetworkConfig"][
        "EnableInterContainerTrafficEncryption"
    ]
    assert states["Train"]["Parameters"]["EnableInterContainerTrafficEncryption"] is True
    definition = states["Tune"]["Parameters"]["TrainingJobDefinition"]
    assert definition["EnableInterContainerTrafficEncryption"] is True


def test_inter_container_encryption_can_be_turned_off() -> None:
    network = JobPlacement(
        subnet_ids=("subnet-1",),
        security_group_ids=("sg-1",),
        enable_inter_container_traffic_encryption=False,
    )
    definition, _ = _compiled(reference_pipeline(input_data_uri="s3://artifacts/data/"), network)
    states = dict(all_states(definition))
    assert states["Train"]["Parameters"]["EnableInterContainerTrafficEncryption"] is False


def test_endpoint_config_is_encrypted_unless_the_instances_have_local_storage_only(
    every_kind: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    states, policy = every_kind
    assert states["Deploy.Config"]["Parameters"]["KmsKeyId"] == KEY_ARN
    assert "KmsKeyId" not in states["DeployNvme.Config"]["Parameters"]
    grants = [s for s in policy["Statement"] if s["Action"] == "kms:CreateGrant"]
    assert grants
    assert all(
        s["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
        and s["Resource"] == KEY_ARN
        for s in grants
    )


def test_endpoint_iam_names_the_endpoint_exactly(
    every_kind: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    policy = every_kind[1]
    endpoint_resources = {
        resolve_tokens(resource, {"AWS::Partition": "aws"})
        for statement in policy["Statement"]
        for resource in (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
    }
    endpoint_resources = {r for r in endpoint_resources if ":endpoint/" in r}
    assert endpoint_resources
    assert all(r.endswith(("endpoint/reviews", "endpoint/reviews-gpu")) for r in endpoint_resources)


def test_only_a_missing_endpoint_leads_to_create_endpoint(
    every_kind: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    states = every_kind[0]
    catches = states["Deploy.Describe"]["Catch"]
    assert "States.TaskFailed" not in str(catches)
    assert catches[0]["Next"] == "Deploy.Exists"
    assert catches[-1]["ErrorEquals"] == ["States.ALL"]
    exists = states["Deploy.Exists"]
    assert exists["Choices"] == [
        {
            "Variable": "$.error.Cause",
            "StringMatches": "*Could not find endpoint*",
            "Next": "Deploy.Create",
        }
    ]
    assert exists["Default"] == "Deploy.Failed"


def test_the_step_waits_until_the_endpoint_is_in_service(
    every_kind: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    states = every_kind[0]
    assert states["Deploy.Create"]["Next"] == "Deploy.Wait"
    assert states["Deploy.Update"]["Next"] == "Deploy.Wait"
    assert states["Deploy.Wait"]["Next"] == "Deploy.Status"
    assert states["Deploy.Status"]["Next"] == "Deploy.InService"
    check = states["Deploy.InService"]
    targets = {c["StringEquals"]: c["Next"] for c in check["Choices"]}
    assert targets == {"InService": "Deploy.Deployed", "Failed": "Deploy.EndpointFailed"}
    assert check["Default"] == "Deploy.Wait"
    assert "FailureReason" in states["Deploy.EndpointFailed"]["Parameters"]["Cause.$"]
