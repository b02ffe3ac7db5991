"""The MLflow launcher against a real MLflow server, PostgreSQL and an S3/Secrets Manager emulator.

PostgreSQL comes from the system (Debian package ``postgresql``); moto's server emulates S3 and
Secrets Manager (the session fixtures ``postgres``, ``aws`` and ``server`` are in
``conftest.py``). The launcher runs as the tracking server instance runs it: first as a
standalone copied file, after a restart as ``python -m``. Nothing of ours is mocked.
"""

from __future__ import annotations

import base64
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.integration.mlflow_harness import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    BUCKET,
    DB_NAME,
    DB_PASSWORD,
    DB_USER,
    PREFIX,
    Aws,
    Postgres,
    Server,
    free_port,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.integration


@pytest.fixture()
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN_USER)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN_PASSWORD)


def _get(url: str, authorization: str | None = None, host: str | None = None) -> int:
    request = urllib.request.Request(url)
    if authorization:
        request.add_header("Authorization", authorization)
    if host:
        request.add_header("Host", host)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_runs_survive_restart_and_artifacts_land_in_s3(
    server: Server, aws: Aws, credentials: None, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=server.url)
    experiment_id = client.create_experiment("reviews-classifier")
    run = client.create_run(experiment_id, run_name="baseline")
    run_id = run.info.run_id
    client.log_param(run_id, "learning_rate", "0.1")
    client.log_param(run_id, "max_depth", "6")
    for step, accuracy in enumerate((0.71, 0.83, 0.9)):
        client.log_metric(run_id, "accuracy", accuracy, step=step)
    report = tmp_path / "report.txt"
    report.write_text("accuracy 0.9 on 1000 reviews\n", encoding="utf-8")
    client.log_artifact(run_id, str(report), artifact_path="evaluation")
    client.set_terminated(run_id)

    # Proxied artifacts: the server wrote the object under the configured prefix.
    listed = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=PREFIX)
    keys = [item["Key"] for item in listed.get("Contents", [])]
    assert any(key.endswith(f"{run_id}/artifacts/evaluation/report.txt") for key in keys), keys

    stop_server(server)
    start_server(server, aws, [sys.executable, "-m", "mlpipes_constructs.mlflow.launcher"])

    client = MlflowClient(tracking_uri=server.url)
    restored = client.get_run(run_id)
    assert restored.data.params == {"learning_rate": "0.1", "max_depth": "6"}
    assert restored.data.metrics == {"accuracy": 0.9}
    history = client.get_metric_history(run_id, "accuracy")
    assert [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)] == [
        (0, 0.71),
        (1, 0.83),
        (2, 0.9),
    ]
    assert restored.info.status == "FINISHED"
    downloaded = client.download_artifacts(run_id, "evaluation/report.txt", str(tmp_path / "out"))
    assert Path(downloaded).read_text(encoding="utf-8") == "accuracy 0.9 on 1000 reviews\n"
    experiment = client.get_experiment_by_name("reviews-classifier")
    assert experiment is not None and experiment.experiment_id == experiment_id


def test_api_refuses_requests_without_valid_credentials(server: Server) -> None:
    search = f"{server.url}/api/2.0/mlflow/experiments/search?max_results=5"
    assert _get(search) == 401
    assert _get(search, _basic(ADMIN_USER, "password1234")) == 401
    assert _get(search, _basic(ADMIN_USER, ADMIN_PASSWORD)) == 200
    # A Host header outside the allowed hosts (DNS rebinding) is refused even with credentials.
    assert _get(search, _basic(ADMIN_USER, ADMIN_PASSWORD), host="attacker.example") == 403
    # The load balancer's health check needs no credentials.
    assert _get(f"{server.url}/health") == 200


def test_auth_config_is_private_and_secrets_stay_out_of_output(server: Server) -> None:
    config = server.state_dir / "basic_auth.ini"
    assert config.stat().st_mode & 0o777 == 0o600
    output = server.log_path.read_text(errors="replace")
    assert "starting mlflow server" in output
    for secret in (DB_PASSWORD, ADMIN_PASSWORD, "p%40ss"):
        assert secret not in output
    assert server.process is not None
    with open(f"/proc/{server.process.pid}/cmdline", "rb") as cmdline:
        arguments = cmdline.read().decode(errors="replace")
    assert "--app-name\0basic-auth" in arguments
    assert "p%40ss" not in arguments and DB_PASSWORD not in arguments


def test_shipped_constraints_pin_the_packages_this_test_runs() -> None:
    """The server above runs the MLflow, driver and SDK the instance installs by default."""
    from importlib.metadata import version

    from packaging.utils import canonicalize_name

    from mlpipes_constructs.mlflow._props import DEFAULT_MLFLOW_VERSION, shipped_requirements

    constraints = shipped_requirements(DEFAULT_MLFLOW_VERSION)
    assert constraints is not None, f"no constraints file ships for MLflow {DEFAULT_MLFLOW_VERSION}"
    pins = {}
    for line in constraints.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, pinned = line.partition("==")
            pins[canonicalize_name(name)] = pinned
    for package in ("mlflow", "psycopg2-binary", "boto3"):
        assert pins[package] == version(package), package


def _connections(postgres: Postgres, databases: tuple[str, ...]) -> int:
    """Sessions other than this one open on ``databases`` (PostgreSQL's own view of them)."""
    import psycopg2  # type: ignore[import-untyped]

    connection = psycopg2.connect(
        host=postgres.host, port=postgres.port, user=DB_USER, password=DB_PASSWORD, dbname=DB_NAME
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = ANY(%s) AND pid <> pg_backend_pid()",
                (list(databases),),
            )
            (count,) = cursor.fetchone()
    finally:
        connection.close()
    return int(count)


def _exercise(url: str) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=url)
    experiment_id = client.create_experiment(f"idle-check-{time.monotonic_ns()}")
    run = client.create_run(experiment_id)
    client.log_metric(run.info.run_id, "loss", 0.5)
    client.set_terminated(run.info.run_id)
    assert client.get_run(run.info.run_id).data.metrics == {"loss": 0.5}


def test_auto_pause_settings_leave_no_database_connection_open_between_requests(
    server: Server,
    aws: Aws,
    postgres: Postgres,
    standalone_launcher: Path,
    credentials: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Aurora Serverless v2 pauses only without connections: with the settings the server
    gets for a pausing database, every connection closes once the requests are done, where
    the pooled default keeps some open."""
    import psycopg2

    from mlpipes_constructs.mlflow._props import AUTO_PAUSE_SERVER_ENVIRONMENT

    # The pooled server keeps connections to its databases after answering.
    _exercise(server.url)
    assert _connections(postgres, (DB_NAME, "mlflow_auth")) > 0

    # A second server on databases of its own, with the auto-pause settings.
    owner = psycopg2.connect(
        host=postgres.host, port=postgres.port, user=DB_USER, password=DB_PASSWORD, dbname=DB_NAME
    )
    owner.autocommit = True
    with owner.cursor() as cursor:
        cursor.execute("CREATE DATABASE mlflow_idle")
    owner.close()
    secret = aws.client("secretsmanager").create_secret(
        Name="mlflow/database-idle",
        SecretString=json.dumps(
            {
                "engine": "postgres",
                "username": DB_USER,
                "password": DB_PASSWORD,
                "host": postgres.host,
                "port": postgres.port,
                "dbname": "mlflow_idle",
            }
        ),
    )
    state_dir = tmp_path_factory.mktemp("mlflow-idle-state")
    idle = Server(
        url=f"http://127.0.0.1:{free_port()}", state_dir=state_dir, log_path=state_dir / "log"
    )
    databases = ("mlflow_idle", "mlflow_idle_auth")
    extra = {
        **AUTO_PAUSE_SERVER_ENVIRONMENT,
        "MLPIPES_MLFLOW_DB_SECRET_ARN": secret["ARN"],
        "MLPIPES_MLFLOW_AUTH_DATABASE": "mlflow_idle_auth",
    }
    start_server(idle, aws, [sys.executable, "-I", str(standalone_launcher)], extra)
    try:
        _exercise(idle.url)
        # The job runner reads the store once, about 10 s after start; then nothing is open.
        deadline = time.monotonic() + 30
        while (open_now := _connections(postgres, databases)) and time.monotonic() < deadline:
            time.sleep(1)
        assert open_now == 0
        # Still serving, and each request closes its connection as it ends.
        _exercise(idle.url)
        assert _connections(postgres, databases) == 0
    finally:
        stop_server(idle)
