"""The compiled SageMaker pipeline definitions, checked step by step against the sagemaker SDK.

The same pipelines are built with the real sagemaker SDK 3.x (``Pipeline.definition()``, offline:
a default bucket in moto's S3, code already on S3, dummy credentials, telemetry off) and compared
with ours: step names and nesting, types, dependencies and every argument. What differs on
purpose is listed below, each with the reason; everything else must be equal.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from unittest import mock

import pytest

from mlpipes_constructs.compile import JobPlacement
from mlpipes_constructs.compile.job_code import processing_entrypoint
from mlpipes_constructs.reference import XGBOOST_HYPERPARAMETERS, reference_pipeline
from mlpipes_constructs.reference.pipeline import ACCURACY_JSON_PATH
from mlpipes_constructs.sagemaker.compiler import compile_pipeline_definition
from mlpipes_constructs.spec import (
    And,
    CategoricalRange,
    Comparison,
    ComparisonOperator,
    ConditionStep,
    ContinuousRange,
    CreateModelStep,
    EndpointStep,
    FailStep,
    IntegerRange,
    Join,
    JsonValue,
    MetricDefinition,
    ModelArtifacts,
    ModelName,
    ObjectiveType,
    Or,
    Parameter,
    ParameterRef,
    Pipeline,
    ProcessingOutput,
    ProcessingStep,
    PropertyFile,
    ScalingType,
    StepOutput,
    TrainingChannel,
    TrainingMetric,
    TrainingStep,
    TuningStep,
    TuningStrategy,
)

pytestmark = pytest.mark.integration

REGION = "us-east-1"
BUCKET = "oracle-bucket"
ROLE_ARN = "arn:aws:iam::123456789012:role/JobRole"
KMS_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
NETWORK = JobPlacement(subnet_ids=("subnet-a", "subnet-b"), security_group_ids=("sg-1",))
#: Our code zip for the spec's ``scripts`` directory; the SDK instead gets one script per step.
CODE_ZIP_URI = f"s3://{BUCKET}/assets/scripts.zip"
SDK_SCRIPT_PREFIX = f"s3://{BUCKET}/code"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
CSV = "text/csv"
ONE_DAY_SECONDS = 86_400

# --- Deliberate differences ---------------------------------------------------------------------
#
# Keys of the SDK's definition we do not write, and why.
SDK_ONLY_TOP_LEVEL_KEYS = {
    # The SDK's default makes every execution create a SageMaker Experiments experiment and
    # trial: resources outside the pipeline, needing more permissions. Tracking is MLflow's job.
    "PipelineExperimentConfig",
    # Always written by the SDK, as null when no MLflow config is given.
    "MlflowConfig",
}
# (step type, key path) of arguments whose values differ on purpose. A path element that is a
# string in a list selects the item with that InputName. test_deliberate_differences checks both
# sides' values, so this list cannot hide anything else.
DELIBERATE_ARGUMENT_DIFFERENCES: dict[tuple[str, tuple[str | int, ...]], str] = {
    ("Processing", ("AppSpecification", "ContainerEntrypoint")): (
        "the code is the zip of the step's code directory, unpacked and run by "
        "processing_entrypoint(); the SDK runs one uploaded script with `python3 <script>`"
    ),
    ("Processing", ("ProcessingInputs", "code", "S3Input", "S3Uri")): (
        "the code input downloads the directory's zip asset; the SDK's downloads one script"
    ),
    ("RegisterModel", ("InferenceSpecification", "Containers", 0, "Environment")): (
        "ModelBuilder adds its script-mode serving variables (SAGEMAKER_PROGRAM='' ...), which "
        "mean nothing to a plain inference image; the spec gives registered models none"
    ),
    ("RegisterModel", ("ModelMetrics", "Bias")): "an empty placeholder ModelBuilder writes",
    ("RegisterModel", ("ModelMetrics", "Explainability")): "an empty placeholder, as above",
    ("RegisterModel", ("SkipModelValidation",)): "ModelBuilder writes the service default 'None'",
    ("Endpoint", ("Tags",)): (
        "the SDK's create_endpoint always writes a Tags list, empty without tags; an empty list "
        "tags nothing"
    ),
}
# Where the spec's defaults differ from the SDK's, the SDK is given our default explicitly, so the
# rest of those arguments can still be compared (search for these names below):
# - TRAINING_OUTPUT_PATH: ModelTrainer writes to s3://<bucket>/<base job name>, shared by every
#   execution; our training output, like the SDK's processing and transform defaults, is
#   <artifact root>/<execution id>/<step>.
# - ONE_DAY_SECONDS: ModelTrainer stops training after 1 hour by default; the spec's default is
#   the service's 1 day.
# - CONFIG_NAME: an endpoint configuration is named <pipeline>-<step>-<execution id>, a new one
#   per execution; the SDK's create_endpoint_config takes the name it is given.
# - to_string(): HyperParameters and ContainerArguments are strings, so a non-string parameter is
#   passed as the SDK's `parameter.to_string()` join (as its HyperparameterTuner does).


@dataclass(frozen=True)
class Definitions:
    """One pipeline's definition from the SDK and from our compiler."""

    sdk: dict[str, Any]
    ours: dict[str, Any]


# --- The pipelines, as specs -------------------------------------------------------------------


def reference_spec() -> Pipeline:
    return reference_pipeline(REGION, input_data_uri=f"s3://{BUCKET}/reviews/")


def extras_spec() -> Pipeline:
    """What the reference pipeline leaves out: tuning, metrics, nesting, options, depends_on, and
    an endpoint in a branch."""
    auc = TrainingMetric("Train", "validation:auc")
    mode = JsonValue("Prepare", "Stats", "mode")
    return Pipeline(
        name="extras",
        parameters=(
            Parameter.integer("Epochs", 10),
            Parameter.string("InstanceType", "ml.m5.xlarge"),
            Parameter.float("MinAuc", 0.8),
        ),
        steps=(
            ProcessingStep(
                name="Prepare",
                display_name="Prepare data",
                image_uri=SKLEARN_IMAGE,
                code="scripts",
                entry_point="prepare.py",
                instance_type=ParameterRef("InstanceType"),
                instance_count=2,
                volume_size_gb=50,
                arguments=("--epochs", ParameterRef("Epochs"), "--mode", "fast"),
                outputs=(
                    ProcessingOutput(
                        name="data",
                        source="/opt/ml/processing/output/data",
                        destination=f"s3://{BUCKET}/prepared",
                    ),
                    ProcessingOutput(name="report", source="/opt/ml/processing/output/report"),
                ),
                property_files=(PropertyFile(name="Stats", output_name="report", path="s.json"),),
                environment={"B": "2", "A": "1"},
                max_runtime_seconds=600,
            ),
            TuningStep(
                name="Tune",
                image_uri=XGBOOST_IMAGE,
                instance_type=ParameterRef("InstanceType"),
                hyperparameters={
                    "objective": "binary:logistic",
                    "num_round": ParameterRef("Epochs"),
                },
                channels=(
                    TrainingChannel(
                        name="train", source=StepOutput("Prepare", "data"), content_type=CSV
                    ),
                ),
                output_path=f"s3://{BUCKET}/tuning",
                metric_definitions=(
                    MetricDefinition(name="validation:auc", regex="auc=([.0-9]+)"),
                ),
                parameter_ranges=(
                    ContinuousRange(
                        name="eta", min_value=0.1, max_value=0.5, scaling=ScalingType.LINEAR
                    ),
                    IntegerRange(name="max_depth", min_value=3, max_value=9),
                    CategoricalRange(name="booster", values=("gbtree", "dart")),
                ),
                objective_metric="validation:auc",
                objective_type=ObjectiveType.MAXIMIZE,
                strategy=TuningStrategy.RANDOM,
                max_jobs=4,
                max_parallel_jobs=2,
            ),
            TrainingStep(
                name="Train",
                # "Tune" is not referenced; "Prepare" is, and stays listed as the SDK keeps it.
                depends_on=("Tune", "Prepare"),
                image_uri=XGBOOST_IMAGE,
                instance_type="ml.m5.large",
                hyperparameters={"num_round": ParameterRef("Epochs"), "objective": "reg:linear"},
                channels=(TrainingChannel(name="train", source=StepOutput("Prepare", "data")),),
                metric_definitions=(
                    MetricDefinition(name="validation:auc", regex="auc=([.0-9]+)"),
                ),
                max_runtime_seconds=7200,
            ),
            ConditionStep(
                name="Gate",
                condition=And(
                    (
                        Or(
                            (
                                Comparison(
                                    auc,
                                    ComparisonOperator.GREATER_THAN_OR_EQUAL,
                                    ParameterRef("MinAuc"),
                                ),
                                Comparison(mode, ComparisonOperator.NOT_EQUAL, "skip"),
                            )
                        ),
                        Comparison(ParameterRef("Epochs"), ComparisonOperator.LESS_THAN, 100),
                    )
                ),
                if_steps=("BestModel", "Deploy", "CheckEpochs"),
                else_steps=("Stop",),
            ),
            CreateModelStep(
                name="BestModel",
                model=ModelArtifacts("Tune"),
                image_uri=XGBOOST_IMAGE,
                environment={"MODEL_SERVER_WORKERS": "2"},
            ),
            # No endpoint name: the compiler derives "extras-deploy".
            EndpointStep(
                name="Deploy",
                model=ModelName("BestModel"),
                instance_type=ParameterRef("InstanceType"),
            ),
            ConditionStep(
                name="CheckEpochs",
                condition=Comparison(ParameterRef("Epochs"), ComparisonOperator.GREATER_THAN, 5),
                else_steps=("TooFewEpochs",),
            ),
            FailStep(name="TooFewEpochs", error_message="too few epochs"),
            FailStep(
                name="Stop",
                error_message=Join(("AUC ", auc, " is below ", ParameterRef("MinAuc"))),
            ),
        ),
    )


def serving_spec() -> Pipeline:
    """Train, create a model and deploy it to a named endpoint, with a KMS key."""
    return Pipeline(
        name="serving",
        parameters=(Parameter.integer("EndpointInstances", 2),),
        steps=(
            TrainingStep(
                name="Train",
                image_uri=XGBOOST_IMAGE,
                instance_type="ml.m5.large",
                hyperparameters={"objective": "binary:logistic", "num_round": "10"},
                channels=(TrainingChannel(name="train", source=f"s3://{BUCKET}/serving/train/"),),
            ),
            CreateModelStep(name="Model", model=ModelArtifacts("Train"), image_uri=XGBOOST_IMAGE),
            EndpointStep(
                name="Deploy",
                display_name="Deploy the model",
                description="Serve the trained model",
                depends_on=("Train",),
                model=ModelName("Model"),
                instance_type="ml.m5.large",
                initial_instance_count=ParameterRef("EndpointInstances"),
                endpoint_name="reviews-live",
            ),
        ),
    )


# --- The same pipelines, built with the SDK ------------------------------------------------------


def build_sdk_definitions() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(reference, extras, serving) definitions from the SDK, with no call leaving this machine."""
    import boto3
    from moto import mock_aws

    offline_environment = {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "SAGEMAKER_VALIDATE_ROLE": "false",
    }
    # The session checks its default bucket exists: moto's S3 answers, and mock_aws keeps every
    # other AWS call off the network too.
    with mock.patch.dict(os.environ, offline_environment), mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        sdk = _Sdk()
        return sdk.reference(), sdk.extras(), sdk.serving()


class _Sdk:
    """Builds the pipelines with the SDK's own classes (imported here: a slow import)."""

    def __init__(self) -> None:
        import boto3
        from sagemaker.core.workflow.pipeline_context import PipelineSession

        no_telemetry = {
            "SchemaVersion": "1.0",
            "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
        }
        self.session = PipelineSession(
            boto_session=boto3.Session(region_name=REGION),
            default_bucket=BUCKET,
            sagemaker_config=no_telemetry,
        )

    # Small helpers over the SDK's classes.

    def processor(self, image: str, instance_type: Any, **options: Any) -> Any:
        from sagemaker.core.processing import ScriptProcessor

        return ScriptProcessor(
            role=ROLE_ARN,
            image_uri=image,
            command=["python3"],
            instance_type=instance_type,
            sagemaker_session=self.session,
            **{"instance_count": 1, **options},
        )

    @staticmethod
    def processing_input(name: str, source: Any, destination: str) -> Any:
        from sagemaker.core.processing import ProcessingInput
        from sagemaker.core.shapes import ProcessingS3Input

        s3_input = ProcessingS3Input(s3_uri=source, local_path=destination, s3_data_type="S3Prefix")
        return ProcessingInput(input_name=name, s3_input=s3_input)

    @staticmethod
    def processing_output(name: str, source: str, destination: str | None = None) -> Any:
        from sagemaker.core.processing import ProcessingOutput
        from sagemaker.core.shapes import ProcessingS3Output

        # A local path as the S3 URI makes the SDK choose its default location.
        s3_output = ProcessingS3Output(
            local_path=source, s3_upload_mode="EndOfJob", s3_uri=destination or source
        )
        return ProcessingOutput(output_name=name, s3_output=s3_output)

    def trainer(
        self, instance_type: Any, step_name: str, pipeline_name: str, **options: Any
    ) -> Any:
        from sagemaker.core.training.configs import Compute, OutputDataConfig, StoppingCondition
        from sagemaker.core.workflow.execution_variables import ExecutionVariables
        from sagemaker.core.workflow.functions import Join as SdkJoin
        from sagemaker.train import ModelTrainer

        # TRAINING_OUTPUT_PATH: our default output path, stated explicitly (see the top).
        training_output_path = SdkJoin(
            on="/",
            values=[
                "s3:/",
                BUCKET,
                pipeline_name,
                ExecutionVariables.PIPELINE_EXECUTION_ID,
                step_name,
            ],
        )
        compute_options = options.pop("compute", {})
        output_options = options.pop("output", {})
        return ModelTrainer(
            training_image=XGBOOST_IMAGE,
            compute=Compute(
                instance_type=instance_type,
                instance_count=1,
                volume_size_in_gb=30,
                **compute_options,
            ),
            output_data_config=OutputDataConfig(
                **{
                    "s3_output_path": training_output_path,
                    "compression_type": "GZIP",
                    **output_options,
                }
            ),
            stopping_condition=StoppingCondition(
                max_runtime_in_seconds=options.pop("max_runtime", ONE_DAY_SECONDS)
            ),
            role=ROLE_ARN,
            sagemaker_session=self.session,
            **options,
        )

    def model_builder(self, model_data: Any, **options: Any) -> Any:
        from sagemaker.serve.model_builder import ModelBuilder

        return ModelBuilder(
            image_uri=XGBOOST_IMAGE,
            s3_model_data_url=model_data,
            role_arn=ROLE_ARN,
            sagemaker_session=self.session,
            **options,
        )

    def endpoint_steps(
        self,
        name: str,
        model_name: Any,
        instance_type: Any,
        *,
        config_prefix: str,
        endpoint_name: str,
        instance_count: Any = 1,
        kms_key: str | None = None,
        depends_on: list[str] | None = None,
        **endpoint_options: Any,
    ) -> list[Any]:
        """The SDK's EndpointConfigStep and EndpointStep of one spec endpoint step."""
        from sagemaker.core.helper.session_helper import production_variant
        from sagemaker.core.workflow.execution_variables import ExecutionVariables
        from sagemaker.core.workflow.functions import Join as SdkJoin
        from sagemaker.mlops.workflow.endpoint_step import EndpointConfigStep, EndpointStep

        # CONFIG_NAME: see the top.
        config_name = SdkJoin(
            on="-", values=[config_prefix, ExecutionVariables.PIPELINE_EXECUTION_ID]
        )
        variant = production_variant(
            model_name=model_name,
            instance_type=instance_type,
            initial_instance_count=instance_count,
        )
        config = EndpointConfigStep(
            name=f"{name}-Config",
            depends_on=depends_on,
            step_args=self.session.create_endpoint_config(
                name=config_name, production_variants=[variant], kms_key=kms_key
            ),
        )
        endpoint = EndpointStep(
            name=name,
            step_args=self.session.create_endpoint(
                endpoint_name=endpoint_name, config_name=config.properties.EndpointConfigName
            ),
            **endpoint_options,
        )
        return [config, endpoint]

    @staticmethod
    def output_uri(step: Any, output: str) -> Any:
        return step.properties.ProcessingOutputConfig.Outputs[output].S3Output.S3Uri

    # The pipelines.

    def reference(self) -> dict[str, Any]:
        """The reference pipeline, with the platform's KMS key and VPC."""
        from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
        from sagemaker.core.network import NetworkConfig
        from sagemaker.core.training.configs import InputData, Networking
        from sagemaker.core.transformer import Transformer
        from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo
        from sagemaker.core.workflow.functions import Join as SdkJoin
        from sagemaker.core.workflow.functions import JsonGet
        from sagemaker.core.workflow.parameters import ParameterFloat, ParameterString
        from sagemaker.core.workflow.properties import PropertyFile as SdkPropertyFile
        from sagemaker.mlops.workflow import ConditionStep as SdkConditionStep
        from sagemaker.mlops.workflow import FailStep as SdkFailStep
        from sagemaker.mlops.workflow import ModelStep
        from sagemaker.mlops.workflow import Pipeline as SdkPipeline
        from sagemaker.mlops.workflow import ProcessingStep as SdkProcessingStep
        from sagemaker.mlops.workflow import TrainingStep as SdkTrainingStep
        from sagemaker.mlops.workflow import TransformStep as SdkTransformStep

        spec = reference_spec()
        name = spec.name
        input_uri = ParameterString("InputDataUri", spec.parameter("InputDataUri").default)
        processing_type = ParameterString("ProcessingInstanceType", "ml.m5.xlarge")
        training_type = ParameterString("TrainingInstanceType", "ml.m5.xlarge")
        threshold = ParameterFloat("AccuracyThreshold", 0.7)
        approval = ParameterString("ModelApprovalStatus", "PendingManualApproval")
        secured = {
            "volume_kms_key": KMS_KEY_ARN,
            "output_kms_key": KMS_KEY_ARN,
            "network_config": NetworkConfig(
                subnets=list(NETWORK.subnet_ids),
                security_group_ids=list(NETWORK.security_group_ids),
                encrypt_inter_container_traffic=True,
            ),
        }
        processing = "/opt/ml/processing"

        preprocess = SdkProcessingStep(
            name="Preprocess",
            description=spec.step("Preprocess").description,
            step_args=self.processor(SKLEARN_IMAGE, processing_type, **secured).run(
                code=f"{SDK_SCRIPT_PREFIX}/preprocess.py",
                inputs=[self.processing_input("raw", input_uri, f"{processing}/input/raw")],
                outputs=[
                    self.processing_output(split, f"{processing}/output/{split}")
                    for split in ("train", "validation", "test", "transform")
                ],
            ),
        )
        trainer = self.trainer(
            training_type,
            "Train",
            name,
            hyperparameters=dict(XGBOOST_HYPERPARAMETERS),
            compute={"volume_kms_key_id": KMS_KEY_ARN},
            output={"kms_key_id": KMS_KEY_ARN},
            networking=Networking(
                subnets=list(NETWORK.subnet_ids),
                security_group_ids=list(NETWORK.security_group_ids),
                enable_inter_container_traffic_encryption=True,
            ),
        )
        train = SdkTrainingStep(
            name="Train",
            description=spec.step("Train").description,
            step_args=trainer.train(
                input_data_config=[
                    InputData(
                        channel_name=channel,
                        data_source=self.output_uri(preprocess, channel),
                        content_type=CSV,
                    )
                    for channel in ("train", "validation")
                ]
            ),
        )
        model_data = train.properties.ModelArtifacts.S3ModelArtifacts
        report = SdkPropertyFile(
            name="EvaluationReport", output_name="evaluation", path="evaluation.json"
        )
        evaluate = SdkProcessingStep(
            name="Evaluate",
            description=spec.step("Evaluate").description,
            property_files=[report],
            step_args=self.processor(XGBOOST_IMAGE, processing_type, **secured).run(
                code=f"{SDK_SCRIPT_PREFIX}/evaluate.py",
                inputs=[
                    self.processing_input("model", model_data, f"{processing}/input/model"),
                    self.processing_input(
                        "test", self.output_uri(preprocess, "test"), f"{processing}/input/test"
                    ),
                ],
                outputs=[self.processing_output("evaluation", f"{processing}/output/evaluation")],
                arguments=[
                    "--model-uri",
                    model_data,
                    "--training-step",
                    "Train",
                    *(
                        item
                        for name, value in XGBOOST_HYPERPARAMETERS.items()
                        for item in ("--hyperparameter", f"{name}={value}")
                    ),
                ],
            ),
        )
        accuracy = JsonGet(step_name="Evaluate", property_file=report, json_path=ACCURACY_JSON_PATH)
        register = ModelStep(
            name="RegisterModel",
            step_args=self.model_builder(model_data).register(
                model_package_group_name="mlpipes-review-classifier",
                content_types=[CSV],
                response_types=[CSV],
                inference_instances=["ml.m5.large", "ml.m5.xlarge"],
                transform_instances=["ml.m5.xlarge"],
                approval_status=approval,
                model_metrics=ModelMetrics(
                    model_statistics=MetricsSource(
                        content_type="application/json",
                        s3_uri=SdkJoin(
                            on="/",
                            values=[self.output_uri(evaluate, "evaluation"), "evaluation.json"],
                        ),
                    )
                ),
            ),
        )
        create_model = ModelStep(
            name="CreateModel",
            step_args=self.model_builder(
                model_data,
                network=Networking(
                    subnets=list(NETWORK.subnet_ids),
                    security_group_ids=list(NETWORK.security_group_ids),
                ),
            ).build(),
        )
        transform = SdkTransformStep(
            name="BatchTransform",
            description=spec.step("BatchTransform").description,
            step_args=Transformer(
                model_name=create_model.properties.ModelName,
                instance_count=1,
                instance_type="ml.m5.xlarge",
                output_kms_key=KMS_KEY_ARN,
                volume_kms_key=KMS_KEY_ARN,
                sagemaker_session=self.session,
            ).transform(
                data=self.output_uri(preprocess, "transform"), content_type=CSV, split_type="Line"
            ),
        )
        too_low = SdkFailStep(
            name="AccuracyTooLow",
            error_message=SdkJoin(
                on="",
                values=["Model accuracy ", accuracy, " is below the threshold ", threshold, "."],
            ),
        )
        check = SdkConditionStep(
            name="CheckAccuracy",
            description=spec.step("CheckAccuracy").description,
            conditions=[ConditionGreaterThanOrEqualTo(left=accuracy, right=threshold)],
            if_steps=[register, create_model],
            else_steps=[too_low],
        )
        pipeline = SdkPipeline(
            name=name,
            parameters=[input_uri, processing_type, training_type, threshold, approval],
            steps=[preprocess, train, evaluate, check, transform],
            sagemaker_session=self.session,
        )
        definition: dict[str, Any] = json.loads(pipeline.definition())
        return definition

    def extras(self) -> dict[str, Any]:
        """The extras pipeline, with no KMS key and no VPC."""
        from sagemaker.core.parameter import (
            CategoricalParameter,
            ContinuousParameter,
            IntegerParameter,
        )
        from sagemaker.core.shapes import MetricDefinition as SdkMetricDefinition
        from sagemaker.core.training.configs import InputData
        from sagemaker.core.workflow.conditions import (
            ConditionEquals,
            ConditionGreaterThan,
            ConditionGreaterThanOrEqualTo,
            ConditionLessThan,
            ConditionNot,
            ConditionOr,
        )
        from sagemaker.core.workflow.functions import Join as SdkJoin
        from sagemaker.core.workflow.functions import JsonGet
        from sagemaker.core.workflow.parameters import (
            ParameterFloat,
            ParameterInteger,
            ParameterString,
        )
        from sagemaker.core.workflow.properties import PropertyFile as SdkPropertyFile
        from sagemaker.mlops.workflow import ConditionStep as SdkConditionStep
        from sagemaker.mlops.workflow import FailStep as SdkFailStep
        from sagemaker.mlops.workflow import ModelStep
        from sagemaker.mlops.workflow import Pipeline as SdkPipeline
        from sagemaker.mlops.workflow import ProcessingStep as SdkProcessingStep
        from sagemaker.mlops.workflow import TrainingStep as SdkTrainingStep
        from sagemaker.mlops.workflow import TuningStep as SdkTuningStep
        from sagemaker.train.tuner import HyperparameterTuner

        epochs = ParameterInteger("Epochs", 10)
        instance_type = ParameterString("InstanceType", "ml.m5.xlarge")
        min_auc = ParameterFloat("MinAuc", 0.8)
        stats = SdkPropertyFile(name="Stats", output_name="report", path="s.json")
        auc_metric = [SdkMetricDefinition(name="validation:auc", regex="auc=([.0-9]+)")]

        prepare = SdkProcessingStep(
            name="Prepare",
            display_name="Prepare data",
            property_files=[stats],
            step_args=self.processor(
                SKLEARN_IMAGE,
                instance_type,
                instance_count=2,
                volume_size_in_gb=50,
                env={"B": "2", "A": "1"},
                max_runtime_in_seconds=600,
            ).run(
                code=f"{SDK_SCRIPT_PREFIX}/prepare.py",
                outputs=[
                    self.processing_output(
                        "data", "/opt/ml/processing/output/data", f"s3://{BUCKET}/prepared"
                    ),
                    self.processing_output("report", "/opt/ml/processing/output/report"),
                ],
                # to_string(): see the top.
                arguments=["--epochs", epochs.to_string(), "--mode", "fast"],
            ),
        )
        train_data = InputData(
            channel_name="train", data_source=self.output_uri(prepare, "data"), content_type=CSV
        )
        tuner = HyperparameterTuner(
            self.trainer(
                instance_type,
                "Tune",
                "extras",
                hyperparameters={"objective": "binary:logistic", "num_round": epochs},
                output={"s3_output_path": f"s3://{BUCKET}/tuning"},
            ),
            objective_metric_name="validation:auc",
            hyperparameter_ranges={
                "eta": ContinuousParameter(0.1, 0.5, scaling_type="Linear"),
                "max_depth": IntegerParameter(3, 9),
                "booster": CategoricalParameter(["gbtree", "dart"]),
            },
            metric_definitions=[{"Name": "validation:auc", "Regex": "auc=([.0-9]+)"}],
            strategy="Random",
            objective_type="Maximize",
            max_jobs=4,
            max_parallel_jobs=2,
        )
        tune = SdkTuningStep(name="Tune", step_args=tuner.tune(inputs=[train_data]))
        train = SdkTrainingStep(
            name="Train",
            depends_on=["Tune", "Prepare"],
            step_args=self.trainer(
                "ml.m5.large",
                "Train",
                "extras",
                # to_string(): see the top.
                hyperparameters={"num_round": epochs.to_string(), "objective": "reg:linear"},
                max_runtime=7200,
            )
            .with_metric_definitions(auc_metric)
            .train(
                input_data_config=[
                    InputData(channel_name="train", data_source=self.output_uri(prepare, "data"))
                ]
            ),
        )
        auc = train.properties.FinalMetricDataList["validation:auc"].Value
        best_model = ModelStep(
            name="BestModel",
            step_args=self.model_builder(
                tune.get_top_model_s3_uri(top_k=0, s3_bucket=BUCKET, prefix="tuning"),
                env_vars={"MODEL_SERVER_WORKERS": "2"},
            ).build(),
        )
        too_few = SdkFailStep(name="TooFewEpochs", error_message="too few epochs")
        check_epochs = SdkConditionStep(
            name="CheckEpochs",
            conditions=[ConditionGreaterThan(left=epochs, right=5)],
            else_steps=[too_few],
        )
        stop = SdkFailStep(
            name="Stop",
            error_message=SdkJoin(on="", values=["AUC ", auc, " is below ", min_auc]),
        )
        mode = JsonGet(step_name="Prepare", property_file=stats, json_path="mode")
        deploy = self.endpoint_steps(
            "Deploy",
            best_model.properties.ModelName,
            instance_type,
            config_prefix="extras-deploy",
            endpoint_name="extras-deploy",
        )
        gate = SdkConditionStep(
            name="Gate",
            conditions=[
                ConditionOr(
                    [
                        ConditionGreaterThanOrEqualTo(left=auc, right=min_auc),
                        ConditionNot(ConditionEquals(left=mode, right="skip")),
                    ]
                ),
                ConditionLessThan(left=epochs, right=100),
            ],
            if_steps=[best_model, *deploy, check_epochs],
            else_steps=[stop],
        )
        pipeline = SdkPipeline(
            name="extras",
            parameters=[epochs, instance_type, min_auc],
            steps=[prepare, tune, train, gate],
            sagemaker_session=self.session,
        )
        definition: dict[str, Any] = json.loads(pipeline.definition())
        return definition

    def serving(self) -> dict[str, Any]:
        """The serving pipeline, with the KMS key and no VPC."""
        from sagemaker.core.training.configs import InputData
        from sagemaker.core.workflow.parameters import ParameterInteger
        from sagemaker.mlops.workflow import ModelStep
        from sagemaker.mlops.workflow import Pipeline as SdkPipeline
        from sagemaker.mlops.workflow import TrainingStep as SdkTrainingStep

        instances = ParameterInteger("EndpointInstances", 2)
        train = SdkTrainingStep(
            name="Train",
            step_args=self.trainer(
                "ml.m5.large",
                "Train",
                "serving",
                hyperparameters={"objective": "binary:logistic", "num_round": "10"},
                compute={"volume_kms_key_id": KMS_KEY_ARN},
                output={"kms_key_id": KMS_KEY_ARN},
            ).train(
                input_data_config=[
                    InputData(channel_name="train", data_source=f"s3://{BUCKET}/serving/train/")
                ]
            ),
        )
        model = ModelStep(
            name="Model",
            step_args=self.model_builder(train.properties.ModelArtifacts.S3ModelArtifacts).build(),
        )
        config, endpoint = self.endpoint_steps(
            "Deploy",
            model.properties.ModelName,
            "ml.m5.large",
            config_prefix="serving-deploy",
            endpoint_name="reviews-live",
            instance_count=instances,
            kms_key=KMS_KEY_ARN,
            depends_on=["Train"],
            display_name="Deploy the model",
            description="Serve the trained model",
        )
        pipeline = SdkPipeline(
            name="serving",
            parameters=[instances],
            steps=[train, model, config, endpoint],
            sagemaker_session=self.session,
        )
        definition: dict[str, Any] = json.loads(pipeline.definition())
        return definition


# --- Fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def definitions() -> dict[str, Definitions]:
    sdk_reference, sdk_extras, sdk_serving = build_sdk_definitions()
    ours_reference = compile_pipeline_definition(
        reference_spec(),
        role_arn=ROLE_ARN,
        artifact_root=f"s3://{BUCKET}/{reference_spec().name}",
        code_locations={"scripts": CODE_ZIP_URI},
        kms_key_id=KMS_KEY_ARN,
        placement=NETWORK,
    )
    ours_extras = compile_pipeline_definition(
        extras_spec(),
        role_arn=ROLE_ARN,
        artifact_root=f"s3://{BUCKET}/extras",
        code_locations={"scripts": CODE_ZIP_URI},
    )
    ours_serving = compile_pipeline_definition(
        serving_spec(),
        role_arn=ROLE_ARN,
        artifact_root=f"s3://{BUCKET}/serving",
        code_locations={},
        kms_key_id=KMS_KEY_ARN,
    )
    return {
        "reference": Definitions(sdk_reference, ours_reference),
        "extras": Definitions(sdk_extras, ours_extras),
        "serving": Definitions(sdk_serving, ours_serving),
    }


# --- Comparison helpers ------------------------------------------------------------------------


def step_tree(steps: list[dict[str, Any]]) -> list[Any]:
    """Names and types of steps, with condition branches nested: the shape of the definition."""
    tree: list[Any] = []
    for step in steps:
        entry: list[Any] = [step["Name"], step["Type"]]
        if step["Type"] == "Condition":
            entry.append(step_tree(step["Arguments"]["IfSteps"]))
            entry.append(step_tree(step["Arguments"]["ElseSteps"]))
        tree.append(entry)
    return tree


def all_steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for step in steps:
        yield step
        if step["Type"] == "Condition":
            yield from all_steps(step["Arguments"]["IfSteps"])
            yield from all_steps(step["Arguments"]["ElseSteps"])


def steps_by_name(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["Name"]: step for step in all_steps(definition["Steps"])}


def own_arguments(step: dict[str, Any]) -> dict[str, Any]:
    """A step's arguments without the steps nested in its branches."""
    return {
        key: value
        for key, value in step["Arguments"].items()
        if key not in ("IfSteps", "ElseSteps")
    }


_STEP_PROPERTY = re.compile(r"^Steps\.([A-Za-z0-9-]+)\.")


def referenced_steps(value: Any) -> set[str]:
    """Steps whose properties an expression reads: the dependencies references imply."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Get" and isinstance(item, str) and (match := _STEP_PROPERTY.match(item)):
                found.add(match.group(1))
            else:
                found |= referenced_steps(item)
    elif isinstance(value, list):
        for item in value:
            found |= referenced_steps(item)
    return found


def normalized(value: Any) -> Any:
    """Merge adjacent constants of ``/`` joins: ``"s3:/", "bucket", "p"`` == ``"s3://bucket/p"``.

    Both evaluate to the same text at run time; the SDK builds default locations from the bucket
    and pipeline name, ours from the artifact root.
    """
    if isinstance(value, list):
        return [normalized(item) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Std:Join"} and value["Std:Join"]["On"] == "/":
        merged: list[Any] = []
        for item in value["Std:Join"]["Values"]:
            if isinstance(item, str) and merged and isinstance(merged[-1], str):
                merged[-1] = f"{merged[-1]}/{item}"
            else:
                merged.append(normalized(item))
        return {"Std:Join": {"On": "/", "Values": merged}}
    return {key: normalized(item) for key, item in value.items()}


def _container_and_key(arguments: dict[str, Any], path: tuple[str | int, ...]) -> tuple[Any, Any]:
    container: Any = arguments
    for element in path[:-1]:
        if isinstance(container, list) and isinstance(element, str):
            container = next(item for item in container if item.get("InputName") == element)
        else:
            container = container[element]
    return container, path[-1]


def value_at(arguments: dict[str, Any], path: tuple[str | int, ...]) -> Any:
    container, key = _container_and_key(arguments, path)
    return container.get(key) if isinstance(container, dict) else container[key]


def without_deliberate_differences(step: dict[str, Any]) -> dict[str, Any]:
    arguments = copy.deepcopy(own_arguments(step))
    for (step_type, path), _reason in DELIBERATE_ARGUMENT_DIFFERENCES.items():
        if step_type == step["Type"]:
            container, key = _container_and_key(arguments, path)
            container.pop(key, None)
    return arguments


REFERENCE_STEPS = (
    "Preprocess",
    "Train",
    "Evaluate",
    "CheckAccuracy",
    "RegisterModel",
    "CreateModel",
    "AccuracyTooLow",
    "BatchTransform",
)
EXTRAS_STEPS = (
    "Prepare",
    "Tune",
    "Train",
    "Gate",
    "BestModel",
    "Deploy-Config",
    "Deploy",
    "CheckEpochs",
    "TooFewEpochs",
    "Stop",
)
SERVING_STEPS = ("Train", "Model", "Deploy-Config", "Deploy")
STEPS = {"reference": REFERENCE_STEPS, "extras": EXTRAS_STEPS, "serving": SERVING_STEPS}
ALL_STEPS = [(pipeline, name) for pipeline, names in STEPS.items() for name in names]


# --- Tests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("pipeline", list(STEPS))
def test_top_level_keys_match_except_the_experiment_and_mlflow_configs(
    definitions: dict[str, Definitions], pipeline: str
) -> None:
    sdk, ours = definitions[pipeline].sdk, definitions[pipeline].ours
    assert set(sdk) - set(ours) == SDK_ONLY_TOP_LEVEL_KEYS
    assert set(ours) - set(sdk) == set()
    assert ours["Version"] == sdk["Version"] == "2020-12-01"
    assert ours["Metadata"] == sdk["Metadata"]


@pytest.mark.parametrize("pipeline", list(STEPS))
def test_parameters_match(definitions: dict[str, Definitions], pipeline: str) -> None:
    sdk, ours = definitions[pipeline].sdk, definitions[pipeline].ours
    assert ours["Parameters"] == sdk["Parameters"]


@pytest.mark.parametrize("pipeline", list(STEPS))
def test_same_steps_in_the_same_order_and_branches(
    definitions: dict[str, Definitions], pipeline: str
) -> None:
    sdk, ours = definitions[pipeline].sdk, definitions[pipeline].ours
    assert step_tree(ours["Steps"]) == step_tree(sdk["Steps"])
    assert set(steps_by_name(ours)) == set(STEPS[pipeline])


@pytest.mark.parametrize(("pipeline", "step_name"), ALL_STEPS)
def test_step_dependencies_match(
    definitions: dict[str, Definitions], pipeline: str, step_name: str
) -> None:
    sdk = steps_by_name(definitions[pipeline].sdk)[step_name]
    ours = steps_by_name(definitions[pipeline].ours)[step_name]
    assert ours.get("DependsOn") == sdk.get("DependsOn")
    assert referenced_steps(own_arguments(ours)) == referenced_steps(own_arguments(sdk))


@pytest.mark.parametrize(("pipeline", "step_name"), ALL_STEPS)
def test_step_arguments_match_key_by_key(
    definitions: dict[str, Definitions], pipeline: str, step_name: str
) -> None:
    sdk_step = steps_by_name(definitions[pipeline].sdk)[step_name]
    our_step = steps_by_name(definitions[pipeline].ours)[step_name]
    sdk = normalized(without_deliberate_differences(sdk_step))
    ours = normalized(without_deliberate_differences(our_step))
    differences = {
        key: {"sdk": sdk.get(key), "ours": ours.get(key)}
        for key in sorted(set(sdk) | set(ours))
        if sdk.get(key) != ours.get(key)
    }
    assert differences == {}


@pytest.mark.parametrize(("pipeline", "step_name"), ALL_STEPS)
def test_step_attributes_match(
    definitions: dict[str, Definitions], pipeline: str, step_name: str
) -> None:
    sdk = steps_by_name(definitions[pipeline].sdk)[step_name]
    ours = steps_by_name(definitions[pipeline].ours)[step_name]
    for key in ("Type", "DisplayName", "Description", "PropertyFiles"):
        assert ours.get(key) == sdk.get(key), key
    assert set(ours) == set(sdk)


def test_code_runs_from_the_directory_zip_where_the_sdk_runs_one_script(
    definitions: dict[str, Definitions],
) -> None:
    entrypoint = ("AppSpecification", "ContainerEntrypoint")
    code_uri = ("ProcessingInputs", "code", "S3Input", "S3Uri")
    for pipeline, step_name, entry_point in (
        ("reference", "Preprocess", "preprocess.py"),
        ("reference", "Evaluate", "evaluate.py"),
        ("extras", "Prepare", "prepare.py"),
    ):
        sdk = steps_by_name(definitions[pipeline].sdk)[step_name]["Arguments"]
        ours = steps_by_name(definitions[pipeline].ours)[step_name]["Arguments"]
        assert value_at(sdk, entrypoint) == [
            "python3",
            f"/opt/ml/processing/input/code/{entry_point}",
        ]
        assert value_at(ours, entrypoint) == processing_entrypoint(entry_point)
        assert value_at(sdk, code_uri) == f"{SDK_SCRIPT_PREFIX}/{entry_point}"
        assert value_at(ours, code_uri) == CODE_ZIP_URI


def test_register_model_differences_are_only_sdk_placeholders(
    definitions: dict[str, Definitions],
) -> None:
    sdk = steps_by_name(definitions["reference"].sdk)["RegisterModel"]["Arguments"]
    ours = steps_by_name(definitions["reference"].ours)["RegisterModel"]["Arguments"]
    sdk_environment = value_at(sdk, ("InferenceSpecification", "Containers", 0, "Environment"))
    assert set(sdk_environment) == {
        "SAGEMAKER_PROGRAM",
        "SAGEMAKER_SUBMIT_DIRECTORY",
        "SAGEMAKER_CONTAINER_LOG_LEVEL",
        "SAGEMAKER_REGION",
    }
    assert sdk_environment["SAGEMAKER_PROGRAM"] == ""
    assert "Environment" not in ours["InferenceSpecification"]["Containers"][0]
    assert sdk["ModelMetrics"]["Bias"] == sdk["ModelMetrics"]["Explainability"] == {}
    assert set(ours["ModelMetrics"]) == {"ModelQuality"}
    assert sdk["SkipModelValidation"] == "None"
    assert "SkipModelValidation" not in ours


def test_every_listed_difference_is_a_real_difference(
    definitions: dict[str, Definitions],
) -> None:
    """A listed difference that no longer differs must be removed from the list."""
    for (step_type, path), reason in DELIBERATE_ARGUMENT_DIFFERENCES.items():
        pairs = [
            (sdk_step, steps_by_name(d.ours)[name])
            for d in definitions.values()
            for name, sdk_step in steps_by_name(d.sdk).items()
            if sdk_step["Type"] == step_type
        ]
        assert pairs, reason
        assert any(
            value_at(sdk["Arguments"], path) != value_at(ours["Arguments"], path)
            for sdk, ours in pairs
        ), reason
