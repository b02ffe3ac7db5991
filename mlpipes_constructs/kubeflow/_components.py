"""The one function every task of a compiled KFP pipeline runs: :func:`run_step`.

KFP packs the source of this function into each task as a lightweight Python component, so it
is self-contained: its imports and helpers are inside it, and it needs only the Python standard
library, boto3 and the KFP runtime in the task's image (nothing is installed when it runs).

A task gets its step's compiled document (``spec``): the SageMaker request of the step, as the
compile core built it, with ``{{...}}`` markers (see :mod:`._kfp_renderer`), and the lookups and
parameter types those markers need. It fills the markers in, calls SageMaker, and waits until
the job is done:

* processing, training, tuning and transform jobs: create the job named in the request, then
  describe it until it is terminal; a failed or stopped job fails the task with SageMaker's
  ``FailureReason``;
* create_model: CreateModel; register_model: CreateModelPackage;
* endpoint: CreateEndpointConfig, then CreateEndpoint (UpdateEndpoint when the endpoint
  exists), and wait until it is ``InService``;
* condition: evaluate the spec's condition (``and``/``or``/``not`` of comparisons) and return
  ``"true"`` or ``"false"``, on which the pipeline branches with ``dsl.If``/``dsl.Else``;
* fail: raise with the spec's message, which fails the run;
* human_review: start the Amazon A2I human loop (StartHumanLoop with the compile core's
  request; the loop's name comes from the run id, the step and the pod, so a retried task
  starts a new loop), describe it every ``review_poll_seconds`` until it ends, or stop it and
  fail after ``wait_seconds``; read a completed loop's ``output.json`` from S3 and return the
  decision, ``"Approved"`` or ``"Rejected"`` (the compile core's rule, written again here; the
  contract tests hold the two to each other); a failed, stopped or expired loop fails the task
  with A2I's reason.

Each task returns the name (or ARN) of what it created, or a condition's or review's result.
"""

from typing import Optional


def run_step(
    step: str,
    kind: str,
    spec: str,
    # kfp maps only the bare ``dict`` annotation to a Struct input, not ``dict[str, Any]``.
    parameters: dict,  # type: ignore[type-arg]
    run_id: str,
    # kfp reads ``Optional[...]`` (not ``... | None``) as an optional input.
    outputs: Optional[dict] = None,  # type: ignore[type-arg]  # noqa: UP045
) -> str:
    """Run one step of a compiled pipeline (see the module docstring).

    Args:
        step: the step's name, for messages.
        kind: the step's kind.
        spec: the step's compiled document, as JSON.
        parameters: the values of the pipeline parameters the step uses.
        run_id: the KFP run id, from which the run token is made.
        outputs: the outputs of earlier tasks the step reads, by step name. Default: none.
    """
    import hashlib
    import json
    import operator
    import os
    import re
    import time
    from typing import Any

    import boto3

    document: dict[str, Any] = json.loads(spec)
    token = hashlib.sha256(run_id.encode()).hexdigest()[:20]
    types: dict[str, str] = document.get("parameter_types", {})
    region = document.get("region") or None
    poll = float(document.get("poll_seconds", 30))
    sagemaker = boto3.client("sagemaker", region_name=region)
    marker = re.compile(r"\{\{([a-z_]+)(?::([^{}]*))?\}\}")

    def typed(name: str) -> Any:
        value = parameters[name]
        kind_of = types.get(name, "String")
        if kind_of == "Integer":
            return int(value)
        if kind_of == "Float":
            return float(value)
        if kind_of == "Boolean":
            return value if isinstance(value, bool) else str(value).lower() == "true"
        return str(value)

    def lookup(index: int) -> Any:
        item = document["lookups"][index]
        if "json" in item:
            uri = fill(item["json"]["uri"])
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            body = boto3.client("s3", region_name=region).get_object(Bucket=bucket, Key=key)
            value: Any = json.loads(body["Body"].read())
            for name, position in re.findall(r"([^.\[\]]+)|\[(\d+)\]", item["json"]["path"]):
                if name and isinstance(value, dict) and name in value:
                    value = value[name]
                elif position and isinstance(value, list) and int(position) < len(value):
                    value = value[int(position)]
                else:
                    raise RuntimeError(f"{uri} has no value at '{item['json']['path']}'")
            return value
        if "metric" in item:
            job = sagemaker.describe_training_job(
                TrainingJobName=fill(item["metric"]["training_job"])
            )
            for metric in job.get("FinalMetricDataList", []):
                if metric["MetricName"] == item["metric"]["name"]:
                    return metric["Value"]
            raise RuntimeError(
                f"training job {job['TrainingJobName']} has no final metric "
                f"'{item['metric']['name']}'"
            )
        model = item["model_artifacts"]
        if "tuning_job" in model:
            tuning = sagemaker.describe_hyper_parameter_tuning_job(
                HyperParameterTuningJobName=fill(model["tuning_job"])
            )
            name = tuning["BestTrainingJob"]["TrainingJobName"]
        else:
            name = fill(model["training_job"])
        job = sagemaker.describe_training_job(TrainingJobName=name)
        return job["ModelArtifacts"]["S3ModelArtifacts"]

    def resolve(key: str, argument: str | None) -> Any:
        if key == "run_token":
            return token
        if key == "open":
            return "{{"
        if key == "param" and argument is not None:
            return typed(argument)
        if key == "ref" and argument is not None:
            return lookup(int(argument))
        if key == "output" and argument is not None:
            if argument not in (outputs or {}):
                raise RuntimeError(f"step '{step}': no output of step '{argument}' was given")
            return (outputs or {})[argument]
        if key == "run_id":
            return run_id
        if key == "human_loop_name":
            # One loop per run, step and attempt (each attempt runs in a pod of its own).
            attempt = os.environ.get("KFP_POD_UID") or os.environ.get("HOSTNAME", "")
            unique = f"{run_id}/{step}/{attempt}"
            digest = hashlib.sha256(unique.encode("utf-8")).hexdigest()
            return f"{document['human_loop_prefix']}-{digest[:36]}"
        if key == "task_input":
            return json.dumps(fill(document["task_input"]))
        raise RuntimeError(f"step '{step}': unknown marker '{{{{{key}}}}}'")

    def fill(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        if not isinstance(value, str):
            return value
        whole = marker.fullmatch(value)
        if whole and whole.group(1) != "open":
            return resolve(whole.group(1), whole.group(2))

        def text(match: re.Match[str]) -> str:
            found = resolve(match.group(1), match.group(2))
            return ("true" if found else "false") if isinstance(found, bool) else str(found)

        return marker.sub(text, value)

    def wait(
        describe: Any, name_key: str, name: str, status_key: str, done: tuple[str, ...]
    ) -> None:
        while True:
            described = describe(**{name_key: name})
            status = described[status_key]
            print(f"{step}: {name} is {status}", flush=True)
            if status in done:
                return
            if status in ("Failed", "Stopped"):
                reason = described.get("FailureReason", "no reason given")
                raise RuntimeError(f"step '{step}': {name} {status.lower()}: {reason}")
            time.sleep(poll)

    def check(value: Any) -> bool:
        if "not" in value:
            return not check(value["not"])
        if "and" in value:
            return all(check(c) for c in value["and"])
        if "or" in value:
            return any(check(c) for c in value["or"])
        comparisons = {
            "==": operator.eq,
            "!=": operator.ne,
            ">": operator.gt,
            ">=": operator.ge,
            "<": operator.lt,
            "<=": operator.le,
        }
        left, right = fill(value["left"]), fill(value["right"])
        result = bool(comparisons[value["compare"]](left, right))
        print(f"{step}: {left!r} {value['compare']} {right!r} is {result}", flush=True)
        return result

    def is_checked(answer: object) -> bool:
        if isinstance(answer, dict):
            return answer.get("on") is True
        if isinstance(answer, str):
            return answer.strip().lower() in {"true", "on", "yes"}
        return answer is True

    def review_outcome(
        describe: dict[str, Any], output: dict[str, Any] | None, approve_field: str
    ) -> str:
        status = describe.get("HumanLoopStatus")
        name = describe.get("HumanLoopName", "?")
        if status in ("InProgress", "Stopping"):
            raise ValueError(f"human loop {name} has not ended: it is {status}")
        if status == "Failed":
            if describe.get("FailureCode") == "Expired":
                raise RuntimeError(f"human loop {name} expired before a reviewer answered")
            reason = (
                describe.get("FailureReason") or describe.get("FailureCode") or "no reason given"
            )
            raise RuntimeError(f"human loop {name} failed: {reason}")
        if status != "Completed":
            raise RuntimeError(f"human loop {name} ended {status} without a decision")
        answers = (output or {}).get("humanAnswers") or []
        if not answers:
            raise RuntimeError(f"human loop {name} completed without answers")
        approved = all(
            is_checked((answer.get("answerContent") or {}).get(approve_field)) for answer in answers
        )
        return "Approved" if approved else "Rejected"

    def review(request: dict[str, Any]) -> str:
        a2i = boto3.client("sagemaker-a2i-runtime", region_name=region)
        name = request["HumanLoopName"]
        print(f"{step}: started {a2i.start_human_loop(**request)['HumanLoopArn']}", flush=True)
        started = time.monotonic()
        while True:
            described = a2i.describe_human_loop(HumanLoopName=name)
            status = described["HumanLoopStatus"]
            print(f"{step}: human loop {name} is {status}", flush=True)
            if status not in ("InProgress", "Stopping"):
                break
            if time.monotonic() - started >= float(document["wait_seconds"]):
                a2i.stop_human_loop(HumanLoopName=name)
                raise RuntimeError(
                    f"step '{step}': human loop {name} had no decision after "
                    f"{document['wait_seconds']} seconds; it was stopped"
                )
            time.sleep(float(document["review_poll_seconds"]))
        output = None
        if status == "Completed":
            uri = described["HumanLoopOutput"]["OutputS3Uri"]
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            body = boto3.client("s3", region_name=region).get_object(Bucket=bucket, Key=key)
            output = json.loads(body["Body"].read())
        try:
            outcome = review_outcome(described, output, document["approve_field"])
        except RuntimeError as error:
            raise RuntimeError(f"step '{step}': {error}") from error
        print(f"{step}: the reviewers' decision is {outcome}", flush=True)
        return outcome

    request = fill(document.get("request"))
    if kind == "human_review":
        return review(request)
    if kind == "condition":
        return "true" if check(document["condition"]) else "false"
    if kind == "fail":
        raise RuntimeError(str(fill(document["message"])))
    jobs = {
        "processing": ("ProcessingJob", "ProcessingJobStatus", ("Completed",)),
        "training": ("TrainingJob", "TrainingJobStatus", ("Completed",)),
        "transform": ("TransformJob", "TransformJobStatus", ("Completed",)),
        "tuning": ("HyperParameterTuningJob", "HyperParameterTuningJobStatus", ("Completed",)),
    }
    if kind in jobs:
        resource, status_key, done = jobs[kind]
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", resource).lower()
        name_key = f"{resource}Name"
        getattr(sagemaker, f"create_{snake}")(**request)
        wait(getattr(sagemaker, f"describe_{snake}"), name_key, request[name_key], status_key, done)
        return str(request[name_key])
    if kind == "create_model":
        sagemaker.create_model(**request)
        return str(request["ModelName"])
    if kind == "register_model":
        return str(sagemaker.create_model_package(**request)["ModelPackageArn"])
    if kind == "endpoint":
        sagemaker.create_endpoint_config(**request["EndpointConfig"])
        endpoint = request["Endpoint"]
        try:
            sagemaker.describe_endpoint(EndpointName=endpoint["EndpointName"])
        except sagemaker.exceptions.ClientError:
            sagemaker.create_endpoint(**endpoint)
        else:
            sagemaker.update_endpoint(**endpoint)
        wait(
            sagemaker.describe_endpoint,
            "EndpointName",
            endpoint["EndpointName"],
            "EndpointStatus",
            ("InService",),
        )
        return str(endpoint["EndpointName"])
    raise RuntimeError(f"step '{step}': unknown step kind '{kind}'")
