"""Spec values as ASL values, and compile-core requests as ASL ``Parameters``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlpipes_constructs.compile.locations import MODEL_ARCHIVE_KEY, job_output_keys
from mlpipes_constructs.compile.renderer import Request
from mlpipes_constructs.spec import (
    ApprovalStatus,
    Join,
    JsonValue,
    ModelArtifacts,
    ModelName,
    Operand,
    ParameterRef,
    Pipeline,
    ProcessingStep,
    ReviewOutcome,
    StepOutput,
    TrainingStep,
    TuningStep,
)
from mlpipes_constructs.stepfunctions import naming
from mlpipes_constructs.stepfunctions._asl import Expr, Value, concat, escape, json_path, text_list
from mlpipes_constructs.stepfunctions._conditions import ConditionError

#: Where the state machine keeps the run's folder, ``s3://<bucket>/<prefix><execution name>``.
RUN_ROOT = "$.run.root"
#: The execution's ARN: the id of a review's task input and of the jobs' MLflow run.
EXECUTION_ID = "$$.Execution.Id"
#: Where it keeps the execution input merged over the parameter defaults.
PARAMETERS = "$.parameters"
#: The key of a review step's result (``$.steps.<step>``) that holds its outcome.
REVIEW_OUTCOME_KEY = "Outcome"


@dataclass(frozen=True)
class StateMachineRenderer:
    """The :class:`~mlpipes_constructs.compile.ValueRenderer` of Step Functions.

    Values are constants or :class:`Expr` (JSONPath and intrinsic functions); a request with
    expressions becomes ``Parameters`` through :func:`asl_parameters`.

    Attributes:
        pipeline: the pipeline being compiled.
        slugs: each named step's slug; its SageMaker names are ``<slug>-<run token>``.
        code_locations: the S3 URI of each processing code directory's zip, by ``code`` value.
    """

    pipeline: Pipeline
    slugs: Mapping[str, str]
    code_locations: Mapping[str, str]

    def value(self, value: object) -> Value:
        """A spec value (constant or reference) as an ASL value."""
        if isinstance(value, ParameterRef):
            return Expr(f"{PARAMETERS}.{value.name}")
        if isinstance(value, StepOutput):
            location = self.output_location(value.step, value.output)
            return concat([location, f"/{value.path}"]) if value.path else location
        if isinstance(value, ModelArtifacts):
            return self.model_artifacts(value.step)
        if isinstance(value, ModelName):
            return Expr(naming.name_expression(self.slugs[value.step]))
        if isinstance(value, JsonValue | ReviewOutcome):
            return Expr(self.path(value))
        if isinstance(value, Join):
            return concat([self.value(v) for v in value.values], value.separator)
        if isinstance(value, ApprovalStatus):
            return value.value
        if value is None or isinstance(value, str | int | float | bool):
            return value
        raise TypeError(f"cannot use {value!r} in a state machine")

    def text(self, value: object) -> Value:
        """A value the API wants as a string (arguments, hyperparameters, environment)."""
        resolved = self.value(value)
        if isinstance(resolved, Expr):
            if resolved.text.startswith("States.Format("):
                return resolved
            return Expr(f"States.Format('{{}}', {resolved.text})")
        if isinstance(resolved, bool):
            return "true" if resolved else "false"
        return str(resolved)

    def location(self, destination: object | None, *default_keys: str) -> Value:
        if destination is not None:
            return self.value(destination)
        suffix = "".join(f"/{escape(key)}" for key in default_keys)
        return Expr(f"States.Format('{{}}{suffix}', {RUN_ROOT})")

    def code_location(self, step: ProcessingStep) -> Value:
        return self.code_locations[step.code]

    def path(self, operand: Operand) -> str:
        """The JSONPath a Choice state reads an operand at."""
        if isinstance(operand, ParameterRef):
            return f"{PARAMETERS}.{operand.name}"
        if isinstance(operand, JsonValue):
            base = f"$.properties.{operand.step}.{operand.property_file}.document"
            return json_path(base, operand.json_path)
        if isinstance(operand, ReviewOutcome):
            # Where the review's states keep the outcome (see ``_review_states``).
            return f"$.steps.{operand.step}.{REVIEW_OUTCOME_KEY}"
        raise ConditionError(f"cannot read {operand!r} in a Choice state")

    def output_location(self, step_name: str, output_name: str) -> Value:
        """Where a processing step's output goes (the compile core's layout by default)."""
        step = self.pipeline.step(step_name)
        assert isinstance(step, ProcessingStep)
        output = next(o for o in step.outputs if o.name == output_name)
        return self.location(output.destination, step_name, "output", output_name)

    def model_artifacts(self, step_name: str) -> Value:
        """``<output path>/<job name>/output/model.tar.gz`` of a training or tuning step."""
        step = self.pipeline.step(step_name)
        assert isinstance(step, TrainingStep | TuningStep)
        job: Value = (
            Expr(f"$.steps.{step_name}.BestTrainingJobName")
            if isinstance(step, TuningStep)
            else Expr(naming.name_expression(self.slugs[step_name]))
        )
        path = self.location(step.output_path, *job_output_keys(step_name))
        if isinstance(path, str):
            path = path.rstrip("/")
        return concat([path, "/", job, f"/{MODEL_ARCHIVE_KEY}"])


def asl_parameters(request: Request) -> dict[str, Any]:
    """A request as ASL ``Parameters``: an expression ``X`` becomes ``"Key.$": X``, and a list
    of strings with an expression among them a ``States.Array``."""
    parameters: dict[str, Any] = {}
    for key, value in request.items():
        if isinstance(value, Expr):
            parameters[f"{key}.$"] = value.text
        elif isinstance(value, dict):
            parameters[key] = asl_parameters(value)
        elif isinstance(value, list) and any(isinstance(item, Expr) for item in value):
            parameters.update(text_list(key, value))
        elif isinstance(value, list):
            parameters[key] = [asl_parameters(i) if isinstance(i, dict) else i for i in value]
        else:
            parameters[key] = value
    return parameters
