"""Start an MLflow tracking server on PostgreSQL with basic authentication, secrets from AWS.

This module runs on the tracking server instance, copied there as a single file, so it imports
only the standard library, boto3 and (when it creates the authentication database) psycopg2:
never CDK or other mlpipes modules.

It fetches the database secret (the JSON document RDS generates: ``username``, ``password``,
``host``, ``port``, ``dbname``) and the admin secret (``username``, ``password``) from Secrets
Manager, writes MLflow's ``basic_auth.ini`` readable by its owner only, makes sure the
authentication database exists, and replaces itself with ``mlflow server``. The backend store
URI holds the database password, so it is passed through ``MLFLOW_BACKEND_STORE_URI`` (the
environment variable ``mlflow server --backend-store-uri`` reads) rather than the command line,
which any local user can list. Secret values are never printed or logged.

Usage::

    python launcher.py --db-secret-arn ARN --admin-secret-arn ARN \\
        --artifacts-destination s3://bucket/mlflow/

Every flag also reads an environment variable (see ``--help``), which is how the systemd
service configures it.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

LOGGER = logging.getLogger("mlpipes.mlflow.launcher")

ENV_PREFIX = "MLPIPES_MLFLOW_"
DEFAULT_HOST = "0.0.0.0"
DEFAULT_PORT = 5000
DEFAULT_WORKERS = 4
DEFAULT_STATE_DIR = "/var/lib/mlflow"
DEFAULT_AUTH_DATABASE = "mlflow_auth"
DEFAULT_DATABASE = "mlflow"
DEFAULT_SSL_MODE = "require"
DEFAULT_PERMISSION = "READ"
#: Seconds a verified credential is cached per worker. Checking a password hash costs about a
#: CPU-second, which every uncached request of a client would pay; a password change reaches
#: the other workers after at most this long.
DEFAULT_AUTH_CACHE_TTL = 60
AUTH_CONFIG_FILE = "basic_auth.ini"
AUTHORIZATION_FUNCTION = "mlflow.server.auth:authenticate_request_basic_auth"

#: Permissions MLflow's basic-auth app accepts as ``default_permission``.
PERMISSIONS: tuple[str, ...] = ("READ", "EDIT", "MANAGE", "NO_PERMISSIONS")
#: libpq ``sslmode`` values.
SSL_MODES: tuple[str, ...] = (
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
)


class LauncherError(Exception):
    """A setting or secret is missing or malformed. The message never contains a secret."""


@dataclass(frozen=True)
class Settings:
    """What the launcher needs, from flags and environment variables."""

    db_secret_arn: str
    admin_secret_arn: str
    artifacts_destination: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = DEFAULT_WORKERS
    region: str | None = None
    state_dir: str = DEFAULT_STATE_DIR
    auth_database: str = DEFAULT_AUTH_DATABASE
    ssl_mode: str = DEFAULT_SSL_MODE
    default_permission: str = DEFAULT_PERMISSION
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    auth_cache_ttl: int = DEFAULT_AUTH_CACHE_TTL


@dataclass(frozen=True)
class DatabaseSecret:
    """The fields of an RDS-generated database secret the launcher uses."""

    username: str
    password: str
    host: str
    port: int
    dbname: str

    def __repr__(self) -> str:  # keep the password out of tracebacks and logs
        return (
            f"DatabaseSecret(username={self.username!r}, password='***', host={self.host!r}, "
            f"port={self.port}, dbname={self.dbname!r})"
        )


@dataclass(frozen=True)
class AdminCredentials:
    """The MLflow admin user created on first start."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"AdminCredentials(username={self.username!r}, password='***')"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="launcher",
        description="Start an MLflow tracking server with secrets from AWS Secrets Manager.",
    )

    def option(flag: str, help_text: str, **kwargs: Any) -> None:
        env = ENV_PREFIX + flag.removeprefix("--").replace("-", "_").upper()
        parser.add_argument(flag, help=f"{help_text} (env {env})", default=None, **kwargs)

    option("--db-secret-arn", "Secrets Manager secret of the backend database, RDS format")
    option("--admin-secret-arn", "Secrets Manager secret with the admin username and password")
    option("--artifacts-destination", "where artifacts are stored, e.g. s3://bucket/mlflow/")
    option("--host", f"interface to listen on, default {DEFAULT_HOST}")
    option("--port", f"port to listen on, default {DEFAULT_PORT}")
    option("--workers", f"server worker processes, default {DEFAULT_WORKERS}")
    option("--region", "AWS region of the secrets, default the SDK's region")
    option("--state-dir", f"directory for basic_auth.ini, default {DEFAULT_STATE_DIR}")
    option(
        "--auth-database", f"database for users and permissions, default {DEFAULT_AUTH_DATABASE}"
    )
    option("--ssl-mode", f"libpq sslmode of database connections, default {DEFAULT_SSL_MODE}")
    option(
        "--default-permission",
        f"permission of users on others' experiments, default {DEFAULT_PERMISSION}",
    )
    option("--allowed-hosts", "comma-separated Host headers the server accepts, default MLflow's")
    option("--allowed-origins", "comma-separated CORS origins of the UI, default localhost only")
    option(
        "--auth-cache-ttl",
        f"seconds verified credentials are cached, 0 for never, default {DEFAULT_AUTH_CACHE_TTL}",
    )
    return parser


def parse_settings(argv: Sequence[str], environ: Mapping[str, str]) -> Settings:
    """Settings from command-line flags, falling back to ``MLPIPES_MLFLOW_*`` variables.

    Raises:
        LauncherError: a required setting is missing or a value is malformed (all problems).
    """
    args = vars(_parser().parse_args(list(argv)))

    def value(name: str) -> str | None:
        given = args[name]
        if given is None:
            given = environ.get(ENV_PREFIX + name.upper())
        return given.strip() if isinstance(given, str) and given.strip() else None

    problems: list[str] = []

    def required(name: str) -> str:
        found = value(name)
        if found is None:
            flag = "--" + name.replace("_", "-")
            problems.append(f"{flag} (or {ENV_PREFIX}{name.upper()}) is required")
            return ""
        return found

    def number(name: str, default: int, low: int, high: int) -> int:
        found = value(name)
        if found is None:
            return default
        if not found.isdigit() or not low <= int(found) <= high:
            problems.append(f"{name} '{found}' must be a whole number from {low} to {high}")
            return default
        return int(found)

    def choice(name: str, default: str, allowed: Sequence[str]) -> str:
        found = value(name) or default
        if found not in allowed:
            problems.append(f"{name} '{found}' must be one of {', '.join(allowed)}")
        return found

    destination = required("artifacts_destination")
    if destination and "://" not in destination:
        problems.append(
            f"artifacts_destination '{destination}' must be a URI such as s3://bucket/mlflow/"
        )
    auth_database = value("auth_database") or DEFAULT_AUTH_DATABASE
    if not auth_database.replace("_", "").isalnum():
        problems.append(f"auth_database '{auth_database}' must use only letters, digits and '_'")
    settings = Settings(
        db_secret_arn=required("db_secret_arn"),
        admin_secret_arn=required("admin_secret_arn"),
        artifacts_destination=destination,
        host=value("host") or DEFAULT_HOST,
        port=number("port", DEFAULT_PORT, 1, 65535),
        workers=number("workers", DEFAULT_WORKERS, 1, 64),
        region=value("region") or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION"),
        state_dir=value("state_dir") or DEFAULT_STATE_DIR,
        auth_database=auth_database,
        ssl_mode=choice("ssl_mode", DEFAULT_SSL_MODE, SSL_MODES),
        default_permission=choice("default_permission", DEFAULT_PERMISSION, PERMISSIONS),
        allowed_hosts=_split(value("allowed_hosts")),
        allowed_origins=_split(value("allowed_origins")),
        auth_cache_ttl=number("auth_cache_ttl", DEFAULT_AUTH_CACHE_TTL, 0, 3600),
    )
    if problems:
        raise LauncherError("invalid launcher settings:\n  - " + "\n  - ".join(problems))
    return settings


def parse_database_secret(
    secret_string: str, default_dbname: str = DEFAULT_DATABASE
) -> DatabaseSecret:
    """Read the JSON document RDS stores in a generated database secret.

    Raises:
        LauncherError: the secret is not JSON or lacks a field (the message names the field,
            never a value).
    """
    document = _json_object(secret_string, "database secret")
    missing = [key for key in ("username", "password", "host") if not document.get(key)]
    if missing:
        raise LauncherError(f"database secret lacks {', '.join(missing)}")
    port = document.get("port", 5432)
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if isinstance(port, bool) or not isinstance(port, int):
        raise LauncherError("database secret field 'port' is not a number")
    return DatabaseSecret(
        username=str(document["username"]),
        password=str(document["password"]),
        host=str(document["host"]),
        port=port,
        dbname=str(document.get("dbname") or default_dbname),
    )


def parse_admin_secret(secret_string: str) -> AdminCredentials:
    """Read the admin secret: ``{"username": ..., "password": ...}``."""
    document = _json_object(secret_string, "admin secret")
    missing = [key for key in ("username", "password") if not document.get(key)]
    if missing:
        raise LauncherError(f"admin secret lacks {', '.join(missing)}")
    return AdminCredentials(username=str(document["username"]), password=str(document["password"]))


def database_uri(
    secret: DatabaseSecret, dbname: str | None = None, ssl_mode: str | None = None
) -> str:
    """``postgresql+psycopg2://user:password@host:port/db``, credentials URL-quoted.

    The driver is named because SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3,
    while the server's virtual environment installs psycopg2.
    """
    user = quote(secret.username, safe="")
    password = quote(secret.password, safe="")
    location = f"{secret.host}:{secret.port}/{dbname or secret.dbname}"
    uri = f"postgresql+psycopg2://{user}:{password}@{location}"
    return f"{uri}?sslmode={ssl_mode}" if ssl_mode else uri


def render_auth_config(
    *,
    admin: AdminCredentials,
    auth_database_uri: str,
    default_permission: str = DEFAULT_PERMISSION,
    auth_cache_ttl: int = DEFAULT_AUTH_CACHE_TTL,
) -> str:
    """The ``basic_auth.ini`` MLflow's basic-auth app reads.

    MLflow parses it with :class:`configparser.ConfigParser`, whose interpolation treats ``%``
    as special, so ``%`` (common in URL-quoted passwords) is doubled.
    """
    values = {
        "default_permission": default_permission,
        "database_uri": auth_database_uri,
        "admin_username": admin.username,
        "admin_password": admin.password,
        "authorization_function": AUTHORIZATION_FUNCTION,
        "auth_cache_ttl_seconds": str(auth_cache_ttl),
    }
    lines = ["[mlflow]"]
    for key, raw in values.items():
        if any(char in raw for char in "\r\n") or raw != raw.strip():
            raise LauncherError(f"{key} must be one line without surrounding spaces")
        lines.append(f"{key} = {raw.replace('%', '%%')}")
    return "\n".join(lines) + "\n"


def server_command(settings: Settings, python: str = sys.executable) -> list[str]:
    """The ``mlflow server`` command line. It holds no secret: the backend store URI travels
    in the environment (:func:`server_environment`)."""
    return [
        python,
        "-m",
        "mlflow",
        "server",
        "--app-name",
        "basic-auth",
        "--artifacts-destination",
        settings.artifacts_destination,
        "--serve-artifacts",
        "--host",
        settings.host,
        "--port",
        str(settings.port),
        "--workers",
        str(settings.workers),
    ]


def flask_secret_key(admin: AdminCredentials) -> str:
    """The key the basic-auth app signs CSRF tokens with, derived from the admin secret.

    It must be the same in every worker and across restarts, and as secret as the admin
    password, so it is an HMAC of that password rather than one more secret to manage.
    """
    return hmac.new(
        admin.password.encode("utf-8"), b"mlpipes-mlflow-flask-secret-key", hashlib.sha256
    ).hexdigest()


def server_environment(
    base: Mapping[str, str],
    *,
    backend_store_uri: str,
    auth_config_path: str,
    flask_secret_key: str,
    allowed_hosts: Sequence[str] = (),
    allowed_origins: Sequence[str] = (),
) -> dict[str, str]:
    """The environment of ``mlflow server``: ``base`` plus the backend store URI, the
    basic-auth config path, the CSRF signing key and, when given, the Host headers and CORS
    origins to accept (MLflow versions without that protection ignore them)."""
    environment = dict(base)
    environment["MLFLOW_BACKEND_STORE_URI"] = backend_store_uri
    environment["MLFLOW_AUTH_CONFIG_PATH"] = auth_config_path
    environment["MLFLOW_FLASK_SERVER_SECRET_KEY"] = flask_secret_key
    # The bootstrap password comes from the 0600 ini file only.
    environment.pop("MLFLOW_AUTH_ADMIN_PASSWORD", None)
    if allowed_hosts:
        environment["MLFLOW_SERVER_ALLOWED_HOSTS"] = ",".join(allowed_hosts)
    if allowed_origins:
        environment["MLFLOW_SERVER_CORS_ALLOWED_ORIGINS"] = ",".join(allowed_origins)
    return environment


def write_private_file(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` readable and writable by the owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # an existing file keeps its old mode otherwise
        os.write(descriptor, content.encode("utf-8"))
    finally:
        os.close(descriptor)


def fetch_secret_string(secret_arn: str, region: str | None) -> str:
    """The ``SecretString`` of a Secrets Manager secret."""
    import boto3  # only on the instance and in tests

    client = boto3.client("secretsmanager", region_name=region)
    response = client.get_secret_value(SecretId=secret_arn)
    secret_string = response.get("SecretString")
    if not isinstance(secret_string, str):
        raise LauncherError(f"secret {secret_arn} has no string value")
    return secret_string


def ensure_database(secret: DatabaseSecret, name: str, ssl_mode: str) -> None:
    """Create database ``name`` on the server of ``secret`` unless it exists."""
    import psycopg2  # installed next to MLflow

    connection = psycopg2.connect(
        host=secret.host,
        port=secret.port,
        user=secret.username,
        password=secret.password,
        dbname=secret.dbname,
        sslmode=ssl_mode,
        connect_timeout=10,
    )
    try:
        connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cursor.fetchone() is None:
                # ``name`` is checked to be letters, digits and '_' by parse_settings.
                cursor.execute(f'CREATE DATABASE "{name}"')
                LOGGER.info("created database %s", name)
    finally:
        connection.close()


def prepare(settings: Settings, environ: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """Fetch the secrets, write the auth config, create the auth database; return the server
    command and environment."""
    database = parse_database_secret(fetch_secret_string(settings.db_secret_arn, settings.region))
    LOGGER.info("read database secret %s", settings.db_secret_arn)
    admin = parse_admin_secret(fetch_secret_string(settings.admin_secret_arn, settings.region))
    LOGGER.info("read admin secret %s", settings.admin_secret_arn)
    ensure_database(database, settings.auth_database, settings.ssl_mode)
    config_path = Path(settings.state_dir) / AUTH_CONFIG_FILE
    write_private_file(
        config_path,
        render_auth_config(
            admin=admin,
            auth_database_uri=database_uri(database, settings.auth_database, settings.ssl_mode),
            default_permission=settings.default_permission,
            auth_cache_ttl=settings.auth_cache_ttl,
        ),
    )
    LOGGER.info("wrote %s", config_path)
    environment = server_environment(
        environ,
        backend_store_uri=database_uri(database, ssl_mode=settings.ssl_mode),
        auth_config_path=str(config_path),
        flask_secret_key=flask_secret_key(admin),
        allowed_hosts=settings.allowed_hosts,
        allowed_origins=settings.allowed_origins,
    )
    return server_command(settings), environment


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        settings = parse_settings(sys.argv[1:] if argv is None else argv, os.environ)
        command, environment = prepare(settings, os.environ)
    except LauncherError as error:
        LOGGER.error("%s", error)
        return 2
    LOGGER.info(
        "starting mlflow server on %s:%d with %d workers, artifacts in %s",
        settings.host,
        settings.port,
        settings.workers,
        settings.artifacts_destination,
    )
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, environment)
    return 0  # not reached


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        # The decoder's message can quote the document, which is secret.
        raise LauncherError(f"{what} is not a JSON document") from None
    if not isinstance(document, dict):
        raise LauncherError(f"{what} is not a JSON object")
    return document


if __name__ == "__main__":
    sys.exit(main())
