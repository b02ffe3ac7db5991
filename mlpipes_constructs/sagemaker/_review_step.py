"""A human review step of a SageMaker pipeline: a ``Callback`` step and its message.

SageMaker Pipelines cannot call A2I itself. A review step becomes a ``Callback`` step (the form
of the SDK's ``CallbackStep``): SageMaker sends a message to ``SqsQueueUrl`` with a callback
token and the step's ``Arguments``, and waits until something calls
``SendPipelineExecutionStepSuccess`` (with the ``outcome`` output parameter) or
``SendPipelineExecutionStepFailure`` with that token. The ``SageMakerPipeline`` construct's
review handler does: it starts the human loop, and completes the step when the loop ends.

A callback step's arguments are strings, numbers, booleans or pipeline expressions, so the
task input (:func:`~mlpipes_constructs.compile.human_review.review_task_input`) is flattened:
each of its scalar values is one ``task_<key>`` argument, and each metric one ``metric_<i>``
argument whose name is at index ``i`` of the JSON list ``metric_names``. The handler puts the
task input together again (:func:`task_input_from_arguments` in the handler is the inverse).

The step waits as long as the loop lives: the flow definition's task lifetime bounds it, so a
``timeout_seconds`` is refused here.
"""

from __future__ import annotations

import json

from mlpipes_constructs.compile import CompileError
from mlpipes_constructs.compile.human_review import human_loop_prefix, review_task_input
from mlpipes_constructs.compile.renderer import Request, RequestValue, ValueRenderer
from mlpipes_constructs.spec import HumanReviewStep

#: The callback step's one output parameter: ``Approved`` or ``Rejected``.
OUTCOME_OUTPUT = "outcome"
#: The execution's ARN, which the handler scopes its callback calls to.
EXECUTION_ARN: RequestValue = {"Get": "Execution.PipelineExecutionArn"}
#: The execution's id, the ``pipeline_execution`` of the task input.
EXECUTION_ID: RequestValue = {"Get": "Execution.PipelineExecutionId"}
#: Argument keys of the callback message.
FLOW_DEFINITION_ARGUMENT = "flow_definition_arn"
APPROVE_FIELD_ARGUMENT = "approve_field"
LOOP_PREFIX_ARGUMENT = "human_loop_prefix"
EXECUTION_ARN_ARGUMENT = "execution_arn"
METRIC_NAMES_ARGUMENT = "metric_names"
TASK_ARGUMENT_PREFIX = "task_"
METRIC_ARGUMENT_PREFIX = "metric_"


def check_review_step(step: HumanReviewStep, orchestrator: str) -> None:
    """Refuse what SageMaker Pipelines cannot do with a review step: a wait of its own."""
    if step.timeout_seconds is not None:
        raise CompileError(
            f"timeout_seconds {step.timeout_seconds} cannot be set on SageMaker Pipelines: a "
            "callback step waits until the human loop ends, which the flow definition's task "
            "lifetime (TaskAvailabilityLifetimeInSeconds) bounds; set the wait there and leave "
            "timeout_seconds unset",
            step=step.name,
            field="timeout_seconds",
            orchestrator=orchestrator,
        )


def callback_arguments(step: HumanReviewStep, value: ValueRenderer, pipeline_name: str) -> Request:
    """The ``Arguments`` of the review's callback step: what the handler starts the loop with.

    Args:
        step: the review step.
        value: the definition's renderer.
        pipeline_name: the spec's name, the job prefix of the loop names
            (:func:`~mlpipes_constructs.compile.human_review.human_loop_prefix`).
    """
    task = review_task_input(step, value, EXECUTION_ID)
    metrics = task.pop("metrics")
    arguments: Request = {
        FLOW_DEFINITION_ARGUMENT: value.value(step.flow_definition_arn),
        APPROVE_FIELD_ARGUMENT: step.approve_field,
        LOOP_PREFIX_ARGUMENT: human_loop_prefix(pipeline_name, step.name),
        EXECUTION_ARN_ARGUMENT: EXECUTION_ARN,
        METRIC_NAMES_ARGUMENT: json.dumps([name for name, _ in metrics]),
    }
    for index, (_, metric) in enumerate(metrics):
        arguments[f"{METRIC_ARGUMENT_PREFIX}{index}"] = metric
    for key, item in task.items():
        arguments[f"{TASK_ARGUMENT_PREFIX}{key}"] = item
    return arguments


def outcome_expression(step_name: str) -> RequestValue:
    """How other steps read a review's outcome (the SDK's ``CallbackOutput.expr``)."""
    return {"Get": f"Steps.{step_name}.OutputParameters['{OUTCOME_OUTPUT}']"}


def callback_step_body(queue_url: str) -> Request:
    """The keys a callback step has besides its arguments, as the SDK writes them."""
    return {
        "SqsQueueUrl": queue_url,
        "OutputParameters": [{"OutputName": OUTCOME_OUTPUT, "OutputType": "String"}],
    }
