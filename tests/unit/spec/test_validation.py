"""Each validation rule: a spec that breaks it, and the exact message it is rejected with."""

from __future__ import annotations

import dataclasses

import pytest

from mlpipes_constructs.spec import (
    And,
    CategoricalRange,
    Comparison,
    ComparisonOperator,
    ContinuousRange,
    EndpointStep,
    IntegerRange,
    Join,
    JsonValue,
    MetricDefinition,
    ModelArtifacts,
    ModelName,
    Not,
    Or,
    Parameter,
    ParameterRef,
    ParameterType,
    Pipeline,
    ProcessingInput,
    ProcessingOutput,
    PropertyFile,
    ScalingType,
    SpecValidationError,
    StepOutput,
    TrainingChannel,
    TrainingMetric,
    TuningStrategy,
)
from mlpipes_constructs.spec.naming import STEP_NAME_RULE
from mlpipes_constructs.spec.validation import pipeline_problems
from tests.unit.spec.spec_builders import (
    problems_of,
    valid_parameters,
    valid_pipeline,
    valid_steps,
    with_step,
)

PREP = "of step 'Prep'"
TRAIN = "of step 'Train'"
TUNE = "of step 'Tune'"


def _parameters_with(*extra: Parameter) -> list[Parameter]:
    return [*valid_parameters(), *extra]


def _parameters_replacing(name: str, replacement: Parameter) -> list[Parameter]:
    return [replacement if p.name == name else p for p in valid_parameters()]


def _gate_condition(condition: object) -> list:
    return with_step("Gate", condition=condition)


def _compare(left: object, right: object = 0.5) -> Comparison:
    return Comparison(left, ComparisonOperator.GREATER_THAN_OR_EQUAL, right)


# --- Pipeline and parameters -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("my_pipeline", f"pipeline name 'my_pipeline' is invalid; {STEP_NAME_RULE}"),
        ("1pipeline", f"pipeline name '1pipeline' is invalid; {STEP_NAME_RULE}"),
        ("a" * 65, f"pipeline name '{'a' * 65}' is invalid; {STEP_NAME_RULE}"),
    ],
)
def test_pipeline_name_must_be_valid_everywhere(name, expected):
    assert problems_of(name=name) == [expected]


def test_pipeline_needs_a_step():
    assert problems_of(steps=[]) == ["pipeline 'p' has no steps"]


def test_parameter_names_must_be_identifiers():
    parameters = _parameters_with(Parameter.integer("max-depth", 3))

    assert problems_of(parameters=parameters) == [
        "parameter name 'max-depth' is invalid; use 1-64 letters and digits, starting with a letter"
    ]


def test_parameter_names_must_be_unique():
    parameters = _parameters_with(Parameter.float("Threshold", 0.5))

    assert problems_of(parameters=parameters) == [
        "parameter name 'Threshold' is used by more than one parameter"
    ]


@pytest.mark.parametrize(
    ("parameter_type", "default", "expected"),
    [
        (ParameterType.INTEGER, "2", "default '2' of parameter 'Extra' is not of type Integer"),
        (ParameterType.INTEGER, True, "default True of parameter 'Extra' is not of type Integer"),
        (ParameterType.INTEGER, 2.5, "default 2.5 of parameter 'Extra' is not of type Integer"),
        (ParameterType.FLOAT, "0.5", "default '0.5' of parameter 'Extra' is not of type Float"),
        (ParameterType.BOOLEAN, 1, "default 1 of parameter 'Extra' is not of type Boolean"),
        (ParameterType.STRING, 7, "default 7 of parameter 'Extra' is not of type String"),
    ],
)
def test_parameter_defaults_must_match_their_type(parameter_type, default, expected):
    parameter = Parameter(name="Extra", type=parameter_type, default=default)

    assert problems_of(parameters=_parameters_with(parameter)) == [expected]


def test_an_integer_default_is_accepted_for_a_float_parameter():
    parameters = _parameters_replacing("Threshold", Parameter.float("Threshold", 1))

    assert (
        Pipeline(name="p", steps=valid_steps(), parameters=parameters)
        .parameter("Threshold")
        .default
        == 1
    )


# --- Step names and explicit dependencies ---------------------------------------------------


@pytest.mark.parametrize("name", ["Endpoint-", "Endpoint_1", "9Endpoint", "E" * 65, ""])
def test_step_names_must_be_valid_for_every_orchestrator(name):
    steps = with_step("Endpoint", name=name)

    assert problems_of(steps=steps) == [f"step name '{name}' is invalid; {STEP_NAME_RULE}"]


def test_step_names_must_be_unique():
    steps = [*valid_steps(), with_step("Endpoint")[7]]

    assert problems_of(steps=steps) == ["step name 'Endpoint' is used by more than one step"]


def test_step_names_must_be_unique_ignoring_case():
    steps = [*valid_steps(), dataclasses.replace(with_step("Endpoint")[7], name="endpoint")]

    assert problems_of(steps=steps) == [
        "step name 'endpoint' collides with step 'Endpoint'; "
        "step names must be unique ignoring case"
    ]


def test_depends_on_must_name_existing_steps():
    steps = with_step("Transform", depends_on=["Trian"])

    assert problems_of(steps=steps) == [
        "depends_on of step 'Transform' names unknown step 'Trian'; did you mean 'Train'?"
    ]


# --- References --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        pytest.param(
            lambda: with_step("CreateModel", model=ModelArtifacts("Trainn")),
            "model of step 'CreateModel' refers to unknown step 'Trainn'; did you mean 'Train'?",
            id="unknown-step",
        ),
        pytest.param(
            lambda: with_step("CreateModel", model=ModelArtifacts("Deploy")),
            "model of step 'CreateModel' refers to unknown step 'Deploy'",
            id="unknown-step-without-suggestion",
        ),
        pytest.param(
            lambda: with_step("Train", instance_count=ParameterRef("Cnt")),
            f"instance_count {TRAIN} refers to unknown parameter 'Cnt'; did you mean 'Count'?",
            id="unknown-parameter",
        ),
        pytest.param(
            lambda: with_step("Train", instance_type=ParameterRef("Count")),
            f"instance_type {TRAIN} refers to parameter 'Count' of type Integer; expected String",
            id="parameter-of-wrong-type",
        ),
        pytest.param(
            lambda: with_step(
                "Train", channels=[TrainingChannel(name="train", source=StepOutput("Tune", "x"))]
            ),
            f"channels[0].source {TRAIN} refers to output 'x' of step 'Tune', which is a tuning "
            "step; only processing steps have outputs",
            id="output-of-non-processing-step",
        ),
        pytest.param(
            lambda: with_step(
                "Train",
                channels=[TrainingChannel(name="train", source=StepOutput("Prep", "tarin"))],
            ),
            f"channels[0].source {TRAIN} refers to output 'tarin' of step 'Prep', which has "
            "outputs 'train', 'report'",
            id="unknown-output",
        ),
        pytest.param(
            lambda: with_step("CreateModel", model=ModelArtifacts("Prep")),
            "model of step 'CreateModel' refers to the model of step 'Prep', which is a "
            "processing step; expected a training or tuning step",
            id="model-of-non-training-step",
        ),
        pytest.param(
            lambda: with_step(
                "Fail", error_message=Join(["accuracy ", JsonValue("Train", "Report", "a")])
            ),
            "error_message.values[1] of step 'Fail' refers to property file 'Report' of step "
            "'Train', which is a training step; only processing steps have property files",
            id="property-file-of-non-processing-step",
        ),
        pytest.param(
            lambda: _gate_condition(_compare(JsonValue("Prep", "Reprt", "metrics.accuracy"))),
            "condition.left of step 'Gate' refers to property file 'Reprt' of step 'Prep', "
            "which has property files 'Report'",
            id="unknown-property-file",
        ),
        pytest.param(
            lambda: _gate_condition(_compare(JsonValue("Prep", "Report", "$.metrics.accuracy"))),
            "condition.left of step 'Gate' reads json_path '$.metrics.accuracy', which is not a "
            "json path such as 'metrics.accuracy.value'",
            id="invalid-json-path",
        ),
        pytest.param(
            lambda: _gate_condition(_compare(TrainingMetric("Train", "accuracy"))),
            "condition.left of step 'Gate' refers to metric 'accuracy' of step 'Train', which "
            "defines metrics 'loss'",
            id="unknown-metric",
        ),
        pytest.param(
            lambda: _gate_condition(Not(_compare(TrainingMetric("Tune", "loss")))),
            "condition.condition.left of step 'Gate' refers to metric 'loss' of step 'Tune', "
            "which is a tuning step; expected a training step",
            id="metric-of-non-training-step",
        ),
        pytest.param(
            lambda: with_step("Transform", model=ModelName("Train")),
            "model of step 'Transform' refers to the model created by step 'Train', which is a "
            "training step; expected a create_model step",
            id="model-name-of-non-create-model-step",
        ),
    ],
)
def test_references_must_point_at_what_exists(steps, expected):
    assert problems_of(steps=steps()) == [expected]


# --- Graph: cycles and branches ---------------------------------------------------------------


def test_a_dependency_cycle_is_named():
    steps = with_step("Prep", depends_on=["Transform"])

    assert problems_of(steps=steps) == [
        "steps form a cycle: Prep -> Transform -> CreateModel -> Train -> Prep"
    ]


def test_a_step_depending_on_itself_is_a_cycle():
    steps = with_step("Endpoint", depends_on=["Endpoint"])

    assert problems_of(steps=steps) == ["steps form a cycle: Endpoint -> Endpoint"]


def test_a_branch_holding_an_ancestor_of_its_condition_is_a_cycle():
    steps = with_step("Gate", else_steps=["Fail", "Train"])

    assert problems_of(steps=steps) == ["steps form a cycle: Train -> Gate -> Train"]


def test_condition_branches_must_name_existing_steps():
    steps = with_step("Gate", if_steps=["Register", "CreateModel", "Deploy"])

    assert problems_of(steps=steps) == ["if_steps of step 'Gate' names unknown step 'Deploy'"]


def test_a_step_may_be_in_only_one_branch():
    steps = with_step("Gate", else_steps=["Fail", "Register"])

    assert problems_of(steps=steps) == [
        "step 'Register' is in more than one condition branch: if_steps of step 'Gate' and "
        "else_steps of step 'Gate'"
    ]


@pytest.mark.parametrize("combinator", [And, Or])
def test_and_or_need_a_condition(combinator):
    steps = _gate_condition(Not(combinator([])))

    assert problems_of(steps=steps) == ["condition.condition of step 'Gate' has no conditions"]


# --- Instance types, counts and sizes -------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        pytest.param(
            lambda: with_step("Train", instance_type="m5.xlarge"),
            "instance_type 'm5.xlarge' of step 'Train' is not a SageMaker instance type; "
            "expected e.g. 'ml.m5.xlarge'",
            id="missing-prefix",
        ),
        pytest.param(
            lambda: with_step("Prep", instance_type="ml.m5.huge"),
            f"instance_type 'ml.m5.huge' {PREP} is not a SageMaker instance type; "
            "expected e.g. 'ml.m5.large'",
            id="unknown-size",
        ),
        pytest.param(
            lambda: with_step("Endpoint", instance_type="gpu"),
            "instance_type 'gpu' of step 'Endpoint' is not a SageMaker instance type; "
            "expected e.g. 'ml.m5.xlarge'",
            id="nothing-close",
        ),
        pytest.param(
            lambda: with_step("Register", inference_instance_types=["ml.m5.large", "ml.t3.big"]),
            "inference_instance_types[1] 'ml.t3.big' of step 'Register' is not a SageMaker "
            "instance type; expected e.g. 'ml.t3.large'",
            id="list-of-instance-types",
        ),
    ],
)
def test_instance_types_must_exist(steps, expected):
    assert problems_of(steps=steps()) == [expected]


def test_an_instance_type_parameter_default_must_exist():
    parameters = _parameters_replacing("InstanceType", Parameter.string("InstanceType", "p3.2xl"))

    assert problems_of(parameters=parameters) == [
        "instance_type of step 'Train' refers to parameter 'InstanceType' whose default 'p3.2xl' "
        "is not a SageMaker instance type; expected e.g. 'ml.p3.2xlarge'"
    ]


@pytest.mark.parametrize(
    ("step", "field", "value"),
    [
        ("Prep", "instance_count", 0),
        ("Prep", "volume_size_gb", 0),
        ("Prep", "max_runtime_seconds", -5),
        ("Train", "volume_size_gb", -1),
        ("Tune", "max_parallel_jobs", 0),
        ("Transform", "instance_count", 0),
        ("Endpoint", "initial_instance_count", 0),
    ],
)
def test_counts_sizes_and_limits_must_be_positive(step, field, value):
    steps = with_step(step, **{field: value})

    assert problems_of(steps=steps) == [f"{field} of step '{step}' must be at least 1, got {value}"]


def test_a_count_parameter_default_must_be_positive():
    parameters = _parameters_replacing("Count", Parameter.integer("Count", 0))

    assert problems_of(parameters=parameters) == [
        "instance_count of step 'Train' refers to parameter 'Count' whose default 0 is below 1"
    ]


# --- Processing steps ---------------------------------------------------------------------------


def _prep_input(**changes: object) -> list:
    raw = ProcessingInput(
        name="raw", source="s3://bucket/raw", destination="/opt/ml/processing/input/raw"
    )
    return with_step("Prep", inputs=[dataclasses.replace(raw, **changes)])


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        pytest.param(
            lambda: with_step("Prep", code=""),
            f"code {PREP} must name a local directory",
            id="code",
        ),
        pytest.param(
            lambda: with_step("Prep", entry_point="/abs/prep.py"),
            f"entry_point '/abs/prep.py' {PREP} must be a relative path within code",
            id="absolute-entry-point",
        ),
        pytest.param(
            lambda: with_step("Prep", entry_point="../prep.py"),
            f"entry_point '../prep.py' {PREP} must be a relative path within code",
            id="entry-point-outside-code",
        ),
        pytest.param(
            lambda: _prep_input(source="bucket/raw"),
            f"inputs[0].source 'bucket/raw' {PREP} is not an S3 URI such as 's3://bucket/prefix'",
            id="s3-uri",
        ),
        pytest.param(
            lambda: _prep_input(source=ParameterRef("Count")),
            f"inputs[0].source {PREP} refers to parameter 'Count' of type Integer; expected String",
            id="s3-parameter-type",
        ),
        pytest.param(
            lambda: _prep_input(destination="/data/raw"),
            f"inputs[0].destination '/data/raw' {PREP} is not a directory under "
            "/opt/ml/processing/",
            id="container-path",
        ),
        pytest.param(
            lambda: _prep_input(destination="/opt/ml/processing/../raw"),
            f"inputs[0].destination '/opt/ml/processing/../raw' {PREP} is not a directory under "
            "/opt/ml/processing/",
            id="container-path-escaping",
        ),
        pytest.param(
            lambda: _prep_input(name="code"),
            f"inputs[0].name 'code' {PREP} is reserved for the step's code",
            id="reserved-input-name",
        ),
        pytest.param(
            lambda: _prep_input(name="raw data"),
            f"inputs[0].name 'raw data' {PREP} is invalid; use 1-64 letters, digits, hyphens "
            "and underscores, starting with a letter or digit",
            id="input-name",
        ),
        pytest.param(
            lambda: with_step(
                "Prep",
                outputs=[
                    ProcessingOutput(name="report", source="/opt/ml/processing/output/a"),
                    ProcessingOutput(name="report", source="/opt/ml/processing/output/b"),
                    ProcessingOutput(name="train", source="/opt/ml/processing/output/train"),
                ],
            ),
            f"outputs {PREP} use the name 'report' more than once",
            id="duplicate-output-names",
        ),
        pytest.param(
            lambda: with_step(
                "Prep",
                outputs=[
                    ProcessingOutput(name="train", source="/opt/ml/processing/output/train"),
                    ProcessingOutput(
                        name="report", source="/opt/ml/processing/output/r", destination="r"
                    ),
                ],
            ),
            f"outputs[1].destination 'r' {PREP} is not an S3 URI such as 's3://bucket/prefix'",
            id="output-destination",
        ),
        pytest.param(
            lambda: with_step(
                "Prep",
                property_files=[PropertyFile(name="Report", output_name="eval", path="r.json")],
            ),
            f"property_files[0].output_name {PREP} names unknown output 'eval'; outputs are "
            "'train', 'report'",
            id="property-file-output",
        ),
        pytest.param(
            lambda: with_step(
                "Prep",
                property_files=[PropertyFile(name="Report", output_name="report", path="/r.json")],
            ),
            f"property_files[0].path '/r.json' {PREP} must be a file path relative to the output",
            id="property-file-path",
        ),
    ],
)
def test_processing_step_rules(steps, expected):
    assert problems_of(steps=steps()) == [expected]


# --- Training and tuning steps ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"algorithm_name": "arn:aws:sagemaker:us-east-1:123456789012:algorithm/a"},
            "step 'Train' must set exactly one of image_uri and algorithm_name",
            id="image-and-algorithm",
        ),
        pytest.param(
            {"image_uri": None},
            "step 'Train' must set exactly one of image_uri and algorithm_name",
            id="neither-image-nor-algorithm",
        ),
        pytest.param(
            {"use_spot_instances": True},
            f"use_spot_instances {TRAIN} requires max_wait_seconds",
            id="spot-without-max-wait",
        ),
        pytest.param(
            {"max_wait_seconds": 3600},
            f"max_wait_seconds {TRAIN} applies only with use_spot_instances=True",
            id="max-wait-without-spot",
        ),
        pytest.param(
            {"use_spot_instances": True, "max_wait_seconds": 600, "max_runtime_seconds": 3600},
            f"max_wait_seconds 600 {TRAIN} is less than max_runtime_seconds 3600",
            id="max-wait-below-runtime",
        ),
        pytest.param(
            {"output_path": "https://bucket/models"},
            f"output_path 'https://bucket/models' {TRAIN} is not an S3 URI such as "
            "'s3://bucket/prefix'",
            id="output-path",
        ),
        pytest.param(
            {
                "channels": [
                    TrainingChannel(name="train", source="s3://bucket/a"),
                    TrainingChannel(name="train", source="s3://bucket/b"),
                ]
            },
            f"channels {TRAIN} use the name 'train' more than once",
            id="duplicate-channels",
        ),
    ],
)
def test_training_step_rules(changes, expected):
    assert problems_of(steps=with_step("Train", **changes)) == [expected]


def test_metric_definitions_must_be_unique_regular_expressions():
    metrics = [
        MetricDefinition(name="loss", regex="loss=([0-9.]+)"),
        MetricDefinition(name="loss", regex="loss=([0-9.]+"),
    ]

    assert problems_of(steps=with_step("Train", metric_definitions=metrics)) == [
        f"metric_definitions {TRAIN} use the name 'loss' more than once",
        f"metric_definitions[1].regex 'loss=([0-9.]+' {TRAIN} is not a regular expression: "
        "missing ), unterminated subpattern at position 5",
    ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"parameter_ranges": []},
            f"parameter_ranges {TUNE} is empty; tune at least one hyperparameter",
            id="no-ranges",
        ),
        pytest.param(
            {"parameter_ranges": [IntegerRange(name="depth", min_value=8, max_value=8)]},
            f"parameter_ranges[0] 'depth' {TUNE} has min_value 8 not below max_value 8",
            id="empty-range",
        ),
        pytest.param(
            {
                "parameter_ranges": [
                    ContinuousRange(
                        name="eta", min_value=0, max_value=1, scaling=ScalingType.LOGARITHMIC
                    )
                ]
            },
            f"parameter_ranges[0] 'eta' {TUNE} uses Logarithmic scaling, which needs min_value "
            "above 0, got 0",
            id="logarithmic-from-zero",
        ),
        pytest.param(
            {"hyperparameters": {"max_depth": "5"}},
            f"parameter_ranges[1] 'max_depth' {TUNE} is also a static hyperparameter",
            id="static-and-tuned",
        ),
        pytest.param(
            {"parameter_ranges": [CategoricalRange(name="booster", values=[])]},
            f"parameter_ranges[0] 'booster' {TUNE} has no values",
            id="categorical-without-values",
        ),
        pytest.param(
            {
                "parameter_ranges": [
                    CategoricalRange(name="booster", values=["gbtree"]),
                    CategoricalRange(name="booster", values=["dart"]),
                ]
            },
            f"parameter_ranges {TUNE} use the name 'booster' more than once",
            id="duplicate-ranges",
        ),
        pytest.param(
            {"strategy": TuningStrategy.GRID},
            f"parameter_ranges[0] 'eta' {TUNE} is a continuous range; grid search takes "
            "categorical ranges only",
            id="grid-with-numeric-ranges",
        ),
        pytest.param(
            {"max_jobs": 2, "max_parallel_jobs": 3},
            f"max_parallel_jobs 3 {TUNE} exceeds max_jobs 2",
            id="more-parallel-than-total",
        ),
        pytest.param(
            {"objective_metric": ""},
            f"objective_metric {TUNE} is empty",
            id="objective",
        ),
    ],
)
def test_tuning_step_rules(changes, expected):
    problems = problems_of(steps=with_step("Tune", **changes))

    assert problems[0] == expected
    if changes.get("strategy") is not TuningStrategy.GRID:
        assert problems == [expected]


def test_grid_search_reports_every_numeric_range():
    problems = problems_of(steps=with_step("Tune", strategy=TuningStrategy.GRID))

    assert problems == [
        f"parameter_ranges[0] 'eta' {TUNE} is a continuous range; grid search takes "
        "categorical ranges only",
        f"parameter_ranges[1] 'max_depth' {TUNE} is a integer range; grid search takes "
        "categorical ranges only",
    ]


# --- Model steps ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"model_package_group_name": "my_group"},
            "model_package_group_name 'my_group' of step 'Register' is invalid; use 1-63 "
            "letters, digits and hyphens, starting and ending with a letter or digit",
            id="group-name",
        ),
        pytest.param(
            {"content_types": []},
            "content_types of step 'Register' is empty; list the MIME types the model accepts",
            id="content-types",
        ),
        pytest.param(
            {"response_types": []},
            "response_types of step 'Register' is empty; list the MIME types the model returns",
            id="response-types",
        ),
        pytest.param(
            {"metrics_report": StepOutput("Prep", "report")},
            "metrics_report of step 'Register' must name a file: set the path of its StepOutput",
            id="metrics-report-file",
        ),
        pytest.param(
            {"approval_status": ParameterRef("Threshold")},
            "approval_status of step 'Register' refers to parameter 'Threshold' of type Float; "
            "expected String",
            id="approval-parameter-type",
        ),
    ],
)
def test_register_model_step_rules(changes, expected):
    assert problems_of(steps=with_step("Register", **changes)) == [expected]


def test_an_approval_status_parameter_default_must_be_a_status():
    parameters = _parameters_replacing("Approval", Parameter.string("Approval", "Pending"))

    assert problems_of(parameters=parameters) == [
        "approval_status of step 'Register' refers to parameter 'Approval' whose default "
        "'Pending' is not one of PendingManualApproval, Approved, Rejected"
    ]


@pytest.mark.parametrize("endpoint_name", ["reviews_prod", "-reviews", "r" * 64])
def test_endpoint_names_must_be_valid(endpoint_name):
    steps = with_step("Endpoint", endpoint_name=endpoint_name)

    assert problems_of(steps=steps) == [
        f"endpoint_name '{endpoint_name}' of step 'Endpoint' is invalid; use 1-63 letters, "
        "digits and hyphens, starting and ending with a letter or digit"
    ]


def test_transform_input_must_be_an_s3_location():
    steps = with_step("Transform", input_data="/local/batch")

    assert problems_of(steps=steps) == [
        "input_data '/local/batch' of step 'Transform' is not an S3 URI such as "
        "'s3://bucket/prefix'"
    ]


# --- Reporting ---------------------------------------------------------------------------------


def test_every_problem_is_reported_at_once_in_pipeline_order():
    steps = [
        dataclasses.replace(step, **changes) if changes else step
        for step, changes in zip(
            valid_steps(),
            [
                {"instance_type": "m5.xlarge", "volume_size_gb": 0},  # Prep
                {"depends_on": ["Nope"]},  # Train
                {},
                {"if_steps": ["Register", "CreateModel", "Ghost"]},  # Gate
                {},
                {},
                {},
                {"endpoint_name": "bad_name"},  # Endpoint
                {},
                {},  # Review
            ],
            strict=True,
        )
    ]
    parameters = [*valid_parameters(), Parameter.boolean("Flag", "yes")]

    with pytest.raises(SpecValidationError) as raised:
        Pipeline(name="bad name", steps=steps, parameters=parameters)

    expected = [
        f"pipeline name 'bad name' is invalid; {STEP_NAME_RULE}",
        "default 'yes' of parameter 'Flag' is not of type Boolean",
        "instance_type 'm5.xlarge' of step 'Prep' is not a SageMaker instance type; "
        "expected e.g. 'ml.m5.xlarge'",
        "volume_size_gb of step 'Prep' must be at least 1, got 0",
        "depends_on of step 'Train' names unknown step 'Nope'",
        "if_steps of step 'Gate' names unknown step 'Ghost'",
        "endpoint_name 'bad_name' of step 'Endpoint' is invalid; use 1-63 letters, digits and "
        "hyphens, starting and ending with a letter or digit",
    ]
    assert raised.value.problems == expected
    assert str(raised.value) == "\n".join(expected)
    assert isinstance(raised.value, ValueError)


def test_a_valid_pipeline_has_no_problems():
    assert pipeline_problems(valid_pipeline()) == []


def test_an_endpoint_name_may_be_a_string_parameter():
    steps = [
        *valid_steps()[:7],
        EndpointStep(
            name="Endpoint",
            model=ModelName("CreateModel"),
            instance_type="ml.g5.xlarge",
            endpoint_name=ParameterRef("EndpointName"),
        ),
        valid_steps()[8],
    ]
    parameters = _parameters_with(Parameter.string("EndpointName", "bad_default"))

    assert problems_of(steps=steps, parameters=parameters) == [
        "endpoint_name 'bad_default' of step 'Endpoint' is invalid; use 1-63 letters, digits "
        "and hyphens, starting and ending with a letter or digit"
    ]


# --- SageMaker list limits --------------------------------------------------------------------


def _inputs(count: int) -> list[ProcessingInput]:
    return [
        ProcessingInput(
            name=f"in{index}",
            source=f"s3://bucket/in{index}",
            destination=f"/opt/ml/processing/input/in{index}",
        )
        for index in range(count)
    ]


def _outputs(count: int) -> list[ProcessingOutput]:
    # The valid pipeline's property file and references read outputs 'train' and 'report'.
    extra = [
        ProcessingOutput(name=f"out{index}", source=f"/opt/ml/processing/output/out{index}")
        for index in range(count - 2)
    ]
    return [
        ProcessingOutput(name="train", source="/opt/ml/processing/output/train"),
        ProcessingOutput(name="report", source="/opt/ml/processing/output/report"),
        *extra,
    ]


def _channels(count: int) -> list[TrainingChannel]:
    return [TrainingChannel(name=f"c{index}", source="s3://bucket/c") for index in range(count)]


def test_a_processing_step_may_have_nine_inputs_besides_its_code():
    assert (
        pipeline_problems(
            Pipeline(
                name="p", steps=with_step("Prep", inputs=_inputs(9)), parameters=valid_parameters()
            )
        )
        == []
    )
    assert problems_of(steps=with_step("Prep", inputs=_inputs(10))) == [
        f"inputs {PREP} has 10 entries; at most 9 are allowed "
        "(SageMaker takes 10 processing inputs, one is the step's code)"
    ]


def test_a_processing_step_may_have_ten_outputs():
    assert (
        pipeline_problems(
            Pipeline(
                name="p",
                steps=with_step("Prep", outputs=_outputs(10)),
                parameters=valid_parameters(),
            )
        )
        == []
    )
    assert problems_of(steps=with_step("Prep", outputs=_outputs(11))) == [
        f"outputs {PREP} has 11 entries; at most 10 are allowed"
    ]


@pytest.mark.parametrize("step_name", ["Train", "Tune"])
def test_a_training_job_may_have_twenty_channels(step_name):
    where = f"of step '{step_name}'"
    valid = Pipeline(
        name="p", steps=with_step(step_name, channels=_channels(20)), parameters=valid_parameters()
    )

    assert pipeline_problems(valid) == []
    assert problems_of(steps=with_step(step_name, channels=_channels(21))) == [
        f"channels {where} has 21 entries; at most 20 are allowed"
    ]


def test_metric_definitions_need_a_name_and_a_regex_within_sagemakers_limits() -> None:
    steps = with_step(
        "Train",
        metric_definitions=(MetricDefinition(name="", regex=""),),
    )
    problems = problems_of(steps=steps)
    assert any("metric_definitions[0].name '' " in p and "1 to 255" in p for p in problems)
    assert any("metric_definitions[0].regex" in p and "1 to 500" in p for p in problems)


def test_a_field_given_a_reference_of_the_wrong_kind_names_the_step_field_and_what_fits() -> None:
    steps = [
        dataclasses.replace(step, model=ModelArtifacts("Train"))
        if isinstance(step, EndpointStep)
        else step
        for step in valid_steps()
    ]
    (problem,) = [p for p in problems_of(steps=steps) if "does not take" in p]
    assert problem.startswith("model of step 'Endpoint' is ModelArtifacts(step='Train')")
    assert problem.endswith("expected the model a create_model step creates (ModelName)")


def test_a_reference_where_only_a_constant_fits_is_refused() -> None:
    steps = with_step("Prep", image_uri=ParameterRef("InstanceType"))
    assert any(
        p.startswith("image_uri of step 'Prep' is ParameterRef(") and p.endswith("a constant")
        for p in problems_of(steps=steps)
    )
