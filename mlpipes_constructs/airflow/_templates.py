"""Spec values as Airflow Jinja templates: the :class:`~mlpipes_constructs.compile.ValueRenderer`
of the DAG compiler.

A run-time value is a :class:`Template`: literal text and Jinja expressions. In a request it
becomes one templated string (``"s3://bucket/p/{{ mlpipes_run_token(run_id) }}/Train"``), which
the operators render just before they call SageMaker; where a value is an argument of a macro it
becomes one Jinja expression (``'s3://bucket/p/' ~ mlpipes_run_token(run_id)``).

The macros (``mlpipes_run_token``, ``mlpipes_json_value``) are defined by the DAG factory, which
registers them as the DAG's ``user_defined_macros``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlpipes_constructs.compile.locations import MODEL_ARCHIVE_KEY, job_output_keys
from mlpipes_constructs.compile.naming import MAX_NAME_LENGTH, MAX_TUNING_JOB_NAME_LENGTH
from mlpipes_constructs.compile.naming import slug as name_slug
from mlpipes_constructs.spec import (
    ApprovalStatus,
    Join,
    JsonValue,
    ModelArtifacts,
    ModelName,
    ParameterRef,
    Pipeline,
    ProcessingStep,
    ReviewOutcome,
    StepOutput,
    TrainingStep,
    TuningStep,
)

#: Length of the run token: the first hex digits of the SHA-256 of the DAG run's ``run_id``.
RUN_TOKEN_LENGTH = 20
#: The Jinja expression of the run token (a macro the DAG factory defines).
RUN_TOKEN = "mlpipes_run_token(run_id)"
#: The DAG factory's macro that reads a property file's value from S3.
JSON_VALUE_MACRO = "mlpipes_json_value"


@dataclass(frozen=True)
class Expr:
    """A Jinja expression, e.g. ``params.InstanceType``."""

    code: str


@dataclass(frozen=True)
class Template:
    """Text known only when a task runs: literal parts and Jinja expressions."""

    parts: tuple[str | Expr, ...]

    def __add__(self, other: object) -> Template:
        return Template((*self.parts, *_parts(other)))

    def __radd__(self, other: object) -> Template:
        return Template((*_parts(other), *self.parts))

    def template(self) -> str:
        """The templated string an operator renders."""
        return "".join(
            _literal(p) if isinstance(p, str) else f"{{{{ {p.code} }}}}" for p in self.parts
        )

    def expression(self) -> str:
        """The same text as one Jinja expression."""
        if not self.parts:
            return "''"
        return " ~ ".join(repr(p) if isinstance(p, str) else f"({p.code})" for p in self.parts)


def _parts(value: object) -> tuple[str | Expr, ...]:
    if isinstance(value, Template):
        return value.parts
    if isinstance(value, Expr):
        return (value,)
    return (text_of(value),)


def text_of(value: object) -> str:
    """A constant as the API wants it in a string field."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _literal(text: str) -> str:
    # Literal text that Jinja would read as markup is written as a string expression.
    if any(marker in text for marker in ("{{", "{%", "{#")):
        return f"{{{{ {text!r} }}}}"
    return text


def templated(value: Any) -> Any:
    """A request with every :class:`Template` as its templated string (plain JSON)."""
    if isinstance(value, Template):
        return value.template()
    if isinstance(value, dict):
        return {key: templated(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [templated(item) for item in value]
    if isinstance(value, str):
        return _literal(value)
    return value


def jinja_literal(value: Any) -> str:
    """``value`` as one Jinja expression: dicts, lists and constants as literals, a
    :class:`Template` of one expression as that expression (its value keeps its type), any
    other :class:`Template` as text."""
    if isinstance(value, Template):
        if len(value.parts) == 1 and isinstance(value.parts[0], Expr):
            return value.parts[0].code
        return value.expression()
    if isinstance(value, Mapping):
        items = ", ".join(f"{str(key)!r}: {jinja_literal(item)}" for key, item in value.items())
        return "{" + items + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(jinja_literal(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, int | float | str):
        return repr(value)
    raise TypeError(f"cannot write {value!r} as a Jinja literal")


def xcom(task_id: str, *keys: str) -> Expr:
    """The value at ``keys`` of what task ``task_id`` returned."""
    return Expr(f"ti.xcom_pull(task_ids={task_id!r})" + "".join(f"[{key!r}]" for key in keys))


def step_slug(prefix: str, step_name: str, limit: int = MAX_NAME_LENGTH) -> str:
    """The fixed start of a step's SageMaker names, leaving room for ``-<run token>``."""
    return name_slug(prefix, step_name, limit - RUN_TOKEN_LENGTH - 1)


def step_slugs(pipeline: Pipeline, prefix: str) -> dict[str, str]:
    """Each step's slug (tuning jobs' names are limited to 32 characters)."""
    return {
        step.name: step_slug(
            prefix,
            step.name,
            MAX_TUNING_JOB_NAME_LENGTH if isinstance(step, TuningStep) else MAX_NAME_LENGTH,
        )
        for step in pipeline.steps
    }


@dataclass(frozen=True)
class AirflowRenderer:
    """Writes spec values as Airflow templates.

    Attributes:
        pipeline: the pipeline being compiled.
        run_root: ``s3://<bucket>/<prefix>``: each run's folder is this plus its run token.
        slugs: each named step's slug; its SageMaker names are ``<slug>-<run token>``.
        code_locations: the S3 URI of each processing code directory's zip, by ``code`` value.
        run_token: the Jinja expression of the run token. Default: :data:`RUN_TOKEN`, the DAG
            factory's macro; a workflow that runs no custom Python (MWAA Serverless) gives an
            expression of Airflow's built-in macros.
    """

    pipeline: Pipeline
    run_root: str
    slugs: Mapping[str, str]
    code_locations: Mapping[str, str]
    run_token: str = RUN_TOKEN

    def value(self, value: object) -> Any:
        """A constant as it is; a reference or a ``Join`` as a :class:`Template`."""
        if isinstance(value, ParameterRef):
            return Template((Expr(f"params.{value.name}"),))
        if isinstance(value, StepOutput):
            location = self.output_location(value.step, value.output)
            return location + f"/{value.path}" if value.path else location
        if isinstance(value, ModelArtifacts):
            return self.model_artifacts(value.step)
        if isinstance(value, ModelName):
            return self.resource_name(value.step)
        if isinstance(value, JsonValue):
            return Template((Expr(self.json_value(value)),))
        if isinstance(value, Join):
            parts: list[str | Expr] = []
            for index, item in enumerate(value.values):
                if index and value.separator:
                    parts.append(value.separator)
                parts.extend(_parts(self.value(item)))
            return Template(tuple(parts))
        if isinstance(value, ReviewOutcome):
            # What the review task returned: "Approved" or "Rejected".
            return Template((xcom(value.step),))
        if isinstance(value, ApprovalStatus):
            return value.value
        if value is None or isinstance(value, str | int | float | bool):
            return value
        raise TypeError(f"cannot use {value!r} in a DAG")

    def text(self, value: object) -> Any:
        """``value`` where the API takes only strings."""
        resolved = self.value(value)
        return resolved if isinstance(resolved, Template) else text_of(resolved)

    def location(self, destination: object | None, *default_keys: str) -> Any:
        """``destination``, or ``<run root><run token>/<keys>``."""
        if destination is not None:
            return self.value(destination)
        return Template(
            (self.run_root, Expr(self.run_token), "".join(f"/{k}" for k in default_keys))
        )

    def code_location(self, step: ProcessingStep) -> Any:
        """The S3 URI of the step's code zip."""
        return self.code_locations[step.code]

    def resource_name(self, step_name: str) -> Template:
        """``<slug>-<run token>``: the name of a step's job, model or endpoint config."""
        return Template((f"{self.slugs[step_name]}-", Expr(self.run_token)))

    def output_location(self, step_name: str, output_name: str) -> Any:
        """Where a processing step's output goes (the compile core's layout by default)."""
        step = self.pipeline.step(step_name)
        assert isinstance(step, ProcessingStep)
        output = next(o for o in step.outputs if o.name == output_name)
        return self.location(output.destination, step_name, "output", output_name)

    def model_artifacts(self, step_name: str) -> Template:
        """The model a training step wrote, or a tuning step's best training job's.

        Read from what the step's operator returned (its Describe response), so a job that the
        operator renamed to avoid a collision is still found.
        """
        step = self.pipeline.step(step_name)
        if isinstance(step, TrainingStep):
            return Template((xcom(step_name, "Training", "ModelArtifacts", "S3ModelArtifacts"),))
        assert isinstance(step, TuningStep)
        path = self.location(step.output_path, *job_output_keys(step_name))
        if isinstance(path, str):
            path = path.rstrip("/")
        best = xcom(step_name, "Tuning", "BestTrainingJob", "TrainingJobName")
        return Template((*_parts(path), "/", best, f"/{MODEL_ARCHIVE_KEY}"))

    def json_value(self, ref: JsonValue) -> str:
        """The Jinja expression that reads a property file's value from S3."""
        uri = self.property_file_uri(ref).expression()
        return f"{JSON_VALUE_MACRO}({uri}, {ref.json_path!r})"

    def property_file_uri(self, ref: JsonValue) -> Template:
        """The S3 URI of the property file ``ref`` reads."""
        step = self.pipeline.step(ref.step)
        assert isinstance(step, ProcessingStep)
        property_file = next(p for p in step.property_files if p.name == ref.property_file)
        location = self.output_location(ref.step, property_file.output_name)
        if isinstance(location, str):
            location = location.rstrip("/")
        return Template((*_parts(location), f"/{property_file.path}"))
