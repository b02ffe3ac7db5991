"""Run Python code in the separate Airflow virtualenv (``make airflow-venv``).

Airflow 3.0.6 and its pinned dependencies do not share a virtualenv with the CDK toolchain,
so tests hand a script to that venv's interpreter and read back one JSON line it prints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_VENV_PYTHON = ROOT / ".venv-airflow" / "bin" / "python"
#: ``make test`` sets this; a missing interpreter then fails the tests instead of skipping.
PYTHON_ENV_VAR = "MLPIPES_AIRFLOW_PYTHON"
RESULT_MARKER = "MLPIPES-RESULT "


def airflow_python() -> Path:
    """The Airflow venv's interpreter; skips (or fails under ``make test``) when absent."""
    configured = os.environ.get(PYTHON_ENV_VAR)
    python = Path(configured) if configured else DEFAULT_VENV_PYTHON
    if not python.exists():
        message = f"no Airflow virtualenv at {python}; run `make airflow-venv`"
        if configured:
            pytest.fail(message)
        pytest.skip(message)
    return python


@dataclass
class AirflowRun:
    """The result of a script run in the Airflow venv."""

    result: Any
    stdout: str
    stderr: str


@dataclass
class AirflowVenv:
    """An Airflow installation with its own ``AIRFLOW_HOME`` (sqlite, no examples)."""

    python: Path
    home: Path

    def environment(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AIRFLOW", "AWS_", "PYTHON"))
        }
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home}/airflow.db",
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
            }
        )
        return env

    def run(self, code: str, *, timeout: float = 300) -> AirflowRun:
        """Run ``code``; it reports its result with ``report(value)`` (JSON-serializable)."""
        prelude = textwrap.dedent(
            f"""
            import json as _json

            def report(value):
                print({RESULT_MARKER!r} + _json.dumps(value, default=str), flush=True)
            """
        )
        completed = subprocess.run(
            [str(self.python), "-c", prelude + textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.environment(),
            cwd=self.home,
            check=False,
        )
        lines = [
            line.removeprefix(RESULT_MARKER)
            for line in completed.stdout.splitlines()
            if line.startswith(RESULT_MARKER)
        ]
        if completed.returncode != 0 or not lines:
            sys.stderr.write(completed.stderr[-5000:])
            raise AssertionError(
                f"Airflow script failed (exit {completed.returncode}):\n{completed.stderr[-3000:]}"
            )
        return AirflowRun(json.loads(lines[-1]), completed.stdout, completed.stderr)

    def migrate_database(self) -> None:
        """``airflow db migrate`` on the sqlite database of this home."""
        airflow = self.python.parent / "airflow"
        subprocess.run(
            [str(airflow), "db", "migrate"],
            capture_output=True,
            text=True,
            timeout=300,
            env=self.environment(),
            check=True,
        )
