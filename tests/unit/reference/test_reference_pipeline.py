"""The reference pipeline: valid, serializable, wired as documented, images per region."""

from __future__ import annotations

import ast

import pytest

from mlpipes_constructs.reference import (
    ACCURACY_JSON_PATH,
    XGBOOST_HYPERPARAMETERS,
    reference_pipeline,
)
from mlpipes_constructs.spec import (
    ApprovalStatus,
    Comparison,
    ComparisonOperator,
    ConditionStep,
    FailStep,
    JsonValue,
    ModelArtifacts,
    ParameterRef,
    Pipeline,
    ProcessingStep,
    RegisterModelStep,
    StepOutput,
    TrainingStep,
    TransformStep,
    local_code_paths,
    step_dependencies,
    topological_order,
)

INPUT = "s3://example-bucket/reviews/"


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return reference_pipeline(input_data_uri=INPUT)


def test_the_steps_run_in_the_documented_order(pipeline):
    assert [step.name for step in topological_order(pipeline)] == [
        "Preprocess",
        "Train",
        "Evaluate",
        "CheckAccuracy",
        "RegisterModel",
        "CreateModel",
        "BatchTransform",
        "AccuracyTooLow",
    ]


def test_dependencies_come_from_the_data_flow(pipeline):
    assert step_dependencies(pipeline) == {
        "Preprocess": (),
        "Train": ("Preprocess",),
        "Evaluate": ("Train", "Preprocess"),
        "CheckAccuracy": ("Evaluate",),
        "RegisterModel": ("Train", "Evaluate", "CheckAccuracy"),
        "CreateModel": ("Train", "CheckAccuracy"),
        "BatchTransform": ("CreateModel", "Preprocess"),
        "AccuracyTooLow": ("Evaluate", "CheckAccuracy"),
    }


def test_it_prints_as_json_and_loads_back_identically(pipeline):
    text = pipeline.to_json()

    assert Pipeline.from_json(text) == pipeline
    assert Pipeline.from_json(text).to_json() == text


def test_the_gate_compares_the_evaluated_accuracy_with_the_threshold_parameter(pipeline):
    gate = pipeline.step("CheckAccuracy")
    evaluate = pipeline.step("Evaluate")
    assert isinstance(gate, ConditionStep)
    assert isinstance(evaluate, ProcessingStep)

    assert gate.condition == Comparison(
        JsonValue("Evaluate", "EvaluationReport", ACCURACY_JSON_PATH),
        ComparisonOperator.GREATER_THAN_OR_EQUAL,
        ParameterRef("AccuracyThreshold"),
    )
    assert gate.if_steps == ("RegisterModel", "CreateModel")
    assert gate.else_steps == ("AccuracyTooLow",)
    (report,) = evaluate.property_files
    assert (report.name, report.output_name, report.path) == (
        "EvaluationReport",
        "evaluation",
        "evaluation.json",
    )
    assert pipeline.parameter("AccuracyThreshold").default == 0.7


def test_the_false_branch_fails_with_the_measured_accuracy(pipeline):
    fail = pipeline.step("AccuracyTooLow")
    assert isinstance(fail, FailStep)

    assert fail.error_message.values == (
        "Model accuracy ",
        JsonValue("Evaluate", "EvaluationReport", ACCURACY_JSON_PATH),
        " is below the threshold ",
        ParameterRef("AccuracyThreshold"),
        ".",
    )


def test_the_model_is_registered_pending_manual_approval_with_its_metrics(pipeline):
    register = pipeline.step("RegisterModel")
    assert isinstance(register, RegisterModelStep)

    assert register.model == ModelArtifacts("Train")
    assert register.approval_status == ParameterRef("ModelApprovalStatus")
    assert pipeline.parameter("ModelApprovalStatus").default == (
        ApprovalStatus.PENDING_MANUAL_APPROVAL.value
    )
    assert register.metrics_report == StepOutput("Evaluate", "evaluation", "evaluation.json")
    assert register.content_types == register.response_types == ("text/csv",)


def test_batch_transform_scores_the_unlabelled_test_features(pipeline):
    transform = pipeline.step("BatchTransform")
    assert isinstance(transform, TransformStep)

    assert transform.input_data == StepOutput("Preprocess", "transform")
    assert transform.content_type == "text/csv"


def test_training_uses_built_in_xgboost_on_csv_channels(pipeline):
    train = pipeline.step("Train")
    assert isinstance(train, TrainingStep)

    assert train.image_uri == (
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    )
    assert dict(train.hyperparameters) == XGBOOST_HYPERPARAMETERS
    assert train.hyperparameters["objective"] == "binary:logistic"
    assert [(c.name, c.source, c.content_type) for c in train.channels] == [
        ("train", StepOutput("Preprocess", "train"), "text/csv"),
        ("validation", StepOutput("Preprocess", "validation"), "text/csv"),
    ]


def test_the_job_scripts_exist_where_the_spec_says(pipeline):
    code = local_code_paths(pipeline)
    scripts = [
        code[step.code] / step.entry_point
        for step in pipeline.steps
        if isinstance(step, ProcessingStep)
    ]

    assert [path.name for path in scripts] == ["preprocess.py", "evaluate.py"]
    assert all(path.is_file() for path in scripts)


def test_the_arguments_become_parameter_defaults():
    pipeline = reference_pipeline(
        input_data_uri="s3://other-bucket/raw",
        accuracy_threshold=0.9,
        instance_type="ml.c5.2xlarge",
        model_package_group_name="reviews",
    )

    assert pipeline.parameter("InputDataUri").default == "s3://other-bucket/raw"
    assert pipeline.parameter("AccuracyThreshold").default == 0.9
    assert pipeline.parameter("TrainingInstanceType").default == "ml.c5.2xlarge"
    assert pipeline.step("RegisterModel").model_package_group_name == "reviews"


@pytest.mark.parametrize(
    ("region", "account", "domain"),
    [
        ("us-east-1", "683313688378", "amazonaws.com"),
        ("eu-west-1", "141502667606", "amazonaws.com"),
        ("ap-southeast-2", "783357654285", "amazonaws.com"),
    ],
)
def test_images_resolve_per_region(region, account, domain):
    pipeline = reference_pipeline(region, input_data_uri=INPUT)
    registry = f"{account}.dkr.ecr.{region}.{domain}"

    assert pipeline.step("Preprocess").image_uri == (
        f"{registry}/sagemaker-scikit-learn:1.2-1-cpu-py3"
    )
    for name in ("Train", "Evaluate", "RegisterModel", "CreateModel"):
        assert pipeline.step(name).image_uri == f"{registry}/sagemaker-xgboost:1.7-1"


def test_an_unknown_region_is_a_clear_error():
    with pytest.raises(
        ValueError, match=r"^region 'mars-north-1' has no known SageMaker framework"
    ):
        reference_pipeline("mars-north-1", input_data_uri=INPUT)


def test_the_job_scripts_parse_on_the_containers_python_3_8(pipeline):
    code = local_code_paths(pipeline)
    for step in pipeline.steps:
        if isinstance(step, ProcessingStep):
            source = (code[step.code] / step.entry_point).read_text()
            ast.parse(source, feature_version=(3, 8))
