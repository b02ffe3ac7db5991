"""The KFP compiler on plain specs: the IR's DAG is the spec's graph, parameters are typed
inputs, bad arguments are refused, and compiling is deterministic."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, assume, given, settings

from mlpipes_constructs.compile import CompileError
from mlpipes_constructs.compile.plan import Branch, Item, Parallel, plan
from mlpipes_constructs.kubeflow.compiler import CompiledKfpPipeline, compile_kfp_pipeline
from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.spec import Pipeline, local_code_paths, step_dependencies
from tests.unit.spec.spec_strategies import pipelines

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/kfp-steps:1"


def compiled(pipeline: Pipeline, **overrides: Any) -> CompiledKfpPipeline:
    arguments: dict[str, Any] = {
        "role_arn": "arn:aws:iam::123456789012:role/job",
        "artifact_bucket_name": "artifacts",
        "artifact_prefix": "pipelines/p/",
        "code_locations": {code: "s3://artifacts/code.zip" for code in local_code_paths(pipeline)},
        "image": IMAGE,
    }
    arguments.update(overrides)
    return compile_kfp_pipeline(pipeline, **arguments)


@pytest.fixture(scope="module")
def reference() -> CompiledKfpPipeline:
    return compiled(reference_pipeline(input_data_uri="s3://artifacts/data/"))


def _walk(
    ir: Mapping[str, Any],
    tasks: Mapping[str, Any],
    inherited: frozenset[str],
    groups: tuple[str, ...],
) -> Iterator[tuple[str, Mapping[str, Any], frozenset[str], tuple[str, ...]]]:
    """Each executor task: name, task, the tasks it waits for (its own and its groups'), and
    the conditions of its groups."""
    for name, task in tasks.items():
        waits = inherited | frozenset(task.get("dependentTasks", []))
        component = ir["components"][task["componentRef"]["name"]]
        if "dag" in component:
            condition = task.get("triggerPolicy", {}).get("condition")
            inner = (*groups, condition) if condition else groups
            yield from _walk(ir, component["dag"]["tasks"], waits, inner)
        else:
            yield name, task, waits, groups


def dag_of(result: CompiledKfpPipeline) -> dict[str, tuple[frozenset[str], tuple[str, ...]]]:
    """Step -> (steps it waits for, conditions of its groups), read from the IR."""
    ir = yaml.safe_load(result.ir_yaml)
    walked = list(_walk(ir, ir["root"]["dag"]["tasks"], frozenset(), ()))
    steps = {task.task_name: task.step for task in result.tasks}
    for name, task, _, _ in walked:
        step = result.pipeline.step(steps[name])
        assert task["taskInfo"]["name"] == (step.display_name or step.name)
    return {
        steps[name]: (frozenset(steps[w] for w in waits if w in steps), groups)
        for name, _, waits, groups in walked
    }


def _ancestors(pipeline: Pipeline) -> dict[str, set[str]]:
    dependencies = step_dependencies(pipeline)
    result: dict[str, set[str]] = {}
    for step in pipeline.steps:  # declaration order is not topological: iterate to a fixpoint
        result[step.name] = set()
    changed = True
    while changed:
        changed = False
        for name, direct in dependencies.items():
            found = set(direct).union(*(result[d] for d in direct))
            if found != result[name]:
                result[name], changed = found, True
    return result


def _branch_members(items: tuple[Item, ...], path: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    members: dict[str, tuple[str, ...]] = {}
    for item in items:
        if isinstance(item, Parallel):
            for branch in item.branches:
                members.update(_branch_members(branch, path))
        elif isinstance(item, Branch):
            members[item.step.name] = path
            members.update(_branch_members(item.if_plan, (*path, f"{item.step.name}=true")))
            members.update(_branch_members(item.else_plan, (*path, f"{item.step.name}=false")))
        else:
            members[item.name] = path
    return members


def assert_dag_matches(pipeline: Pipeline, result: CompiledKfpPipeline) -> None:
    dag = dag_of(result)
    assert set(dag) == {step.name for step in pipeline.steps}
    ancestors = _ancestors(pipeline)
    expected = _branch_members(plan(pipeline), ())
    for name, direct in step_dependencies(pipeline).items():
        waits, _ = dag[name]
        # A condition group waits for what any of its steps waits for (KFP starts a group
        # once), so a step may also wait for the steps before the others of its groups.
        allowed = set(ancestors[name])
        for depth in range(1, len(expected[name]) + 1):
            group = expected[name][:depth]
            for other, path in expected.items():
                if path[:depth] == group:
                    allowed |= ancestors[other]
        # Each task waits for every step it depends on, and only for steps before it.
        assert set(direct) <= waits <= allowed, name
    for name, (_, groups) in dag.items():
        assert len(groups) == len(expected[name]), name
        for condition, member in zip(groups, expected[name], strict=True):
            step, value = member.split("=")
            task = result.task(step).task_name
            assert f"pipelinechannel--{task}-Output'] == '{value}'" in condition


def test_the_reference_pipelines_tasks_are_its_steps_with_their_dependencies(
    reference: CompiledKfpPipeline,
) -> None:
    dag = dag_of(reference)
    assert dag["Preprocess"] == (frozenset(), ())
    assert dag["Train"][0] == {"Preprocess"}
    assert dag["Evaluate"][0] == {"Preprocess", "Train"}
    assert dag["CheckAccuracy"][0] == {"Evaluate"}
    true = "inputs.parameter_values['pipelinechannel--checkaccuracy-Output'] == 'true'"
    false = "inputs.parameter_values['pipelinechannel--checkaccuracy-Output'] == 'false'"
    for step in ("RegisterModel", "CreateModel", "BatchTransform"):
        assert dag[step][1] == (true,)
        assert "CheckAccuracy" in dag[step][0]
    assert dag["AccuracyTooLow"][1] == (false,)
    assert {"CheckAccuracy", "CreateModel"} <= dag["BatchTransform"][0]
    assert_dag_matches(reference.pipeline, reference)


def test_the_ir_is_kfp_schema_2_1_and_every_task_runs_the_image_without_installing(
    reference: CompiledKfpPipeline,
) -> None:
    ir = yaml.safe_load(reference.ir_yaml)
    assert ir["schemaVersion"] == "2.1.0"
    executors = ir["deploymentSpec"]["executors"].values()
    assert {executor["container"]["image"] for executor in executors} == {IMAGE}
    for executor in executors:
        command = " ".join(executor["container"]["command"])
        assert "pip install" not in command
        assert "kfp.dsl.executor_main" in command


def test_parameters_are_typed_pipeline_inputs_with_the_specs_defaults(
    reference: CompiledKfpPipeline,
) -> None:
    inputs = yaml.safe_load(reference.ir_yaml)["root"]["inputDefinitions"]["parameters"]
    assert inputs == {
        "AccuracyThreshold": {
            "defaultValue": 0.7,
            "isOptional": True,
            "parameterType": "NUMBER_DOUBLE",
        },
        "InputDataUri": {
            "defaultValue": "s3://artifacts/data/",
            "isOptional": True,
            "parameterType": "STRING",
        },
        "ModelApprovalStatus": {
            "defaultValue": "PendingManualApproval",
            "isOptional": True,
            "parameterType": "STRING",
        },
        "ProcessingInstanceType": {
            "defaultValue": "ml.m5.xlarge",
            "isOptional": True,
            "parameterType": "STRING",
        },
        "TrainingInstanceType": {
            "defaultValue": "ml.m5.xlarge",
            "isOptional": True,
            "parameterType": "STRING",
        },
    }


def test_a_task_gets_the_parameters_it_uses_and_the_run_id(
    reference: CompiledKfpPipeline,
) -> None:
    ir = yaml.safe_load(reference.ir_yaml)
    train = ir["root"]["dag"]["tasks"]["train"]["inputs"]["parameters"]
    assert train["parameters"]["runtimeValue"]["constant"] == {
        "TrainingInstanceType": "{{$.inputs.parameters['pipelinechannel--TrainingInstanceType']}}"
    }
    assert train["run_id"]["runtimeValue"]["constant"] == "{{$.pipeline_job_uuid}}"
    spec = json.loads(train["spec"]["runtimeValue"]["constant"])
    assert spec["parameter_types"] == {"TrainingInstanceType": "String"}
    assert spec["request"]["TrainingJobName"] == "mlpipes-review-c-train-{{run_token}}"
    assert spec["request"]["ResourceConfig"]["InstanceType"] == "{{param:TrainingInstanceType}}"
    assert spec["request"]["OutputDataConfig"]["S3OutputPath"] == (
        "s3://artifacts/pipelines/p/{{run_token}}/Train"
    )


def test_the_condition_and_the_fail_message_read_the_report_at_run_time(
    reference: CompiledKfpPipeline,
) -> None:
    check = reference.task("CheckAccuracy").spec
    assert check["condition"] == {
        "compare": ">=",
        "left": "{{ref:0}}",
        "right": "{{param:AccuracyThreshold}}",
    }
    report = "s3://artifacts/pipelines/p/{{run_token}}/Evaluate/output/evaluation/evaluation.json"
    assert check["lookups"] == [{"json": {"uri": report, "path": "metrics.accuracy.value"}}]
    fail = reference.task("AccuracyTooLow").spec
    assert fail["message"] == (
        "Model accuracy {{ref:0}} is below the threshold {{param:AccuracyThreshold}}."
    )
    model = reference.task("CreateModel").spec
    assert model["request"]["PrimaryContainer"]["ModelDataUrl"] == "{{ref:0}}"
    assert model["lookups"] == [
        {"model_artifacts": {"training_job": "mlpipes-review-c-train-{{run_token}}"}}
    ]


def test_two_compiles_give_the_same_bytes(reference: CompiledKfpPipeline) -> None:
    again = compiled(reference_pipeline(input_data_uri="s3://artifacts/data/"))
    assert again.ir_yaml == reference.ir_yaml
    assert again.sha256 == reference.sha256


# No shrinking: shrinking compiled pipelines takes minutes on two cores, and the failing
# example is reported as generated.
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(pipeline=pipelines())
def test_the_ir_dag_of_random_valid_pipelines_is_their_graph(pipeline: Pipeline) -> None:
    try:
        result = compiled(pipeline)
    except CompileError:
        # Refused by the compile core for every orchestrator (e.g. an instance type).
        assume(False)
        return
    assert_dag_matches(pipeline, result)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"artifact_prefix": "pipelines"}, "artifact_prefix 'pipelines' must be empty or end"),
        ({"job_name_prefix": "-bad"}, "job_name_prefix '-bad' must be 1-16 letters"),
        ({"pipeline_name": "Bad_Name"}, "pipeline_name 'Bad_Name' must be 1-128 lowercase"),
        ({"image": " "}, "image must name a container image"),
        ({"poll_interval_seconds": -1}, "poll_interval_seconds -1 must be a whole number"),
        ({"code_locations": {}}, r"code_locations has no URI for \['scripts'\]"),
    ],
)
def test_bad_arguments_are_refused_naming_the_argument(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(CompileError, match=message) as raised:
        compiled(reference_pipeline(input_data_uri="s3://artifacts/data/"), **overrides)
    assert raised.value.orchestrator == "Kubeflow Pipelines"


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(CompileError) as raised:
        compiled(
            reference_pipeline(input_data_uri="s3://artifacts/data/"),
            artifact_prefix="x",
            image="",
        )
    assert "artifact_prefix" in raised.value.reason and "image" in raised.value.reason


def test_importing_the_compiler_does_not_import_the_kfp_sdk() -> None:
    code = "import sys, mlpipes_constructs.kubeflow.compiler; print('kfp' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
