"""Every compiler of the spec, behind one interface: compile, then read back the SageMaker
requests it emits. A new compiler joins the contract tests with one entry in ``COMPILERS``."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn

from mlpipes_constructs.airflow import compiler as airflow_compiler
from mlpipes_constructs.compile import JobPlacement, StepDispatch
from mlpipes_constructs.kubeflow import compiler as kubeflow_compiler
from mlpipes_constructs.sagemaker import compiler as sagemaker_compiler
from mlpipes_constructs.sagemaker._human_reviews import REVIEW_HANDLER_DIRECTORY
from mlpipes_constructs.spec import Pipeline, local_code_paths
from mlpipes_constructs.stepfunctions import _builder as stepfunctions_builder
from mlpipes_constructs.stepfunctions import compile_state_machine
from tests.asl import all_states, definition_of
from tests.conftest import TEST_ENV

ROLE_ARN = "arn:aws:iam::123456789012:role/job"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234"
CODE_URI = "s3://artifacts/code/scripts.zip"
PLACEMENT = JobPlacement(subnet_ids=("subnet-1", "subnet-2"), security_group_ids=("sg-1",))
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/reviews"
#: A callback token as SageMaker Pipelines makes them: 10 letters and digits.
CALLBACK_TOKEN = "a1B2c3D4e5"

#: A SageMaker request a compiler emitted: the step (as the orchestrator names it), the API
#: operation and the request as the orchestrator writes it.
EmittedRequest = tuple[str, str, dict[str, Any]]


@dataclass(frozen=True)
class Compiler:
    """One orchestrator's compiler as the contract tests use it."""

    name: str
    dispatch: StepDispatch[Any]
    requests: Callable[[Pipeline], list[EmittedRequest]]


# --- SageMaker Pipelines -------------------------------------------------------------------------

_DEFINITION_OPERATIONS = {
    "Processing": "CreateProcessingJob",
    "Training": "CreateTrainingJob",
    "Tuning": "CreateHyperParameterTuningJob",
    "Model": "CreateModel",
    "Transform": "CreateTransformJob",
    "RegisterModel": "CreateModelPackage",
    "EndpointConfig": "CreateEndpointConfig",
    "Endpoint": "CreateEndpoint",
}


def _definition_steps(steps: list[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for step in steps:
        yield step
        if step["Type"] == "Condition":
            yield from _definition_steps(step["Arguments"]["IfSteps"])
            yield from _definition_steps(step["Arguments"]["ElseSteps"])


def review_handler() -> ModuleType:
    """The SageMaker pipeline's review handler module (Lambda code, loaded from its file)."""
    spec = importlib.util.spec_from_file_location(
        "sagemaker_review_handler", REVIEW_HANDLER_DIRECTORY / "index.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sagemaker_requests(pipeline: Pipeline) -> list[EmittedRequest]:
    """The definition's requests; a callback step's ``StartHumanLoop`` is the one the review
    handler sends for its message (arguments as written, expressions unresolved)."""
    definition = sagemaker_compiler.compile_pipeline_definition(
        pipeline,
        role_arn=ROLE_ARN,
        artifact_root="s3://artifacts/pipelines/p",
        code_locations={code: CODE_URI for code in local_code_paths(pipeline)},
        kms_key_id=KEY_ARN,
        placement=PLACEMENT,
        callback_queue_url=QUEUE_URL,
    )
    emitted: list[EmittedRequest] = []
    for step in _definition_steps(definition["Steps"]):
        if step["Type"] in _DEFINITION_OPERATIONS:
            emitted.append((step["Name"], _DEFINITION_OPERATIONS[step["Type"]], step["Arguments"]))
        elif step["Type"] == "Callback":
            message = {"token": CALLBACK_TOKEN, "arguments": step["Arguments"]}
            request = review_handler().start_request(message)
            emitted.append((step["Name"], "StartHumanLoop", request))
    return emitted


# --- Step Functions ----------------------------------------------------------------------------


def state_machine_definition(pipeline: Pipeline) -> dict[str, Any]:
    """The ASL of ``pipeline``, synthesized in a stack of its own."""
    stack = cdk.Stack(cdk.App(), "Contract", env=TEST_ENV)
    compiled = compile_state_machine(
        stack,
        pipeline,
        job_role=iam.Role.from_role_arn(stack, "Role", ROLE_ARN, mutable=False),
        artifact_bucket=s3.Bucket.from_bucket_name(stack, "Bucket", "artifacts"),
        artifact_prefix="pipelines/p/",
        code_locations={code: CODE_URI for code in local_code_paths(pipeline)},
        kms_key=kms.Key.from_key_arn(stack, "Key", KEY_ARN),
        placement=PLACEMENT,
    )
    sfn.StateMachine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(compiled.definition)
    )
    template = cdk.assertions.Template.from_stack(stack).to_json()
    return definition_of(template, {"AWS::Partition": "aws"})


def stepfunctions_requests(pipeline: Pipeline) -> list[EmittedRequest]:
    emitted = []
    for name, state in all_states(state_machine_definition(pipeline)):
        resource = state.get("Resource", "") if state["Type"] == "Task" else ""
        if resource.endswith(":sagemakera2iruntime:startHumanLoop"):
            emitted.append((name.removesuffix(".Start"), "StartHumanLoop", state["Parameters"]))
            continue
        if ":sagemaker:" not in resource:
            continue
        api = resource.rsplit(":", 1)[1].removesuffix(".sync")
        if api.startswith("describe"):
            continue
        emitted.append((name, api[0].upper() + api[1:], state["Parameters"]))
    return emitted


# --- Airflow -------------------------------------------------------------------------------------


def airflow_requests(pipeline: Pipeline) -> list[EmittedRequest]:
    """The SageMaker request of each task, read back from the compiled DAG's JSON."""
    compiled = airflow_compiler.compile_dag(
        pipeline,
        role_arn=ROLE_ARN,
        artifact_bucket_name="artifacts",
        artifact_prefix="pipelines/p/",
        code_locations={code: CODE_URI for code in local_code_paths(pipeline)},
        kms_key_id=KEY_ARN,
        placement=PLACEMENT,
    )
    return list(compiled.requests())


# --- Kubeflow Pipelines --------------------------------------------------------------------------


def kubeflow_requests(pipeline: Pipeline) -> list[EmittedRequest]:
    """The SageMaker request of each task, read back from the compiled IR YAML."""
    compiled = kubeflow_compiler.compile_kfp_pipeline(
        pipeline,
        role_arn=ROLE_ARN,
        artifact_bucket_name="artifacts",
        artifact_prefix="pipelines/p/",
        code_locations={code: CODE_URI for code in local_code_paths(pipeline)},
        image="123456789012.dkr.ecr.us-east-1.amazonaws.com/kfp-steps:1",
        kms_key_id=KEY_ARN,
        placement=PLACEMENT,
    )
    return list(compiled.requests())


COMPILERS: tuple[Compiler, ...] = (
    Compiler("SageMaker Pipelines", sagemaker_compiler.STEP_DISPATCH, sagemaker_requests),
    Compiler("Step Functions", stepfunctions_builder.STEP_DISPATCH, stepfunctions_requests),
    Compiler("Airflow", airflow_compiler.STEP_DISPATCH, airflow_requests),
    Compiler("Kubeflow Pipelines", kubeflow_compiler.STEP_DISPATCH, kubeflow_requests),
)
