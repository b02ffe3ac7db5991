"""The registration Job's script against a stand-in of KFP's REST API v2beta1 (the paths and
fields of KFP 2.17.0's swagger): it creates the pipeline, uploads a version per IR hash, and
keeps one recurring run, of the newest version; re-running it changes nothing."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mlpipes_constructs.kubeflow._registration import SCRIPT


class FakeKfp:
    def __init__(self) -> None:
        self.pipelines: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, list[dict[str, Any]]] = {}
        self.recurring: dict[str, dict[str, Any]] = {}
        self.uploads: list[bytes] = []


def _handler(kfp: FakeKfp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length", 0)))

        def do_GET(self) -> None:
            url = urllib.parse.urlparse(self.path)
            path = url.path.removeprefix("/apis/v2beta1")
            if path == "/healthz":
                return self._reply(200, {})
            if path.startswith("/pipelines/names/"):
                name = urllib.parse.unquote(path.rsplit("/", 1)[1])
                if name not in kfp.pipelines:
                    return self._reply(404, {"code": 5})
                return self._reply(200, kfp.pipelines[name])
            if path.startswith("/pipelines/") and path.endswith("/versions"):
                pipeline_id = path.split("/")[2]
                query = urllib.parse.parse_qs(url.query)
                predicate = json.loads(query["filter"][0])["predicates"][0]
                found = [
                    v for v in kfp.versions[pipeline_id] if v["name"] == predicate["string_value"]
                ]
                return self._reply(200, {"pipeline_versions": found})
            if path == "/recurringruns":
                return self._reply(200, {"recurringRuns": list(kfp.recurring.values())})
            return self._reply(404, {})

        def do_POST(self) -> None:
            url = urllib.parse.urlparse(self.path)
            path = url.path.removeprefix("/apis/v2beta1")
            query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
            body = self._body()
            if path == "/pipelines/upload":
                kfp.uploads.append(body)
                pipeline = {"pipeline_id": f"p{len(kfp.pipelines)}", "name": query["name"]}
                kfp.pipelines[query["name"]] = pipeline
                kfp.versions[pipeline["pipeline_id"]] = [
                    {"pipeline_version_id": "v0", "name": query["name"]}
                ]
                return self._reply(200, pipeline)
            if path == "/pipelines/upload_version":
                versions = kfp.versions[query["pipelineid"]]
                if any(v["name"] == query["name"] for v in versions):
                    return self._reply(409, {"code": 6})
                kfp.uploads.append(body)
                versions.append({"pipeline_version_id": f"v{len(versions)}", "name": query["name"]})
                return self._reply(200, versions[-1])
            if path == "/recurringruns":
                run = json.loads(body)
                run["recurring_run_id"] = f"r{len(kfp.recurring)}-{run['display_name']}"
                kfp.recurring[run["recurring_run_id"]] = run
                return self._reply(200, run)
            return self._reply(404, {})

        def do_DELETE(self) -> None:
            run_id = self.path.rsplit("/", 1)[1]
            kfp.recurring.pop(run_id, None)
            return self._reply(200, {})

    return Handler


@pytest.fixture
def kfp() -> Iterator[tuple[FakeKfp, str]]:
    fake = FakeKfp()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def _register(url: str, tmp_path: Path, version: str, schedule: str = "") -> str:
    ir = tmp_path / "pipeline.yaml.gz"
    text = (
        f"# PIPELINE DEFINITION\n# Name: demo\ncomponents: {{}}\n# {version} __MLPIPES_VALUE_0__\n"
    )
    ir.write_bytes(gzip.compress(text.encode()))
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env={
            "KFP_API": url,
            "PIPELINE_NAME": "demo",
            "PIPELINE_VERSION": version,
            "PIPELINE_FILE": str(ir),
            "DESCRIPTION": "A demo",
            "SCHEDULE": schedule,
            "SCHEDULE_INPUT": json.dumps({"AccuracyThreshold": 0.8}),
            "SERVICE_ACCOUNT": "demo-runner",
            "MLPIPES_VALUE_0": "arn:aws:iam::123456789012:role/job",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_first_registration_creates_the_pipeline_its_version_and_the_recurring_run(
    kfp: tuple[FakeKfp, str], tmp_path: Path
) -> None:
    fake, url = kfp
    _register(url, tmp_path, "v-1", schedule="0 0 3 * * *")
    assert list(fake.pipelines) == ["demo"]
    assert [v["name"] for v in fake.versions["p0"]] == ["demo", "v-1"]
    (run,) = fake.recurring.values()
    assert run["display_name"] == "demo-schedule-v-1"
    assert run["pipeline_version_reference"] == {"pipeline_id": "p0", "pipeline_version_id": "v1"}
    assert run["trigger"] == {"cron_schedule": {"cron": "0 0 3 * * *"}}
    assert run["runtime_config"] == {"parameters": {"AccuracyThreshold": 0.8}}
    assert run["service_account"] == "demo-runner"
    assert b'name="uploadfile"' in fake.uploads[0]
    # The stored IR is decompressed and its deploy-time values filled in.
    assert b"# v-1 arn:aws:iam::123456789012:role/job\n" in fake.uploads[0]
    assert b"__MLPIPES_VALUE_" not in fake.uploads[0]


def test_registering_again_changes_nothing_and_a_new_version_replaces_the_schedule(
    kfp: tuple[FakeKfp, str], tmp_path: Path
) -> None:
    fake, url = kfp
    _register(url, tmp_path, "v-1", schedule="0 0 3 * * *")
    _register(url, tmp_path, "v-1", schedule="0 0 3 * * *")
    assert [v["name"] for v in fake.versions["p0"]] == ["demo", "v-1"]
    assert [r["display_name"] for r in fake.recurring.values()] == ["demo-schedule-v-1"]
    _register(url, tmp_path, "v-2", schedule="0 0 3 * * *")
    assert [v["name"] for v in fake.versions["p0"]] == ["demo", "v-1", "v-2"]
    assert [r["display_name"] for r in fake.recurring.values()] == ["demo-schedule-v-2"]


def test_without_a_schedule_the_pipelines_recurring_runs_are_removed(
    kfp: tuple[FakeKfp, str], tmp_path: Path
) -> None:
    fake, url = kfp
    _register(url, tmp_path, "v-1", schedule="0 0 3 * * *")
    _register(url, tmp_path, "v-2")
    assert fake.recurring == {}
