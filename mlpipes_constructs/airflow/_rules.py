"""What MWAA accepts for an environment: pure rules and defaults, no resources.

Sources: the MWAA user guide's pages on Apache Airflow versions and on environment classes
(https://docs.aws.amazon.com/mwaa/latest/userguide/airflow-versions.html,
https://docs.aws.amazon.com/mwaa/latest/userguide/environment-class.html), and the
``AWS::MWAA::Environment`` resource schema (name, maintenance window and log level patterns).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from mlpipes_constructs._internal.validation import Problems, is_unresolved

#: The Apache Airflow versions MWAA documents for new environments.
AIRFLOW_VERSIONS: Final[tuple[str, ...]] = ("2.10.3", "2.11.0", "3.0.6")
DEFAULT_AIRFLOW_VERSION: Final = "3.0.6"

#: The largest environment name MWAA accepts, and its pattern.
MAX_ENVIRONMENT_NAME = 80
ENVIRONMENT_NAME_PATTERN: Final = re.compile(r"[a-zA-Z][0-9a-zA-Z_-]*")
MAINTENANCE_WINDOW_PATTERN: Final = re.compile(
    r"(MON|TUE|WED|THU|FRI|SAT|SUN):([01]\d|2[0-3]):(00|30)"
)
DEFAULT_MAINTENANCE_WINDOW: Final = "SUN:03:00"
LOG_LEVELS: Final[tuple[str, ...]] = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


@dataclass(frozen=True)
class ClassLimits:
    """How many schedulers, web servers and workers an environment class allows.

    Attributes:
        schedulers: (lowest, highest) scheduler count.
        webservers: (lowest, highest) web server count, for both min and max.
        workers: (lowest, highest) worker count, for both min and max.
        default_schedulers: the scheduler count MWAA uses when none is given.
        default_webservers: the web server count MWAA uses when none is given.
        default_max_workers: the most workers MWAA scales to when no maximum is given.
    """

    schedulers: tuple[int, int]
    webservers: tuple[int, int]
    workers: tuple[int, int]
    default_schedulers: int
    default_webservers: int
    default_max_workers: int


_SHARED = ClassLimits(
    schedulers=(2, 5),
    webservers=(2, 5),
    workers=(1, 25),
    default_schedulers=2,
    default_webservers=2,
    default_max_workers=10,
)

#: Environment class -> its limits. ``mw1.micro`` runs one scheduler, one web server and one
#: worker; every other class 2-5 schedulers and web servers and up to 25 workers.
ENVIRONMENT_CLASSES: Final = MappingProxyType(
    {
        "mw1.micro": ClassLimits(
            schedulers=(1, 1),
            webservers=(1, 1),
            workers=(1, 1),
            default_schedulers=1,
            default_webservers=1,
            default_max_workers=1,
        ),
        "mw1.small": _SHARED,
        "mw1.medium": _SHARED,
        "mw1.large": _SHARED,
        "mw1.xlarge": _SHARED,
        "mw1.2xlarge": _SHARED,
    }
)


@dataclass(frozen=True)
class Capacity:
    """The scheduler, web server and worker counts an environment is created with."""

    schedulers: int
    min_webservers: int
    max_webservers: int
    min_workers: int
    max_workers: int


def default_capacity(
    environment_class: str,
    *,
    schedulers: int | None = None,
    min_webservers: int | None = None,
    max_webservers: int | None = None,
    min_workers: int | None = None,
    max_workers: int | None = None,
) -> Capacity:
    """The counts given, each omitted one filled in with the class's default."""
    limits = ENVIRONMENT_CLASSES.get(environment_class, _SHARED)
    lowest_workers = min_workers if min_workers is not None else limits.workers[0]
    return Capacity(
        schedulers=schedulers if schedulers is not None else limits.default_schedulers,
        min_webservers=min_webservers if min_webservers is not None else limits.default_webservers,
        max_webservers=max_webservers if max_webservers is not None else limits.default_webservers,
        min_workers=lowest_workers,
        max_workers=(
            max_workers
            if max_workers is not None
            else max(limits.default_max_workers, lowest_workers)
        ),
    )


def check_airflow_version(problems: Problems, version: str, *, allow_unlisted: bool) -> None:
    if is_unresolved(version):
        return
    if version not in AIRFLOW_VERSIONS and not allow_unlisted:
        problems.add(
            f"airflow_version '{version}' is not a version MWAA documents; expected one of "
            f"{', '.join(AIRFLOW_VERSIONS)} (set allow_unlisted_airflow_version=True for a "
            "newer one)"
        )
    elif not re.fullmatch(r"[0-9a-z.]+", version):
        problems.add(f"airflow_version '{version}' must be a version such as '3.0.6'")


def check_environment_class(problems: Problems, environment_class: str) -> None:
    if is_unresolved(environment_class):
        return
    if environment_class not in ENVIRONMENT_CLASSES:
        problems.add(
            f"environment_class '{environment_class}' is not an MWAA environment class; "
            f"expected one of {', '.join(ENVIRONMENT_CLASSES)}"
        )


def check_capacity(problems: Problems, environment_class: str, capacity: Capacity) -> None:
    """Counts within the class's limits, and each minimum at most its maximum."""
    limits = ENVIRONMENT_CLASSES.get(environment_class)
    if limits is None:
        return
    rule = f"for environment_class '{environment_class}'"
    for prop, value, (low, high) in (
        ("schedulers", capacity.schedulers, limits.schedulers),
        ("min_webservers", capacity.min_webservers, limits.webservers),
        ("max_webservers", capacity.max_webservers, limits.webservers),
        ("min_workers", capacity.min_workers, limits.workers),
        ("max_workers", capacity.max_workers, limits.workers),
    ):
        if is_unresolved(value):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            span = f"exactly {low}" if low == high else f"a whole number from {low} to {high}"
            problems.add(f"{prop} {value!r} must be {span} {rule}")
    for low_prop, low, high_prop, high in (
        ("min_webservers", capacity.min_webservers, "max_webservers", capacity.max_webservers),
        ("min_workers", capacity.min_workers, "max_workers", capacity.max_workers),
    ):
        if problems.has(low_prop) or problems.has(high_prop):
            continue
        if not is_unresolved(low) and not is_unresolved(high) and low > high:
            problems.add(f"{low_prop} {low} must not exceed {high_prop} {high}")


def check_environment_name(problems: Problems, name: str) -> None:
    if is_unresolved(name):
        problems.add(
            f"environment_name '{name}' must be a literal: the log groups and the execution "
            "role's policy are named after it at synth time"
        )
        return
    if len(name) > MAX_ENVIRONMENT_NAME or not ENVIRONMENT_NAME_PATTERN.fullmatch(name):
        problems.add(
            f"environment_name '{name}' must start with a letter and contain only letters, "
            f"digits, '-' and '_' (at most {MAX_ENVIRONMENT_NAME} characters)"
        )


def check_maintenance_window(problems: Problems, window: str) -> None:
    if is_unresolved(window):
        return
    if not MAINTENANCE_WINDOW_PATTERN.fullmatch(window):
        problems.add(
            f"weekly_maintenance_window_start '{window}' must be DAY:HH:MM with DAY one of "
            "MON..SUN and minutes 00 or 30, e.g. 'SUN:03:00'"
        )


def check_log_level(problems: Problems, prop: str, level: str) -> None:
    if level not in LOG_LEVELS:
        problems.add(
            f"{prop} '{level}' is not a log level; expected one of {', '.join(LOG_LEVELS)}"
        )


def default_environment_name(unique_name: str) -> str:
    """An environment name from a CDK unique name: letters, digits and '-' only, at most 80."""
    name = re.sub(r"[^0-9a-zA-Z_-]", "", unique_name)
    if not name or not name[0].isalpha():
        name = f"mwaa-{name}"
    return name[:MAX_ENVIRONMENT_NAME]
