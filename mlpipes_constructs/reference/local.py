"""Local stand-ins for the reference pipeline's SageMaker jobs, for tests and experiments.

:func:`run_processing_step` runs a processing step's script with the local Python, the way the
container runs it, under a directory that stands in for ``/opt/ml/processing``
(:func:`run_processing_job` also returns what the job was given and printed).
:func:`train_builtin_xgboost` emulates the built-in XGBoost algorithm (which is the ``xgboost``
library): same hyperparameters, CSV channels with the label first, and a ``model.tar.gz``
holding ``xgboost-model``, as the algorithm's training job writes it.

Needs the ``reference`` extra (numpy, scikit-learn, xgboost).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import xgboost

from mlpipes_constructs.spec import (
    Pipeline,
    ProcessingStep,
    Reference,
    TrainingStep,
    local_code_paths,
)
from mlpipes_constructs.spec.references import Join, ParameterRef

#: The directory processing containers mount their inputs and outputs under.
PROCESSING_DIRECTORY = PurePosixPath("/opt/ml/processing")
#: The file the built-in XGBoost algorithm saves the model to, inside ``model.tar.gz``.
XGBOOST_MODEL_FILE = "xgboost-model"
# Hyperparameters the algorithm consumes itself rather than passing to ``xgboost.train``.
_TRAINING_LOOP_HYPERPARAMETERS = ("num_round", "early_stopping_rounds")


@dataclass(frozen=True)
class ProcessingRun:
    """A processing job run locally: what it was given and what it printed."""

    #: output name -> local directory of the output.
    outputs: dict[str, Path]
    #: the command line the script ran with.
    argv: list[str]
    #: the environment the script ran with.
    environment: dict[str, str]
    stdout: str
    stderr: str


def run_processing_step(
    pipeline: Pipeline,
    step_name: str,
    *,
    inputs: Mapping[str, Path],
    work_dir: Path,
    python: str = sys.executable,
    references: Mapping[Reference, str] | None = None,
    environment: Mapping[str, str] | None = None,
) -> dict[str, Path]:
    """Run a processing step's script locally; return its outputs' local directories.

    See :func:`run_processing_job` for the arguments.
    """
    return run_processing_job(
        pipeline,
        step_name,
        inputs=inputs,
        work_dir=work_dir,
        python=python,
        references=references,
        environment=environment,
    ).outputs


def run_processing_job(
    pipeline: Pipeline,
    step_name: str,
    *,
    inputs: Mapping[str, Path],
    work_dir: Path,
    python: str = sys.executable,
    references: Mapping[Reference, str] | None = None,
    environment: Mapping[str, str] | None = None,
) -> ProcessingRun:
    """Run a processing step's script locally, as its container would.

    ``work_dir`` stands in for ``/opt/ml/processing``: each input (a file or a directory,
    keyed by input name) is copied to its destination below it, and the script is called with
    the step's arguments plus ``--base-dir <work_dir>``. Parameters take their defaults.

    Args:
        python: the interpreter. Default: this one.
        references: the values of the step-output references among the step's arguments
            (e.g. ``ModelArtifacts("Train")`` -> the local model's URI), which only an
            orchestrator knows. Default: none (an argument that needs one is an error).
        environment: variables set over this process's environment and the step's own, as an
            orchestrator adds its own (e.g. the tracking variables). Default: none.

    Raises:
        KeyError: an input of the step is missing from ``inputs``.
        ValueError: an argument needs a reference that ``references`` lacks.
        subprocess.CalledProcessError: the script failed; its output is attached.
    """
    step = pipeline.step(step_name)
    if not isinstance(step, ProcessingStep):
        raise TypeError(f"step '{step_name}' is a {step.kind} step, not a processing step")
    arguments = processing_arguments(pipeline, step_name, references=references)
    for spec_input in step.inputs:
        if spec_input.name not in inputs:
            raise KeyError(f"step '{step_name}' needs a local path for input '{spec_input.name}'")
        _copy_into(inputs[spec_input.name], container_path(work_dir, spec_input.destination))
    script = local_code_paths(pipeline)[step.code] / step.entry_point
    argv = [python, str(script), *arguments, "--base-dir", str(work_dir)]
    # No bytecode next to the scripts: the directory is the job's code asset.
    job_environment = {
        **os.environ,
        **step.environment,
        **(environment or {}),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    completed = subprocess.run(
        argv, check=True, capture_output=True, text=True, env=job_environment
    )
    return ProcessingRun(
        outputs={output.name: container_path(work_dir, output.source) for output in step.outputs},
        argv=argv,
        environment=job_environment,
        stdout=completed.stdout,
        stderr=completed.stderr,
    )


def processing_arguments(
    pipeline: Pipeline, step_name: str, *, references: Mapping[Reference, str] | None = None
) -> list[str]:
    """A processing step's arguments as its script receives them: parameters take their
    defaults, other references the value given in ``references``. Default: no references.

    Raises:
        ValueError: an argument needs a reference that ``references`` lacks.
    """
    step = pipeline.step(step_name)
    if not isinstance(step, ProcessingStep):
        raise TypeError(f"step '{step_name}' is a {step.kind} step, not a processing step")
    return [_argument(pipeline, value, references) for value in step.arguments]


def container_path(work_dir: Path, path: str) -> Path:
    """The local stand-in, below ``work_dir``, of a container path under /opt/ml/processing."""
    return work_dir / PurePosixPath(path).relative_to(PROCESSING_DIRECTORY)


def train_builtin_xgboost(
    pipeline: Pipeline,
    step_name: str,
    *,
    channels: Mapping[str, Path],
    output_dir: Path,
) -> Path:
    """Train as the built-in XGBoost algorithm would for a training step; return model.tar.gz.

    Each channel directory holds CSV files with the label in the first column and no header.
    The ``validation`` channel, when given, is evaluated each round (and used for
    ``early_stopping_rounds``), as in the algorithm.
    """
    step = pipeline.step(step_name)
    if not isinstance(step, TrainingStep) or "/sagemaker-xgboost:" not in (step.image_uri or ""):
        raise TypeError(f"step '{step_name}' is not a built-in XGBoost training step")
    hyperparameters = {
        name: _parse_number(_argument(pipeline, value))
        for name, value in step.hyperparameters.items()
    }
    params = {k: v for k, v in hyperparameters.items() if k not in _TRAINING_LOOP_HYPERPARAMETERS}
    evals = [
        (_read_csv_channel(channels[name]), name)
        for name in ("train", "validation")
        if name in channels
    ]
    booster = xgboost.train(
        params,
        evals[0][0],
        num_boost_round=int(hyperparameters["num_round"]),
        evals=evals,
        early_stopping_rounds=hyperparameters.get("early_stopping_rounds"),
        verbose_eval=False,
    )
    output_dir.mkdir(parents=True, exist_ok=True)
    archive_path = output_dir / "model.tar.gz"
    with tempfile.TemporaryDirectory() as model_dir:
        model_path = Path(model_dir) / XGBOOST_MODEL_FILE
        with warnings.catch_warnings():
            # Recent xgboost warns that a file name without extension gets its default format;
            # the algorithm's file name has none, and load_model reads every format.
            warnings.simplefilter("ignore", UserWarning)
            booster.save_model(str(model_path))
        with tarfile.open(archive_path, "w:gz") as archive:
            archive.add(model_path, arcname=XGBOOST_MODEL_FILE)
    return archive_path


def _read_csv_channel(directory: Path) -> Any:
    files = sorted(directory.glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"no CSV files in {directory}")
    data = np.vstack([np.loadtxt(file, delimiter=",", ndmin=2) for file in files])
    return xgboost.DMatrix(data[:, 1:], label=data[:, 0])


def _argument(
    pipeline: Pipeline,
    value: str | int | float | bool | Reference | Join,
    references: Mapping[Reference, str] | None = None,
) -> str:
    """A value as the job sees it on its command line: parameters take their defaults, other
    references the value given in ``references``."""
    if isinstance(value, ParameterRef):
        return str(pipeline.parameter(value.name).default)
    if isinstance(value, Join):
        return value.separator.join(_argument(pipeline, part, references) for part in value.values)
    if isinstance(value, str | int | float):
        return str(value)
    if references is not None and value in references:
        return references[value]
    raise ValueError(
        f"{value!r} is only known when the pipeline runs on an orchestrator; pass its local "
        "value in references="
    )


def _parse_number(value: str) -> int | float | str:
    for parse in (int, float):
        try:
            return parse(value)
        except ValueError:
            continue
    return value


def _copy_into(source: Path, destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, destination, dirs_exist_ok=True)
    else:
        shutil.copy2(source, destination / source.name)
