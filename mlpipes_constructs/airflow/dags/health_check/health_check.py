"""A placeholder DAG that checks the environment can run a task; it starts no AWS job.

It runs daily and on demand: one task that logs the Airflow version and the task's run id.
"""

from __future__ import annotations

import logging
from datetime import datetime

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

LOG = logging.getLogger(__name__)


def _report(run_id: str) -> str:
    import airflow

    version = str(airflow.__version__)
    LOG.info("Apache Airflow %s runs %s", version, run_id)
    return version


with DAG(
    dag_id="mlpipes_health_check",
    description="Checks that the environment schedules and runs a task (no AWS job).",
    schedule="@daily",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["mlpipes", "health-check"],
    doc_md=__doc__,
) as dag:
    PythonOperator(
        task_id="report_version",
        python_callable=_report,
        op_kwargs={"run_id": "{{ run_id }}"},
    )
