"""Log a pipeline step to an MLflow tracking server through MLflow's REST API 2.0.

The job scripts import this module from the code archive they ship in, so it uses only the
standard library (plus boto3, present in the SageMaker containers, for the credentials secret)
and runs on Python 3.8+, the Python of the SageMaker scikit-learn 1.2-1 and XGBoost 1.7-1
images. A stdlib client keeps the code archive small; current ``mlflow-skinny`` needs a newer
Python and brings a large dependency tree.

Configuration comes from the environment the orchestrator compilers give every job of a
tracked pipeline:

* ``MLFLOW_TRACKING_URI``: the server (``https://...`` or ``http://...``). When unset, nothing
  is tracked and no request is made.
* ``MLFLOW_EXPERIMENT_NAME``: the experiment. Default: ``MLPIPES_PIPELINE``.
* ``MLPIPES_MLFLOW_CREDENTIALS_SECRET_ARN``: a Secrets Manager secret whose SecretString is
  ``{"username": ..., "password": ...}``, sent as HTTP basic authentication. Default: none.
* ``MLPIPES_EXECUTION_ID``, ``MLPIPES_ORCHESTRATOR``, ``MLPIPES_PIPELINE``, ``MLPIPES_STEP``.

Every step of one pipeline execution logs to the same MLflow run: the run of the experiment
tagged ``mlpipes.execution_id`` with the execution id, created by the first step that finds
none (named after the execution, see :func:`run_name`, and tagged ``mlpipes.orchestrator`` and
``mlpipes.pipeline``). Each step sets the tag ``mlpipes.step.<step>`` to ``running``, then
``done`` or ``failed``, and names its params and metrics ``<step>/<name>``, so the steps of a
run never collide.

Tracking never fails the ML job. Requests time out after :data:`TIMEOUT_SECONDS`; connection
errors, timeouts, 429 and 5xx responses are retried a few times with exponential backoff.
When tracking still fails, the step logs one warning (with no secret in it) on the
``mlpipes.tracking`` logger and goes on: a later request that cannot reach the server or is
refused its credentials turns tracking off for the rest of the job, so an unreachable server
costs a job seconds, not minutes. The reasoning: an experiment record is worth less than the
model the job produces, and the pipeline's own outputs (evaluation report, model registry)
stay the source of truth.

The credentials are read once, kept in memory, and only sent in the ``Authorization`` header
of requests to the tracking URI (redirects are refused, so the header never reaches another
host). They never appear in argv, the environment, log output, exception messages, or the
run's params and tags: every warning is passed through :func:`redact`.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

LOGGER = logging.getLogger("mlpipes.tracking")

ENV_TRACKING_URI = "MLFLOW_TRACKING_URI"
ENV_EXPERIMENT_NAME = "MLFLOW_EXPERIMENT_NAME"
ENV_CREDENTIALS_SECRET_ARN = "MLPIPES_MLFLOW_CREDENTIALS_SECRET_ARN"
ENV_EXECUTION_ID = "MLPIPES_EXECUTION_ID"
ENV_ORCHESTRATOR = "MLPIPES_ORCHESTRATOR"
ENV_PIPELINE = "MLPIPES_PIPELINE"
ENV_STEP = "MLPIPES_STEP"

TAG_EXECUTION_ID = "mlpipes.execution_id"
TAG_ORCHESTRATOR = "mlpipes.orchestrator"
TAG_PIPELINE = "mlpipes.pipeline"
TAG_STEP_PREFIX = "mlpipes.step."

#: Seconds each request may take.
TIMEOUT_SECONDS = 10.0
#: Attempts of a request that meets a connection error, a timeout, 429 or 5xx.
ATTEMPTS = 4
#: Seconds before the first retry; doubled before each next one.
BACKOFF_SECONDS = 0.5
#: Longest run name derived from an execution id.
MAX_RUN_NAME_LENGTH = 64

# MLflow's LogBatch limits (mlflow/utils/validation.py).
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
MAX_ENTITIES_PER_BATCH = 1000

_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
_REFUSED_STATUSES = frozenset({401, 403})
_REDACTED = "***"
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


class TrackingError(Exception):
    """A request to the tracking server failed; the message holds no secret."""

    def __init__(
        self, message: str, *, status: int | None = None, error_code: str = "", fatal: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        #: True when further requests are pointless (unreachable server, refused credentials).
        self.fatal = fatal


@dataclass(frozen=True)
class TrackingConfig:
    """Where and as what a step logs; see the module docstring for the variables."""

    tracking_uri: str
    experiment_name: str
    execution_id: str
    orchestrator: str
    pipeline: str
    step: str
    credentials_secret_arn: str = ""

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str], *, default_step: str
    ) -> TrackingConfig | None:
        """The configuration in ``environ``; None when ``MLFLOW_TRACKING_URI`` is unset.

        ``default_step`` names the step when ``MLPIPES_STEP`` is unset.
        """
        tracking_uri = environ.get(ENV_TRACKING_URI, "").strip()
        if not tracking_uri:
            return None
        pipeline = environ.get(ENV_PIPELINE, "").strip()
        return cls(
            tracking_uri=tracking_uri.rstrip("/"),
            experiment_name=environ.get(ENV_EXPERIMENT_NAME, "").strip() or pipeline or "Default",
            execution_id=environ.get(ENV_EXECUTION_ID, "").strip(),
            orchestrator=environ.get(ENV_ORCHESTRATOR, "").strip(),
            pipeline=pipeline,
            step=environ.get(ENV_STEP, "").strip() or default_step,
            credentials_secret_arn=environ.get(ENV_CREDENTIALS_SECRET_ARN, "").strip(),
        )


def run_name(execution_id: str) -> str:
    """A short, readable run name for an execution id.

    The last segment of an ARN's resource (``.../execution/7x1k2m`` -> ``7x1k2m``,
    ``...:execution:machine:run-1`` -> ``run-1``), an Airflow run id or a KFP run id as is;
    at most :data:`MAX_RUN_NAME_LENGTH` characters.
    """
    name = execution_id.strip()
    if name.startswith("arn:"):
        resource = name.split(":", 5)[-1]
        name = re.split(r"[:/]", resource)[-1]
    return name[:MAX_RUN_NAME_LENGTH] or "execution"


def execution_filter(execution_id: str) -> str:
    """The runs/search filter that finds the run of an execution.

    Raises:
        ValueError: the id holds both quote characters, which MLflow's filter cannot quote.
    """
    for quote in ("'", '"'):
        if quote not in execution_id:
            return f"tags.`{TAG_EXECUTION_ID}` = {quote}{execution_id}{quote}"
    raise ValueError("the execution id holds both ' and \", which an MLflow filter cannot quote")


def metric_name(step: str, name: str) -> str:
    """The run-wide name of a step's param or metric: ``<step>/<name>``."""
    return f"{step}/{name}"


def basic_authorization(username: str, password: str) -> str:
    """The ``Authorization`` header value of HTTP basic authentication."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def redact(text: str, secrets: Sequence[str]) -> str:
    """``text`` with each non-empty secret, and any user info of a URL, replaced by ``***``."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, _REDACTED)
    return _USERINFO.sub(_REDACTED + "@", text)


def batches(
    params: Mapping[str, object],
    metrics: Mapping[str, float],
    tags: Mapping[str, str],
    *,
    timestamp_ms: int,
) -> list[dict[str, Any]]:
    """LogBatch request bodies (without ``run_id``) within MLflow's per-request limits.

    Param and tag values become strings; metrics that are not finite numbers are left out
    (JSON has no NaN, and MLflow has no missing value).
    """
    param_items = [{"key": k, "value": _text(v)} for k, v in params.items()]
    tag_items = [{"key": k, "value": v} for k, v in tags.items()]
    metric_items = [
        {"key": k, "value": float(v), "timestamp": timestamp_ms, "step": 0}
        for k, v in metrics.items()
        if _is_number(v) and math.isfinite(float(v))
    ]
    bodies: list[dict[str, Any]] = []
    while param_items or tag_items or metric_items:
        body_params = _take(param_items, MAX_PARAMS_TAGS_PER_BATCH)
        body_tags = _take(tag_items, MAX_PARAMS_TAGS_PER_BATCH)
        room = MAX_ENTITIES_PER_BATCH - len(body_params) - len(body_tags)
        body_metrics = _take(metric_items, min(room, MAX_METRICS_PER_BATCH))
        bodies.append({"params": body_params, "metrics": body_metrics, "tags": body_tags})
    return bodies


def _take(items: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    taken = items[:count]
    del items[:count]
    return taken


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: urllib would repeat the Authorization header to the new location."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class RestClient:
    """MLflow's REST API 2.0 over urllib, with timeouts and retries.

    Args:
        base_url: the tracking server, without a trailing slash.
        authorization: the ``Authorization`` header value. Default: none.
        timeout: seconds per request. Default: :data:`TIMEOUT_SECONDS`.
        attempts: tries of a retryable request. Default: :data:`ATTEMPTS`.
        backoff: seconds before the first retry, doubled each time. Default:
            :data:`BACKOFF_SECONDS`.
        sleep: how to wait between attempts. Default: :func:`time.sleep`.
    """

    base_url: str
    authorization: str = field(default="", repr=False)
    timeout: float = TIMEOUT_SECONDS
    attempts: int = ATTEMPTS
    backoff: float = BACKOFF_SECONDS
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self._opener = urllib.request.build_opener(_NoRedirect())

    def get(self, endpoint: str, query: Mapping[str, str]) -> dict[str, Any]:
        """GET ``/api/2.0/mlflow/<endpoint>?<query>``; the decoded JSON response."""
        return self._call("GET", f"{endpoint}?{urllib.parse.urlencode(query)}", None)

    def post(self, endpoint: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST a JSON body to ``/api/2.0/mlflow/<endpoint>``; the decoded JSON response."""
        return self._call("POST", endpoint, json.dumps(body).encode("utf-8"))

    def _call(self, method: str, path: str, data: bytes | None) -> dict[str, Any]:
        endpoint = path.split("?", 1)[0]
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                return self._send(method, path, data)
            except TrackingError as error:
                retryable = error.status is None or error.status in _RETRIED_STATUSES
                if not retryable or attempt == self.attempts:
                    if error.status is None:
                        error.fatal = True
                    raise
                LOGGER.debug("retrying %s after %s", endpoint, error)
            self.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, method: str, path: str, data: bytes | None) -> dict[str, Any]:
        endpoint = path.split("?", 1)[0]
        request = urllib.request.Request(
            f"{self.base_url}/api/2.0/mlflow/{path}", data=data, method=method
        )
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.authorization:
            request.add_header("Authorization", self.authorization)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            raise _http_error(endpoint, error) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise TrackingError(f"{endpoint}: {type(error).__name__}: {reason}") from None
        if not payload:
            return {}
        decoded: dict[str, Any] = json.loads(payload.decode("utf-8"))
        return decoded


def _http_error(endpoint: str, error: urllib.error.HTTPError) -> TrackingError:
    error_code, message = "", ""
    try:
        body = json.loads(error.read().decode("utf-8", errors="replace"))
        error_code = str(body.get("error_code", ""))
        message = str(body.get("message", ""))[:300]
    except (ValueError, AttributeError, OSError):
        pass
    if 300 <= error.code < 400:
        message = "redirects are not followed; set MLFLOW_TRACKING_URI to the final address"
    detail = f"{error_code}: {message}" if error_code or message else str(error.reason)
    return TrackingError(
        f"{endpoint}: HTTP {error.code} {detail}",
        status=error.code,
        error_code=error_code,
        fatal=error.code in _REFUSED_STATUSES,
    )


def read_credentials(secret_arn: str, client: Any = None) -> tuple[str, str]:
    """The ``username`` and ``password`` of a Secrets Manager secret.

    ``client`` is a boto3 Secrets Manager client. Default: one for the secret's region.

    Raises:
        TrackingError: the secret cannot be read or is not ``{"username", "password"}``; the
            message names the ARN, never the value.
    """
    try:
        if client is None:
            import boto3  # in the SageMaker images

            region = secret_arn.split(":")[3] if secret_arn.count(":") >= 6 else None
            client = boto3.client("secretsmanager", region_name=region or None)
        secret = client.get_secret_value(SecretId=secret_arn)["SecretString"]
    except Exception as error:
        raise TrackingError(
            f"cannot read the credentials secret {secret_arn}: {type(error).__name__}"
        ) from None
    try:
        document = json.loads(secret)
        username, password = document["username"], document["password"]
    except (ValueError, TypeError, KeyError):
        username = password = None
    if not isinstance(username, str) or not isinstance(password, str):
        raise TrackingError(
            f"the credentials secret {secret_arn} is not JSON with string 'username' and 'password'"
        )
    return username, password


class StepRun:
    """A step's view of its execution's MLflow run; every method is a no-op when disabled.

    Use it as a context manager: entering finds or creates the run and tags the step
    ``running``; leaving tags it ``done``, or ``failed`` when the step raised (and then marks
    the run FAILED). Get one from :func:`start_step`.
    """

    def __init__(
        self,
        config: TrackingConfig | None,
        client: RestClient | None = None,
        *,
        secrets: Sequence[str] = (),
        ends_run: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.client = client
        self.run_id = ""
        self.experiment_id = ""
        self.ends_run = ends_run
        self._secrets = tuple(secrets)
        self._clock = clock
        self._enabled = config is not None and client is not None

    @property
    def enabled(self) -> bool:
        """Whether the step still logs (configured, and no fatal tracking failure yet)."""
        return self._enabled

    def __enter__(self) -> StepRun:
        self._guard("start the run", self._start, starting=True)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        status = "done" if exc_type is None else "failed"
        self._guard("record the step's end", lambda: self._finish(status))

    def log_params(self, params: Mapping[str, object]) -> None:
        """Log this step's params as ``<step>/<name>``."""
        self._log(params=self._named(params))

    def log_metrics(self, metrics: Mapping[str, float | None]) -> None:
        """Log this step's metrics as ``<step>/<name>``; None and non-finite values are left out."""
        self._log(metrics={k: v for k, v in self._named(metrics).items() if v is not None})

    def log_run_params(self, params: Mapping[str, object]) -> None:
        """Log params under the names given (e.g. another step's, such as ``Train/eta``)."""
        self._log(params=dict(params))

    def set_tags(self, tags: Mapping[str, str]) -> None:
        """Set run tags under the names given."""
        self._log(tags=dict(tags))

    def _named(self, values: Mapping[str, Any]) -> dict[str, Any]:
        if self.config is None:
            return {}
        return {metric_name(self.config.step, name): value for name, value in values.items()}

    def _log(
        self,
        *,
        params: Mapping[str, object] | None = None,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        def send() -> None:
            for body in batches(
                params or {}, metrics or {}, tags or {}, timestamp_ms=self._now_ms()
            ):
                self._post("runs/log-batch", {"run_id": self.run_id, **body})

        self._guard("log to the run", send)

    def _start(self) -> None:
        config = self.config
        assert config is not None
        if not config.execution_id:
            raise TrackingError(f"{ENV_EXECUTION_ID} is unset, so the run cannot be found")
        self.experiment_id = self._experiment_id(config.experiment_name)
        run = self._find_run(config.execution_id)
        if run is None:
            run = self._create_run(config)
        info = run.get("info", {})
        self.run_id = str(info["run_id"])
        if info.get("status") != "RUNNING":
            self._post("runs/update", {"run_id": self.run_id, "status": "RUNNING"})
        self._post(
            "runs/set-tag",
            {"run_id": self.run_id, "key": TAG_STEP_PREFIX + config.step, "value": "running"},
        )

    def _finish(self, status: str) -> None:
        assert self.config is not None
        if not self.run_id:
            return
        self._post(
            "runs/set-tag",
            {"run_id": self.run_id, "key": TAG_STEP_PREFIX + self.config.step, "value": status},
        )
        if status == "failed" or self.ends_run:
            self._post(
                "runs/update",
                {
                    "run_id": self.run_id,
                    "status": "FAILED" if status == "failed" else "FINISHED",
                    "end_time": self._now_ms(),
                },
            )

    def _experiment_id(self, name: str) -> str:
        assert self.client is not None
        try:
            found = self.client.get("experiments/get-by-name", {"experiment_name": name})
        except TrackingError as error:
            if error.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
        else:
            return self._active_experiment_id(found)
        try:
            created = self._post("experiments/create", {"name": name})
            return str(created["experiment_id"])
        except TrackingError as error:  # another step created it meanwhile
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        found = self.client.get("experiments/get-by-name", {"experiment_name": name})
        return self._active_experiment_id(found)

    @staticmethod
    def _active_experiment_id(found: Mapping[str, Any]) -> str:
        experiment = found["experiment"]
        if experiment.get("lifecycle_stage") == "deleted":
            raise TrackingError(
                f"experiment '{experiment.get('name')}' is deleted; restore it or set "
                f"{ENV_EXPERIMENT_NAME}",
                fatal=True,
            )
        return str(experiment["experiment_id"])

    def _find_run(self, execution_id: str) -> dict[str, Any] | None:
        found = self._post(
            "runs/search",
            {
                "experiment_ids": [self.experiment_id],
                "filter": execution_filter(execution_id),
                "run_view_type": "ACTIVE_ONLY",
                "max_results": 10,
                "order_by": ["attributes.start_time ASC"],
            },
        )
        runs: list[dict[str, Any]] = found.get("runs", [])
        return runs[0] if runs else None

    def _create_run(self, config: TrackingConfig) -> dict[str, Any]:
        tags = {
            TAG_EXECUTION_ID: config.execution_id,
            TAG_ORCHESTRATOR: config.orchestrator,
            TAG_PIPELINE: config.pipeline,
        }
        created = self._post(
            "runs/create",
            {
                "experiment_id": self.experiment_id,
                "run_name": run_name(config.execution_id),
                "start_time": self._now_ms(),
                "tags": [{"key": k, "value": v} for k, v in tags.items() if v],
            },
        )
        run: dict[str, Any] = created["run"]
        # Two steps that started together may both have created a run: keep the oldest.
        first = self._find_run(config.execution_id)
        if first is not None and first["info"]["run_id"] != run["info"]["run_id"]:
            self._post("runs/delete", {"run_id": run["info"]["run_id"]})
            return first
        return run

    def _post(self, endpoint: str, body: Mapping[str, Any]) -> dict[str, Any]:
        assert self.client is not None
        return self.client.post(endpoint, body)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _guard(self, action: str, operation: Callable[[], None], *, starting: bool = False) -> None:
        """Run a tracking operation; on failure warn (redacted) and, if fatal, stop tracking.

        Every exception is caught: tracking must not fail the job (see the module docstring).
        """
        if not self._enabled or not (starting or self.run_id):
            return
        try:
            operation()
        except Exception as error:
            fatal = getattr(error, "fatal", False) or not self.run_id
            text = str(error) if isinstance(error, TrackingError) else f"{type(error).__name__}"
            if not isinstance(error, TrackingError) and str(error):
                text += f": {error}"
            message = redact(text, self._secrets)
            suffix = "; tracking is off for the rest of this job" if fatal else ""
            LOGGER.warning("MLflow tracking could not %s (%s)%s", action, message, suffix)
            if fatal:
                self._enabled = False


def start_step(
    default_step: str,
    *,
    environ: Mapping[str, str] | None = None,
    ends_run: bool = False,
    secrets_client: Any = None,
) -> StepRun:
    """The :class:`StepRun` of this job, configured from the environment.

    Disabled (every method a no-op, no request made) when ``MLFLOW_TRACKING_URI`` is unset, and
    when the credentials secret cannot be read (after a warning).

    Args:
        default_step: the step name when ``MLPIPES_STEP`` is unset.
        environ: the environment. Default: :data:`os.environ`.
        ends_run: whether this step is the last to log, so it marks the run FINISHED.
            Default: False (the run stays RUNNING for the next step).
        secrets_client: a boto3 Secrets Manager client. Default: one for the secret's region.
    """
    config = TrackingConfig.from_environment(
        os.environ if environ is None else environ, default_step=default_step
    )
    if config is None:
        return StepRun(None)
    authorization = ""
    secrets: tuple[str, ...] = ()
    if config.credentials_secret_arn:
        try:
            username, password = read_credentials(config.credentials_secret_arn, secrets_client)
        except TrackingError as error:
            LOGGER.warning("MLflow tracking is off for this job (%s)", error)
            return StepRun(None)
        authorization = basic_authorization(username, password)
        secrets = (password, authorization.split(" ", 1)[1])
    client = RestClient(config.tracking_uri, authorization=authorization)
    return StepRun(config, client, secrets=secrets, ends_run=ends_run)
