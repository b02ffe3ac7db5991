"""Where a step's outputs go when the spec gives no destination: one layout for every compiler.

Each orchestrator has a run root, one folder per execution (``<artifact root>/<execution id>``
on SageMaker Pipelines, ``s3://<bucket>/<prefix><execution name>`` on Step Functions); below
it, every compiler uses these keys, so a run's artifacts are found the same way whichever
orchestrator ran it.
"""

from __future__ import annotations


def processing_output_keys(step_name: str, output_name: str) -> tuple[str, ...]:
    """``<step>/output/<output>``: a processing output without a destination."""
    return (step_name, "output", output_name)


def job_output_keys(step_name: str) -> tuple[str, ...]:
    """``<step>``: the output path of a training, tuning or transform job without one."""
    return (step_name,)


#: Where a training job writes its model below its output path (``<path>/<job>/...``).
MODEL_ARCHIVE_KEY = "output/model.tar.gz"
