"""Option groups and choices of the MWAA constructs: frozen values, no resources."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import aws_logs as logs

from mlpipes_constructs._internal.validation import Problems
from mlpipes_constructs.airflow._rules import check_log_level

#: Where each deployed file goes in the source bucket.
DAGS_PREFIX = "dags/"
#: The folder of ``dags/`` that pipeline constructs deploy their DAGs into; a ``dags_folder``
#: deployment leaves it alone.
PIPELINE_DAGS_PREFIX = f"{DAGS_PREFIX}mlpipes/"
REQUIREMENTS_KEY = "requirements.txt"
PLUGINS_KEY = "plugins.zip"
STARTUP_SCRIPT_KEY = "startup.sh"


class WebserverAccessMode(enum.StrEnum):
    """Who can reach the Airflow web server."""

    #: Only from inside the VPC, through the web server's VPC endpoint.
    PRIVATE_ONLY = "PRIVATE_ONLY"
    #: From the internet (still behind IAM and Airflow login).
    PUBLIC_ONLY = "PUBLIC_ONLY"


class EndpointManagement(enum.StrEnum):
    """Who creates the VPC endpoints of the environment's database and web server."""

    #: MWAA creates them in the environment's subnets.
    SERVICE = "SERVICE"
    #: You create them (shared VPCs), for the environment's endpoint service names.
    CUSTOMER = "CUSTOMER"


class WorkerReplacementStrategy(enum.StrEnum):
    """How workers are replaced when the environment is updated."""

    #: Running tasks may finish (up to 12 hours) before their worker is replaced.
    GRACEFUL = "GRACEFUL"
    #: Workers are stopped at once; running tasks fail and are retried.
    FORCED = "FORCED"


@dataclass(frozen=True)
class MwaaLogging:
    """Log levels of the five Apache Airflow log types, and how long the logs are kept.

    Every log type is always enabled. Attributes:
        dag_processing: level of the DAG processing logs. Default: ``"INFO"``.
        scheduler: level of the scheduler logs. Default: ``"INFO"``.
        task: level of the task logs. Default: ``"INFO"``.
        webserver: level of the web server logs. Default: ``"INFO"``.
        worker: level of the worker logs. Default: ``"INFO"``.
        retention: how long each log group keeps its events. Default: one year.
    """

    dag_processing: str = "INFO"
    scheduler: str = "INFO"
    task: str = "INFO"
    webserver: str = "INFO"
    worker: str = "INFO"
    retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR

    def levels(self) -> dict[str, str]:
        """Log type (as MWAA names its log group suffix) -> level."""
        return {
            "DAGProcessing": self.dag_processing,
            "Scheduler": self.scheduler,
            "Task": self.task,
            "WebServer": self.webserver,
            "Worker": self.worker,
        }

    def check(self, problems: Problems) -> None:
        for field, level in (
            ("logging.dag_processing", self.dag_processing),
            ("logging.scheduler", self.scheduler),
            ("logging.task", self.task),
            ("logging.webserver", self.webserver),
            ("logging.worker", self.worker),
        ):
            check_log_level(problems, field, level)
        if self.retention == logs.RetentionDays.INFINITE:
            problems.add(
                "logging.retention INFINITE is not allowed: choose a retention so the logs "
                "of a deleted environment do not stay forever"
            )


@dataclass(frozen=True)
class MwaaSourceFiles:
    """Local files deployed to the environment's source bucket.

    Attributes:
        dags_folder: a folder of DAG files, deployed to ``dags/`` (files no longer in it are
            removed there, except in ``dags/mlpipes/``, which pipeline constructs deploy
            into; so the folder may not have an ``mlpipes`` subfolder). Default: no DAGs are
            deployed; ``dags/`` stays as it is.
        requirements_file: a ``requirements.txt`` for the Airflow environment, deployed to
            ``requirements.txt``. Default: none (only MWAA's own packages).
        plugins_file: a ``plugins.zip``, deployed to ``plugins.zip``. Default: none.
        startup_script: a shell script run on every Airflow container start, deployed to
            ``startup.sh``. Default: none.
    """

    dags_folder: str | os.PathLike[str] | None = None
    requirements_file: str | os.PathLike[str] | None = None
    plugins_file: str | os.PathLike[str] | None = None
    startup_script: str | os.PathLike[str] | None = None

    def check(self, problems: Problems) -> None:
        if self.dags_folder is not None and not Path(self.dags_folder).is_dir():
            problems.add(f"source.dags_folder '{self.dags_folder}' is not a folder")
        elif self.dags_folder is not None:
            reserved = PIPELINE_DAGS_PREFIX.removeprefix(DAGS_PREFIX).rstrip("/")
            problems.require(
                not (Path(self.dags_folder) / reserved).exists(),
                f"source.dags_folder '{self.dags_folder}' has a '{reserved}' subfolder: "
                f"'{PIPELINE_DAGS_PREFIX}' is where pipeline constructs deploy their DAGs",
            )
        for field, value in (
            ("source.requirements_file", self.requirements_file),
            ("source.plugins_file", self.plugins_file),
            ("source.startup_script", self.startup_script),
        ):
            if value is not None and not Path(value).is_file():
                problems.add(f"{field} '{value}' is not a file")
        if self.plugins_file is not None and Path(self.plugins_file).suffix != ".zip":
            problems.add(f"source.plugins_file '{self.plugins_file}' must be a .zip archive")
