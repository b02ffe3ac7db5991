"""DAG folders shipped with the package."""

from __future__ import annotations

from pathlib import Path

#: A folder with one DAG, ``mlpipes_health_check``, that runs a single task and no AWS job.
HEALTH_CHECK_DAGS = Path(__file__).resolve().parent / "dags" / "health_check"
