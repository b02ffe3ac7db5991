"""Custom resource handler: copy files from CDK assets into a bucket, report version ids.

Runs in AWS Lambda on the Python runtime's own boto3. Two kinds of resource:

* ``File``: copy one asset object to ``DestinationKey``; ``Data.VersionId`` is the version id
  S3 gave the copy (the bucket must be versioned).
* ``Content``: write the ``Body`` text to ``DestinationKey``; ``Data.VersionId`` as above.
* ``Folder``: unpack a zip asset under ``DestinationPrefix`` and delete objects under that
  prefix that the archive no longer has, except those under one of ``KeepPrefixes`` (folders
  that other resources deploy into); ``Data.ObjectCount`` is the number of files.

Deleting the resource leaves the objects in place: they belong to a retained bucket, and an
environment being deleted in the same stack operation may still read them. A ``File`` or
``Content`` resource with ``RemoveOnDelete: "true"`` (a pipeline's DAG) removes its object
instead, so a DAG whose pipeline left the stack stops being scheduled; when its key changes,
CloudFormation deletes the old resource and so the old object.
"""

from __future__ import annotations

import io
import json
import urllib.request
import zipfile
from typing import Any

import boto3

_s3: Any = None


def _client() -> Any:
    global _s3
    if _s3 is None:
        _s3 = boto3.client("s3")
    return _s3


def apply(properties: dict[str, Any], s3: Any) -> tuple[str, dict[str, Any]]:
    """Deploy what ``properties`` describe; returns (physical resource id, data)."""
    kind = properties["Kind"]
    bucket = properties["DestinationBucket"]
    if kind in ("File", "Content"):
        key = properties["DestinationKey"]
        if kind == "File":
            source = {"Bucket": properties["SourceBucket"], "Key": properties["SourceKey"]}
            written = s3.copy_object(CopySource=source, Bucket=bucket, Key=key)
        else:
            written = s3.put_object(Bucket=bucket, Key=key, Body=properties["Body"].encode())
        version_id = written.get("VersionId")
        if not version_id:
            raise RuntimeError(f"bucket '{bucket}' returned no version id: enable versioning")
        return f"s3://{bucket}/{key}", {"VersionId": version_id}
    if kind == "Folder":
        source = {"Bucket": properties["SourceBucket"], "Key": properties["SourceKey"]}
        prefix = properties["DestinationPrefix"]
        archive = s3.get_object(**source)["Body"].read()
        keys = set()
        with zipfile.ZipFile(io.BytesIO(archive)) as folder:
            for member in folder.infolist():
                if member.is_dir():
                    continue
                key = prefix + member.filename
                s3.put_object(Bucket=bucket, Key=key, Body=folder.read(member))
                keys.add(key)
        keep = tuple(properties.get("KeepPrefixes") or ())
        _delete_stale(s3, bucket, prefix, keys, keep)
        return f"s3://{bucket}/{prefix}", {"ObjectCount": len(keys)}
    raise ValueError(f"unknown Kind '{kind}'; expected 'File', 'Content' or 'Folder'")


def remove(properties: dict[str, Any], s3: Any) -> None:
    """On delete: remove the object of a ``File`` or ``Content`` resource that asks for it."""
    if properties.get("RemoveOnDelete") != "true" or properties["Kind"] not in ("File", "Content"):
        return
    s3.delete_object(Bucket=properties["DestinationBucket"], Key=properties["DestinationKey"])


def _delete_stale(
    s3: Any, bucket: str, prefix: str, keep: set[str], keep_prefixes: tuple[str, ...]
) -> None:
    stale: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        stale.extend(
            item["Key"]
            for item in page.get("Contents", [])
            if item["Key"] not in keep and not item["Key"].startswith(keep_prefixes)
        )
    for start in range(0, len(stale), 1000):
        batch = [{"Key": key} for key in stale[start : start + 1000]]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})


def handler(event: dict[str, Any], context: Any) -> None:
    """The Lambda entry point: apply the request and answer CloudFormation."""
    physical_id = event.get("PhysicalResourceId", event["LogicalResourceId"])
    data: dict[str, Any] = {}
    try:
        if event["RequestType"] in ("Create", "Update"):
            physical_id, data = apply(event["ResourceProperties"], _client())
        elif event["RequestType"] == "Delete":
            remove(event["ResourceProperties"], _client())
        status, reason = "SUCCESS", "deployed"
    except Exception as error:  # reported to CloudFormation, which fails the operation
        status, reason = "FAILED", f"{type(error).__name__}: {error}"
    respond(event, status, reason, physical_id, data)


def respond(
    event: dict[str, Any], status: str, reason: str, physical_id: str, data: dict[str, Any]
) -> None:
    """PUT the result to the pre-signed ``ResponseURL`` CloudFormation gave."""
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason,
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(
        event["ResponseURL"],
        data=body,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(body))},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
