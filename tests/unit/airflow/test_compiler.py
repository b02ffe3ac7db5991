"""The DAG compiler on plain data: the JSON the DAG factory reads (no Airflow, no synth)."""

from __future__ import annotations

import re

import pytest

from mlpipes_constructs.airflow._templates import RUN_TOKEN, Template, templated
from mlpipes_constructs.airflow.compiler import compile_dag
from mlpipes_constructs.compile import CompileError
from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.spec import Pipeline, local_code_paths
from tests.contract.pipelines import every_step_kind

ROLE_ARN = "arn:aws:iam::123456789012:role/job"


def compiled(pipeline: Pipeline, **options: object) -> dict:  # type: ignore[type-arg]
    return dict(
        compile_dag(
            pipeline,
            role_arn=ROLE_ARN,
            artifact_bucket_name="artifacts",
            artifact_prefix="pipelines/p/",
            code_locations={code: "s3://artifacts/code.zip" for code in local_code_paths(pipeline)},
            **options,  # type: ignore[arg-type]
        ).definition
    )


def tasks(definition: dict) -> dict:  # type: ignore[type-arg]
    return {task["task_id"]: task for task in definition["tasks"]}


REFERENCE = reference_pipeline(input_data_uri="s3://artifacts/data/")


def test_parameters_become_typed_params_with_their_defaults() -> None:
    params = compiled(REFERENCE)["params"]
    assert params["AccuracyThreshold"] == {
        "type": "number",
        "default": 0.7,
        "description": "Least test accuracy to register",
    }
    assert params["ProcessingInstanceType"] == {"type": "string", "default": "ml.m5.xlarge"}


def test_the_condition_follows_the_taken_branch_and_skips_the_other() -> None:
    check = tasks(compiled(REFERENCE))["CheckAccuracy"]
    assert check["operator"] == "condition"
    assert sorted(check["if_follow"]) == ["CreateModel", "RegisterModel"]
    assert check["else_follow"] == ["AccuracyTooLow"]
    assert check["condition"] == {
        "compare": ">=",
        "left": {
            "json": {
                "uri": "s3://artifacts/pipelines/p/{{ mlpipes_run_token(run_id) }}"
                "/Evaluate/output/evaluation/evaluation.json",
                "path": "metrics.accuracy.value",
            }
        },
        "right": {"param": "AccuracyThreshold"},
    }


def test_the_fail_message_joins_the_measured_value_and_the_parameter() -> None:
    message = tasks(compiled(REFERENCE))["AccuracyTooLow"]["message"]
    assert [next(iter(part)) for part in message] == ["const", "json", "const", "param", "const"]
    assert message[0] == {"const": "Model accuracy "}


def test_every_name_ends_with_the_run_token_within_sagemakers_limits() -> None:
    definition = compiled(every_step_kind())
    names = {
        task["task_id"]: next(
            value
            for key, value in task["config"].items()
            if key.endswith("Name") and key != "ModelPackageGroupName"
        )
        for task in definition["tasks"]
        if task["operator"] in ("processing", "training", "tuning", "model", "transform")
    }
    assert names
    suffix = "-{{ " + RUN_TOKEN + " }}"
    for task_id, name in names.items():
        assert name.endswith(suffix), name
        slug = name.removesuffix(suffix)
        limit = 32 if tasks(definition)[task_id]["operator"] == "tuning" else 63
        assert re.fullmatch(r"[a-z0-9-]+", slug)
        assert len(slug) + 1 + 20 <= limit, (task_id, slug)


def test_task_graph_is_the_specs_dependencies() -> None:
    upstream = {t["task_id"]: t["upstream"] for t in compiled(REFERENCE)["tasks"]}
    assert upstream["Evaluate"] == ["Train", "Preprocess"]
    assert upstream["BatchTransform"] == ["CreateModel", "Preprocess"]
    assert upstream["CreateModel"] == ["Train", "CheckAccuracy"]


def test_literal_text_that_looks_like_jinja_is_kept_literal() -> None:
    assert templated({"A": "x {{ y }}"}) == {"A": "{{ 'x {{ y }}' }}"}
    assert Template(("s3://b/", "p")).template() == "s3://b/p"


def test_missing_code_locations_and_a_bad_prefix_are_one_error_naming_both() -> None:
    with pytest.raises(CompileError, match=r"artifact_prefix 'p'.*code_locations has no URI"):
        compile_dag(
            REFERENCE,
            role_arn=ROLE_ARN,
            artifact_bucket_name="artifacts",
            artifact_prefix="p",
            code_locations={},
        )


def test_dag_id_and_schedule_are_passed_through() -> None:
    definition = compiled(REFERENCE, dag_id="reviews", schedule="0 6 * * 1")
    assert (definition["dag_id"], definition["schedule"]) == ("reviews", "0 6 * * 1")
