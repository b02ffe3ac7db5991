"""A harness that runs the compiled human review states in moto's Step Functions interpreter.

The reference pipeline with its ``Review`` step runs request-response, as in
``test_stepfunctions_execution``. moto has no A2I runtime, so three things are set up at the
emulator's boundary, and none in our code:

* the interpreter's ``aws-sdk`` tasks create a boto3 client named after the integration's
  service (``sagemakera2iruntime``); its table of Step Functions to boto3 service names gets
  ``sagemaker-a2i-runtime``, and its table of error prefixes the integration's
  ``SageMakerA2IRuntime``;
* :class:`FakeA2iRuntime` answers that client's calls in botocore's ``before-call`` event of
  the default session (where the interpreter's clients come from): it checks each request
  against botocore's sagemaker-a2i-runtime model, keeps the loops, and writes a completed
  loop's ``output.json`` to moto's S3, as A2I does;
* the interpreter's Wait states do not sleep (the seconds asked for are recorded).
"""

from __future__ import annotations

import datetime
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from botocore.awsrequest import AWSResponse
from botocore.model import OperationModel
from botocore.response import StreamingBody
from botocore.validate import ParamValidator
from moto import mock_aws
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service,
    state_task_service_aws_sdk,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function

from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.spec import local_code_paths
from mlpipes_constructs.stepfunctions import compile_state_machine
from tests.asl import definition_of

ACCOUNT = "123456789012"
REGION = "us-east-1"
BUCKET = "mlpipes-sfn-review-test"
OUTPUT_BUCKET = "mlpipes-a2i-output"
PREFIX = "pipelines/review-classifier/"
JOB_ROLE = f"arn:aws:iam::{ACCOUNT}:role/mlpipes-job-role"
GROUP = "mlpipes-review-classifier"
FLOW_DEFINITION = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:flow-definition/model-review"
JOB_PREFIX = "review"


@pytest.fixture(scope="module")
def a2i_definition() -> dict[str, Any]:
    app = cdk.App()
    stack = cdk.Stack(app, "Review", env=cdk.Environment(account=ACCOUNT, region=REGION))
    pipeline = reference_pipeline(
        REGION,
        input_data_uri=f"s3://{BUCKET}/data/reviews/",
        human_review_flow_definition_arn=FLOW_DEFINITION,
    )
    compiled = compile_state_machine(
        stack,
        pipeline,
        job_role=iam.Role.from_role_arn(stack, "JobRole", JOB_ROLE, mutable=False),
        artifact_bucket=s3.Bucket.from_bucket_name(stack, "Artifacts", BUCKET),
        artifact_prefix=PREFIX,
        code_locations={
            code: f"s3://{BUCKET}/code/scripts.zip" for code in local_code_paths(pipeline)
        },
        integration_pattern=sfn.IntegrationPattern.REQUEST_RESPONSE,
        job_name_prefix=JOB_PREFIX,
    )
    sfn.StateMachine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(compiled.definition)
    )
    template = app.synth().get_stack_by_name("Review").template
    return definition_of(template, {"AWS::Partition": "aws"})


# --- The fake A2I runtime -----------------------------------------------------------------------


@dataclass
class FakeLoop:
    name: str
    flow_definition_arn: str
    input_content: dict[str, Any]
    describes: int = 0
    stopped: bool = False


@dataclass
class FakeA2iRuntime:
    """A2I's runtime API as far as the states use it.

    Args:
        s3: where completed loops write ``output.json``.
        ending: what a loop ends as: ``DescribeHumanLoop`` fields, plus ``answers`` (the
            ``humanAnswers``' ``answerContent``) for a completed loop.
        in_progress: how many ``DescribeHumanLoop`` calls see the loop in progress first.
    """

    s3: Any
    ending: dict[str, Any]
    in_progress: int = 1
    loops: dict[str, FakeLoop] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def parameters(self, params: dict[str, Any], model: OperationModel, **_: Any) -> None:
        """``before-parameter-build``: keep the request and check it against the model."""
        report = ParamValidator().validate(params, model.input_shape)
        if report.has_errors():
            self.problems.append(f"{model.name}: {report.generate_report()}")
        self.calls.append((model.name, dict(params)))

    def call(self, model: OperationModel, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        """``before-call``: answer the request the last ``parameters`` kept."""
        operation, params = self.calls[-1]
        assert operation == model.name
        answer = getattr(self, operation)(params)
        status = 400 if "Error" in answer else 200
        answer["ResponseMetadata"] = {"HTTPStatusCode": status, "RequestId": "fake"}
        return AWSResponse("https://a2i.fake", status, {}, None), answer

    def StartHumanLoop(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        name = params["HumanLoopName"]
        if name in self.loops:
            return {"Error": {"Code": "ConflictException", "Message": f"{name} exists"}}
        self.loops[name] = FakeLoop(
            name,
            params["FlowDefinitionArn"],
            json.loads(params["HumanLoopInput"]["InputContent"]),
        )
        return {"HumanLoopArn": self._arn(name)}

    def DescribeHumanLoop(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        loop = self.loops[params["HumanLoopName"]]
        loop.describes += 1
        answer: dict[str, Any] = {
            "CreationTime": datetime.datetime(2026, 12, 2, tzinfo=datetime.UTC),
            "HumanLoopName": loop.name,
            "HumanLoopArn": self._arn(loop.name),
            "FlowDefinitionArn": loop.flow_definition_arn,
        }
        if loop.stopped:
            return {**answer, "HumanLoopStatus": "Stopped"}
        if loop.describes <= self.in_progress:
            return {**answer, "HumanLoopStatus": "InProgress"}
        ending = {key: value for key, value in self.ending.items() if key != "answers"}
        if ending["HumanLoopStatus"] == "Completed":
            key = f"a2i/model-review/2026/12/02/07/00/00/{loop.name}/output.json"
            output = {
                "flowDefinitionArn": loop.flow_definition_arn,
                "humanLoopName": loop.name,
                "inputContent": loop.input_content,
                "humanAnswers": [
                    {"answerContent": content, "workerId": f"w{index}"}
                    for index, content in enumerate(self.ending["answers"])
                ],
            }
            self.s3.put_object(Bucket=OUTPUT_BUCKET, Key=key, Body=json.dumps(output))
            ending["HumanLoopOutput"] = {"OutputS3Uri": f"s3://{OUTPUT_BUCKET}/{key}"}
        return {**answer, **ending}

    def StopHumanLoop(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        self.loops[params["HumanLoopName"]].stopped = True
        return {}

    @staticmethod
    def _arn(name: str) -> str:
        return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:human-loop/{name}"


# --- Harness ------------------------------------------------------------------------------------


@pytest.fixture
def harness() -> ModuleType:
    """This module, for the tests that use its fixtures (so it is imported once, as a plugin)."""
    return sys.modules[__name__]


@pytest.fixture
def a2i_waits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The emulator's Wait states return at once; the seconds they were asked for are kept."""
    asked: list[int] = []

    def no_sleep(self: Any, env: Any, wait_seconds: int) -> None:
        asked.append(wait_seconds)

    monkeypatch.setattr(wait_function.WaitFunction, "_wait_interval", no_sleep)
    return asked


@pytest.fixture
def a2i_emulator(monkeypatch: pytest.MonkeyPatch, a2i_waits: list[int]) -> None:
    """moto's aws-sdk tasks: A2I's boto3 name and error prefix; s3 Bodies as text."""
    service = state_task_service.StateTaskService
    monkeypatch.setitem(
        service._SERVICE_NAME_SFN_TO_BOTO_OVERRIDES,  # type: ignore[arg-type]
        "sagemakera2iruntime",
        "sagemaker-a2i-runtime",
    )
    monkeypatch.setitem(
        state_task_service_aws_sdk._SERVICE_ERROR_NAMES,
        "sagemakera2iruntime",
        "SageMakerA2IRuntime",
    )
    sdk = state_task_service_aws_sdk.StateTaskServiceAwsSdk
    original = sdk._eval_service_task

    def read_bodies(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        original(self, env, *args, **kwargs)
        response = env.stack[-1]
        if isinstance(response, dict):
            for key, value in list(response.items()):
                if isinstance(value, StreamingBody):
                    response[key] = value.read().decode("utf-8")

    monkeypatch.setattr(sdk, "_eval_service_task", read_bodies)


@pytest.fixture
def a2i_aws(a2i_emulator: None, a2i_definition: dict[str, Any]) -> Iterator[dict[str, Any]]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        clients: dict[str, Any] = {
            name: boto3.client(name, region_name=REGION)
            for name in ("s3", "sagemaker", "stepfunctions")
        }
        for bucket in (BUCKET, OUTPUT_BUCKET):
            clients["s3"].create_bucket(Bucket=bucket)
        clients["sagemaker"].create_model_package_group(ModelPackageGroupName=GROUP)
        clients["arn"] = clients["stepfunctions"].create_state_machine(
            name="review-classifier",
            definition=json.dumps(a2i_definition),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/state-machine",
        )["stateMachineArn"]
        yield clients


def run(aws: dict[str, Any], a2i: FakeA2iRuntime, name: str) -> dict[str, Any]:
    """Write the evaluation report, run an execution with the fake A2I, wait for its end."""
    aws["s3"].put_object(
        Bucket=BUCKET,
        Key=f"{PREFIX}{name}/Evaluate/output/evaluation/evaluation.json",
        Body=json.dumps(
            {
                "metrics": {
                    metric: {"value": 0.91} for metric in ("accuracy", "precision", "recall", "f1")
                }
            }
        ),
    )
    events = boto3._get_default_session().events
    events.register("before-parameter-build.sagemaker-a2i-runtime", a2i.parameters)
    events.register("before-call.sagemaker-a2i-runtime", a2i.call)
    try:
        functions = aws["stepfunctions"]
        execution = functions.start_execution(stateMachineArn=aws["arn"], name=name, input="{}")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            description = functions.describe_execution(executionArn=execution["executionArn"])
            if description["status"] != "RUNNING":
                history = functions.get_execution_history(executionArn=execution["executionArn"])
                return {"description": description, "events": history["events"]}
            time.sleep(0.1)
    finally:
        events.unregister("before-parameter-build.sagemaker-a2i-runtime", a2i.parameters)
        events.unregister("before-call.sagemaker-a2i-runtime", a2i.call)
    raise AssertionError(f"execution {name} did not finish")


def entered(events: list[dict[str, Any]]) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]


def only_loop(a2i: FakeA2iRuntime) -> FakeLoop:
    assert len(a2i.loops) == 1
    return next(iter(a2i.loops.values()))
