"""The reference pipeline: a customer-review sentiment classifier.

``Preprocess`` (scikit-learn image) hashes raw reviews into features and splits them;
``Train`` fits the built-in XGBoost algorithm; ``Evaluate`` (XGBoost image, which can load the
model) writes ``evaluation.json``; ``CheckAccuracy`` compares its accuracy with the
``AccuracyThreshold`` parameter. Above it, ``RegisterModel`` adds the model to the registry
(pending manual approval by default) and ``CreateModel`` + ``BatchTransform`` score the test
split; below it, ``AccuracyTooLow`` fails the execution with the measured accuracy.

With a flow definition, people review the model before it is used: above the threshold,
``Review`` shows them the evaluation report and metrics in Amazon A2I, and ``CheckReview``
registers and uses the model only when they approve it; otherwise ``ReviewRejected`` fails
the execution.
"""

from __future__ import annotations

from pathlib import Path

from mlpipes_constructs.images import (
    SKLEARN_REPOSITORY,
    XGBOOST_REPOSITORY,
    framework_image_uri,
)
from mlpipes_constructs.spec import (
    ApprovalStatus,
    Comparison,
    ComparisonOperator,
    ConditionStep,
    CreateModelStep,
    FailStep,
    HumanReviewStep,
    Join,
    JsonValue,
    ModelArtifacts,
    ModelName,
    Parameter,
    ParameterRef,
    Pipeline,
    ProcessingInput,
    ProcessingOutput,
    ProcessingStep,
    PropertyFile,
    RegisterModelStep,
    ReviewMetricValue,
    ReviewOutcome,
    SplitType,
    Step,
    StepOutput,
    TrainingChannel,
    TrainingStep,
    TransformStep,
)

SKLEARN_IMAGE_TAG = "1.2-1-cpu-py3"
XGBOOST_IMAGE_TAG = "1.7-1"
#: Directory of the job scripts, relative to this package (the pipeline's base directory).
SCRIPTS_DIRECTORY = "scripts"
PACKAGE_DIRECTORY = Path(__file__).parent

#: Where the evaluation report holds the accuracy the gate compares.
ACCURACY_JSON_PATH = "metrics.accuracy.value"
#: Hyperparameters of the built-in XGBoost algorithm (passed as strings, as SageMaker does).
XGBOOST_HYPERPARAMETERS = {
    "objective": "binary:logistic",
    "eval_metric": "auc",
    "num_round": "60",
    "max_depth": "4",
    "eta": "0.3",
    "min_child_weight": "1",
    "subsample": "0.9",
    "seed": "42",
}

_PROCESSING = "/opt/ml/processing"
_CSV = "text/csv"


def reference_pipeline(
    region: str = "us-east-1",
    *,
    input_data_uri: str,
    name: str = "mlpipes-review-classifier",
    model_package_group_name: str = "mlpipes-review-classifier",
    accuracy_threshold: float = 0.7,
    instance_type: str = "ml.m5.xlarge",
    human_review_flow_definition_arn: str | None = None,
) -> Pipeline:
    """The reference review-classifier pipeline, with AWS images for ``region``.

    Args:
        region: AWS region whose SageMaker scikit-learn and XGBoost images the jobs use.
            Default: ``us-east-1``.
        input_data_uri: S3 location of the raw reviews: CSV files with the columns
            ``review_text`` and ``star_rating`` (see :mod:`.sample_data`). It becomes the
            default of the ``InputDataUri`` parameter.
        name: Pipeline name. Default: ``mlpipes-review-classifier``.
        model_package_group_name: Model registry group. Default: ``mlpipes-review-classifier``.
        accuracy_threshold: Default of the ``AccuracyThreshold`` parameter: the least test
            accuracy a model needs to be registered. Default: 0.7.
        instance_type: Default of the ``ProcessingInstanceType`` and ``TrainingInstanceType``
            parameters, and the transform instance type. Default: ``ml.m5.xlarge``.
        human_review_flow_definition_arn: The A2I flow definition people review the model
            with before it is registered; the default of the ``HumanReviewFlowDefinitionArn``
            parameter. Default: no human review.

    Raises:
        ValueError: ``region`` has no known SageMaker framework image registry.
    """
    sklearn_image = framework_image_uri(SKLEARN_REPOSITORY, SKLEARN_IMAGE_TAG, region)
    xgboost_image = framework_image_uri(XGBOOST_REPOSITORY, XGBOOST_IMAGE_TAG, region)
    accuracy = JsonValue("Evaluate", "EvaluationReport", ACCURACY_JSON_PATH)
    threshold = ParameterRef("AccuracyThreshold")
    use_model = ("RegisterModel", "CreateModel")
    review: tuple[Step, ...] = ()
    review_parameters: tuple[Parameter, ...] = ()
    if human_review_flow_definition_arn is not None:
        review = human_review_steps(model_package_group_name, then=use_model)
        review_parameters = (
            Parameter.string(
                "HumanReviewFlowDefinitionArn",
                human_review_flow_definition_arn,
                "A2I flow definition the model is reviewed with",
            ),
        )

    return Pipeline(
        name=name,
        description="Classifies customer reviews as positive (4 stars or more) or not.",
        base_directory=str(PACKAGE_DIRECTORY),
        parameters=(
            Parameter.string("InputDataUri", input_data_uri, "S3 location of the raw reviews"),
            Parameter.string("ProcessingInstanceType", instance_type),
            Parameter.string("TrainingInstanceType", instance_type),
            Parameter.float(
                "AccuracyThreshold", accuracy_threshold, "Least test accuracy to register"
            ),
            Parameter.string("ModelApprovalStatus", ApprovalStatus.PENDING_MANUAL_APPROVAL.value),
            *review_parameters,
        ),
        steps=(
            ProcessingStep(
                name="Preprocess",
                description="Hash review texts into features; split train/validation/test.",
                image_uri=sklearn_image,
                code=SCRIPTS_DIRECTORY,
                entry_point="preprocess.py",
                instance_type=ParameterRef("ProcessingInstanceType"),
                inputs=(
                    ProcessingInput(
                        name="raw",
                        source=ParameterRef("InputDataUri"),
                        destination=f"{_PROCESSING}/input/raw",
                    ),
                ),
                outputs=tuple(
                    ProcessingOutput(name=split, source=f"{_PROCESSING}/output/{split}")
                    for split in ("train", "validation", "test", "transform")
                ),
            ),
            TrainingStep(
                name="Train",
                description="Train a binary classifier with the built-in XGBoost algorithm.",
                image_uri=xgboost_image,
                instance_type=ParameterRef("TrainingInstanceType"),
                hyperparameters=XGBOOST_HYPERPARAMETERS,
                channels=(
                    TrainingChannel(
                        name="train",
                        source=StepOutput("Preprocess", "train"),
                        content_type=_CSV,
                    ),
                    TrainingChannel(
                        name="validation",
                        source=StepOutput("Preprocess", "validation"),
                        content_type=_CSV,
                    ),
                ),
            ),
            ProcessingStep(
                name="Evaluate",
                description="Score the model on the test split; write evaluation.json.",
                # The XGBoost image, because loading the model needs the xgboost library.
                image_uri=xgboost_image,
                code=SCRIPTS_DIRECTORY,
                entry_point="evaluate.py",
                # For the MLflow record: where the model is and how it was trained. One
                # argument per hyperparameter, as each ContainerArguments item is limited to
                # 256 characters.
                arguments=(
                    "--model-uri",
                    ModelArtifacts("Train"),
                    "--training-step",
                    "Train",
                    *(
                        item
                        for name, value in XGBOOST_HYPERPARAMETERS.items()
                        for item in ("--hyperparameter", f"{name}={value}")
                    ),
                ),
                instance_type=ParameterRef("ProcessingInstanceType"),
                inputs=(
                    ProcessingInput(
                        name="model",
                        source=ModelArtifacts("Train"),
                        destination=f"{_PROCESSING}/input/model",
                    ),
                    ProcessingInput(
                        name="test",
                        source=StepOutput("Preprocess", "test"),
                        destination=f"{_PROCESSING}/input/test",
                    ),
                ),
                outputs=(
                    ProcessingOutput(name="evaluation", source=f"{_PROCESSING}/output/evaluation"),
                ),
                property_files=(
                    PropertyFile(
                        name="EvaluationReport",
                        output_name="evaluation",
                        path="evaluation.json",
                    ),
                ),
            ),
            ConditionStep(
                name="CheckAccuracy",
                description="Register and use the model only if it is accurate enough.",
                condition=Comparison(accuracy, ComparisonOperator.GREATER_THAN_OR_EQUAL, threshold),
                if_steps=(review[0].name,) if review else use_model,
                else_steps=("AccuracyTooLow",),
            ),
            *review,
            RegisterModelStep(
                name="RegisterModel",
                model=ModelArtifacts("Train"),
                model_package_group_name=model_package_group_name,
                image_uri=xgboost_image,
                content_types=(_CSV,),
                response_types=(_CSV,),
                inference_instance_types=("ml.m5.large", "ml.m5.xlarge"),
                transform_instance_types=(instance_type,),
                approval_status=ParameterRef("ModelApprovalStatus"),
                metrics_report=StepOutput("Evaluate", "evaluation", path="evaluation.json"),
            ),
            CreateModelStep(
                name="CreateModel",
                model=ModelArtifacts("Train"),
                image_uri=xgboost_image,
            ),
            TransformStep(
                name="BatchTransform",
                description="Score the test split's features with the new model.",
                model=ModelName("CreateModel"),
                input_data=StepOutput("Preprocess", "transform"),
                content_type=_CSV,
                split_type=SplitType.LINE,
                instance_type=instance_type,
            ),
            FailStep(
                name="AccuracyTooLow",
                error_message=Join(
                    ("Model accuracy ", accuracy, " is below the threshold ", threshold, ".")
                ),
            ),
        ),
    )


def human_review_steps(model_name: str, *, then: tuple[str, ...]) -> tuple[Step, ...]:
    """``Review`` (A2I, with the evaluation report and metrics), ``CheckReview`` (run ``then``
    when approved) and ``ReviewRejected``."""
    metrics: dict[str, ReviewMetricValue] = {
        name: JsonValue("Evaluate", "EvaluationReport", f"metrics.{name}.value")
        for name in ("accuracy", "precision", "recall", "f1")
    }
    metrics["accuracy threshold"] = ParameterRef("AccuracyThreshold")
    return (
        HumanReviewStep(
            name="Review",
            description="People check the evaluation before the model is registered.",
            flow_definition_arn=ParameterRef("HumanReviewFlowDefinitionArn"),
            report=StepOutput("Evaluate", "evaluation", path="evaluation.json"),
            metrics=metrics,
            inputs={"model_name": model_name, "model_artifacts": ModelArtifacts("Train")},
        ),
        ConditionStep(
            name="CheckReview",
            description="Register and use the model only if the reviewers approved it.",
            condition=Comparison(
                ReviewOutcome("Review"), ComparisonOperator.EQUAL, ReviewOutcome.APPROVED
            ),
            if_steps=then,
            else_steps=("ReviewRejected",),
        ),
        FailStep(name="ReviewRejected", error_message="The reviewers rejected the model."),
    )
