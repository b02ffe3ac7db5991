"""Defaults and checks of the MLflow server's props: pure functions, no resources."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

from mlpipes_constructs._internal.validation import Problems, is_unresolved

#: The MLflow release installed by default, with the driver and SDK versions it was tested with
#: (``tests/integration/test_mlflow_server.py`` runs this set against PostgreSQL).
DEFAULT_MLFLOW_VERSION = "3.17.2"
PSYCOPG2_BINARY_VERSION = "2.9.13"
BOTO3_VERSION = "1.44.8"
#: Basic authentication (``--app-name basic-auth``) first shipped in MLflow 2.5.0.
MIN_MLFLOW_VERSION = (2, 5, 0)

#: EC2 instance type of the server of the default sizing, ``MlflowSizing.SMALL_TEAM``
#: (Graviton, 2 burstable vCPUs, 4 GiB).
DEFAULT_INSTANCE_TYPE = "t4g.medium"
#: EC2 instance type of the server of ``MlflowSizing.PRODUCTION`` (Graviton, 2 vCPUs, 8 GiB).
PRODUCTION_INSTANCE_TYPE = "m7g.large"
#: RDS instance class of a provisioned database (``ProvisionedDatabase``) when none is given.
DEFAULT_DATABASE_INSTANCE_TYPE = "t4g.medium"
DEFAULT_ARTIFACT_PREFIX = "mlflow/"
DEFAULT_PARAMETER_NAME = "/mlpipes/mlflow/tracking-uri"
SERVER_PORT = 5000
#: Constraints files pinning the server's whole environment, one per MLflow version
#: (written by ``scripts/lock-mlflow-requirements.py``).
REQUIREMENTS_DIR = Path(__file__).resolve().parent / "requirements"

_VERSION = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")
_INSTANCE_TYPE = re.compile(
    r"(?P<family>[a-z]+(?P<generation>\d+)(?P<attributes>[a-z][a-z0-9-]*)?)"
    r"\.(?P<size>nano|micro|small|medium|large|\d*xlarge|metal(-\d+xl)?)"
)
_CERTIFICATE_ARN = re.compile(
    r"arn:aws[a-z-]*:acm:(?P<region>[a-z]{2}(-[a-z]+)+-\d):(?P<account>\d{12}):"
    r"certificate/(?P<id>[A-Za-z0-9-]+)"
)
_PARAMETER_NAME = re.compile(r"/[A-Za-z0-9_.\-/]{1,1010}")
_DOMAIN_NAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
_ADMIN_USERNAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
#: ``name==version`` (optionally with extras) in a requirements or constraints line.
_PIN = re.compile(
    r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<extras>\[[^\]]*\])?\s*==\s*(?P<version>\S+)"
)
#: pip options that pull in another file, which would not be uploaded with this one.
_INCLUDES = ("-r", "--requirement", "-c", "--constraint")


@dataclass(frozen=True)
class InstanceTypeInfo:
    """What the server needs to know about an EC2 instance type."""

    name: str
    family: str
    graviton: bool


def parse_instance_type(name: str) -> InstanceTypeInfo | None:
    """``m7g.large`` -> family ``m7g``, Graviton; None when ``name`` is not an EC2 type."""
    match = _INSTANCE_TYPE.fullmatch(name)
    if match is None:
        return None
    family = match["family"]
    attributes = match["attributes"] or ""
    # Graviton families carry a 'g' right after the generation (m7g, c6gn, x2gd, im4gn,
    # is4gen); a1 is the first-generation Arm family.
    graviton = family == "a1" or attributes.startswith("g")
    return InstanceTypeInfo(name=name, family=family, graviton=graviton)


def check_instance_type(
    problems: Problems, prop: str, value: str, *, arm64: bool | None = None
) -> InstanceTypeInfo | None:
    """Record a problem unless ``value`` is an EC2 instance type (matching ``arm64`` when set)."""
    if is_unresolved(value):
        return None
    info = parse_instance_type(value)
    if info is None:
        hint = (
            " (SageMaker 'ml.' types do not run EC2 instances)" if value.startswith("ml.") else ""
        )
        problems.add(
            f"{prop} '{value}' is not an EC2 instance type{hint}; expected e.g. "
            f"'{DEFAULT_INSTANCE_TYPE}' (family, generation, attributes, '.', size)"
        )
        return None
    if arm64 is True and not info.graviton:
        problems.add(
            f"{prop} '{value}' is an x86_64 type but the machine image is arm64; choose a "
            "Graviton type such as 'm7g.large' or set cpu_architecture to X86_64"
        )
    if arm64 is False and info.graviton:
        problems.add(
            f"{prop} '{value}' is a Graviton (arm64) type but the machine image is x86_64; "
            "choose an x86 type such as 'm7i.large' or set cpu_architecture to ARM_64"
        )
    return info


def parse_version(value: str) -> tuple[int, int, int] | None:
    match = _VERSION.fullmatch(value)
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3])


def check_mlflow_version(problems: Problems, value: str) -> None:
    version = parse_version(value)
    if version is None:
        problems.add(
            f"mlflow_version '{value}' must be a plain release version X.Y.Z such as "
            f"'{DEFAULT_MLFLOW_VERSION}' (no ranges, extras or pre-release tags)"
        )
    elif version < MIN_MLFLOW_VERSION:
        minimum = ".".join(map(str, MIN_MLFLOW_VERSION))
        problems.add(
            f"mlflow_version '{value}' is older than {minimum}, the first release with the "
            "basic-auth app the server runs"
        )


def check_certificate_arn(problems: Problems, value: str, stack_region: str) -> None:
    """An ACM certificate ARN in the stack's region (checked when both are known)."""
    if is_unresolved(value):
        return
    match = _CERTIFICATE_ARN.fullmatch(value)
    if match is None:
        problems.add(
            f"certificate '{value}' is not an ACM certificate ARN; expected "
            "'arn:aws:acm:<region>:<account>:certificate/<id>'"
        )
        return
    if not is_unresolved(stack_region) and match["region"] != stack_region:
        problems.add(
            f"certificate '{value}' is in region '{match['region']}' but the stack is in "
            f"'{stack_region}'; a load balancer can only use a certificate of its own region"
        )


def check_allowed_cidr(problems: Problems, prop: str, value: str) -> None:
    """An IPv4 or IPv6 CIDR block that is not the whole internet."""
    if is_unresolved(value):
        return
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as error:
        problems.add(f"{prop} entry '{value}' is not a CIDR block ({error})")
        return
    if network.prefixlen == 0:
        problems.add(
            f"{prop} entry '{value}' opens the tracking server to every address; grant the "
            "networks that need it (e.g. the VPC CIDR or a corporate range)"
        )


def check_parameter_name(problems: Problems, value: str) -> None:
    if is_unresolved(value):
        return
    problems.require(
        _PARAMETER_NAME.fullmatch(value) is not None and "//" not in value,
        f"tracking_uri_parameter_name '{value}' must be an SSM parameter path such as "
        f"'{DEFAULT_PARAMETER_NAME}' (starting with '/', letters, digits, '_', '.', '-', '/')",
    )


def check_domain_name(problems: Problems, value: str) -> None:
    if is_unresolved(value):
        return
    problems.require(
        _DOMAIN_NAME.fullmatch(value) is not None,
        f"domain_name '{value}' must be a lower-case DNS name such as 'mlflow.example.com'",
    )


def check_admin_username(problems: Problems, value: str) -> None:
    problems.require(
        _ADMIN_USERNAME.fullmatch(value) is not None,
        f"admin_username '{value}' must be 1 to 64 letters, digits, '_', '.', '@' or '-'",
    )


def check_artifact_prefix(problems: Problems, value: str) -> None:
    if is_unresolved(value):
        return
    problems.require(
        bool(value) and value.endswith("/") and not value.startswith("/") and "*" not in value,
        f"artifact_prefix '{value}' must be a folder such as '{DEFAULT_ARTIFACT_PREFIX}': not "
        "empty, ending with '/', not starting with '/', without '*'",
    )


def pip_requirements(mlflow_version: str) -> tuple[str, ...]:
    """The pinned packages of the server's virtual environment."""
    return (
        f"mlflow[auth]=={mlflow_version}",
        f"psycopg2-binary=={PSYCOPG2_BINARY_VERSION}",
        f"boto3=={BOTO3_VERSION}",
    )


def requirements_path(mlflow_version: str) -> Path:
    """Where the constraints file shipped for ``mlflow_version`` lives (it may not exist)."""
    return REQUIREMENTS_DIR / f"mlflow-{mlflow_version}.txt"


def shipped_requirements(mlflow_version: str) -> Path | None:
    """The constraints file this package ships for ``mlflow_version``, if there is one."""
    path = requirements_path(mlflow_version)
    return path if path.is_file() else None


def normalize_name(name: str) -> str:
    """A package name as PyPI compares them (PEP 503): ``Flask_WTF`` -> ``flask-wtf``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def check_requirements_file(
    problems: Problems, value: str | os.PathLike[str], requirements: tuple[str, ...]
) -> Path | None:
    """A readable pip constraints file that agrees with the pinned top-level ``requirements``.

    Catches at synth what would otherwise fail pip on the instance, 20 minutes into a deploy:
    a missing file, includes of other files (only this one is uploaded), extras (pip rejects
    them in constraints) and a pin of a top-level package at another version.
    """
    path = Path(value)
    if not path.is_file():
        problems.add(
            f"requirements_file '{value}' is not a file (relative paths are resolved from "
            f"'{Path.cwd()}')"
        )
        return None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        problems.add(f"requirements_file '{value}' cannot be read as UTF-8 text ({error})")
        return None
    wanted: dict[str, tuple[str, str]] = {}
    for requirement in requirements:
        match = _PIN.fullmatch(requirement)
        if match is not None:  # None only for a malformed mlflow_version, reported elsewhere
            wanted[normalize_name(match["name"])] = (requirement, match["version"])
    for number, raw in enumerate(lines, start=1):
        line = re.sub(r"(^|\s)#.*", "", raw).strip()
        if not line:
            continue
        where = f"requirements_file '{value}' line {number}"
        if line.split()[0].split("=")[0] in _INCLUDES:
            problems.add(
                f"{where} '{line}' includes another file, which is not uploaded to the instance; "
                "put its pins in this file"
            )
            continue
        match = _PIN.match(line.split(";")[0].strip())
        if match is None:
            continue
        if match["extras"]:
            problems.add(
                f"{where} '{line}' has extras, which pip does not accept in a constraints file; "
                f"write '{match['name']}=={match['version']}'"
            )
        name = normalize_name(match["name"])
        if name in wanted and match["version"] != wanted[name][1]:
            problems.add(
                f"{where} pins {match['name']}=={match['version']} but the server installs "
                f"{wanted[name][0]}; lock the file for the same versions"
            )
    return path.resolve()


#: What the server runs with when its database pauses while idle (Aurora Serverless v2 at a
#: minimum of 0 ACUs), which it does only without connections:
#: - ``MLFLOW_SQLALCHEMYSTORE_POOLCLASS=NullPool``: each request opens and closes its own
#:   connection instead of keeping a pool open. The tracking, model registry, jobs and auth
#:   stores all build their engines with ``mlflow.store.db.utils.create_sqlalchemy_engine``,
#:   which reads this variable.
#: - ``MLFLOW_SERVER_JOB_ENABLE_PERIODIC_TASKS=false``: no periodic server jobs (the GenAI
#:   online scoring and trace archival schedulers), which query the tracking store every minute.
AUTO_PAUSE_SERVER_ENVIRONMENT: dict[str, str] = {
    "MLFLOW_SQLALCHEMYSTORE_POOLCLASS": "NullPool",
    "MLFLOW_SERVER_JOB_ENABLE_PERIODIC_TASKS": "false",
}
