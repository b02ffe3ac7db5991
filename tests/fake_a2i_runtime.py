"""A fake Amazon A2I runtime (``sagemaker-a2i-runtime``) behind a real HTTP endpoint.

moto has no A2I API. This server answers StartHumanLoop, DescribeHumanLoop and StopHumanLoop
in the service's REST-JSON protocol, so the code under test keeps its own boto3 client and
botocore serializes and parses every call with the real service model: point boto3 at it with
``AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME``. When a loop completes, the reviewers' answers are
written as the loop's ``output.json`` to S3 (moto) through the given client.

Only the standard library and boto3: the Airflow virtualenv loads this file by path.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

#: What a loop does, by scenario: its status once it has been described ``in_progress``
#: times, and for a completed loop the reviewers' answers.
SCENARIOS: Mapping[str, Mapping[str, Any]] = {
    "approved": {"status": "Completed", "answers": [{"approve": {"on": True}}]},
    "rejected": {
        "status": "Completed",
        "answers": [{"approve": {"on": True}}, {"approve": {"on": False}, "reject": {"on": True}}],
    },
    "stopped": {"status": "Stopped"},
    "expired": {
        "status": "Failed",
        "FailureCode": "Expired",
        "FailureReason": "The human loop expired before a worker completed the task.",
    },
    "failed": {"status": "Failed", "FailureReason": "The task UI could not be rendered."},
    "never": {"status": "InProgress"},
}


class FakeA2iRuntime:
    """A2I's human loops, as one scenario plays them.

    Args:
        scenario: a key of :data:`SCENARIOS`, or a scenario of one's own (``status``, the
            reviewers' ``answers``, ``FailureCode``, ``FailureReason``).
        s3: a boto3 S3 client that output.json is written with.
        output_bucket: the bucket of the flow definition's output.
        output_prefix: its prefix.
        in_progress: how many DescribeHumanLoop calls answer ``InProgress`` first.
    """

    def __init__(
        self,
        scenario: str | Mapping[str, Any],
        *,
        s3: Any,
        output_bucket: str,
        output_prefix: str = "a2i-output/",
        in_progress: int = 0,
    ) -> None:
        self.scenario = SCENARIOS[scenario] if isinstance(scenario, str) else scenario
        self.s3 = s3
        self.output_bucket = output_bucket
        self.output_prefix = output_prefix
        self.in_progress = in_progress
        self.loops: dict[str, dict[str, Any]] = {}
        #: ``(operation, human loop name)`` of every call, in order.
        self.calls: list[tuple[str, str]] = []
        self._server: ThreadingHTTPServer | None = None

    # --- the API ----------------------------------------------------------------------------

    def start_human_loop(self, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        name = body["HumanLoopName"]
        self.calls.append(("StartHumanLoop", name))
        if name in self.loops:
            return 409, _error("ConflictException", f"human loop {name} exists")
        self.loops[name] = {
            "request": dict(body),
            "input": json.loads(body["HumanLoopInput"]["InputContent"]),
            "created": datetime.now(UTC),
            "describes": 0,
            "stopped": False,
        }
        return 200, {"HumanLoopArn": self._arn(name)}

    def describe_human_loop(self, name: str) -> tuple[int, dict[str, Any]]:
        self.calls.append(("DescribeHumanLoop", name))
        loop = self.loops.get(name)
        if loop is None:
            return 404, _error("ResourceNotFoundException", f"no human loop {name}")
        loop["describes"] += 1
        response: dict[str, Any] = {
            "CreationTime": loop["created"].isoformat(),
            "HumanLoopName": name,
            "HumanLoopArn": self._arn(name),
            "FlowDefinitionArn": loop["request"]["FlowDefinitionArn"],
        }
        if loop["stopped"]:
            response["HumanLoopStatus"] = "Stopped"
        elif loop["describes"] <= self.in_progress:
            response["HumanLoopStatus"] = "InProgress"
        else:
            response["HumanLoopStatus"] = self.scenario["status"]
            for key in ("FailureCode", "FailureReason"):
                if key in self.scenario:
                    response[key] = self.scenario[key]
        if response["HumanLoopStatus"] == "Completed":
            key = f"{self.output_prefix}{name}/output.json"
            output = {
                "flowDefinitionArn": response["FlowDefinitionArn"],
                "humanAnswers": [
                    {"answerContent": answer, "workerId": f"worker-{index}"}
                    for index, answer in enumerate(self.scenario["answers"])
                ],
                "humanLoopName": name,
                "inputContent": loop["input"],
            }
            self.s3.put_object(Bucket=self.output_bucket, Key=key, Body=json.dumps(output).encode())
            response["HumanLoopOutput"] = {"OutputS3Uri": f"s3://{self.output_bucket}/{key}"}
        return 200, response

    def stop_human_loop(self, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        name = body["HumanLoopName"]
        self.calls.append(("StopHumanLoop", name))
        if name not in self.loops:
            return 404, _error("ResourceNotFoundException", f"no human loop {name}")
        self.loops[name]["stopped"] = True
        return 200, {}

    def _arn(self, name: str) -> str:
        return f"arn:aws:sagemaker:us-east-1:123456789012:human-loop/{name}"

    # --- the HTTP endpoint ------------------------------------------------------------------

    def start(self) -> str:
        """Serve on a free local port; return the endpoint URL."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: Mapping[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status >= 400:
                    self.send_header("x-amzn-ErrorType", str(body["__type"]))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                match = re.fullmatch(r"/human-loops/([^/?]+)", self.path)
                if match is None:
                    self._answer(404, _error("UnknownOperationException", self.path))
                    return
                self._answer(*fake.describe_human_loop(unquote(match.group(1))))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path == "/human-loops":
                    self._answer(*fake.start_human_loop(body))
                elif self.path == "/human-loops/stop":
                    self._answer(*fake.stop_human_loop(body))
                else:
                    self._answer(404, _error("UnknownOperationException", self.path))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _error(code: str, message: str) -> dict[str, Any]:
    return {"__type": code, "message": message}


#: The environment variable boto3 reads the A2I runtime's endpoint from.
ENDPOINT_ENV = "AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME"
