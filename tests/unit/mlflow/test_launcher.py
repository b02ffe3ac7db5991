"""The launcher's pure parts: settings, secrets parsing, URIs, basic_auth.ini, command, env."""

from __future__ import annotations

import ast
import configparser
import json
import stat
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from mlpipes_constructs.mlflow import launcher
from mlpipes_constructs.mlflow.launcher import (
    AdminCredentials,
    DatabaseSecret,
    LauncherError,
    Settings,
)

DB = DatabaseSecret(
    username="mlflow_owner", password="p@ss:w/rd%25&?#=x", host="db.internal", port=5433,
    dbname="mlflow",
)  # fmt: skip
ADMIN = AdminCredentials(username="admin", password="s3cret%value")
REQUIRED = {
    "MLPIPES_MLFLOW_DB_SECRET_ARN": "arn:db",
    "MLPIPES_MLFLOW_ADMIN_SECRET_ARN": "arn:admin",
    "MLPIPES_MLFLOW_ARTIFACTS_DESTINATION": "s3://bucket/mlflow/",
}


def test_settings_come_from_the_environment_with_defaults() -> None:
    settings = launcher.parse_settings([], {**REQUIRED, "AWS_REGION": "eu-west-1"})
    assert settings == Settings(
        db_secret_arn="arn:db",
        admin_secret_arn="arn:admin",
        artifacts_destination="s3://bucket/mlflow/",
        region="eu-west-1",
    )
    assert (settings.host, settings.port, settings.workers) == ("0.0.0.0", 5000, 4)
    assert settings.ssl_mode == "require" and settings.default_permission == "READ"


def test_flags_override_the_environment() -> None:
    settings = launcher.parse_settings(
        ["--port", "8080", "--workers", "2", "--host", "127.0.0.1",
         "--allowed-hosts", "a.example.com, a.example.com:*", "--ssl-mode", "disable"],
        {**REQUIRED, "MLPIPES_MLFLOW_PORT": "9000"},
    )  # fmt: skip
    assert (settings.port, settings.workers, settings.host) == (8080, 2, "127.0.0.1")
    assert settings.allowed_hosts == ("a.example.com", "a.example.com:*")
    assert settings.ssl_mode == "disable"


def test_missing_and_bad_settings_are_all_reported() -> None:
    with pytest.raises(LauncherError) as raised:
        launcher.parse_settings(
            ["--port", "http", "--default-permission", "ALL"],
            {"MLPIPES_MLFLOW_ARTIFACTS_DESTINATION": "bucket/mlflow"},
        )
    message = str(raised.value)
    for expected in (
        "--db-secret-arn (or MLPIPES_MLFLOW_DB_SECRET_ARN) is required",
        "--admin-secret-arn (or MLPIPES_MLFLOW_ADMIN_SECRET_ARN) is required",
        "artifacts_destination 'bucket/mlflow' must be a URI",
        "port 'http' must be a whole number from 1 to 65535",
        "default_permission 'ALL' must be one of",
    ):
        assert expected in message


def test_database_secret_reads_the_rds_format() -> None:
    secret = launcher.parse_database_secret(
        json.dumps({"engine": "postgres", "username": "u", "password": "p", "host": "h",
                    "port": 5433, "dbname": "tracking", "dbInstanceIdentifier": "x"})
    )  # fmt: skip
    assert (secret.username, secret.password, secret.host, secret.port, secret.dbname) == (
        "u", "p", "h", 5433, "tracking",
    )  # fmt: skip
    defaulted = launcher.parse_database_secret('{"username":"u","password":"p","host":"h"}')
    assert (defaulted.port, defaulted.dbname) == (5432, "mlflow")
    assert "hunter2" not in repr(DatabaseSecret("u", "hunter2", "h", 5432, "mlflow"))
    assert "hunter2" not in repr(AdminCredentials("admin", "hunter2"))


def test_bad_secrets_never_echo_their_content() -> None:
    with pytest.raises(LauncherError, match="database secret lacks password") as raised:
        launcher.parse_database_secret('{"username": "u", "host": "h", "note": "hunter2"}')
    assert "hunter2" not in str(raised.value)
    with pytest.raises(LauncherError, match="is not a JSON document") as raised:
        launcher.parse_admin_secret("hunter2-not-json")
    assert "hunter2" not in str(raised.value)
    with pytest.raises(LauncherError, match="admin secret lacks username, password"):
        launcher.parse_admin_secret("{}")


def test_database_uri_quotes_the_credentials_so_sqlalchemy_reads_them_back() -> None:
    uri = launcher.database_uri(DB, ssl_mode="require")
    assert uri.startswith("postgresql+psycopg2://mlflow_owner:p%40ss%3Aw%2Frd%2525%26%3F%23%3Dx@")
    parsed = make_url(uri)
    assert parsed.password == DB.password
    assert (parsed.host, parsed.port, parsed.database) == ("db.internal", 5433, "mlflow")
    assert parsed.query == {"sslmode": "require"}
    assert make_url(launcher.database_uri(DB, "mlflow_auth")).database == "mlflow_auth"


def test_auth_config_round_trips_through_mlflows_config_parser() -> None:
    auth_uri = launcher.database_uri(DB, "mlflow_auth", "require")
    text = launcher.render_auth_config(
        admin=ADMIN, auth_database_uri=auth_uri, default_permission="EDIT", auth_cache_ttl=30
    )
    parser = configparser.ConfigParser()  # as mlflow.server.auth.config reads it
    parser.read_string(text)
    section = parser["mlflow"]
    assert section["admin_username"] == "admin"
    assert section["admin_password"] == "s3cret%value"
    assert section["database_uri"] == auth_uri
    assert section["default_permission"] == "EDIT"
    assert section["authorization_function"] == (
        "mlflow.server.auth:authenticate_request_basic_auth"
    )
    assert section["auth_cache_ttl_seconds"] == "30"


def test_auth_config_rejects_multiline_values() -> None:
    with pytest.raises(LauncherError, match="admin_password must be one line"):
        launcher.render_auth_config(
            admin=AdminCredentials("admin", "a\ninjected = 1"), auth_database_uri="sqlite://"
        )


def test_server_command_uses_basic_auth_and_proxied_artifacts_without_secrets() -> None:
    settings = launcher.parse_settings(["--workers", "3"], REQUIRED)
    command = launcher.server_command(settings, python="/opt/mlflow/venv/bin/python")
    assert command == [
        "/opt/mlflow/venv/bin/python", "-m", "mlflow", "server",
        "--app-name", "basic-auth",
        "--artifacts-destination", "s3://bucket/mlflow/",
        "--serve-artifacts",
        "--host", "0.0.0.0", "--port", "5000", "--workers", "3",
    ]  # fmt: skip
    assert not any("postgresql" in part for part in command)


def test_server_environment_carries_the_store_uri_and_auth_settings() -> None:
    environment = launcher.server_environment(
        {"PATH": "/usr/bin", "MLFLOW_AUTH_ADMIN_PASSWORD": "stale"},
        backend_store_uri="postgresql+psycopg2://u:p@h:5433/mlflow",
        auth_config_path="/var/lib/mlflow/basic_auth.ini",
        flask_secret_key="k" * 64,
        allowed_hosts=("mlflow.example.com", "localhost:*"),
        allowed_origins=("https://mlflow.example.com",),
    )
    assert environment == {
        "PATH": "/usr/bin",
        "MLFLOW_BACKEND_STORE_URI": "postgresql+psycopg2://u:p@h:5433/mlflow",
        "MLFLOW_AUTH_CONFIG_PATH": "/var/lib/mlflow/basic_auth.ini",
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "k" * 64,
        "MLFLOW_SERVER_ALLOWED_HOSTS": "mlflow.example.com,localhost:*",
        "MLFLOW_SERVER_CORS_ALLOWED_ORIGINS": "https://mlflow.example.com",
    }


def test_flask_secret_key_is_stable_secret_dependent_and_not_the_password() -> None:
    key = launcher.flask_secret_key(ADMIN)
    assert key == launcher.flask_secret_key(AdminCredentials("admin", ADMIN.password))
    assert key != launcher.flask_secret_key(AdminCredentials("admin", "other"))
    assert ADMIN.password not in key and len(key) == 64


def test_private_file_is_owner_only_even_when_it_existed(tmp_path: Path) -> None:
    target = tmp_path / "state" / "basic_auth.ini"
    target.parent.mkdir()
    target.write_text("old")
    target.chmod(0o644)
    launcher.write_private_file(target, "[mlflow]\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text() == "[mlflow]\n"


def test_launcher_imports_only_the_standard_library_boto3_and_psycopg2() -> None:
    tree = ast.parse(Path(launcher.__file__).read_text(encoding="utf-8"))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module.split(".")[0])
    third_party = {m for m in modules if m not in sys.stdlib_module_names and m != "__future__"}
    assert third_party == {"boto3", "psycopg2"}


def test_main_reports_bad_settings_without_starting() -> None:
    assert launcher.main(["--port", "0"]) == 2
