"""Spec values as the templates the KFP step component fills in: the
:class:`~mlpipes_constructs.compile.ValueRenderer` of the KFP compiler.

A run-time value is a :class:`Template`: literal text and :class:`Placeholder`\\ s. In a request
it becomes one string with ``{{...}}`` markers, which the step component
(:mod:`._components`) fills in just before it calls SageMaker:

* ``{{run_token}}``: the first 20 hex digits of the SHA-256 of the KFP run id;
* ``{{param:<name>}}``: the value of a pipeline parameter (a task input). A string that is
  exactly one parameter marker becomes the parameter's typed value (an integer instance count
  stays an integer);
* ``{{ref:<n>}}``: lookup ``n`` of the step: a value only SageMaker or S3 knows at run time
  (the model a training or tuning job wrote, a training metric, a property file's value);
* ``{{output:<step>}}``: what the task of an earlier step returned (a review's outcome), from
  the task input ``outputs``;
* ``{{run_id}}``: the KFP run id;
* ``{{human_loop_name}}``, ``{{task_input}}``: in a human review's request, the loop's name
  (unique to the run, the step and the pod) and its task input as JSON text;
* ``{{open}}``: literal ``{{`` in the spec's text.

Names and locations are known from the run token alone (``<slug>-{{run_token}}``,
``s3://<bucket>/<prefix>{{run_token}}/<step>/...``), so a step reads what an earlier step made
without passing data between tasks; the tasks' order comes from the spec's dependencies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlpipes_constructs.compile.naming import MAX_NAME_LENGTH
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
    TrainingMetric,
    TrainingStep,
    TuningStep,
)

#: Length of the run token: the first hex digits of the SHA-256 of the KFP run id.
RUN_TOKEN_LENGTH = 20


@dataclass(frozen=True)
class Placeholder:
    """A ``{{...}}`` marker the step component fills in."""

    key: str

    def marker(self) -> str:
        return "{{" + self.key + "}}"


RUN_TOKEN = Placeholder("run_token")
RUN_ID = Placeholder("run_id")
HUMAN_LOOP_NAME = Placeholder("human_loop_name")
TASK_INPUT = Placeholder("task_input")


@dataclass(frozen=True)
class Template:
    """Text known only when a task runs: literal parts and placeholders."""

    parts: tuple[str | Placeholder, ...]

    def __add__(self, other: object) -> Template:
        return Template((*self.parts, *_parts(other)))

    def __radd__(self, other: object) -> Template:
        return Template((*_parts(other), *self.parts))

    def template(self) -> str:
        """The string with ``{{...}}`` markers the step component fills in."""
        return "".join(
            _literal(part) if isinstance(part, str) else part.marker() for part in self.parts
        )


def _parts(value: object) -> tuple[str | Placeholder, ...]:
    if isinstance(value, Template):
        return value.parts
    if isinstance(value, Placeholder):
        return (value,)
    return (text_of(value),)


def text_of(value: object) -> str:
    """A constant as the API wants it in a string field."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _literal(text: str) -> str:
    return text.replace("{{", "{{open}}")


def templated(value: Any) -> Any:
    """A request with every :class:`Template` as its marked-up string (plain JSON)."""
    if isinstance(value, Template):
        return value.template()
    if isinstance(value, dict):
        return {key: templated(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [templated(item) for item in value]
    if isinstance(value, str):
        return _literal(value)
    return value


def step_slug(prefix: str, step_name: str, limit: int = MAX_NAME_LENGTH) -> str:
    """The fixed start of a step's SageMaker names, leaving room for ``-<run token>``."""
    return name_slug(prefix, step_name, limit - RUN_TOKEN_LENGTH - 1)


@dataclass
class KfpRenderer:
    """Writes spec values as step component templates.

    Attributes:
        pipeline: the pipeline being compiled.
        run_root: ``s3://<bucket>/<prefix>``: each run's folder is this plus its run token.
        slugs: each step's slug; its SageMaker names are ``<slug>-<run token>``.
        code_locations: the S3 URI of each processing code directory's zip, by ``code`` value.
        lookups: the lookups of the step being rendered (``{{ref:<n>}}`` is item ``n``); reset
            with :meth:`begin_step`.
        parameters: the parameters the step being rendered uses.
        outputs: the steps whose task outputs the step being rendered reads.
    """

    pipeline: Pipeline
    run_root: str
    slugs: Mapping[str, str]
    code_locations: Mapping[str, str]
    lookups: list[dict[str, Any]] = field(default_factory=list)
    parameters: set[str] = field(default_factory=set)
    outputs: set[str] = field(default_factory=set)

    def begin_step(self) -> None:
        """Start rendering another step: no lookups, parameters or outputs yet."""
        self.lookups = []
        self.parameters = set()
        self.outputs = set()

    def value(self, value: object) -> Any:
        """A constant as it is; a reference or a ``Join`` as a :class:`Template`."""
        if isinstance(value, ParameterRef):
            self.parameters.add(value.name)
            return Template((Placeholder(f"param:{value.name}"),))
        if isinstance(value, StepOutput):
            location = self.output_location(value.step, value.output)
            return location + f"/{value.path}" if value.path else location
        if isinstance(value, ModelArtifacts):
            return self.model_artifacts(value.step)
        if isinstance(value, ModelName):
            return self.resource_name(value.step)
        if isinstance(value, JsonValue):
            return self._lookup(
                {"json": {"uri": templated(self.property_file_uri(value)), "path": value.json_path}}
            )
        if isinstance(value, TrainingMetric):
            return self._lookup(
                {
                    "metric": {
                        "training_job": self.resource_name(value.step).template(),
                        "name": value.metric,
                    }
                }
            )
        if isinstance(value, Join):
            parts: list[str | Placeholder] = []
            for index, item in enumerate(value.values):
                if index and value.separator:
                    parts.append(value.separator)
                parts.extend(_parts(self.value(item)))
            return Template(tuple(parts))
        if isinstance(value, ReviewOutcome):
            self.outputs.add(value.step)
            return Template((Placeholder(f"output:{value.step}"),))
        if isinstance(value, ApprovalStatus):
            return value.value
        if value is None or isinstance(value, str | int | float | bool):
            return value
        raise TypeError(f"cannot use {value!r} in a KFP pipeline")

    def text(self, value: object) -> Any:
        """``value`` where the API takes only strings."""
        resolved = self.value(value)
        return resolved if isinstance(resolved, Template) else text_of(resolved)

    def location(self, destination: object | None, *default_keys: str) -> Any:
        """``destination``, or ``<run root><run token>/<keys>``."""
        if destination is not None:
            return self.value(destination)
        return Template((self.run_root, RUN_TOKEN, "".join(f"/{k}" for k in default_keys)))

    def code_location(self, step: ProcessingStep) -> Any:
        """The S3 URI of the step's code zip."""
        return self.code_locations[step.code]

    def resource_name(self, step_name: str) -> Template:
        """``<slug>-<run token>``: the name of a step's job, model or endpoint config."""
        return Template((f"{self.slugs[step_name]}-", RUN_TOKEN))

    def output_location(self, step_name: str, output_name: str) -> Any:
        """Where a processing step's output goes (the compile core's layout by default)."""
        step = self.pipeline.step(step_name)
        assert isinstance(step, ProcessingStep)
        output = next(o for o in step.outputs if o.name == output_name)
        return self.location(output.destination, step_name, "output", output_name)

    def model_artifacts(self, step_name: str) -> Template:
        """The model a training step wrote, or a tuning step's best training job's, as
        SageMaker describes it when the task runs."""
        step = self.pipeline.step(step_name)
        job = self.resource_name(step_name).template()
        if isinstance(step, TrainingStep):
            return self._lookup({"model_artifacts": {"training_job": job}})
        assert isinstance(step, TuningStep)
        return self._lookup({"model_artifacts": {"tuning_job": job}})

    def property_file_uri(self, ref: JsonValue) -> Template:
        """The S3 URI of the property file ``ref`` reads."""
        step = self.pipeline.step(ref.step)
        assert isinstance(step, ProcessingStep)
        property_file = next(p for p in step.property_files if p.name == ref.property_file)
        location = self.output_location(ref.step, property_file.output_name)
        if isinstance(location, str):
            location = location.rstrip("/")
        return Template((*_parts(location), f"/{property_file.path}"))

    def _lookup(self, lookup: dict[str, Any]) -> Template:
        if lookup not in self.lookups:
            self.lookups.append(lookup)
        return Template((Placeholder(f"ref:{self.lookups.index(lookup)}"),))


__all__ = [
    "HUMAN_LOOP_NAME",
    "RUN_ID",
    "RUN_TOKEN",
    "RUN_TOKEN_LENGTH",
    "TASK_INPUT",
    "KfpRenderer",
    "Placeholder",
    "Template",
    "step_slug",
    "templated",
]
