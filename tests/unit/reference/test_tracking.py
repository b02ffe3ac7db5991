"""The job scripts' MLflow client: its pure parts, retries against a local HTTP server, and the
Evaluate step's arguments as evaluate.py reads them. The client against a real MLflow server is
in tests/integration/test_reference_tracking.py."""

from __future__ import annotations

import ast
import importlib.util
import json
import logging
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.stub import Stubber  # type: ignore[import-untyped]

from mlpipes_constructs.reference import XGBOOST_HYPERPARAMETERS, reference_pipeline
from mlpipes_constructs.reference.local import processing_arguments
from mlpipes_constructs.reference.pipeline import PACKAGE_DIRECTORY, SCRIPTS_DIRECTORY
from mlpipes_constructs.spec import ModelArtifacts

SCRIPTS = PACKAGE_DIRECTORY / SCRIPTS_DIRECTORY
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mlflow/jobs-AbCdEf"
PASSWORD = "s3cr3t-Passw0rd+/="


def _load(name: str) -> ModuleType:
    """A script as the job imports it: its directory on sys.path, no bytecode written there."""
    if name in sys.modules:
        return sys.modules[name]
    sys.path.insert(0, str(SCRIPTS))
    writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.dont_write_bytecode = writes_bytecode
        sys.path.remove(str(SCRIPTS))


@pytest.fixture(scope="module")
def tracking() -> ModuleType:
    return _load("tracking")


@pytest.mark.parametrize(
    ("execution_id", "expected"),
    [
        (
            "arn:aws:sagemaker:us-east-1:123456789012:pipeline/reviews/execution/k1x9b2m7q0ab",
            "k1x9b2m7q0ab",
        ),
        (
            "arn:aws:states:us-east-1:123456789012:execution:reviews:9f1c2d3e-0000-4a5b",
            "9f1c2d3e-0000-4a5b",
        ),
        ("manual__2026-12-02T07:00:00+00:00", "manual__2026-12-02T07:00:00+00:00"),
        ("3f2a9c4e-7b1d-4e8f-9a6c-2d5b8e1f0a3c", "3f2a9c4e-7b1d-4e8f-9a6c-2d5b8e1f0a3c"),
        ("x" * 100, "x" * 64),
        ("", "execution"),
    ],
)
def test_the_run_name_is_the_readable_tail_of_the_execution_id(
    tracking: ModuleType, execution_id: str, expected: str
) -> None:
    assert tracking.run_name(execution_id) == expected


def test_the_execution_filter_quotes_the_id_with_a_quote_it_lacks(tracking: ModuleType) -> None:
    assert tracking.execution_filter("run-1") == "tags.`mlpipes.execution_id` = 'run-1'"
    assert tracking.execution_filter("it's") == 'tags.`mlpipes.execution_id` = "it\'s"'
    with pytest.raises(ValueError, match="both ' and \""):
        tracking.execution_filter('it\'s "quoted"')


def test_batches_keep_within_mlflows_log_batch_limits(tracking: ModuleType) -> None:
    params = {f"p{i}": i for i in range(250)}
    metrics = {f"m{i}": float(i) for i in range(1500)}
    metrics.update({"nan": float("nan"), "inf": float("inf"), "flag": True})  # type: ignore[dict-item]
    tags = {"t": "v"}

    bodies = tracking.batches(params, metrics, tags, timestamp_ms=1000)

    for body in bodies:
        assert len(body["params"]) <= 100 and len(body["tags"]) <= 100
        assert len(body["params"]) + len(body["tags"]) + len(body["metrics"]) <= 1000
    assert [p for b in bodies for p in b["params"]] == [
        {"key": f"p{i}", "value": str(i)} for i in range(250)
    ]
    sent = [m for b in bodies for m in b["metrics"]]
    assert [m["key"] for m in sent] == [f"m{i}" for i in range(1500)]  # no NaN, inf, bool
    assert sent[0] == {"key": "m0", "value": 0.0, "timestamp": 1000, "step": 0}
    assert [t for b in bodies for t in b["tags"]] == [{"key": "t", "value": "v"}]


def test_redact_hides_secrets_and_url_user_info(tracking: ModuleType) -> None:
    token = tracking.basic_authorization("jobs", PASSWORD).split(" ", 1)[1]
    text = f"failed with {PASSWORD} / {token} at https://jobs:{PASSWORD}@mlflow.example/api"

    redacted = tracking.redact(text, [PASSWORD, token, ""])

    assert PASSWORD not in redacted and token not in redacted
    assert redacted == "failed with *** / *** at https://***@mlflow.example/api"


def test_the_configuration_comes_from_the_compilers_environment(tracking: ModuleType) -> None:
    environ = {
        "MLFLOW_TRACKING_URI": "https://mlflow.example/",
        "MLPIPES_EXECUTION_ID": "run-1",
        "MLPIPES_ORCHESTRATOR": "airflow",
        "MLPIPES_PIPELINE": "reviews",
    }

    config = tracking.TrackingConfig.from_environment(environ, default_step="Evaluate")

    assert config == tracking.TrackingConfig(
        tracking_uri="https://mlflow.example",
        experiment_name="reviews",  # the pipeline's name by default
        execution_id="run-1",
        orchestrator="airflow",
        pipeline="reviews",
        step="Evaluate",
    )
    named = {**environ, "MLFLOW_EXPERIMENT_NAME": "exp", "MLPIPES_STEP": "Score"}
    config = tracking.TrackingConfig.from_environment(named, default_step="Evaluate")
    assert (config.experiment_name, config.step) == ("exp", "Score")
    assert tracking.TrackingConfig.from_environment({}, default_step="Evaluate") is None


def test_without_a_tracking_uri_nothing_is_tracked(tracking: ModuleType) -> None:
    with tracking.start_step("Preprocess", environ={"MLPIPES_EXECUTION_ID": "x"}) as run:
        run.log_params({"seed": 42})
        run.log_metrics({"rows": 1.0})

    assert not run.enabled and run.client is None and run.run_id == ""


def _secrets_client(secret_string: str) -> object:
    client = boto3.client(
        "secretsmanager",
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    stubber = Stubber(client)
    stubber.add_response(
        "get_secret_value",
        {"ARN": SECRET_ARN, "Name": "mlflow/jobs", "SecretString": secret_string},
        {"SecretId": SECRET_ARN},
    )
    stubber.activate()
    return client


def test_credentials_come_from_the_secret(tracking: ModuleType) -> None:
    client = _secrets_client(json.dumps({"username": "jobs", "password": PASSWORD}))

    assert tracking.read_credentials(SECRET_ARN, client) == ("jobs", PASSWORD)


@pytest.mark.parametrize(
    "secret_string",
    [PASSWORD, json.dumps({"user": "jobs", "password": PASSWORD}), json.dumps([PASSWORD])],
)
def test_a_malformed_secret_is_an_error_that_does_not_show_it(
    tracking: ModuleType, secret_string: str
) -> None:
    with pytest.raises(tracking.TrackingError) as raised:
        tracking.read_credentials(SECRET_ARN, _secrets_client(secret_string))

    assert PASSWORD not in str(raised.value)
    assert SECRET_ARN in str(raised.value)


class _Server:
    """A local HTTP server answering each request with the next scripted response."""

    def __init__(self, responses: list[tuple[int, dict[str, str], bytes]]) -> None:
        self.responses = responses
        self.requests: list[tuple[str, str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                server.requests.append((self.command, self.path, self.headers.get("Authorization")))
                status, headers, body = server.responses.pop(0)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer  # noqa: N815

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def http() -> Iterator[list[_Server]]:
    servers: list[_Server] = []
    yield servers
    for server in servers:
        server.close()


def _json(status: int, body: object) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def test_5xx_is_retried_with_backoff_and_4xx_is_not(
    tracking: ModuleType, http: list[_Server]
) -> None:
    server = _Server(
        [
            _json(503, {}),
            _json(502, {}),
            _json(200, {"experiment": {"experiment_id": "7"}}),
            _json(400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "bad key"}),
        ]
    )
    http.append(server)
    waits: list[float] = []
    client = tracking.RestClient(server.url, authorization="Basic abc", sleep=waits.append)

    found = client.get("experiments/get-by-name", {"experiment_name": "reviews 1"})
    with pytest.raises(tracking.TrackingError) as raised:
        client.post("runs/log-batch", {"run_id": "r"})

    assert found == {"experiment": {"experiment_id": "7"}}
    assert waits == [0.5, 1.0]
    assert [r[:2] for r in server.requests] == [
        ("GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=reviews+1"),
    ] * 3 + [("POST", "/api/2.0/mlflow/runs/log-batch")]
    assert {r[2] for r in server.requests} == {"Basic abc"}
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    assert raised.value.status == 400 and not raised.value.fatal


@pytest.mark.parametrize(("status", "method"), [(302, "GET"), (307, "GET"), (308, "POST")])
def test_redirects_are_not_followed_so_credentials_stay_with_the_server(
    tracking: ModuleType, http: list[_Server], status: int, method: str
) -> None:
    elsewhere = _Server([_json(200, {})])
    server = _Server([(status, {"Location": f"{elsewhere.url}/api/2.0/mlflow/x"}, b"")])
    http.extend([elsewhere, server])
    client = tracking.RestClient(server.url, authorization="Basic abc", sleep=lambda _: None)

    with pytest.raises(tracking.TrackingError, match=rf"HTTP {status} .*redirects are not"):
        if method == "GET":
            client.get("experiments/get-by-name", {"experiment_name": "x"})
        else:
            client.post("runs/search", {})

    assert elsewhere.requests == []


def test_a_failing_server_only_warns_without_the_secret_and_stops_tracking(
    tracking: ModuleType, http: list[_Server], caplog: pytest.LogCaptureFixture
) -> None:
    echo = {"error_code": "INTERNAL_ERROR", "message": f"boom {PASSWORD}"}
    server = _Server([_json(500, echo)] * 4)
    http.append(server)
    config = tracking.TrackingConfig(
        tracking_uri=server.url,
        experiment_name="reviews",
        execution_id="run-1",
        orchestrator="kubeflow",
        pipeline="reviews",
        step="Preprocess",
    )
    client = tracking.RestClient(server.url, authorization="Basic x", sleep=lambda _: None)

    with (
        caplog.at_level(logging.WARNING, logger="mlpipes.tracking"),
        tracking.StepRun(config, client, secrets=[PASSWORD]) as run,
    ):
        run.log_metrics({"rows": 1.0})

    assert not run.enabled
    assert len(server.requests) == 4  # one request, retried; nothing after tracking is off
    (record,) = caplog.records
    assert PASSWORD not in record.getMessage() and "boom ***" in record.getMessage()
    assert "tracking is off" in record.getMessage()


def test_evaluate_reads_the_model_location_and_hyperparameters_the_spec_passes() -> None:
    evaluate = _load("evaluate")
    pipeline = reference_pipeline(input_data_uri="s3://example-bucket/reviews/")
    model_uri = "s3://bucket/Train/output/model.tar.gz"
    argv = processing_arguments(
        pipeline, "Evaluate", references={ModelArtifacts("Train"): model_uri}
    )
    assert all(len(item) <= 256 for item in argv)  # SageMaker's ContainerArguments item limit

    args = evaluate.parse_args(argv)

    assert evaluate.training_params(args.training_step, args.model_uri, args.hyperparameter) == {
        "Train/model_uri": model_uri,
        **{f"Train/{name}": value for name, value in XGBOOST_HYPERPARAMETERS.items()},
    }
    with pytest.raises(ValueError, match="'eta' is not NAME=VALUE"):
        evaluate.training_params("Train", "", ["eta"])


def test_every_script_parses_on_the_containers_python_3_8() -> None:
    for path in sorted(Path(SCRIPTS).glob("*.py")):
        ast.parse(path.read_text(), filename=str(path), feature_version=(3, 8))
