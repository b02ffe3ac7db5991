"""The deployment handler against moto's S3: versions reported, folders synced, answers sent."""

from __future__ import annotations

import importlib.util
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import ModuleType
from typing import Any, ClassVar

import boto3
import pytest
from moto import mock_aws

from mlpipes_constructs.airflow._source_deployment import HANDLER_DIRECTORY

BUCKET = "source"
ASSETS = "assets"


def _load_handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_handler", HANDLER_DIRECTORY / "index.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


handler = _load_handler()


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("s3")
        for name in (BUCKET, ASSETS):
            client.create_bucket(Bucket=name)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield client


def _file(source_key: str) -> dict[str, str]:
    return {
        "Kind": "File",
        "SourceBucket": ASSETS,
        "SourceKey": source_key,
        "DestinationBucket": BUCKET,
        "DestinationKey": "requirements.txt",
    }


def test_a_copied_file_reports_the_version_s3_gave_it(s3: Any) -> None:
    s3.put_object(Bucket=ASSETS, Key="a.txt", Body=b"boto3==1\n")
    s3.put_object(Bucket=ASSETS, Key="b.txt", Body=b"boto3==2\n")
    physical_id, first = handler.apply(_file("a.txt"), s3)
    _, second = handler.apply(_file("b.txt"), s3)
    assert physical_id == f"s3://{BUCKET}/requirements.txt"
    assert first["VersionId"] != second["VersionId"]
    current = s3.head_object(Bucket=BUCKET, Key="requirements.txt")
    assert current["VersionId"] == second["VersionId"]
    old = s3.get_object(Bucket=BUCKET, Key="requirements.txt", VersionId=first["VersionId"])
    assert old["Body"].read() == b"boto3==1\n"


def test_an_unversioned_bucket_fails_with_the_reason(s3: Any) -> None:
    s3.put_object(Bucket=ASSETS, Key="a.txt", Body=b"x")
    properties = {**_file("a.txt"), "DestinationBucket": ASSETS}
    with pytest.raises(RuntimeError, match="enable versioning"):
        handler.apply(properties, s3)


def test_content_is_written_and_versioned(s3: Any) -> None:
    properties = {
        "Kind": "Content",
        "Body": "dag: {}\n",
        "DestinationBucket": BUCKET,
        "DestinationKey": "workflows/dag.yaml",
    }
    _, data = handler.apply(properties, s3)
    written = s3.get_object(Bucket=BUCKET, Key="workflows/dag.yaml", VersionId=data["VersionId"])
    assert written["Body"].read() == b"dag: {}\n"


def test_a_folder_is_unpacked_and_stale_files_removed(s3: Any) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as folder:
        folder.writestr("a_dag.py", "a = 1\n")
        folder.writestr("sub/b_dag.py", "b = 2\n")
    s3.put_object(Bucket=ASSETS, Key="dags.zip", Body=archive.getvalue())
    s3.put_object(Bucket=BUCKET, Key="dags/removed_dag.py", Body=b"old")
    s3.put_object(Bucket=BUCKET, Key="requirements.txt", Body=b"keep")
    properties = {
        "Kind": "Folder",
        "SourceBucket": ASSETS,
        "SourceKey": "dags.zip",
        "DestinationBucket": BUCKET,
        "DestinationPrefix": "dags/",
    }
    _, data = handler.apply(properties, s3)
    keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert keys == ["dags/a_dag.py", "dags/sub/b_dag.py", "requirements.txt"]
    assert data == {"ObjectCount": 2}


def test_a_folder_leaves_the_folders_other_resources_deploy_into(s3: Any) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as folder:
        folder.writestr("a_dag.py", "a = 1\n")
    s3.put_object(Bucket=ASSETS, Key="dags.zip", Body=archive.getvalue())
    s3.put_object(Bucket=BUCKET, Key="dags/mlpipes/review.json", Body=b"{}")
    s3.put_object(Bucket=BUCKET, Key="dags/mlpipes-old.py", Body=b"stale")
    properties = {
        "Kind": "Folder",
        "SourceBucket": ASSETS,
        "SourceKey": "dags.zip",
        "DestinationBucket": BUCKET,
        "DestinationPrefix": "dags/",
        "KeepPrefixes": ["dags/mlpipes/"],
    }
    handler.apply(properties, s3)
    keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert keys == ["dags/a_dag.py", "dags/mlpipes/review.json"]


def test_only_objects_marked_for_removal_are_removed_on_delete(s3: Any) -> None:
    content = {
        "Kind": "Content",
        "Body": "{}",
        "DestinationBucket": BUCKET,
        "DestinationKey": "dags/mlpipes/review.json",
    }
    handler.apply(content, s3)
    handler.remove(content, s3)
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 1
    handler.remove({**content, "RemoveOnDelete": "true"}, s3)
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


class _Recorder(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict[str, Any]]] = []

    def do_PUT(self) -> None:
        length = int(self.headers["Content-Length"])
        self.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


def test_the_handler_answers_cloudformation_with_success_and_failure(s3: Any) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/response"
    s3.put_object(Bucket=ASSETS, Key="a.txt", Body=b"x")
    handler._s3 = s3
    event = {
        "RequestType": "Create",
        "ResponseURL": url,
        "StackId": "stack",
        "RequestId": "request",
        "LogicalResourceId": "Requirements",
        "ResourceProperties": _file("a.txt"),
    }
    try:
        handler.handler(event, None)
        handler.handler({**event, "ResourceProperties": _file("missing.txt")}, None)
        handler.handler({**event, "RequestType": "Delete", "PhysicalResourceId": "s3://x/y"}, None)
    finally:
        server.shutdown()
        handler._s3 = None
    success, failure, deleted = _Recorder.bodies[-3:]
    assert success["Status"] == "SUCCESS" and success["Data"]["VersionId"]
    assert success["PhysicalResourceId"] == f"s3://{BUCKET}/requirements.txt"
    assert failure["Status"] == "FAILED" and "NoSuchKey" in failure["Reason"]
    assert deleted == {**deleted, "Status": "SUCCESS", "PhysicalResourceId": "s3://x/y"}
    assert s3.list_object_versions(Bucket=BUCKET)["Versions"]  # delete leaves the objects
