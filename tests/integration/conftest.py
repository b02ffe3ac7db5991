"""Session fixtures shared by the integration tests: one MLflow tracking server on PostgreSQL,
with moto's server for S3 and Secrets Manager (see :mod:`tests.integration.mlflow_harness`)."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.mlflow_harness import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    BUCKET,
    DB_NAME,
    DB_PASSWORD,
    DB_USER,
    Aws,
    Postgres,
    Server,
    free_port,
    postgres_bin_dir,
    start_server,
    stop_server,
)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A throwaway PostgreSQL server on loopback with a password-protected owner role."""
    bin_dir = postgres_bin_dir()
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        as_postgres = ["runuser", "-u", "postgres", "--"]
    owner = pwd.getpwnam("postgres") if as_postgres else None
    root = Path(tempfile.mkdtemp(prefix="mlpipes-pg-"))
    data, sockets = root / "data", root / "run"
    sockets.mkdir()
    if owner is not None:
        for path in (root, sockets):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    port = free_port()
    subprocess.run(
        [*as_postgres, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
         "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"],
        check=True, capture_output=True,
    )  # fmt: skip
    server = subprocess.Popen(
        [*as_postgres, str(bin_dir / "postgres"), "-D", str(data), "-p", str(port),
         "-k", str(sockets), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    psql = [*as_postgres, str(bin_dir / "psql"), "-h", str(sockets), "-p", str(port), "-U",
            "postgres", "-v", "ON_ERROR_STOP=1", "-q"]  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while subprocess.run([*psql, "-c", "SELECT 1"], capture_output=True).returncode != 0:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("PostgreSQL did not start")
            time.sleep(0.2)
        # Like the RDS master user: owns the database and may create the auth database.
        subprocess.run(
            [*psql, "-c", f"CREATE ROLE {DB_USER} LOGIN CREATEDB PASSWORD '{DB_PASSWORD}'",
             "-c", f"CREATE DATABASE {DB_NAME} OWNER {DB_USER}"],
            check=True, capture_output=True,
        )  # fmt: skip
        yield Postgres(host="127.0.0.1", port=port)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def aws(postgres: Postgres) -> Iterator[Aws]:
    """moto's server with the artifact bucket and both secrets in the RDS/admin formats."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        partial = Aws(endpoint=endpoint, db_secret_arn="", admin_secret_arn="")
        partial.client("s3").create_bucket(Bucket=BUCKET)
        secrets = partial.client("secretsmanager")
        db_secret = secrets.create_secret(
            Name="mlflow/database",
            SecretString=json.dumps(
                {
                    "engine": "postgres",
                    "username": DB_USER,
                    "password": DB_PASSWORD,
                    "host": postgres.host,
                    "port": postgres.port,
                    "dbname": DB_NAME,
                }
            ),
        )
        admin_secret = secrets.create_secret(
            Name="mlflow/admin",
            SecretString=json.dumps({"username": ADMIN_USER, "password": ADMIN_PASSWORD}),
        )
        yield Aws(
            endpoint=endpoint,
            db_secret_arn=db_secret["ARN"],
            admin_secret_arn=admin_secret["ARN"],
        )
    finally:
        server.stop()


@pytest.fixture(scope="session")
def standalone_launcher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The launcher copied alone into an empty directory, as the instance receives it."""
    import mlpipes_constructs.mlflow.launcher as launcher_module

    target = tmp_path_factory.mktemp("instance") / "launcher.py"
    shutil.copy(launcher_module.__file__, target)
    return target


@pytest.fixture(scope="session")
def server(
    aws: Aws, standalone_launcher: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    state_dir = tmp_path_factory.mktemp("mlflow-state")
    running = Server(
        url=f"http://127.0.0.1:{free_port()}",
        state_dir=state_dir,
        log_path=state_dir / "server.log",
    )
    # -I: no script directory or user site on sys.path; the copy runs on its own.
    start_server(running, aws, [sys.executable, "-I", str(standalone_launcher)])
    try:
        yield running
    finally:
        stop_server(running)
