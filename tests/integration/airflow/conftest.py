"""Fixtures for the tests that run real Airflow in its own virtualenv."""

from __future__ import annotations

import pytest

from tests.integration.airflow.harness import AirflowVenv, airflow_python


@pytest.fixture(scope="session")
def airflow_venv(tmp_path_factory: pytest.TempPathFactory) -> AirflowVenv:
    """Airflow with a fresh ``AIRFLOW_HOME`` and no database (enough for a DagBag)."""
    return AirflowVenv(airflow_python(), tmp_path_factory.mktemp("airflow-home"))


@pytest.fixture(scope="session")
def airflow_with_database(tmp_path_factory: pytest.TempPathFactory) -> AirflowVenv:
    """Airflow with a migrated sqlite database, for ``dag.test()``."""
    venv = AirflowVenv(airflow_python(), tmp_path_factory.mktemp("airflow-db-home"))
    venv.migrate_database()
    return venv
