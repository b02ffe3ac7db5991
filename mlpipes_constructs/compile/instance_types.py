"""Which instance types each SageMaker API accepts (a table written from botocore's model).

The spec checks that a constant instance type is a SageMaker instance type at all; which job
kinds offer it differs (``ml.c4.large`` is a training type but not a processing type), and a
job whose type its API refuses fails at run time. The compile core refuses it at synth time.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from mlpipes_constructs.compile.errors import CompileError

#: botocore's enum shape of each API's instance type.
API_SHAPES: Mapping[str, str] = {
    "processing": "ProcessingInstanceType",
    "training": "TrainingInstanceType",
    "transform": "TransformInstanceType",
    "endpoint": "ProductionVariantInstanceType",
}
TABLE_PATH = Path(__file__).with_name("instance_types.json")


@cache
def instance_types(api: str) -> frozenset[str]:
    """The instance types ``api`` (a key of :data:`API_SHAPES`) accepts."""
    table: dict[str, list[str]] = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
    return frozenset(table[api])


def check_instance_type(api: str, instance_type: object, *, step: str, field: str) -> None:
    """Refuse a constant instance type that ``api`` does not offer; a parameter is not known
    until run time and passes.

    Raises:
        CompileError: naming the step, the field, the type and types the API does offer.
    """
    if not isinstance(instance_type, str) or instance_type in instance_types(api):
        return
    close = difflib.get_close_matches(instance_type, sorted(instance_types(api)), n=3)
    suggestion = f"; close ones it offers: {', '.join(close)}" if close else ""
    raise CompileError(
        f"instance type '{instance_type}' is not offered for {api} jobs by SageMaker{suggestion}",
        step=step,
        field=field,
    )
