"""Hypothesis strategies that build random valid pipelines.

Steps are drawn in order and refer only to steps drawn before them, and condition branches
name only steps drawn after their condition, so every pipeline is acyclic by construction.
"""

from __future__ import annotations

from hypothesis import strategies as st

from mlpipes_constructs.spec import (
    INSTANCE_TYPES,
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
    ParameterType,
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

INPUT_PARAMETER = Parameter.string("InputUri", "s3://bucket/input")

step_names = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,8}(-{1,2}[A-Za-z0-9]{1,4})?", fullmatch=True)
parameter_names = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,10}", fullmatch=True)
local_names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,10}", fullmatch=True)
texts = st.text(max_size=12)
optional_texts = st.none() | texts
finite_floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
instance_types = st.sampled_from(sorted(INSTANCE_TYPES))
positive = st.integers(min_value=1, max_value=10_000)
s3_uris = st.from_regex(
    r"s3://[a-z0-9][a-z0-9-]{2,10}[a-z0-9](/[A-Za-z0-9_.-]{1,8}){0,3}", fullmatch=True
)
container_paths = st.from_regex(
    r"/opt/ml/processing/[a-z]{1,6}(/[a-z0-9]{1,6}){0,2}", fullmatch=True
)
json_paths = st.from_regex(r"[a-z_]{1,6}(\[[0-9]\])?(\.[a-z_]{1,6}){0,3}", fullmatch=True)


def _parameter(name: str, parameter_type: ParameterType) -> st.SearchStrategy[Parameter]:
    defaults = {
        ParameterType.STRING: texts,
        ParameterType.INTEGER: st.integers(),
        ParameterType.FLOAT: finite_floats | st.integers(),
        ParameterType.BOOLEAN: st.booleans(),
    }[parameter_type]
    return st.builds(
        Parameter,
        name=st.just(name),
        type=st.just(parameter_type),
        default=defaults,
        description=optional_texts,
    )


@st.composite
def parameter_lists(draw: st.DrawFn) -> list[Parameter]:
    names = draw(st.lists(parameter_names, max_size=4, unique=True))
    parameters = [
        draw(_parameter(name, draw(st.sampled_from(ParameterType))))
        for name in names
        if name != INPUT_PARAMETER.name
    ]
    return [INPUT_PARAMETER, *parameters]


class _Drawn:
    """What later steps may refer to, by kind of earlier step."""

    def __init__(self, parameters: list[Parameter]) -> None:
        self.parameters = parameters
        self.step_names: list[str] = []
        self.outputs: list[StepOutput] = []
        self.property_files: list[tuple[str, str]] = []
        self.models: list[ModelArtifacts] = []
        self.metrics: list[TrainingMetric] = []
        self.created_models: list[ModelName] = []


def _one_of_or_nothing(items: list) -> st.SearchStrategy:
    return st.sampled_from(items) if items else st.nothing()


def _parameter_refs(drawn: _Drawn) -> st.SearchStrategy[ParameterRef]:
    return st.sampled_from([ParameterRef(p.name) for p in drawn.parameters])


def _sources(drawn: _Drawn) -> st.SearchStrategy:
    return (
        s3_uris
        | st.just(ParameterRef(INPUT_PARAMETER.name))
        | _one_of_or_nothing(drawn.outputs)
        | _one_of_or_nothing(drawn.models)
    )


def _scalars(drawn: _Drawn) -> st.SearchStrategy:
    return texts | st.integers() | finite_floats | st.booleans() | _parameter_refs(drawn)


def _arguments(drawn: _Drawn) -> st.SearchStrategy:
    return texts | st.integers() | finite_floats | _parameter_refs(drawn)


def _common(draw: st.DrawFn, name: str, drawn: _Drawn) -> dict:
    return {
        "name": name,
        "display_name": draw(optional_texts),
        "description": draw(optional_texts),
        "depends_on": tuple(
            draw(st.lists(_one_of_or_nothing(drawn.step_names), max_size=2, unique=True))
            if drawn.step_names
            else ()
        ),
    }


def _processing(draw: st.DrawFn, name: str, drawn: _Drawn) -> ProcessingStep:
    output_names = draw(st.lists(local_names, max_size=3, unique=True))
    input_names = draw(st.lists(local_names.filter(lambda n: n != "code"), max_size=3, unique=True))
    file_names = (
        draw(st.lists(local_names, min_size=1, max_size=2, unique=True)) if output_names else []
    )
    step = ProcessingStep(
        **_common(draw, name, drawn),
        image_uri=draw(texts),
        code=draw(st.sampled_from(["scripts", "/abs/code", "jobs/prep"])),
        entry_point=draw(st.sampled_from(["main.py", "src/run.py"])),
        instance_type=draw(instance_types),
        instance_count=draw(positive),
        volume_size_gb=draw(positive),
        arguments=tuple(draw(st.lists(_arguments(drawn), max_size=3))),
        inputs=tuple(
            ProcessingInput(name=n, source=draw(_sources(drawn)), destination=draw(container_paths))
            for n in input_names
        ),
        outputs=tuple(
            ProcessingOutput(
                name=n, source=draw(container_paths), destination=draw(st.none() | s3_uris)
            )
            for n in output_names
        ),
        property_files=tuple(
            PropertyFile(name=n, output_name=draw(st.sampled_from(output_names)), path="r.json")
            for n in file_names
        ),
        environment=draw(st.dictionaries(parameter_names, texts, max_size=2)),
        max_runtime_seconds=draw(st.none() | positive),
    )
    drawn.outputs.extend(
        StepOutput(name, n, draw(st.sampled_from(["", "a.json"]))) for n in output_names
    )
    drawn.property_files.extend((name, n) for n in file_names)
    return step


def _training_settings(draw: st.DrawFn, drawn: _Drawn) -> dict:
    spot = draw(st.booleans())
    runtime = draw(st.none() | positive)
    return {
        "image_uri": draw(texts),
        "instance_type": draw(instance_types),
        "instance_count": draw(positive),
        "volume_size_gb": draw(positive),
        "hyperparameters": draw(st.dictionaries(local_names, _scalars(drawn), max_size=3)),
        "channels": tuple(
            TrainingChannel(name=n, source=draw(_sources(drawn)), content_type=draw(optional_texts))
            for n in draw(st.lists(local_names, max_size=2, unique=True))
        ),
        "output_path": draw(st.none() | s3_uris | st.just(ParameterRef(INPUT_PARAMETER.name))),
        "metric_definitions": tuple(
            MetricDefinition(name=n, regex=r"value=([0-9.]+)")
            for n in draw(st.lists(st.text(min_size=1, max_size=12), max_size=2, unique=True))
        ),
        "use_spot_instances": spot,
        "max_wait_seconds": (runtime or 1) + draw(st.integers(0, 100)) if spot else None,
        "max_runtime_seconds": runtime,
    }


def _training(draw: st.DrawFn, name: str, drawn: _Drawn) -> TrainingStep:
    step = TrainingStep(**_common(draw, name, drawn), **_training_settings(draw, drawn))
    drawn.models.append(ModelArtifacts(name))
    drawn.metrics.extend(TrainingMetric(name, m.name) for m in step.metric_definitions)
    return step


def _range(draw: st.DrawFn, name: str, grid: bool) -> object:
    kind = (
        "categorical" if grid else draw(st.sampled_from(["continuous", "integer", "categorical"]))
    )
    if kind == "categorical":
        return CategoricalRange(
            name=name, values=tuple(draw(st.lists(texts, min_size=1, max_size=3)))
        )
    low = draw(st.integers(-1000, 1000)) if kind == "integer" else draw(st.floats(-1e6, 1e6))
    high = low + draw(st.integers(1, 1000) if kind == "integer" else st.floats(1e-3, 1e6))
    scalings = [ScalingType.AUTO, ScalingType.LINEAR]
    if low > 0:
        scalings += [ScalingType.LOGARITHMIC, ScalingType.REVERSE_LOGARITHMIC]
    cls = IntegerRange if kind == "integer" else ContinuousRange
    return cls(name=name, min_value=low, max_value=high, scaling=draw(st.sampled_from(scalings)))


def _tuning(draw: st.DrawFn, name: str, drawn: _Drawn) -> TuningStep:
    settings = _training_settings(draw, drawn)
    strategy = draw(st.sampled_from(TuningStrategy))
    range_names = draw(
        st.lists(
            local_names.filter(lambda n: n not in settings["hyperparameters"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    max_jobs = draw(positive)
    step = TuningStep(
        **_common(draw, name, drawn),
        **settings,
        parameter_ranges=tuple(
            _range(draw, n, strategy is TuningStrategy.GRID) for n in range_names
        ),
        objective_metric=draw(texts.filter(bool)),
        objective_type=draw(st.sampled_from(ObjectiveType)),
        strategy=strategy,
        max_jobs=max_jobs,
        max_parallel_jobs=draw(st.integers(1, max_jobs)),
    )
    drawn.models.append(ModelArtifacts(name))
    return step


def _step_values(drawn: _Drawn) -> st.SearchStrategy:
    """Values read from earlier steps: property file values and training metrics."""
    json_values = (
        st.builds(JsonValue, st.just(step), st.just(file), json_paths)
        for step, file in drawn.property_files
    )
    return st.one_of(_one_of_or_nothing(drawn.metrics), *json_values)


def _operands(drawn: _Drawn) -> st.SearchStrategy:
    return st.one_of(_scalars(drawn), _step_values(drawn))


def _conditions(drawn: _Drawn) -> st.SearchStrategy:
    # The left side is a value read from a step whenever there is one, as in real gates.
    left = _step_values(drawn) if drawn.metrics or drawn.property_files else _operands(drawn)
    comparisons = st.builds(Comparison, left, st.sampled_from(ComparisonOperator), _operands(drawn))
    return st.recursive(
        comparisons,
        lambda children: (
            st.builds(Not, children)
            | st.builds(And, st.lists(children, min_size=1, max_size=2).map(tuple))
            | st.builds(Or, st.lists(children, min_size=1, max_size=2).map(tuple))
        ),
        max_leaves=4,
    )


def _condition(draw: st.DrawFn, name: str, drawn: _Drawn) -> ConditionStep:
    return ConditionStep(**_common(draw, name, drawn), condition=draw(_conditions(drawn)))


def _register(draw: st.DrawFn, name: str, drawn: _Drawn) -> RegisterModelStep:
    report = draw(st.none() | _one_of_or_nothing([o for o in drawn.outputs if o.path]))
    return RegisterModelStep(
        **_common(draw, name, drawn),
        model=draw(st.sampled_from(drawn.models)),
        model_package_group_name=draw(step_names),
        image_uri=draw(texts),
        content_types=tuple(draw(st.lists(texts, min_size=1, max_size=2))),
        response_types=tuple(draw(st.lists(texts, min_size=1, max_size=2))),
        inference_instance_types=tuple(draw(st.lists(instance_types, max_size=2))),
        transform_instance_types=tuple(draw(st.lists(instance_types, max_size=2))),
        approval_status=draw(st.sampled_from(ApprovalStatus)),
        metrics_report=report,
    )


def _create_model(draw: st.DrawFn, name: str, drawn: _Drawn) -> CreateModelStep:
    step = CreateModelStep(
        **_common(draw, name, drawn),
        model=draw(st.sampled_from(drawn.models)),
        image_uri=draw(texts),
        instance_type=draw(st.none() | instance_types),
        environment=draw(st.dictionaries(parameter_names, texts, max_size=2)),
    )
    drawn.created_models.append(ModelName(name))
    return step


def _transform(draw: st.DrawFn, name: str, drawn: _Drawn) -> TransformStep:
    return TransformStep(
        **_common(draw, name, drawn),
        model=draw(st.sampled_from(drawn.created_models)),
        input_data=draw(_sources(drawn)),
        instance_type=draw(instance_types),
        instance_count=draw(positive),
        content_type=draw(optional_texts),
        split_type=draw(st.sampled_from(SplitType)),
        output_path=draw(st.none() | s3_uris),
    )


def _endpoint(draw: st.DrawFn, name: str, drawn: _Drawn) -> EndpointStep:
    return EndpointStep(
        **_common(draw, name, drawn),
        model=draw(st.sampled_from(drawn.created_models)),
        instance_type=draw(instance_types),
        initial_instance_count=draw(positive),
        endpoint_name=draw(st.none() | step_names),
    )


def _fail(draw: st.DrawFn, name: str, drawn: _Drawn) -> FailStep:
    message = texts | st.builds(
        Join, st.lists(_scalars(drawn) | _operands(drawn), max_size=3).map(tuple), texts
    )
    return FailStep(**_common(draw, name, drawn), error_message=draw(message))


def _kinds(drawn: _Drawn) -> list:
    kinds = [_processing, _training, _tuning, _condition, _fail]
    if drawn.models:
        kinds += [_register, _create_model]
    if drawn.created_models:
        kinds += [_transform, _endpoint]
    return kinds


def _assign_branches(draw: st.DrawFn, steps: list[Step]) -> list[Step]:
    placed: set[str] = set()
    result = list(steps)
    for index, step in enumerate(steps):
        if not isinstance(step, ConditionStep):
            continue
        branches = []
        for _ in range(2):
            later = [s.name for s in steps[index + 1 :] if s.name not in placed]
            chosen = (
                draw(st.lists(st.sampled_from(later), max_size=2, unique=True)) if later else []
            )
            placed.update(chosen)
            branches.append(tuple(chosen))
        result[index] = ConditionStep(
            name=step.name,
            display_name=step.display_name,
            description=step.description,
            depends_on=step.depends_on,
            condition=step.condition,
            if_steps=branches[0],
            else_steps=branches[1],
        )
    return result


@st.composite
def pipelines(draw: st.DrawFn, max_steps: int = 6) -> Pipeline:
    """A random valid pipeline."""
    parameters = draw(parameter_lists())
    names = draw(st.lists(step_names, min_size=1, max_size=max_steps, unique_by=str.lower))
    drawn = _Drawn(parameters)
    steps: list[Step] = []
    for name in names:
        make = draw(st.sampled_from(_kinds(drawn)))
        steps.append(make(draw, name, drawn))
        drawn.step_names.append(name)
    return Pipeline(
        name=draw(step_names),
        steps=tuple(_assign_branches(draw, steps)),
        parameters=tuple(parameters),
        description=draw(optional_texts),
        base_directory=draw(st.none() | st.sampled_from(["/srv/pipelines", "relative/dir"])),
    )
