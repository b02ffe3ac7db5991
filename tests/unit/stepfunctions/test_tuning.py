"""A tuning step compiled end to end: processing -> tuning -> a model from the best job."""

from __future__ import annotations

import re
import uuid
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn

from mlpipes_constructs.spec import (
    CategoricalRange,
    ContinuousRange,
    CreateModelStep,
    IntegerRange,
    ModelArtifacts,
    ObjectiveType,
    Pipeline,
    ProcessingOutput,
    ProcessingStep,
    ScalingType,
    StepOutput,
    TrainingChannel,
    TuningStep,
    TuningStrategy,
)
from mlpipes_constructs.stepfunctions import compile_state_machine, naming
from tests.asl import definition_of, transition_problems
from tests.conftest import TEST_ENV

BUCKET = "artifacts"
PREFIX = "pipelines/churn/"
JOB_ROLE_ARN = "arn:aws:iam::123456789012:role/job"
SAGEMAKER_ARN = "arn:aws:sagemaker:us-east-1:123456789012"
EXECUTION = "run-2024-06-01"
BEST_JOB = "chur-3f2a9c-0123456789abcdef0123-007-5d2c1e3a"


def _pipeline() -> Pipeline:
    return Pipeline(
        name="churn-tuning",
        steps=(
            ProcessingStep(
                name="Prepare",
                image_uri="processing-image",
                code="scripts",
                entry_point="prepare.py",
                instance_type="ml.m5.xlarge",
                outputs=(
                    ProcessingOutput(name="train", source="/opt/ml/processing/train"),
                    ProcessingOutput(name="validation", source="/opt/ml/processing/validation"),
                ),
            ),
            TuningStep(
                name="Tune",
                image_uri="xgboost-image",
                instance_type="ml.m5.2xlarge",
                instance_count=2,
                hyperparameters={"objective": "binary:logistic", "num_round": 200},
                channels=(
                    TrainingChannel(
                        name="train",
                        source=StepOutput("Prepare", "train"),
                        content_type="text/csv",
                    ),
                    TrainingChannel(
                        name="validation",
                        source=StepOutput("Prepare", "validation"),
                        content_type="text/csv",
                    ),
                ),
                parameter_ranges=(
                    ContinuousRange(
                        name="eta",
                        min_value=0.01,
                        max_value=0.3,
                        scaling=ScalingType.LOGARITHMIC,
                    ),
                    IntegerRange(name="max_depth", min_value=3, max_value=10),
                    CategoricalRange(name="booster", values=("gbtree", "dart")),
                ),
                objective_metric="validation:auc",
                objective_type=ObjectiveType.MAXIMIZE,
                strategy=TuningStrategy.RANDOM,
                max_jobs=12,
                max_parallel_jobs=3,
            ),
            CreateModelStep(name="CreateModel", model=ModelArtifacts("Tune"), image_uri="xgb"),
        ),
    )


@pytest.fixture(scope="module")
def compiled() -> tuple[dict[str, Any], Any, list[dict[str, Any]]]:
    stack = cdk.Stack(cdk.App(), "Tuning", env=TEST_ENV)
    result = compile_state_machine(
        stack,
        _pipeline(),
        job_role=iam.Role.from_role_arn(stack, "JobRole", JOB_ROLE_ARN, mutable=False),
        artifact_bucket=s3.Bucket.from_bucket_name(stack, "Bucket", BUCKET),
        artifact_prefix=PREFIX,
        code_locations={"scripts": "s3://code/scripts.zip"},
    )
    sfn.StateMachine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(result.definition)
    )
    template = cdk.assertions.Template.from_stack(stack).to_json()
    (policy,) = [
        resource["Properties"]["PolicyDocument"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy"
    ]
    statements: list[dict[str, Any]] = policy["Statement"]
    return definition_of(template, {"AWS::Partition": "aws"}), result, statements


@pytest.fixture(scope="module")
def states(compiled: tuple[dict[str, Any], Any, list[dict[str, Any]]]) -> dict[str, Any]:
    return compiled[0]["States"]


def test_steps_run_in_order(compiled: tuple[dict[str, Any], Any, list[dict[str, Any]]]) -> None:
    definition = compiled[0]
    assert list(transition_problems(definition)) == []
    states = definition["States"]
    assert states["Prepare"]["Next"] == "Tune"
    assert states["Tune"]["Next"] == "CreateModel"
    assert states["CreateModel"]["End"] is True


def test_tuning_state_waits_for_the_job_and_keeps_the_best_training_job(
    states: dict[str, Any],
) -> None:
    tune = states["Tune"]
    assert tune["Resource"] == "arn:aws:states:::sagemaker:createHyperParameterTuningJob.sync"
    # DescribeHyperParameterTuningJob's answer is reduced to the one value later steps read.
    assert tune["ResultSelector"] == {"BestTrainingJobName.$": "$.BestTrainingJob.TrainingJobName"}
    assert tune["ResultPath"] == "$.steps.Tune"
    assert tune["Catch"][0]["Next"] == "Tune.Failed"


def test_tuning_job_config_has_strategy_objective_ranges_and_limits(
    states: dict[str, Any],
) -> None:
    assert states["Tune"]["Parameters"]["HyperParameterTuningJobConfig"] == {
        "Strategy": "Random",
        "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 12, "MaxParallelTrainingJobs": 3},
        # As SageMaker Pipelines writes it: early stopping explicitly off.
        "TrainingJobEarlyStoppingType": "Off",
        # SageMaker takes range bounds as strings.
        "ParameterRanges": {
            "ContinuousParameterRanges": [
                {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.3", "ScalingType": "Logarithmic"}
            ],
            "IntegerParameterRanges": [
                {"Name": "max_depth", "MinValue": "3", "MaxValue": "10", "ScalingType": "Auto"}
            ],
            "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}],
        },
    }


def test_training_job_definition_reads_the_processing_outputs(states: dict[str, Any]) -> None:
    definition = states["Tune"]["Parameters"]["TrainingJobDefinition"]
    outputs = {
        output["OutputName"]: output["S3Output"]["S3Uri.$"]
        for output in states["Prepare"]["Parameters"]["ProcessingOutputConfig"]["Outputs"]
    }
    assert definition["InputDataConfig"] == [
        {
            "ChannelName": name,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri.$": outputs[name],
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
            "ContentType": "text/csv",
        }
        for name in ("train", "validation")
    ]
    assert outputs["train"] == "States.Format('{}/Prepare/output/train', $.run.root)"
    assert definition["AlgorithmSpecification"] == {
        "TrainingInputMode": "File",
        "TrainingImage": "xgboost-image",
    }
    assert definition["StaticHyperParameters"] == {
        "objective": "binary:logistic",
        "num_round": "200",
    }
    assert definition["ResourceConfig"] == {
        "InstanceCount": 2,
        "InstanceType": "ml.m5.2xlarge",
        "VolumeSizeInGB": 30,
    }
    assert definition["OutputDataConfig"] == {
        "S3OutputPath.$": "States.Format('{}/Tune', $.run.root)",
        # Explicit, as on SageMaker Pipelines: model references expect a model.tar.gz.
        "CompressionType": "GZIP",
    }
    assert definition["RoleArn"] == JOB_ROLE_ARN
    assert "HyperParameters" not in definition


def test_tuning_job_name_fits_sagemakers_32_characters(
    compiled: tuple[dict[str, Any], Any, list[dict[str, Any]]], states: dict[str, Any]
) -> None:
    slug = compiled[1].name_slugs["Tune"]
    expression = states["Tune"]["Parameters"]["HyperParameterTuningJobName.$"]
    assert expression == naming.name_expression(slug)
    name = _evaluate(expression, {"run": {"token": naming.run_token_from_uuid(str(uuid.uuid4()))}})
    assert len(name) == naming.MAX_TUNING_JOB_NAME_LENGTH
    assert naming.is_sagemaker_name(name, naming.MAX_TUNING_JOB_NAME_LENGTH)
    # Other steps keep the longer names SageMaker allows them.
    assert len(compiled[1].name_slugs["CreateModel"]) > len(slug)


def test_model_reads_the_best_training_jobs_artifacts(states: dict[str, Any]) -> None:
    container = states["CreateModel"]["Parameters"]["PrimaryContainer"]
    assert container["Image"] == "xgb"
    root = f"s3://{BUCKET}/{PREFIX}{EXECUTION}"
    tuning_result = _select(
        states["Tune"]["ResultSelector"], {"BestTrainingJob": {"TrainingJobName": BEST_JOB}}
    )
    data = {"run": {"root": root}, "steps": {"Tune": tuning_result}}
    # SageMaker writes each training job of a tuning job under <OutputPath>/<job name>/output/.
    output_path = _evaluate(
        states["Tune"]["Parameters"]["TrainingJobDefinition"]["OutputDataConfig"]["S3OutputPath.$"],
        data,
    )
    assert _evaluate(container["ModelDataUrl.$"], data) == (
        f"{output_path}/{BEST_JOB}/output/model.tar.gz"
    )
    assert output_path == f"{root}/Tune"


def test_role_may_run_tuning_jobs_of_this_step_only(
    compiled: tuple[dict[str, Any], Any, list[dict[str, Any]]],
) -> None:
    statements = compiled[2]
    slug = compiled[1].name_slugs["Tune"]
    (tuning,) = [s for s in statements if "sagemaker:CreateHyperParameterTuningJob" in s["Action"]]
    assert sorted(tuning["Action"]) == [
        "sagemaker:CreateHyperParameterTuningJob",
        "sagemaker:DescribeHyperParameterTuningJob",
        "sagemaker:ListTags",
        "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
        "sagemaker:StopHyperParameterTuningJob",
    ]
    assert _arn(tuning["Resource"]) == f"{SAGEMAKER_ARN}:hyper-parameter-tuning-job/{slug}-*"
    rules = {_arn(s["Resource"]) for s in statements if "events:PutRule" in s["Action"]}
    assert (
        "arn:aws:events:us-east-1:123456789012:rule/StepFunctionsGetEventsForSageMakerTuningJobsRule"
        in rules
    )
    (model,) = [s for s in statements if s["Action"] == "sagemaker:CreateModel"]
    model_slug = compiled[1].name_slugs["CreateModel"]
    assert _arn(model["Resource"]) == f"{SAGEMAKER_ARN}:model/{model_slug}-*"
    pass_role = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert pass_role
    for statement in pass_role:
        assert statement["Resource"] == JOB_ROLE_ARN
        assert statement["Condition"] == {
            "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
        }
    assert not [s for s in statements if "*" in str(s["Action"])]


# --- a small evaluator for the intrinsics the compiler writes -------------------------------

_PATH = re.compile(r"\$(?:\.[A-Za-z0-9_]+)+")


def _arn(resource: Any) -> str:
    """An ARN with its partition reference resolved to ``aws``."""
    if isinstance(resource, str):
        return resource
    parts = resource["Fn::Join"][1]
    return "".join(part if isinstance(part, str) else "aws" for part in parts)


def _lookup(path: str, data: dict[str, Any]) -> Any:
    value: Any = data
    for key in path.removeprefix("$.").split("."):
        value = value[key]
    return value


def _select(selector: dict[str, str], result: dict[str, Any]) -> dict[str, Any]:
    """Apply a ``ResultSelector`` whose values are plain paths."""
    return {key.removesuffix(".$"): _lookup(path, result) for key, path in selector.items()}


def _evaluate(expression: str, data: dict[str, Any]) -> str:
    """Evaluate a JSONPath or a (nested) ``States.Format`` on ``data``."""
    value, rest = _expression(expression.strip(), data)
    assert rest == "", f"unparsed: {rest!r}"
    return str(value)


def _expression(text: str, data: dict[str, Any]) -> tuple[Any, str]:
    if text.startswith("States.Format("):
        template, rest = _string(text[len("States.Format(") :])
        arguments = []
        while rest.startswith(","):
            argument, rest = _expression(rest[1:].lstrip(), data)
            arguments.append(argument)
        assert rest.startswith(")"), rest
        pieces = template.split("{}")
        assert len(pieces) == len(arguments) + 1, (template, arguments)
        out = pieces[0]
        for argument, piece in zip(arguments, pieces[1:], strict=True):
            out += str(argument) + piece
        return out, rest[1:].lstrip()
    match = _PATH.match(text)
    assert match is not None, text
    return _lookup(match.group(0), data), text[match.end() :].lstrip()


def _string(text: str) -> tuple[str, str]:
    assert text.startswith("'"), text
    out, index = "", 1
    while text[index] != "'":
        if text[index] == "\\":
            index += 1
        out += text[index]
        index += 1
    return out, text[index + 1 :].lstrip()
