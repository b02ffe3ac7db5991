"""The human review step in a compiled KFP pipeline, and KubeflowPipeline's grants for it."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from mlpipes_constructs.a2i import FlowDefinition
from mlpipes_constructs.compile.human_review import DEFAULT_WAIT_SECONDS, human_loop_prefix
from mlpipes_constructs.errors import PropsValidationError
from mlpipes_constructs.kubeflow.compiler import CompiledKfpPipeline
from mlpipes_constructs.kubeflow.pipeline import KubeflowPipeline
from mlpipes_constructs.reference import reference_pipeline
from tests.unit.kubeflow.test_compiler import compiled
from tests.unit.kubeflow.test_pipeline import IMAGE, _stack

ARN = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/model-review"


@pytest.fixture(scope="module")
def reviewed() -> CompiledKfpPipeline:
    return compiled(
        reference_pipeline(
            input_data_uri="s3://artifacts/data/", human_review_flow_definition_arn=ARN
        )
    )


def test_the_review_task_gets_the_cores_request_task_input_and_timing(
    reviewed: CompiledKfpPipeline,
) -> None:
    task = reviewed.task("Review")
    spec = task.spec
    assert (task.kind, task.upstream) == ("human_review", ("Evaluate", "Train", "CheckAccuracy"))
    assert spec["request"] == {
        "HumanLoopName": "{{human_loop_name}}",
        "FlowDefinitionArn": "{{param:HumanReviewFlowDefinitionArn}}",
        "HumanLoopInput": {"InputContent": "{{task_input}}"},
    }
    assert spec["task_input"]["pipeline_execution"] == "{{run_id}}"
    # Metrics are lookups of the report (typed when filled in), the threshold a parameter.
    assert spec["task_input"]["metrics"][0] == ["accuracy", "{{ref:0}}"]
    assert spec["task_input"]["metrics"][-1] == [
        "accuracy threshold",
        "{{param:AccuracyThreshold}}",
    ]
    assert spec["lookups"][0]["json"]["path"] == "metrics.accuracy.value"
    assert spec["human_loop_prefix"] == human_loop_prefix("mlpipes-review-c", "Review")
    assert (spec["approve_field"], spec["review_poll_seconds"]) == ("approve", 60)
    assert spec["wait_seconds"] == DEFAULT_WAIT_SECONDS
    assert task.parameters == ("AccuracyThreshold", "HumanReviewFlowDefinitionArn")
    assert ("Review", "StartHumanLoop", spec["request"]) in list(reviewed.requests())


def _ir_task(ir: dict[str, Any], name: str) -> dict[str, Any]:
    def walk(tasks: dict[str, Any]) -> Any:
        for task_name, task in tasks.items():
            if task_name == name:
                return task
            component = ir["components"][task["componentRef"]["name"]]
            if "dag" in component:
                found = walk(component["dag"]["tasks"])
                if found is not None:
                    return found
        return None

    found = walk(ir["root"]["dag"]["tasks"])
    assert found is not None, name
    return dict(found)


def test_the_decision_is_the_review_tasks_output_given_to_the_condition_task(
    reviewed: CompiledKfpPipeline,
) -> None:
    condition = reviewed.task("CheckReview")
    assert condition.spec["condition"] == {
        "compare": "==",
        "left": "{{output:Review}}",
        "right": "Approved",
    }
    assert condition.outputs == ("Review",)
    ir = yaml.safe_load(reviewed.ir_yaml)
    inputs = _ir_task(ir, "checkreview")["inputs"]["parameters"]
    assert inputs["outputs"]["runtimeValue"]["constant"] == {
        "Review": "{{$.inputs.parameters['pipelinechannel--review-Output']}}"
    }
    assert inputs["pipelinechannel--review-Output"]["taskOutputParameter"] == {
        "outputParameterKey": "Output",
        "producerTask": "review",
    }
    # The branches are dsl.If groups on the condition task's output.
    groups = [c for c in ir["components"].values() if "dag" in c]
    assert any("checkreview" in json.dumps(g["dag"]) for g in groups)
    # Tasks that read no output get no outputs input.
    assert "outputs" not in _ir_task(ir, "train")["inputs"]["parameters"]


def test_the_step_documents_without_review_do_not_change(reviewed: CompiledKfpPipeline) -> None:
    plain = compiled(reference_pipeline(input_data_uri="s3://artifacts/data/"))
    for task in plain.tasks:
        if task.step != "CheckAccuracy":
            assert reviewed.task(task.step).spec == task.spec
        assert task.outputs == ()


def _pipeline(**props: Any) -> tuple[Any, KubeflowPipeline]:
    stack, cluster, role, bucket = _stack()
    construct = KubeflowPipeline(
        stack,
        "Pipeline",
        pipeline=reference_pipeline(
            input_data_uri="s3://artifacts/data/", human_review_flow_definition_arn=ARN
        ),
        job_role=role,
        artifact_bucket=bucket,
        cluster=cluster,
        component_image=IMAGE,
        **props,
    )
    return stack, construct


def test_the_pod_role_may_run_the_reviews_loops_and_read_their_answers() -> None:
    stack, cluster, role, bucket = _stack()
    flow = FlowDefinition.from_flow_definition_arn(
        stack,
        "Flow",
        ARN,
        output_bucket=s3.Bucket.from_bucket_name(stack, "Reviews", "reviews"),
        output_prefix="a2i-output/",
    )
    construct = KubeflowPipeline(
        stack,
        "Pipeline",
        pipeline=reference_pipeline(
            input_data_uri="s3://artifacts/data/", human_review_flow_definition_arn=ARN
        ),
        job_role=role,
        artifact_bucket=bucket,
        cluster=cluster,
        component_image=IMAGE,
        flow_definitions=[flow],
    )
    template = Template.from_stack(stack).to_json()
    policy = template["Resources"][
        stack.get_logical_id(construct.role.managed_policy.node.default_child)
    ]
    by_action: dict[str, Any] = {}
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        for action in actions:
            by_action.setdefault(action, []).append(statement["Resource"])
    assert by_action["sagemaker:StartHumanLoop"] == [ARN]
    prefix = human_loop_prefix("mlpipes-review-c", "Review")
    assert f":human-loop/{prefix}*" in json.dumps(by_action["sagemaker:DescribeHumanLoop"])
    assert by_action["sagemaker:StopHumanLoop"] == by_action["sagemaker:DescribeHumanLoop"]
    assert "reviews/a2i-output/*" in json.dumps(by_action["s3:GetObject"])
    assert construct.human_review_grant is not None
    assert construct.compiled.task("Review").spec["human_loop_prefix"] == prefix


def test_a_reviewed_pipeline_without_flow_definitions_is_refused_naming_the_prop() -> None:
    with pytest.raises(PropsValidationError, match=r"flow_definitions is empty.*'Review'"):
        _pipeline()


def test_a_flow_definition_the_steps_do_not_name_is_refused() -> None:
    stack, cluster, role, bucket = _stack()
    other = FlowDefinition.from_flow_definition_arn(stack, "Other", ARN + "-other")
    with pytest.raises(PropsValidationError, match=r"starts human loops with '.*model-review'"):
        KubeflowPipeline(
            stack,
            "Pipeline",
            pipeline=reference_pipeline(
                input_data_uri="s3://artifacts/data/", human_review_flow_definition_arn=ARN
            ),
            job_role=role,
            artifact_bucket=bucket,
            cluster=cluster,
            component_image=IMAGE,
            flow_definitions=[other],
        )
