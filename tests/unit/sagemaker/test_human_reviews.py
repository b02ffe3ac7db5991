"""Human review steps in the pipeline constructs: what SageMakerPipeline and MlStateMachine
create and grant for them, checked on one synthesized stack with the three cdk-nag packs."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3

from mlpipes_app import add_compliance_checks
from mlpipes_constructs.a2i import FlowDefinition
from mlpipes_constructs.compile.human_review import human_loop_prefix
from mlpipes_constructs.errors import PropsValidationError
from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.sagemaker import SageMakerPipeline
from mlpipes_constructs.stepfunctions import MlStateMachine
from tests.conftest import ANNOTATIONS_PLUGIN, TEST_ENV
from tests.unit.sagemaker.conftest import (
    ACCOUNT,
    BUCKET_NAME,
    KEY_ARN,
    REGION,
    imported_platform,
    new_app,
    resources,
)

FLOW = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:flow-definition/model-review"
OUTPUT_BUCKET = "a2i-output"
SPEC = reference_pipeline(
    REGION, input_data_uri=f"s3://{BUCKET_NAME}/data/", human_review_flow_definition_arn=FLOW
)
NAME = SPEC.name
#: The pipeline's ARN, as the construct writes it.
PIPELINE_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{NAME}"


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    outdir = tmp_path_factory.mktemp("reviews.out")
    app = new_app(outdir)
    stack = cdk.Stack(app, "Reviews", env=TEST_ENV)
    bucket, key, role = imported_platform(stack)
    output = s3.Bucket.from_bucket_name(stack, "Output", OUTPUT_BUCKET)
    flow = FlowDefinition.from_flow_definition_arn(
        stack, "Flow", FLOW, output_bucket=output, encryption_key=key
    )
    pipeline = SageMakerPipeline(
        stack,
        "Pipeline",
        pipeline=SPEC,
        job_role=role,
        artifact_bucket=bucket,
        encryption_key=key,
        flow_definitions=[flow],
    )
    machine = MlStateMachine(
        stack,
        "Machine",
        pipeline=SPEC,
        job_role=role,
        artifact_bucket=bucket,
        encryption_key=key,
        flow_definitions=[flow],
    )
    add_compliance_checks(app)
    app.synth()
    template = json.loads((outdir / "Reviews.template.json").read_text(encoding="utf-8"))
    report_path = outdir / "validation-report.json"
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else {}
    return {
        "template": template,
        "report": report,
        "pipeline": pipeline,
        "machine": machine,
        "stack": stack,
    }


def _policy(template: dict[str, Any], logical_id_start: str) -> list[dict[str, Any]]:
    (policy,) = [
        resource
        for logical_id, resource in resources(template, "AWS::IAM::ManagedPolicy").items()
        if logical_id.startswith(logical_id_start)
    ]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _actions(statement: dict[str, Any]) -> set[str]:
    actions = statement["Action"]
    return {actions} if isinstance(actions, str) else set(actions)


def _granted(statements: list[dict[str, Any]], action: str) -> list[Any]:
    return [s["Resource"] for s in statements if action in _actions(s)]


def _ref(resource: Any) -> str:
    return json.dumps(resource, sort_keys=True)


def test_no_cdk_nag_findings_only_the_imported_key_warnings(synthesized: dict[str, Any]) -> None:
    findings = [
        (plugin["pluginName"], violation["ruleName"])
        for plugin in synthesized["report"].get("pluginReports", [])
        for violation in plugin["violations"]
    ]
    # The imported key's policy cannot be changed for the failure topics (a known warning).
    assert all(plugin == ANNOTATIONS_PLUGIN for plugin, _ in findings), findings
    assert {rule for _, rule in findings} <= {
        "Annotation::mlpipes:sagemaker-pipeline-topic-key-policy",
        "Annotation::mlpipes:state-machine-topic-key-policy",
    }


def test_the_callback_queue_is_encrypted_tls_only_with_a_dead_letter_queue(
    synthesized: dict[str, Any],
) -> None:
    template = synthesized["template"]
    queues = resources(template, "AWS::SQS::Queue")
    (queue_id,) = [i for i in queues if i.startswith("PipelineHumanReviewsQueue")]
    (dlq_id,) = [i for i in queues if i.startswith("PipelineHumanReviewsDeadLetterQueue")]
    queue = queues[queue_id]["Properties"]
    assert queue["KmsMasterKeyId"] == KEY_ARN
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": 5,
    }
    assert queue["VisibilityTimeout"] == 360
    assert queues[dlq_id]["Properties"]["KmsMasterKeyId"] == KEY_ARN
    policies = resources(template, "AWS::SQS::QueuePolicy").values()
    denied = [
        statement
        for policy in policies
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny"
        and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(denied) == 2


def test_the_review_step_sends_to_the_queue(synthesized: dict[str, Any]) -> None:
    pipeline: SageMakerPipeline = synthesized["pipeline"]
    stack: cdk.Stack = synthesized["stack"]
    check = next(s for s in pipeline.definition["Steps"] if s["Name"] == "CheckAccuracy")
    steps = check["Arguments"]["IfSteps"]
    (review,) = [s for s in steps if s["Name"] == "Review"]
    assert review["Type"] == "Callback"
    assert pipeline.review_queue is not None and pipeline.review_handler is not None
    assert stack.resolve(review["SqsQueueUrl"]) == stack.resolve(pipeline.review_queue.queue_url)
    assert "Callback" in pipeline.step_types


def test_the_pipeline_role_may_send_to_the_queue_and_encrypt_through_sqs(
    synthesized: dict[str, Any],
) -> None:
    template = synthesized["template"]
    statements = _policy(template, "PipelineRolePolicy")
    (queue_id,) = [
        i for i in resources(template, "AWS::SQS::Queue") if i.startswith("PipelineHumanReviewsQ")
    ]
    assert _granted(statements, "sqs:SendMessage") == [{"Fn::GetAtt": [queue_id, "Arn"]}]
    (key_use,) = [
        s for s in statements if "kms:ViaService" in s.get("Condition", {}).get("StringEquals", {})
    ]
    assert _actions(key_use) == {"kms:Decrypt", "kms:GenerateDataKey"}
    assert key_use["Condition"] == {
        "StringEquals": {"kms:ViaService": f"sqs.{REGION}.amazonaws.com"}
    }


def test_the_handler_may_complete_this_pipelines_steps_and_run_its_loops_only(
    synthesized: dict[str, Any],
) -> None:
    statements = _policy(synthesized["template"], "PipelineHumanReviewsRolePolicy")
    executions = [f"{PIPELINE_ARN}/execution/*"]
    assert _granted(statements, "sagemaker:SendPipelineExecutionStepSuccess") == executions
    assert _granted(statements, "sagemaker:SendPipelineExecutionStepFailure") == executions
    assert _granted(statements, "sagemaker:StartHumanLoop") == [FLOW]
    prefix = human_loop_prefix(NAME, "Review")
    loops = [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:human-loop/{prefix}*"]
    assert _granted(statements, "sagemaker:DescribeHumanLoop") == loops
    assert _granted(statements, "sagemaker:StopHumanLoop") == loops
    records = f"arn:aws:s3:::{BUCKET_NAME}/pipelines/{NAME}/human-loops/*"
    assert _granted(statements, "s3:PutObject") == [records]
    assert sorted(_granted(statements, "s3:GetObject")) == sorted(
        [records, f"arn:aws:s3:::{OUTPUT_BUCKET}/a2i/*"]
    )
    assert "sqs:ReceiveMessage" in {a for s in statements for a in _actions(s)}
    assert not any("*" in a for s in statements for a in _actions(s))


def test_the_loop_rule_sends_this_pipelines_ended_loops_to_the_handler(
    synthesized: dict[str, Any],
) -> None:
    rules = resources(synthesized["template"], "AWS::Events::Rule")
    (rule,) = [r for i, r in rules.items() if i.startswith("PipelineHumanReviewsLoopEnded")]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker A2I HumanLoop Status Change"],
        "detail": {
            "humanLoopName": [{"prefix": f"{human_loop_prefix(NAME, 'Review')}-"}],
            "humanLoopStatus": ["Completed", "Failed", "Stopped"],
        },
    }
    (target,) = rule["Properties"]["Targets"]
    assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0].startswith(
        "PipelineHumanReviewsDeadLetterQueue"
    )
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 10


def test_the_state_machine_role_may_run_its_loops_and_read_their_answers(
    synthesized: dict[str, Any],
) -> None:
    machine: MlStateMachine = synthesized["machine"]
    assert machine.compiled is not None
    statements = _policy(synthesized["template"], "MachineStateMachineRolePolicy")
    assert _granted(statements, "sagemaker:StartHumanLoop") == [FLOW]
    prefix = human_loop_prefix(machine.compiled.job_name_prefix, "Review")
    loops = [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:human-loop/{prefix}*"]
    assert _granted(statements, "sagemaker:DescribeHumanLoop") == loops
    assert _granted(statements, "sagemaker:StopHumanLoop") == loops
    readable = [r for resource in _granted(statements, "s3:GetObject") for r in resource]
    assert f"arn:aws:s3:::{OUTPUT_BUCKET}/a2i/*" in readable


@pytest.mark.parametrize("construct", ["sagemaker", "stepfunctions"])
def test_review_steps_without_flow_definitions_are_refused(construct: str) -> None:
    stack = cdk.Stack(cdk.App(), "Refused", env=TEST_ENV)
    bucket, key, role = imported_platform(stack)
    with pytest.raises(PropsValidationError, match=r"flow_definitions is empty.*'Review'"):
        if construct == "sagemaker":
            SageMakerPipeline(
                stack, "P", pipeline=SPEC, job_role=role, artifact_bucket=bucket, encryption_key=key
            )
        else:
            MlStateMachine(
                stack, "M", pipeline=SPEC, job_role=role, artifact_bucket=bucket, encryption_key=key
            )


def test_a_review_timeout_is_refused_on_sagemaker_pipelines() -> None:
    import dataclasses

    from mlpipes_constructs.spec import HumanReviewStep, Pipeline

    steps = tuple(
        dataclasses.replace(step, timeout_seconds=3600)
        if isinstance(step, HumanReviewStep)
        else step
        for step in SPEC.steps
    )
    spec = Pipeline(
        name=SPEC.name,
        steps=steps,
        parameters=SPEC.parameters,
        base_directory=SPEC.base_directory,
    )
    stack = cdk.Stack(cdk.App(), "Timeout", env=TEST_ENV)
    bucket, key, role = imported_platform(stack)
    flow = FlowDefinition.from_flow_definition_arn(stack, "Flow", FLOW)
    with pytest.raises(PropsValidationError, match=r"step 'Review' \(timeout_seconds\).*task"):
        SageMakerPipeline(
            stack,
            "P",
            pipeline=spec,
            job_role=role,
            artifact_bucket=bucket,
            encryption_key=key,
            flow_definitions=[flow],
        )


def test_without_review_steps_nothing_is_added() -> None:
    stack = cdk.Stack(cdk.App(), "Plain", env=TEST_ENV)
    bucket, key, role = imported_platform(stack)
    plain = reference_pipeline(REGION, input_data_uri=f"s3://{BUCKET_NAME}/data/")
    pipeline = SageMakerPipeline(
        stack, "P", pipeline=plain, job_role=role, artifact_bucket=bucket, encryption_key=key
    )
    assert pipeline.human_reviews is None and pipeline.review_queue is None
    assert "Callback" not in pipeline.step_types
    template = cdk.assertions.Template.from_stack(stack)
    template.resource_count_is("AWS::SQS::Queue", 0)
