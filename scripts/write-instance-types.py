"""Write the instance types each SageMaker API accepts, from botocore's service model.

The compile core checks instance types against this table at synth time without loading
botocore's model (which takes most of a second). A test compares it with the installed
botocore, so an update of botocore that adds types shows up as a failing test; rerun this
script then.
"""

from __future__ import annotations

import json
from pathlib import Path

import botocore.session

from mlpipes_constructs.compile.instance_types import API_SHAPES, TABLE_PATH


def table() -> dict[str, list[str]]:
    """The instance types of each API, sorted, from the installed botocore."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    return {api: sorted(model.shape_for(shape).enum) for api, shape in API_SHAPES.items()}


if __name__ == "__main__":
    Path(TABLE_PATH).write_text(json.dumps(table(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {TABLE_PATH}")
