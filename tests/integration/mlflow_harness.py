"""A real MLflow tracking server for the integration tests, run through our launcher.

PostgreSQL comes from the system (Debian package ``postgresql``); moto's server emulates S3 and
Secrets Manager. The session fixtures that start them are in ``conftest.py``; this module holds
what they and the tests share: the constants, the handles and how to start and stop the server.
"""

from __future__ import annotations

import contextlib
import glob
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import boto3  # type: ignore[import-untyped]
import pytest

REGION = "us-east-1"
BUCKET = "mlpipes-test-artifacts"
PREFIX = "mlflow/"
DB_NAME = "mlflow"
DB_USER = "mlflow_owner"
# Characters that must be URL-quoted in the URI and escaped in basic_auth.ini.
DB_PASSWORD = "p@ss:w/rd%25&?#=x"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "Adm1n-generated-Passw0rd-4-tests"
STARTUP_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_bin_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        pytest.fail(
            "PostgreSQL server binaries not found under /usr/lib/postgresql/<version>/bin; "
            "install them with `apt-get install -y postgresql` (the project setup does this)",
            pytrace=False,
        )
    return Path(candidates[-1]).parent


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int


@dataclass(frozen=True)
class Aws:
    endpoint: str
    db_secret_arn: str
    admin_secret_arn: str

    def client(self, service: str):  # type: ignore[no-untyped-def]
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@dataclass
class Server:
    url: str
    state_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None


def launcher_environment(aws: Aws, state_dir: Path) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "MLFLOW_", "MLPIPES_"))
    }
    environment.update(
        {
            "AWS_ENDPOINT_URL": aws.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "MLPIPES_MLFLOW_DB_SECRET_ARN": aws.db_secret_arn,
            "MLPIPES_MLFLOW_ADMIN_SECRET_ARN": aws.admin_secret_arn,
            "MLPIPES_MLFLOW_ARTIFACTS_DESTINATION": f"s3://{BUCKET}/{PREFIX}",
            "MLPIPES_MLFLOW_STATE_DIR": str(state_dir),
            "MLPIPES_MLFLOW_SSL_MODE": "disable",  # the test server has no TLS; RDS gets require
            "MLPIPES_MLFLOW_ALLOWED_HOSTS": "127.0.0.1:*",  # as the instance names its ALB
            "PYTHONUNBUFFERED": "1",
        }
    )
    return environment


def start_server(
    server: Server, aws: Aws, command: list[str], extra: Mapping[str, str] | None = None
) -> None:
    """Start the launcher ``command`` for ``server``, with ``extra`` variables, and wait for
    ``/health``."""
    port = int(server.url.rsplit(":", 1)[1])
    log = server.log_path.open("ab")
    server.process = subprocess.Popen(
        # Host, port and workers as flags, the rest from the environment (as on the instance).
        [*command, "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env={**launcher_environment(aws, server.state_dir), **(extra or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # mlflow server forks workers: stop the whole group
        cwd=server.state_dir,
    )
    log.close()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if server.process.poll() is not None:
            pytest.fail(f"launcher exited:\n{server.log_path.read_text(errors='replace')}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{server.url}/health", timeout=2) as response,
        ):
            if response.status == 200:
                return
        if time.monotonic() > deadline:
            stop_server(server)
            pytest.fail(f"no /health in time:\n{server.log_path.read_text(errors='replace')}")
        time.sleep(0.5)


def stop_server(server: Server) -> None:
    if server.process is None or server.process.poll() is not None:
        return
    os.killpg(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
