"""The MLflow launcher against a real MLflow server, PostgreSQL and an S3/Secrets Manager emulator.

PostgreSQL comes from the system (Debian package ``postgresql``); moto's server emulates S3 and
Secrets Manager (the session fixtures ``postgres``, ``aws`` and ``server`` are in
``conftest.py``). The launcher runs as the tracking server instance runs it: first as a
standalone copied file, after a restart as ``python -m``. Nothing of ours is mocked.
"""

from __future__ import annotations

import base64
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.integration.mlflow_harness import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    BUCKET,
    DB_PASSWORD,
    PREFIX,
    Aws,
    Server,
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
