"""The SageMaker Pipelines compiler on plain specs: each step kind's JSON, references, options."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from mlpipes_constructs.compile import JobPlacement, UnsupportedStepError
from mlpipes_constructs.compile.job_code import processing_entrypoint
from mlpipes_constructs.reference import reference_pipeline
from mlpipes_constructs.sagemaker.compiler import (
    compile_pipeline_definition,
    definition_s3_uris,
    definition_to_json,
    pipeline_step_types,
)
from mlpipes_constructs.spec import (
    And,
    ApprovalStatus,
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
    Not,
    ObjectiveType,
    Or,
    Parameter,
    ParameterRef,
    Pipeline,
    ProcessingInput,
    ProcessingOutput,
    ProcessingStep,
    PropertyFile,
    RegisterModelStep,
    ScalingType,
    SplitType,
    Step,
    StepOutput,
    TrainingChannel,
    TrainingMetric,
    TrainingStep,
    TransformStep,
    TuningStep,
    TuningStrategy,
)

ROLE = "${Token[JobRole.Arn]}"
ROOT = "s3://artifacts/pipelines/demo"
CODE_URI = "s3://assets/code.zip"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/image:1"
KMS = "arn:aws:kms:us-east-1:123456789012:key/k"
NETWORK = JobPlacement(subnet_ids=("subnet-1", "subnet-2"), security_group_ids=("sg-1",))
EXECUTION_ID = {"Get": "Execution.PipelineExecutionId"}
PARAMETERS = (
    Parameter.string("InstanceType", "ml.m5.xlarge"),
    Parameter.integer("Epochs", 5),
    Parameter.float("Threshold", 1),
    Parameter.boolean("Fast", True),
    Parameter.string("Status", "Approved"),
)


def processing(name: str = "Prep", **options: Any) -> ProcessingStep:
    settings: dict[str, Any] = {
        "image_uri": IMAGE,
        "code": "src",
        "entry_point": "prep.py",
        "instance_type": "ml.m5.large",
        "outputs": (ProcessingOutput(name="out", source="/opt/ml/processing/output/out"),),
        **options,
    }
    return ProcessingStep(name=name, **settings)


def training(name: str = "Train", **options: Any) -> TrainingStep:
    settings: dict[str, Any] = {
        "image_uri": IMAGE,
        "instance_type": "ml.m5.large",
        "channels": (TrainingChannel(name="train", source=StepOutput("Prep", "out")),),
        **options,
    }
    return TrainingStep(name=name, **settings)


def pipeline_of(*steps: Step) -> Pipeline:
    return Pipeline(name="demo", parameters=PARAMETERS, steps=steps)


def compile_steps(*steps: Step, **options: Any) -> dict[str, Any]:
    return compile_pipeline_definition(
        pipeline_of(*steps),
        role_arn=ROLE,
        artifact_root=ROOT,
        code_locations={"src": CODE_URI},
        **options,
    )


def step_named(definition: dict[str, Any], name: str) -> dict[str, Any]:
    pending = list(definition["Steps"])
    while pending:
        step = pending.pop(0)
        if step["Name"] == name:
            return step
        if step["Type"] == "Condition":
            pending += step["Arguments"]["IfSteps"] + step["Arguments"]["ElseSteps"]
    raise KeyError(name)


def arguments_of(name: str, *steps: Step, **options: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = step_named(compile_steps(*steps, **options), name)["Arguments"]
    return arguments


def join(separator: str, *values: Any) -> dict[str, Any]:
    return {"Std:Join": {"On": separator, "Values": list(values)}}


# --- Pipeline -----------------------------------------------------------------------------------


def test_definition_has_the_schema_version_and_typed_parameters() -> None:
    definition = compile_steps(processing())
    assert list(definition) == ["Version", "Metadata", "Parameters", "Steps"]
    assert definition["Version"] == "2020-12-01"
    assert definition["Parameters"] == [
        {"Name": "InstanceType", "Type": "String", "DefaultValue": "ml.m5.xlarge"},
        {"Name": "Epochs", "Type": "Integer", "DefaultValue": 5},
        {"Name": "Threshold", "Type": "Float", "DefaultValue": 1.0},
        {"Name": "Fast", "Type": "Boolean", "DefaultValue": True},
        {"Name": "Status", "Type": "String", "DefaultValue": "Approved"},
    ]
    assert isinstance(definition["Parameters"][2]["DefaultValue"], float)


def test_reference_pipeline_nests_branches_in_the_condition_step() -> None:
    definition = compile_pipeline_definition(
        reference_pipeline(input_data_uri="s3://data/reviews/"),
        role_arn=ROLE,
        artifact_root=ROOT,
        code_locations={"scripts": CODE_URI},
    )
    top_level = [(step["Name"], step["Type"]) for step in definition["Steps"]]
    assert top_level == [
        ("Preprocess", "Processing"),
        ("Train", "Training"),
        ("Evaluate", "Processing"),
        ("CheckAccuracy", "Condition"),
        ("BatchTransform", "Transform"),
    ]
    check = definition["Steps"][3]["Arguments"]
    assert [step["Name"] for step in check["IfSteps"]] == ["RegisterModel", "CreateModel"]
    assert [step["Name"] for step in check["ElseSteps"]] == ["AccuracyTooLow"]
    assert pipeline_step_types(definition) == {
        "Processing",
        "Training",
        "Condition",
        "RegisterModel",
        "Model",
        "Transform",
        "Fail",
    }


# --- Processing ---------------------------------------------------------------------------------


def test_processing_step_runs_its_code_zip_with_arguments_and_default_outputs() -> None:
    step = processing(
        description="Prepare",
        display_name="Prepare data",
        instance_count=ParameterRef("Epochs"),
        volume_size_gb=50,
        arguments=(
            "--epochs",
            ParameterRef("Epochs"),
            "--rate",
            0.5,
            3,
            ParameterRef("InstanceType"),
        ),
        inputs=(
            ProcessingInput(
                name="raw", source="s3://data/raw/", destination="/opt/ml/processing/input/raw"
            ),
        ),
        outputs=(
            ProcessingOutput(name="out", source="/opt/ml/processing/output/out"),
            ProcessingOutput(
                name="kept", source="/opt/ml/processing/output/kept", destination="s3://keep/here"
            ),
        ),
        property_files=(PropertyFile(name="Report", output_name="out", path="report.json"),),
        environment={"Z": "1", "A": "2"},
        max_runtime_seconds=900,
    )
    request = compile_steps(step)["Steps"][0]
    assert request["Name"] == "Prep"
    assert request["Type"] == "Processing"
    assert request["DisplayName"] == "Prepare data"
    assert request["Description"] == "Prepare"
    assert request["PropertyFiles"] == [
        {"PropertyFileName": "Report", "OutputName": "out", "FilePath": "report.json"}
    ]
    assert "DependsOn" not in request
    s3_input = {
        "S3DataType": "S3Prefix",
        "S3InputMode": "File",
        "S3DataDistributionType": "FullyReplicated",
        "S3CompressionType": "None",
    }
    assert request["Arguments"] == {
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceType": "ml.m5.large",
                "InstanceCount": {"Get": "Parameters.Epochs"},
                "VolumeSizeInGB": 50,
            }
        },
        "AppSpecification": {
            "ImageUri": IMAGE,
            "ContainerArguments": [
                "--epochs",
                join("", {"Get": "Parameters.Epochs"}),
                "--rate",
                "0.5",
                "3",
                {"Get": "Parameters.InstanceType"},
            ],
            "ContainerEntrypoint": processing_entrypoint("prep.py"),
        },
        "RoleArn": ROLE,
        "ProcessingInputs": [
            {
                "InputName": "raw",
                "S3Input": {
                    "S3Uri": "s3://data/raw/",
                    "LocalPath": "/opt/ml/processing/input/raw",
                    **s3_input,
                },
            },
            {
                "InputName": "code",
                "S3Input": {
                    "S3Uri": CODE_URI,
                    "LocalPath": "/opt/ml/processing/input/code",
                    **s3_input,
                },
            },
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "out",
                    "S3Output": {
                        "S3Uri": join("/", ROOT, EXECUTION_ID, "Prep", "output", "out"),
                        "LocalPath": "/opt/ml/processing/output/out",
                        "S3UploadMode": "EndOfJob",
                    },
                },
                {
                    "OutputName": "kept",
                    "S3Output": {
                        "S3Uri": "s3://keep/here",
                        "LocalPath": "/opt/ml/processing/output/kept",
                        "S3UploadMode": "EndOfJob",
                    },
                },
            ]
        },
        "Environment": {"A": "2", "Z": "1"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 900},
    }


def test_processing_step_without_outputs_or_options_has_only_required_arguments() -> None:
    arguments = arguments_of("Prep", processing(outputs=()))
    assert list(arguments) == [
        "ProcessingResources",
        "AppSpecification",
        "RoleArn",
        "ProcessingInputs",
    ]
    assert "ContainerArguments" not in arguments["AppSpecification"]


# --- Training and tuning -----------------------------------------------------------------------


def test_training_step_json_with_defaults_for_output_path_and_stopping_condition() -> None:
    step = training(
        hyperparameters={
            "rate": 0.1,
            "rounds": 10,
            "verbose": True,
            "epochs": ParameterRef("Epochs"),
        },
        channels=(
            TrainingChannel(
                name="train", source=StepOutput("Prep", "out"), content_type="text/csv"
            ),
        ),
        metric_definitions=(MetricDefinition(name="auc", regex="auc=([0-9.]+)"),),
        environment={"K": "V"},
    )
    assert arguments_of("Train", processing(), step) == {
        "AlgorithmSpecification": {
            "TrainingInputMode": "File",
            "TrainingImage": IMAGE,
            "MetricDefinitions": [{"Name": "auc", "Regex": "auc=([0-9.]+)"}],
        },
        "HyperParameters": {
            "epochs": join("", {"Get": "Parameters.Epochs"}),
            "rate": "0.1",
            "rounds": "10",
            "verbose": "true",
        },
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": {
                            "Get": "Steps.Prep.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"
                        },
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "ContentType": "text/csv",
                "InputMode": "File",
            }
        ],
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "RoleArn": ROLE,
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "OutputDataConfig": {
            "S3OutputPath": join("/", ROOT, EXECUTION_ID, "Train"),
            "CompressionType": "GZIP",
        },
        "Environment": {"K": "V"},
    }


def test_spot_training_with_an_algorithm_resource() -> None:
    step = training(
        image_uri=None,
        algorithm_name="arn:aws:sagemaker:us-east-1:123456789012:algorithm/algo",
        use_spot_instances=True,
        max_wait_seconds=3600,
        output_path=ParameterRef("InstanceType"),
    )
    arguments = arguments_of("Train", processing(), step)
    assert arguments["AlgorithmSpecification"] == {
        "TrainingInputMode": "File",
        "AlgorithmName": "arn:aws:sagemaker:us-east-1:123456789012:algorithm/algo",
    }
    assert arguments["EnableManagedSpotTraining"] is True
    # Without max_runtime_seconds the runtime limit may not exceed the wait limit.
    assert arguments["StoppingCondition"] == {
        "MaxRuntimeInSeconds": 3600,
        "MaxWaitTimeInSeconds": 3600,
    }
    assert arguments["OutputDataConfig"]["S3OutputPath"] == {"Get": "Parameters.InstanceType"}


def tuning(**options: Any) -> TuningStep:
    settings: dict[str, Any] = {
        "image_uri": IMAGE,
        "instance_type": ParameterRef("InstanceType"),
        "hyperparameters": {"objective": "binary:logistic"},
        "channels": (TrainingChannel(name="train", source=StepOutput("Prep", "out")),),
        "parameter_ranges": (
            ContinuousRange(
                name="eta", min_value=0.01, max_value=0.3, scaling=ScalingType.LOGARITHMIC
            ),
            IntegerRange(name="depth", min_value=2, max_value=8),
            CategoricalRange(name="booster", values=("gbtree", "dart")),
        ),
        "objective_metric": "validation:auc",
        "objective_type": ObjectiveType.MAXIMIZE,
        "strategy": TuningStrategy.RANDOM,
        "max_jobs": 6,
        "max_parallel_jobs": 3,
        **options,
    }
    return TuningStep(name="Tune", **settings)


def test_tuning_step_json() -> None:
    arguments = arguments_of("Tune", processing(), tuning())
    assert arguments["HyperParameterTuningJobConfig"] == {
        "Strategy": "Random",
        "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 3},
        "ParameterRanges": {
            "ContinuousParameterRanges": [
                {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.3", "ScalingType": "Logarithmic"}
            ],
            "IntegerParameterRanges": [
                {"Name": "depth", "MinValue": "2", "MaxValue": "8", "ScalingType": "Auto"}
            ],
            "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}],
        },
        "TrainingJobEarlyStoppingType": "Off",
    }
    definition = arguments["TrainingJobDefinition"]
    assert definition["StaticHyperParameters"] == {"objective": "binary:logistic"}
    assert definition["AlgorithmSpecification"] == {
        "TrainingInputMode": "File",
        "TrainingImage": IMAGE,
    }
    assert "InputMode" not in definition["InputDataConfig"][0]
    assert definition["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    assert definition["OutputDataConfig"]["S3OutputPath"] == join("/", ROOT, EXECUTION_ID, "Tune")


@pytest.mark.parametrize(
    ("output_path", "prefix"),
    [
        (None, [ROOT, EXECUTION_ID, "Tune"]),
        ("s3://models/tuning/", ["s3://models/tuning"]),
        (
            Join(("s3://models", ParameterRef("InstanceType")), separator="/"),
            ["s3://models", {"Get": "Parameters.InstanceType"}],
        ),
    ],
)
def test_tuning_model_artifacts_are_the_best_jobs_model(
    output_path: Any, prefix: list[Any]
) -> None:
    create = CreateModelStep(name="Best", model=ModelArtifacts("Tune"), image_uri=IMAGE)
    arguments = arguments_of("Best", processing(), tuning(output_path=output_path), create)
    best_job = {"Get": "Steps.Tune.TrainingJobSummaries[0].TrainingJobName"}
    assert arguments["PrimaryContainer"]["ModelDataUrl"] == join(
        "/", *prefix, best_job, "output/model.tar.gz"
    )


# --- Models ------------------------------------------------------------------------------------


def register(**options: Any) -> RegisterModelStep:
    settings: dict[str, Any] = {
        "model": ModelArtifacts("Train"),
        "model_package_group_name": "group",
        "image_uri": IMAGE,
        "content_types": ("text/csv",),
        "response_types": ("application/json",),
        **options,
    }
    return RegisterModelStep(name="Register", **settings)


def test_register_model_step_json() -> None:
    step = register(
        inference_instance_types=("ml.m5.large",),
        transform_instance_types=("ml.m5.xlarge",),
        approval_status=ParameterRef("Status"),
        metrics_report=StepOutput("Prep", "out", path="metrics/evaluation.json"),
    )
    assert arguments_of("Register", processing(), training(), step) == {
        "ModelPackageGroupName": "group",
        "ModelMetrics": {
            "ModelQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": join(
                        "/",
                        {"Get": "Steps.Prep.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"},
                        "metrics/evaluation.json",
                    ),
                }
            }
        },
        "InferenceSpecification": {
            "Containers": [
                {
                    "Image": IMAGE,
                    "ModelDataUrl": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"},
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
            "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large"],
            "SupportedTransformInstanceTypes": ["ml.m5.xlarge"],
        },
        "ModelApprovalStatus": {"Get": "Parameters.Status"},
    }


def test_register_model_step_with_a_constant_status_and_no_report() -> None:
    arguments = arguments_of(
        "Register", processing(), training(), register(approval_status=ApprovalStatus.APPROVED)
    )
    assert arguments["ModelApprovalStatus"] == "Approved"
    assert "ModelMetrics" not in arguments
    assert "SupportedTransformInstanceTypes" not in arguments["InferenceSpecification"]


def test_create_model_and_transform_steps_json() -> None:
    create = CreateModelStep(
        name="Model",
        model=ModelArtifacts("Train"),
        image_uri=IMAGE,
        environment={"B": "1", "A": "2"},
    )
    transform = TransformStep(
        name="Score",
        model=ModelName("Model"),
        input_data=StepOutput("Prep", "out"),
        instance_type=ParameterRef("InstanceType"),
        instance_count=2,
        content_type="text/csv",
        split_type=SplitType.NONE,
    )
    definition = compile_steps(processing(), training(), create, transform)
    model = step_named(definition, "Model")
    assert model["Type"] == "Model"
    assert model["Arguments"] == {
        "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {
            "Image": IMAGE,
            "Environment": {"A": "2", "B": "1"},
            "ModelDataUrl": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"},
        },
    }
    assert step_named(definition, "Score")["Arguments"] == {
        "ModelName": {"Get": "Steps.Model.ModelName"},
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": {
                        "Get": "Steps.Prep.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"
                    },
                }
            },
            "ContentType": "text/csv",
            "SplitType": "None",
        },
        "TransformOutput": {"S3OutputPath": join("/", ROOT, EXECUTION_ID, "Score")},
        "TransformResources": {
            "InstanceType": {"Get": "Parameters.InstanceType"},
            "InstanceCount": 2,
        },
    }


# --- Conditions and fail -----------------------------------------------------------------------


def conditional(condition: Any, *, fail_message: Any = "failed") -> dict[str, Any]:
    steps = (
        processing(property_files=(PropertyFile(name="Report", output_name="out", path="r.json"),)),
        training(metric_definitions=(MetricDefinition(name="auc", regex="auc=(.*)"),)),
        ConditionStep(name="Check", condition=condition, else_steps=("Stop",)),
        FailStep(name="Stop", error_message=fail_message),
    )
    return compile_steps(*steps)


ACCURACY = JsonValue("Prep", "Report", "metrics.accuracy.value")
AUC = TrainingMetric("Train", "auc")
ACCURACY_EXPRESSION = {
    "Std:JsonGet": {
        "PropertyFile": {"Get": "Steps.Prep.PropertyFiles.Report"},
        "Path": "metrics.accuracy.value",
    }
}
AUC_EXPRESSION = {"Get": "Steps.Train.FinalMetricDataList['auc'].Value"}
THRESHOLD = {"Get": "Parameters.Threshold"}


@pytest.mark.parametrize(
    ("operator", "condition_type"),
    [
        (ComparisonOperator.EQUAL, "Equals"),
        (ComparisonOperator.GREATER_THAN, "GreaterThan"),
        (ComparisonOperator.GREATER_THAN_OR_EQUAL, "GreaterThanOrEqualTo"),
        (ComparisonOperator.LESS_THAN, "LessThan"),
        (ComparisonOperator.LESS_THAN_OR_EQUAL, "LessThanOrEqualTo"),
    ],
)
def test_comparisons(operator: ComparisonOperator, condition_type: str) -> None:
    condition = Comparison(ACCURACY, operator, ParameterRef("Threshold"))
    check = step_named(conditional(condition), "Check")["Arguments"]
    assert check["Conditions"] == [
        {"Type": condition_type, "LeftValue": ACCURACY_EXPRESSION, "RightValue": THRESHOLD}
    ]


def test_not_equal_is_not_equals() -> None:
    condition = Comparison(AUC, ComparisonOperator.NOT_EQUAL, 0.5)
    check = step_named(conditional(condition), "Check")["Arguments"]
    assert check["Conditions"] == [
        {
            "Type": "Not",
            "Condition": {"Type": "Equals", "LeftValue": AUC_EXPRESSION, "RightValue": 0.5},
        }
    ]


def test_top_level_and_is_the_condition_list_and_nested_and_uses_de_morgan() -> None:
    first = Comparison(ACCURACY, ComparisonOperator.GREATER_THAN, 0.5)
    second = Comparison(AUC, ComparisonOperator.LESS_THAN, 0.9)
    third = Comparison(ParameterRef("Fast"), ComparisonOperator.EQUAL, True)
    condition = And(
        (
            first,
            And((second, Or((third, Not(And((first, second))))))),
        )
    )
    first_json = {"Type": "GreaterThan", "LeftValue": ACCURACY_EXPRESSION, "RightValue": 0.5}
    second_json = {"Type": "LessThan", "LeftValue": AUC_EXPRESSION, "RightValue": 0.9}
    third_json = {"Type": "Equals", "LeftValue": {"Get": "Parameters.Fast"}, "RightValue": True}
    nested_and = {
        "Type": "Not",
        "Condition": {
            "Type": "Or",
            "Conditions": [
                {"Type": "Not", "Condition": first_json},
                {"Type": "Not", "Condition": second_json},
            ],
        },
    }
    check = step_named(conditional(condition), "Check")["Arguments"]
    assert check["Conditions"] == [
        first_json,
        second_json,
        {"Type": "Or", "Conditions": [third_json, {"Type": "Not", "Condition": nested_and}]},
    ]


def test_fail_step_joins_its_message() -> None:
    message = Join(("AUC ", AUC, " below ", ParameterRef("Threshold"), "; ok=", False))
    stop = step_named(
        conditional(Comparison(AUC, ComparisonOperator.LESS_THAN, 1), fail_message=message), "Stop"
    )
    assert stop == {
        "Name": "Stop",
        "Type": "Fail",
        "Arguments": {
            "ErrorMessage": join("", "AUC ", AUC_EXPRESSION, " below ", THRESHOLD, "; ok=", False)
        },
    }


def test_nested_condition_steps_nest_their_branches() -> None:
    definition = compile_steps(
        processing(),
        ConditionStep(
            name="Outer",
            condition=Comparison(ParameterRef("Fast"), ComparisonOperator.EQUAL, True),
            if_steps=("Inner",),
            else_steps=("Slow",),
        ),
        ConditionStep(
            name="Inner",
            condition=Comparison(ParameterRef("Epochs"), ComparisonOperator.GREATER_THAN, 3),
            if_steps=("Train",),
        ),
        training(),
        FailStep(name="Slow", error_message="slow"),
    )
    assert [step["Name"] for step in definition["Steps"]] == ["Prep", "Outer"]
    outer = definition["Steps"][1]["Arguments"]
    assert [step["Name"] for step in outer["IfSteps"]] == ["Inner"]
    assert [step["Name"] for step in outer["IfSteps"][0]["Arguments"]["IfSteps"]] == ["Train"]
    assert outer["IfSteps"][0]["Arguments"]["ElseSteps"] == []
    assert pipeline_step_types(definition) == {"Processing", "Condition", "Training", "Fail"}


# --- Dependencies ----------------------------------------------------------------------------


def test_depends_on_lists_every_explicit_dependency_once_in_order() -> None:
    # As the SDK does: a dependency also implied by a reference ("Prep") stays listed.
    step = training(depends_on=("Other", "Prep", "Other"))
    definition = compile_steps(processing(), processing("Other"), step)
    assert step_named(definition, "Train")["DependsOn"] == ["Other", "Prep"]
    assert "DependsOn" not in step_named(definition, "Other")


# --- Options -----------------------------------------------------------------------------------


def test_network_and_kms_key_reach_every_job_and_the_model() -> None:
    create = CreateModelStep(name="Model", model=ModelArtifacts("Train"), image_uri=IMAGE)
    transform = TransformStep(
        name="Score",
        model=ModelName("Model"),
        input_data="s3://input-bucket/data",
        instance_type="ml.m5.large",
    )
    network = JobPlacement(
        ("subnet-1",), ("sg-1", "sg-2"), enable_inter_container_traffic_encryption=False
    )
    definition = compile_steps(
        processing(), training(), tuning(), create, transform, kms_key_id=KMS, placement=network
    )
    vpc = {"SecurityGroupIds": ["sg-1", "sg-2"], "Subnets": ["subnet-1"]}
    prep = step_named(definition, "Prep")["Arguments"]
    assert prep["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KMS
    assert prep["ProcessingOutputConfig"]["KmsKeyId"] == KMS
    assert prep["NetworkConfig"] == {
        "EnableNetworkIsolation": False,
        "EnableInterContainerTrafficEncryption": False,
        "VpcConfig": vpc,
    }
    train = step_named(definition, "Train")["Arguments"]
    tune = step_named(definition, "Tune")["Arguments"]["TrainingJobDefinition"]
    for job in (train, tune):
        assert job["ResourceConfig"]["VolumeKmsKeyId"] == KMS
        assert job["OutputDataConfig"]["KmsKeyId"] == KMS
        assert job["VpcConfig"] == vpc
        assert job["EnableInterContainerTrafficEncryption"] is False
    assert step_named(definition, "Model")["Arguments"]["VpcConfig"] == vpc
    score = step_named(definition, "Score")["Arguments"]
    assert score["TransformOutput"]["KmsKeyId"] == KMS
    assert score["TransformResources"]["VolumeKmsKeyId"] == KMS


def test_without_network_or_key_no_job_names_a_vpc_or_key() -> None:
    create = CreateModelStep(name="Model", model=ModelArtifacts("Train"), image_uri=IMAGE)
    text = definition_to_json(compile_steps(processing(), training(), tuning(), create))
    for key in ("KmsKeyId", "VpcConfig", "NetworkConfig", "EnableInterContainerTrafficEncryption"):
        assert key not in text


def test_role_and_artifact_root_are_opaque_text() -> None:
    definition = compile_pipeline_definition(
        pipeline_of(processing()),
        role_arn="${Token[TOKEN.12]}",
        artifact_root="s3://${Token[TOKEN.13]}/pipelines/demo/",
        code_locations={"src": "${Token[TOKEN.14]}"},
    )
    arguments = definition["Steps"][0]["Arguments"]
    assert arguments["RoleArn"] == "${Token[TOKEN.12]}"
    assert arguments["ProcessingInputs"][-1]["S3Input"]["S3Uri"] == "${Token[TOKEN.14]}"
    output_uri = arguments["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    assert output_uri["Std:Join"]["Values"][0] == "s3://${Token[TOKEN.13]}/pipelines/demo"


# --- Determinism -------------------------------------------------------------------------------


def test_compiling_twice_gives_identical_json() -> None:
    pipeline = reference_pipeline(input_data_uri="s3://data/reviews/")
    options: dict[str, Any] = {
        "role_arn": ROLE,
        "artifact_root": ROOT,
        "code_locations": {"scripts": CODE_URI},
        "kms_key_id": KMS,
        "placement": NETWORK,
    }
    first = definition_to_json(compile_pipeline_definition(pipeline, **options))
    second = definition_to_json(compile_pipeline_definition(pipeline, **options))
    assert first == second


def test_mapping_order_in_the_spec_does_not_change_the_json() -> None:
    def spec(order: list[str]) -> list[Step]:
        values = {"a": "1", "b": "2", "c": "3"}
        mapping = {key: values[key] for key in order}
        return [
            processing(environment=mapping),
            training(hyperparameters=mapping, environment=mapping),
        ]

    forward = definition_to_json(compile_steps(*spec(["a", "b", "c"])))
    backward = definition_to_json(compile_steps(*spec(["c", "b", "a"])))
    assert forward == backward


def test_definition_to_json_is_compact_and_round_trips() -> None:
    definition = compile_steps(processing())
    text = definition_to_json(definition)
    assert json.loads(text) == definition
    assert text == json.dumps(definition, separators=(",", ":"))
    assert text.startswith('{"Version":"2020-12-01","Metadata":{},"Parameters":[')


def test_definition_s3_uris_lists_literal_locations() -> None:
    step = processing(
        inputs=(
            ProcessingInput(
                name="raw", source="s3://data/raw/", destination="/opt/ml/processing/input/raw"
            ),
        )
    )
    assert definition_s3_uris(compile_steps(step)) == (ROOT, CODE_URI, "s3://data/raw/")


# --- Errors ------------------------------------------------------------------------------------


def test_missing_code_locations_name_each_step_and_code() -> None:
    pipeline = pipeline_of(processing(), processing("Other", code="other/dir"), processing("Third"))
    with pytest.raises(
        ValueError, match=r"step 'Prep' runs code 'src'.*step 'Third' runs code 'src'"
    ) as error:
        compile_pipeline_definition(
            pipeline, role_arn=ROLE, artifact_root=ROOT, code_locations={"other/dir": CODE_URI}
        )
    assert "'Other'" not in str(error.value)
    assert "given keys: 'other/dir'" in str(error.value)


def test_unknown_step_kinds_are_refused_naming_the_kind_and_the_compiler() -> None:
    @dataclass(frozen=True, kw_only=True)
    class Custom(Step):
        kind: ClassVar[str] = "custom"

    with pytest.raises(UnsupportedStepError) as raised:
        compile_steps(processing(), Custom(name="Odd"))
    assert (raised.value.step, raised.value.kind) == ("Odd", "custom")
    assert str(raised.value) == (
        "SageMaker Pipelines: step 'Odd': steps of kind 'custom' are not supported by the "
        "SageMaker Pipelines compiler"
    )


# --- Endpoints ---------------------------------------------------------------------------------


def model_step(name: str = "Model") -> CreateModelStep:
    return CreateModelStep(name=name, model=ModelArtifacts("Train"), image_uri=IMAGE)


def endpoint(name: str = "Deploy", **options: Any) -> EndpointStep:
    settings: dict[str, Any] = {
        "model": ModelName("Model"),
        "instance_type": "ml.m5.large",
        **options,
    }
    return EndpointStep(name=name, **settings)


def test_endpoint_step_is_a_config_step_then_an_endpoint_step() -> None:
    deploy = endpoint(
        display_name="Deploy model",
        description="Serve the model",
        depends_on=("Prep",),
        instance_type=ParameterRef("InstanceType"),
        initial_instance_count=ParameterRef("Epochs"),
        endpoint_name="reviews-live",
    )
    definition = compile_steps(processing(), training(), model_step(), deploy)
    config, deployed = definition["Steps"][3:]
    assert config == {
        "Name": "Deploy-Config",
        "Type": "EndpointConfig",
        "Arguments": {
            "EndpointConfigName": join("-", "demo-deploy", EXECUTION_ID),
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": {"Get": "Steps.Model.ModelName"},
                    "InitialVariantWeight": 1,
                    "InitialInstanceCount": {"Get": "Parameters.Epochs"},
                    "InstanceType": {"Get": "Parameters.InstanceType"},
                }
            ],
        },
        "DependsOn": ["Prep"],
    }
    # The endpoint step reads the config step's name, so it runs after it; the display name
    # and description belong to it, the step that keeps the spec step's name.
    assert deployed == {
        "Name": "Deploy",
        "Type": "Endpoint",
        "Arguments": {
            "EndpointName": "reviews-live",
            "EndpointConfigName": {"Get": "Steps.Deploy-Config.EndpointConfigName"},
        },
        "DisplayName": "Deploy model",
        "Description": "Serve the model",
    }
    assert pipeline_step_types(definition) == {
        "Processing",
        "Training",
        "Model",
        "EndpointConfig",
        "Endpoint",
    }


def test_endpoint_name_is_derived_or_read_from_a_parameter() -> None:
    derived = arguments_of("Deploy", processing(), training(), model_step(), endpoint())
    assert derived["EndpointName"] == "demo-deploy"
    pipeline = Pipeline(
        name="Demo",
        parameters=(Parameter.string("EndpointName", "live"),),
        steps=(
            processing(),
            training(),
            model_step(),
            endpoint(endpoint_name=ParameterRef("EndpointName")),
        ),
    )
    definition = compile_pipeline_definition(
        pipeline, role_arn=ROLE, artifact_root=ROOT, code_locations={"src": CODE_URI}
    )
    assert step_named(definition, "Deploy")["Arguments"]["EndpointName"] == {
        "Get": "Parameters.EndpointName"
    }
    # Lowercased: SageMaker lowercases endpoint and configuration names in ARNs.
    assert step_named(definition, "Deploy-Config")["Arguments"]["EndpointConfigName"] == join(
        "-", "demo-deploy", EXECUTION_ID
    )


def test_steps_after_an_endpoint_step_wait_for_the_endpoint() -> None:
    done = FailStep(name="Done", error_message="deployed", depends_on=("Deploy",))
    definition = compile_steps(processing(), training(), model_step(), endpoint(), done)
    assert [step["Name"] for step in definition["Steps"]] == [
        "Prep",
        "Train",
        "Model",
        "Deploy-Config",
        "Deploy",
        "Done",
    ]
    assert step_named(definition, "Done")["DependsOn"] == ["Deploy"]
    assert "DependsOn" not in step_named(definition, "Deploy-Config")
    assert "DependsOn" not in step_named(definition, "Deploy")


def test_endpoint_step_in_a_branch_puts_both_steps_in_the_branch() -> None:
    gate = ConditionStep(
        name="Gate",
        condition=Comparison(ParameterRef("Epochs"), ComparisonOperator.GREATER_THAN, 1),
        if_steps=("Model", "Deploy"),
    )
    definition = compile_steps(processing(), training(), gate, model_step(), endpoint())
    assert [step["Name"] for step in definition["Steps"]] == ["Prep", "Train", "Gate"]
    branch = definition["Steps"][2]["Arguments"]["IfSteps"]
    assert [(step["Name"], step["Type"]) for step in branch] == [
        ("Model", "Model"),
        ("Deploy-Config", "EndpointConfig"),
        ("Deploy", "Endpoint"),
    ]


def test_long_names_are_shortened_with_a_hash_to_fit_sagemaker() -> None:
    first, second = "D" + "e" * 62 + "1", "D" + "e" * 62 + "2"
    pipeline = Pipeline(
        name="p" * 64,
        steps=(
            processing(),
            training(),
            model_step(),
            endpoint(first),
            endpoint(second),
        ),
    )
    definition = compile_pipeline_definition(
        pipeline, role_arn=ROLE, artifact_root=ROOT, code_locations={"src": CODE_URI}
    )
    configs = [step for step in definition["Steps"] if step["Type"] == "EndpointConfig"]
    endpoints = [step for step in definition["Steps"] if step["Type"] == "Endpoint"]
    # Step names: at most 64 characters; endpoint and configuration names: at most 63, of
    # which the execution id takes 12 and its hyphen 1.
    assert [len(step["Name"]) for step in configs] == [64, 64]
    assert all(step["Name"].endswith("-Config") for step in configs)
    assert configs[0]["Name"] != configs[1]["Name"]
    names = [step["Arguments"]["EndpointName"] for step in endpoints]
    assert [len(name) for name in names] == [63, 63]
    assert names[0] != names[1]
    assert names[0] == names[0].lower()
    prefixes = [
        step["Arguments"]["EndpointConfigName"]["Std:Join"]["Values"][0] for step in configs
    ]
    assert [len(prefix) for prefix in prefixes] == [50, 50]
    assert prefixes[0] != prefixes[1]
    for config, deployed in zip(configs, endpoints, strict=True):
        assert deployed["Arguments"]["EndpointConfigName"] == {
            "Get": f"Steps.{config['Name']}.EndpointConfigName"
        }


def test_a_step_named_like_a_derived_config_step_is_refused() -> None:
    clash = FailStep(name="deploy-config", error_message="x")
    with pytest.raises(
        ValueError,
        match=r"endpoint step 'Deploy' compiles to an EndpointConfig step named "
        r"'Deploy-Config', which is the name of step 'deploy-config': rename one",
    ):
        compile_steps(processing(), training(), model_step(), endpoint(), clash)


def test_kms_key_encrypts_endpoint_storage() -> None:
    encrypted = arguments_of(
        "Deploy-Config", processing(), training(), model_step(), endpoint(), kms_key_id=KMS
    )
    assert encrypted["KmsKeyId"] == KMS
    # The SDK's key order: the request's name and variants, then the key.
    assert list(encrypted) == ["EndpointConfigName", "ProductionVariants", "KmsKeyId"]
    plain = arguments_of("Deploy-Config", processing(), training(), model_step(), endpoint())
    assert "KmsKeyId" not in plain
    # A parameter may name any instance type; the key is kept, as the SDK keeps a given key.
    parameter_type = endpoint(instance_type=ParameterRef("InstanceType"))
    assert (
        arguments_of(
            "Deploy-Config", processing(), training(), model_step(), parameter_type, kms_key_id=KMS
        )["KmsKeyId"]
        == KMS
    )


@pytest.mark.parametrize(
    "instance_type", ["ml.m5d.large", "ml.g4dn.xlarge", "ml.p4d.24xlarge", "ml.g5.xlarge"]
)
def test_instance_types_with_local_storage_only_get_no_kms_key(instance_type: str) -> None:
    # CreateEndpointConfig refuses a KmsKeyId for them; their NVMe storage is encrypted by the
    # instance's hardware.
    deploy = endpoint(instance_type=instance_type)
    arguments = arguments_of(
        "Deploy-Config", processing(), training(), model_step(), deploy, kms_key_id=KMS
    )
    assert "KmsKeyId" not in arguments
    assert arguments["ProductionVariants"][0]["InstanceType"] == instance_type
