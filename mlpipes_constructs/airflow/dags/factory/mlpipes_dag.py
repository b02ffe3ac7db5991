"""An mlpipes pipeline as an Airflow DAG, built from the compiled spec next to this file.

This file is the same for every pipeline; it is deployed as ``<dag_id>.py`` beside
``<dag_id>.json``, which the mlpipes DAG compiler wrote from the pipeline spec. Each task is a
step of the spec (its task id is the step's name):

* SageMaker jobs, models and endpoints run through the Amazon provider's operators, with the
  SageMaker request of the step as their templated ``config``;
* a model registration calls CreateModelPackage with the step's request;
* a condition reads its values (property files in S3, params), evaluates the spec's condition
  and follows the branch it takes; the other branch is skipped;
* a fail step fails the run with the spec's message;
* a human review starts an Amazon A2I human loop and waits for the reviewers' decision
  (:class:`HumanReviewSensor`); the decision (``Approved`` or ``Rejected``) is the task's
  XCom value.

It needs only Airflow and the Amazon provider.
"""

from __future__ import annotations

import hashlib
import json
import operator
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airflow.exceptions import AirflowFailException, AirflowSensorTimeout
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook
from airflow.providers.amazon.aws.hooks.sns import SnsHook
from airflow.providers.amazon.aws.operators import sagemaker as sagemaker_operators
from airflow.providers.standard.operators.python import BranchPythonOperator, PythonOperator
from airflow.sdk import DAG, BaseSensorOperator, Param, PokeReturnValue

DEFINITION_FORMAT = "mlpipes-dag/1"
RUN_TOKEN_LENGTH = 20
#: boto3's default credentials: the environment's execution role on MWAA.
AWS_CONN_ID = None
_S3_URI = re.compile(r"s3://([^/]+)/(.*)")
_JSON_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_SAGEMAKER_OPERATORS = {
    "processing": sagemaker_operators.SageMakerProcessingOperator,
    "training": sagemaker_operators.SageMakerTrainingOperator,
    "tuning": sagemaker_operators.SageMakerTuningOperator,
    "model": sagemaker_operators.SageMakerModelOperator,
    "transform": sagemaker_operators.SageMakerTransformOperator,
    "endpoint": sagemaker_operators.SageMakerEndpointOperator,
}
_WAITING_OPERATORS = {"processing", "training", "tuning", "transform", "endpoint"}
#: The human loop name: ``<prefix>-`` and the first 36 hex digits of a SHA-256.
HUMAN_LOOP_UNIQUE_LENGTH = 36
HUMAN_LOOP_IN_PROGRESS = frozenset({"InProgress", "Stopping"})
REVIEW_APPROVED = "Approved"
REVIEW_REJECTED = "Rejected"


def mlpipes_run_token(run_id: str) -> str:
    """The run token that ends the run's SageMaker names and names its S3 folder."""
    return hashlib.sha256(run_id.encode()).hexdigest()[:RUN_TOKEN_LENGTH]


def read_json_path(document: Any, json_path: str) -> Any:
    """The value at a dotted path (``metrics.accuracy.value``, ``scores[0]``)."""
    value = document
    for key, index in _JSON_PATH_TOKEN.findall(json_path):
        if key and isinstance(value, Mapping) and key in value:
            value = value[key]
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            raise AirflowFailException(f"the document has no value at '{json_path}'")
    return value


def mlpipes_json_value(uri: str, json_path: str) -> Any:
    """The value at ``json_path`` of the JSON document at the ``s3://`` URI ``uri``."""
    match = _S3_URI.fullmatch(uri)
    if match is None:
        raise AirflowFailException(f"property file location '{uri}' is not an s3:// URI")
    text = S3Hook(aws_conn_id=AWS_CONN_ID).read_key(match.group(2), match.group(1))
    return read_json_path(json.loads(text), json_path)


def _operand(operand: Mapping[str, Any], params: Mapping[str, Any]) -> Any:
    if "param" in operand:
        return params[operand["param"]]
    if "json" in operand:
        return mlpipes_json_value(operand["json"]["uri"], operand["json"]["path"])
    if "template" in operand:
        return operand["template"]
    return operand["const"]


def evaluate(condition: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    """Whether a compiled spec condition holds."""
    if "not" in condition:
        return not evaluate(condition["not"], params)
    if "and" in condition:
        return all(evaluate(c, params) for c in condition["and"])
    if "or" in condition:
        return any(evaluate(c, params) for c in condition["or"])
    left = _operand(condition["left"], params)
    right = _operand(condition["right"], params)
    return bool(_COMPARISONS[condition["compare"]](left, right))


# The Python tasks take ``params`` from the task's context (typed values, not rendered text).
def _choose(
    condition: Mapping[str, Any],
    if_follow: list[str],
    else_follow: list[str],
    params: Mapping[str, Any],
) -> list[str]:
    return if_follow if evaluate(condition, params) else else_follow


def _fail(message: list[Mapping[str, Any]], params: Mapping[str, Any]) -> None:
    text = "".join(str(_operand(part, params)) for part in message)
    raise AirflowFailException(text)


def _register_model(config: Mapping[str, Any]) -> str:
    response = SageMakerHook(aws_conn_id=AWS_CONN_ID).conn.create_model_package(**config)
    return str(response["ModelPackageArn"])


# --- Human review ----------------------------------------------------------------------------
# The decision rule is mlpipes_constructs.compile.human_review's, written again here because
# this file runs without mlpipes installed; the contract tests hold the two to each other.


class HumanReviewFailedError(Exception):
    """The human loop ended without a decision: it failed, was stopped or expired."""


def mlpipes_human_loop_name(prefix: str, unique: str) -> str:
    """``<prefix>-<first 36 hex digits of sha256(unique)>``: one name per run and try."""
    digest = hashlib.sha256(unique.encode("utf-8")).hexdigest()
    return f"{prefix}-{digest[:HUMAN_LOOP_UNIQUE_LENGTH]}"


def mlpipes_json(value: Any) -> str:
    """``value`` as JSON text (the human loop's input content)."""
    return json.dumps(value)


def is_checked(answer: object) -> bool:
    """Whether a form field's answer means yes: ``true``, ``{"on": true}``, or the text
    ``true``/``on``/``yes``."""
    if isinstance(answer, Mapping):
        return answer.get("on") is True
    if isinstance(answer, str):
        return answer.strip().lower() in {"true", "on", "yes"}
    return answer is True


def review_outcome(
    describe: Mapping[str, Any], output: Mapping[str, Any] | None, approve_field: str
) -> str:
    """``Approved`` when every reviewer checked ``approve_field``, else ``Rejected``; raises
    :class:`HumanReviewFailedError` for a loop that failed, expired, was stopped or has no answers,
    and ``ValueError`` for a loop that has not ended."""
    status = describe.get("HumanLoopStatus")
    name = describe.get("HumanLoopName", "?")
    if status in HUMAN_LOOP_IN_PROGRESS:
        raise ValueError(f"human loop {name} has not ended: it is {status}")
    if status == "Failed":
        if describe.get("FailureCode") == "Expired":
            raise HumanReviewFailedError(f"human loop {name} expired before a reviewer answered")
        reason = describe.get("FailureReason") or describe.get("FailureCode") or "no reason given"
        raise HumanReviewFailedError(f"human loop {name} failed: {reason}")
    if status != "Completed":
        raise HumanReviewFailedError(f"human loop {name} ended {status} without a decision")
    answers = (output or {}).get("humanAnswers") or []
    if not answers:
        raise HumanReviewFailedError(f"human loop {name} completed without answers")
    approved = all(
        is_checked((answer.get("answerContent") or {}).get(approve_field)) for answer in answers
    )
    return REVIEW_APPROVED if approved else REVIEW_REJECTED


class HumanReviewSensor(BaseSensorOperator):  # type: ignore[misc]
    """Start a human loop, wait for it to end, and return the reviewers' decision.

    Each poke describes the loop (named in ``config``, the rendered StartHumanLoop request)
    and starts it when A2I does not know it yet, so the first poke starts it and a rescheduled
    poke finds it; a retry is a new try number, hence a new loop. Between pokes the task is
    rescheduled and holds no worker slot. A completed loop's ``output.json`` is read from S3
    and its decision returned (pushed to XCom); a failed, stopped or expired loop fails the
    task. After ``timeout`` seconds the loop is stopped and the task fails.
    """

    template_fields = ("config",)

    def __init__(self, *, config: Mapping[str, Any], approve_field: str, **kwargs: Any) -> None:
        super().__init__(mode="reschedule", **kwargs)
        self.config = config
        self.approve_field = approve_field

    def _a2i(self) -> Any:
        return AwsBaseHook(aws_conn_id=AWS_CONN_ID, client_type="sagemaker-a2i-runtime").conn

    def poke(self, context: Any) -> bool | PokeReturnValue:
        a2i = self._a2i()
        name = self.config["HumanLoopName"]
        try:
            described = a2i.describe_human_loop(HumanLoopName=name)
        except a2i.exceptions.ResourceNotFoundException:
            arn = a2i.start_human_loop(**self.config)["HumanLoopArn"]
            self.log.info("Started the human loop %s", arn)
            described = a2i.describe_human_loop(HumanLoopName=name)
        status = described["HumanLoopStatus"]
        self.log.info("The human loop %s is %s", name, status)
        if status in HUMAN_LOOP_IN_PROGRESS:
            return False
        output = None
        if status == "Completed":
            uri = described["HumanLoopOutput"]["OutputS3Uri"]
            match = _S3_URI.fullmatch(uri)
            if match is None:
                raise AirflowFailException(f"human loop {name}: output '{uri}' is not s3://")
            text = S3Hook(aws_conn_id=AWS_CONN_ID).read_key(match.group(2), match.group(1))
            output = json.loads(text)
        try:
            outcome = review_outcome(described, output, self.approve_field)
        except HumanReviewFailedError as error:
            raise self._failure(str(error)) from error
        self.log.info("The reviewers' decision: %s", outcome)
        return PokeReturnValue(is_done=True, xcom_value=outcome)

    def execute(self, context: Any) -> Any:
        try:
            return super().execute(context)
        except AirflowSensorTimeout as error:
            name = self.config["HumanLoopName"]
            self._a2i().stop_human_loop(HumanLoopName=name)
            raise self._failure(
                f"human loop {name} had no decision after {self.timeout:.0f} seconds; "
                "it was stopped"
            ) from error

    def _failure(self, reason: str) -> AirflowFailException:
        # Failed for good: a retry would start another loop and ask the reviewers again.
        message = f"step '{self.task_id}': {reason}"
        self.log.error("%s", message)
        return AirflowFailException(message)


def _task(spec: Mapping[str, Any]) -> Any:
    kind = spec["operator"]
    common = {"task_id": spec["task_id"], "doc_md": spec["doc_md"]}
    if kind in _SAGEMAKER_OPERATORS:
        extra = {"check_interval": 30} if kind in _WAITING_OPERATORS else {}
        return _SAGEMAKER_OPERATORS[kind](
            config=spec["config"], aws_conn_id=AWS_CONN_ID, **extra, **common
        )
    if kind == "register_model":
        return PythonOperator(
            python_callable=_register_model, op_kwargs={"config": spec["config"]}, **common
        )
    if kind == "condition":
        return BranchPythonOperator(
            python_callable=_choose,
            op_kwargs={
                "condition": spec["condition"],
                "if_follow": spec["if_follow"],
                "else_follow": spec["else_follow"],
            },
            **common,
        )
    if kind == "human_review":
        return HumanReviewSensor(
            config=spec["config"],
            approve_field=spec["approve_field"],
            poke_interval=spec["poll_interval_seconds"],
            timeout=spec["wait_seconds"],
            **common,
        )
    if kind == "fail":
        return PythonOperator(
            python_callable=_fail,
            op_kwargs={"message": spec["message"]},
            **common,
        )
    raise ValueError(f"task '{spec['task_id']}': unknown operator '{kind}'")


def _failure_notifier(topic_arn: str) -> Callable[[Mapping[str, Any]], None]:
    """A DAG failure callback that publishes the failed run to ``topic_arn``."""

    def notify(context: Mapping[str, Any]) -> None:
        dag_run = context["dag_run"]
        message = {
            "dag_id": dag_run.dag_id,
            "run_id": dag_run.run_id,
            "state": str(dag_run.state),
            "reason": str(context.get("reason") or ""),
        }
        SnsHook(aws_conn_id=AWS_CONN_ID).publish_to_target(
            target_arn=topic_arn,
            message=json.dumps(message),
            subject=f"Airflow DAG {dag_run.dag_id} failed"[:100],
        )

    return notify


def build_dag(definition: Mapping[str, Any]) -> DAG:
    """The DAG of a compiled pipeline definition."""
    if definition.get("format") != DEFINITION_FORMAT:
        raise ValueError(f"expected a definition of format {DEFINITION_FORMAT}")
    params = {
        name: Param(p["default"], type=p["type"], description=p.get("description"))
        for name, p in definition["params"].items()
    }
    with DAG(
        dag_id=definition["dag_id"],
        description=definition["description"],
        doc_md=definition["doc_md"],
        schedule=definition["schedule"],
        start_date=datetime(2025, 1, 1, tzinfo=UTC),
        catchup=False,
        tags=definition["tags"],
        params=params,
        user_defined_macros={
            "mlpipes_run_token": mlpipes_run_token,
            "mlpipes_json_value": mlpipes_json_value,
            "mlpipes_human_loop_name": mlpipes_human_loop_name,
            "mlpipes_json": mlpipes_json,
        },
        render_template_as_native_obj=False,
        on_failure_callback=(
            _failure_notifier(definition["notification_topic_arn"])
            if definition.get("notification_topic_arn")
            else None
        ),
    ) as dag:
        tasks = {spec["task_id"]: _task(spec) for spec in definition["tasks"]}
        for spec in definition["tasks"]:
            for upstream in spec["upstream"]:
                tasks[upstream] >> tasks[spec["task_id"]]
    return dag


_definition_path = Path(__file__).with_suffix(".json")
if _definition_path.exists():
    dag = build_dag(json.loads(_definition_path.read_text(encoding="utf-8")))
