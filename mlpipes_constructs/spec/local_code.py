"""The local code a pipeline runs, so constructs can upload it and compilers can refer to it."""

from __future__ import annotations

from pathlib import Path

from mlpipes_constructs.spec.pipeline import Pipeline
from mlpipes_constructs.spec.steps import ProcessingStep


def local_code_paths(pipeline: Pipeline) -> dict[str, Path]:
    """Map each ``code`` value the pipeline's steps use to the local directory it names.

    Relative paths are resolved against ``pipeline.base_directory`` (default: the working
    directory). Keys are the values as written in the spec, in order of first use, so a
    compiler given ``{code: s3_uri}`` for these keys can look up each step's code location.
    """
    base = Path(pipeline.base_directory or ".")
    paths: dict[str, Path] = {}
    for step in pipeline.steps:
        if isinstance(step, ProcessingStep) and step.code not in paths:
            paths[step.code] = (base / step.code).resolve()
    return paths
