"""The states of a human review step: start an A2I human loop, poll it, read the decision.

Every value the states keep while the loop runs is under ``$.review`` (the loop's name, the
poll count, the last ``DescribeHumanLoop`` answer, the output's location and document); the
outcome goes where the compiler keeps step results, ``$.steps.<step>.Outcome``
(``Approved`` or ``Rejected``), and the last state puts the state back in the compiler's shape
(``parameters``, ``run``, ``steps``, ``properties``).

1. ``<step>`` (Pass) builds the task input and names the loop
   ``States.Format('{}-{}', <prefix>, States.UUID())``: the step's
   :func:`~mlpipes_constructs.compile.human_review.human_loop_prefix` and a UUID, 63 characters.
2. ``<step>.Start`` calls ``sagemakera2iruntime:startHumanLoop`` with the compile core's request,
   ``InputContent`` being ``States.JsonToString`` of the task input.
3. ``<step>.Wait`` (:func:`poll_interval`), ``<step>.Describe`` (``describeHumanLoop``),
   ``<step>.Count`` and ``<step>.Status``: while the loop is ``InProgress`` or ``Stopping`` it
   polls again, until ``wait_seconds(step) / poll_interval(step)`` polls have been made; then
   ``<step>.Stop`` (``stopHumanLoop``) and the step fails with a timeout.
4. ``Completed``: the output URI is split with ``States.StringSplit`` into the bucket and the
   key (a short loop joins the key's parts again), ``<step>.Output`` reads it with
   ``s3:getObject`` and parses it with ``States.StringToJson``.
5. The decision follows :func:`~mlpipes_constructs.compile.human_review.review_outcome`: the
   answers are checked one by one (A2I has at most 3 per loop); an answer is a yes when its
   ``approve_field`` is ``true``, an object whose ``on`` is ``true``, or the text ``true``,
   ``on`` or ``yes`` in any case with whitespace around it (the text is split on whitespace,
   and the one word left is compared with each spelling). The first answer that is not a yes
   makes the outcome ``Rejected``; all of them yes makes it ``Approved``; no answers fail the
   step.
6. ``Failed`` (``FailureCode`` ``Expired``: "expired"; else A2I's reason), ``Stopped`` and the
   timeout end in the pipeline's Fail state with a cause naming the step and the loop.

The SDK integration tasks are :class:`~aws_cdk.aws_stepfunctions.CustomState` states without
IAM of their own: the role that runs them needs ``grant_human_reviews`` (``MlStateMachine`` does
it with its ``flow_definitions``), which also lets it read the loops' output. They retry
throttling and internal errors like the SageMaker tasks.

A Standard execution keeps at most 25,000 history events, and each poll adds about 11, so a
single execution can poll some 2,200 times: at the default 60 seconds, about 37 hours. A step
that would poll more often than :data:`MAX_POLLS` times in its wait polls less often instead
(:func:`poll_interval`): the default wait of 10 days and an hour is polled every 579 seconds.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from aws_cdk import Aws, Duration
from aws_cdk import aws_stepfunctions as sfn

from mlpipes_constructs.compile.human_review import (
    human_loop_prefix,
    review_task_input,
    start_human_loop_request,
    wait_seconds,
)
from mlpipes_constructs.spec import HumanReviewStep, ReviewOutcome
from mlpipes_constructs.stepfunctions._asl import Expr, argument, escape, json_path, state_name
from mlpipes_constructs.stepfunctions._renderer import (
    EXECUTION_ID,
    REVIEW_OUTCOME_KEY,
    asl_parameters,
)

if TYPE_CHECKING:
    from mlpipes_constructs.stepfunctions._builder import Builder

#: The SDK integration's ARNs of the A2I runtime and S3 calls.
A2I_RESOURCE = "arn:{partition}:states:::aws-sdk:sagemakera2iruntime:{action}"
S3_GET_OBJECT_RESOURCE = "arn:{partition}:states:::aws-sdk:s3:getObject"
#: Errors the A2I runtime calls retry (the SDK integration names them
#: ``SageMakerA2IRuntime.<exception>``).
A2I_RETRY_ERRORS: tuple[str, ...] = (
    "SageMakerA2IRuntime.ThrottlingException",
    "SageMakerA2IRuntime.InternalServerException",
)
S3_RETRY_ERRORS: tuple[str, ...] = ("S3.SlowDownException", "S3.InternalErrorException")
#: Where the states keep what they know about the loop.
REVIEW = "$.review"
#: The text answers that mean yes (``is_checked``): each spelling, any case.
YES_WORDS: tuple[str, ...] = ("true", "on", "yes")
#: What ``str.strip`` takes off a text answer (the ASCII whitespace).
WHITESPACE = " \t\n\r\x0b\x0c"
#: The loop statuses that mean "ask again".
POLL_STATUSES: tuple[str, ...] = ("InProgress", "Stopping")


def spellings(word: str) -> list[str]:
    """Every upper/lower-case spelling of ``word``."""
    return [
        "".join(letters) for letters in itertools.product(*((c.lower(), c.upper()) for c in word))
    ]


def task_parameters(task: dict[str, Any]) -> dict[str, Any]:
    """The task input as ``Parameters``; ``metrics`` (``[name, value]`` pairs) as nested
    ``States.Array`` when a value is read at run time."""
    metrics = task.pop("metrics")
    parameters = asl_parameters(task)
    if not any(isinstance(value, Expr) for _, value in metrics):
        parameters["metrics"] = [[name, value] for name, value in metrics]
    else:
        pairs = ", ".join(
            f"States.Array({argument(name)}, {argument(value)})" for name, value in metrics
        )
        parameters["metrics.$"] = f"States.Array({pairs})"
    return parameters


#: The most polls of one review: about 16,500 history events, which leaves room within a
#: Standard execution's 25,000 for the rest of the pipeline.
MAX_POLLS = 1_500


def poll_interval(step: HumanReviewStep) -> int:
    """Seconds between two polls: ``poll_interval_seconds``, or longer when polling that often
    for the whole wait would pass :data:`MAX_POLLS`."""
    return max(step.poll_interval_seconds, -(-wait_seconds(step) // MAX_POLLS))


def max_polls(step: HumanReviewStep) -> int:
    """How many times the states ask about the loop before they stop it."""
    return max(1, -(-wait_seconds(step) // poll_interval(step)))


def review_states(builder: Builder, step: HumanReviewStep) -> tuple[sfn.State, list[sfn.INextable]]:
    """The states of ``step``: the first, and the one that ends with the outcome kept."""
    return _ReviewStates(builder, step).build()


class _ReviewStates:
    def __init__(self, builder: Builder, step: HumanReviewStep) -> None:
        self.builder = builder
        self.step = step
        self.scope = builder.scope
        self.prefix = human_loop_prefix(builder.name_prefix, step.name)

    def name(self, *parts: str) -> str:
        return state_name(self.step.name, *parts)

    def fail(self, label: str, cause: str) -> sfn.Pass:
        """A Pass that sets the failure cause, then the pipeline's (or branch's) Fail state."""
        state = sfn.Pass(
            self.scope,
            self.name(label),
            parameters={"Cause.$": cause},
        )
        state.next(self.builder.fail_target())
        return state

    def loop_cause(self, text: str, *arguments: str) -> str:
        """``Step <step> failed: human loop <name> <text>``, with ``{}`` in ``text`` filled."""
        values = ", ".join((f"{REVIEW}.name", *arguments))
        step = escape(self.step.name)
        return f"States.Format('Step {step} failed: human loop {{}} {text}', {values})"

    def sdk_task(
        self,
        label: str,
        resource: str,
        parameters: dict[str, Any],
        retry_errors: tuple[str, ...],
        result_path: str,
        result_selector: dict[str, Any] | None = None,
    ) -> sfn.CustomState:
        state_json: dict[str, Any] = {
            "Type": "Task",
            "Resource": _partitioned(resource),
            "Parameters": parameters,
            "ResultPath": result_path,
        }
        if result_selector is not None:
            state_json["ResultSelector"] = result_selector
        state = sfn.CustomState(self.scope, self.name(label), state_json=state_json)
        self.builder.retry(state, list(retry_errors))
        state.add_catch(
            self.builder.handler(self.step.name), errors=["States.ALL"], result_path="$.error"
        )
        self.builder.task_states.append(state)
        return state

    def build(self) -> tuple[sfn.State, list[sfn.INextable]]:
        step, render = self.step, self.builder.render
        task = review_task_input(step, render, Expr(EXECUTION_ID))
        prepare = sfn.Pass(
            self.scope,
            step.name,
            comment=step.description or "Start a human review in Amazon A2I",
            parameters={
                "name.$": f"States.Format('{{}}-{{}}', '{escape(self.prefix)}', States.UUID())",
                "input": task_parameters(task),
                "poll": {"count": 0},
            },
            result_path=REVIEW,
        )
        request = start_human_loop_request(
            step, render, Expr(f"{REVIEW}.name"), Expr(f"States.JsonToString({REVIEW}.input)")
        )
        start = self.sdk_task(
            "Start",
            A2I_RESOURCE.replace("{action}", "startHumanLoop"),
            asl_parameters(request),
            A2I_RETRY_ERRORS,
            f"{REVIEW}.started",
        )
        wait = sfn.Wait(
            self.scope,
            self.name("Wait"),
            comment="Give the reviewers time",
            time=sfn.WaitTime.duration(Duration.seconds(poll_interval(step))),
        )
        describe = self.sdk_task(
            "Describe",
            A2I_RESOURCE.replace("{action}", "describeHumanLoop"),
            {"HumanLoopName.$": f"{REVIEW}.name"},
            A2I_RETRY_ERRORS,
            f"{REVIEW}.loop",
        )
        count = sfn.Pass(
            self.scope,
            self.name("Count"),
            parameters={"count.$": f"States.MathAdd({REVIEW}.poll.count, 1)"},
            result_path=f"{REVIEW}.poll",
        )
        status = sfn.Choice(self.scope, self.name("Status"), comment="Where the loop stands")
        loop = f"{REVIEW}.loop"
        stop = self.sdk_task(
            "Stop",
            A2I_RESOURCE.replace("{action}", "stopHumanLoop"),
            {"HumanLoopName.$": f"{REVIEW}.name"},
            A2I_RETRY_ERRORS,
            f"{REVIEW}.stopped",
        )
        stop.next(
            self.fail(
                "TimedOut",
                self.loop_cause(f"was stopped: no decision within {wait_seconds(step)} seconds"),
            )
        )
        failure_code = f"{loop}.FailureCode"
        failure_reason = f"{loop}.FailureReason"
        status.when(
            sfn.Condition.and_(
                sfn.Condition.string_equals(f"{loop}.HumanLoopStatus", "Failed"),
                sfn.Condition.is_present(failure_code),
                sfn.Condition.string_equals(failure_code, "Expired"),
            ),
            self.fail("Expired", self.loop_cause("expired before a reviewer answered")),
        )
        status.when(
            sfn.Condition.and_(
                sfn.Condition.string_equals(f"{loop}.HumanLoopStatus", "Failed"),
                sfn.Condition.is_present(failure_reason),
            ),
            self.fail("LoopFailed", self.loop_cause("failed: {}", failure_reason)),
        )
        status.when(
            sfn.Condition.and_(
                sfn.Condition.string_equals(f"{loop}.HumanLoopStatus", "Failed"),
                sfn.Condition.is_present(failure_code),
            ),
            self.fail("LoopFailedCode", self.loop_cause("failed: {}", failure_code)),
        )
        status.when(
            sfn.Condition.string_equals(f"{loop}.HumanLoopStatus", "Failed"),
            self.fail("LoopFailedSilently", self.loop_cause("failed: no reason given")),
        )
        status.when(
            sfn.Condition.string_equals(f"{loop}.HumanLoopStatus", "Completed"),
            self.read_output(),
        )
        in_progress = sfn.Condition.or_(
            *(sfn.Condition.string_equals(f"{loop}.HumanLoopStatus", s) for s in POLL_STATUSES)
        )
        status.when(
            sfn.Condition.and_(
                in_progress,
                sfn.Condition.number_greater_than_equals(f"{REVIEW}.poll.count", max_polls(step)),
            ),
            stop,
        )
        status.when(in_progress, wait)
        status.otherwise(
            self.fail(
                "NoDecision",
                self.loop_cause("ended {} without a decision", f"{loop}.HumanLoopStatus"),
            )
        )
        prepare.next(start)
        start.next(wait)
        wait.next(describe)
        describe.next(count)
        count.next(status)
        return prepare, [self.done]

    def read_output(self) -> sfn.State:
        """Split the output URI, read ``output.json``, and decide."""
        uri = f"{REVIEW}.loop.HumanLoopOutput.OutputS3Uri"
        parts = f"States.StringSplit({uri}, '/')"
        location = f"{REVIEW}.location"
        # s3://bucket/a/b -> ["s3:", "bucket", "a", "b"]: the key is parts[2:] joined by "/".
        locate = sfn.Pass(
            self.scope,
            self.name("Locate"),
            comment="Split the output URI into its bucket and the first part of its key",
            parameters={
                "parts.$": parts,
                "length.$": f"States.ArrayLength({parts})",
                "bucket.$": f"States.ArrayGetItem({parts}, 1)",
                "key.$": f"States.ArrayGetItem({parts}, 2)",
                "index": 3,
            },
            result_path=location,
        )
        more = sfn.Choice(self.scope, self.name("KeyParts"))
        join = sfn.Pass(
            self.scope,
            self.name("KeyPart"),
            comment="Add the next part of the key",
            parameters={
                "parts.$": f"{location}.parts",
                "length.$": f"{location}.length",
                "bucket.$": f"{location}.bucket",
                "key.$": (
                    f"States.Format('{{}}/{{}}', {location}.key, "
                    f"States.ArrayGetItem({location}.parts, {location}.index))"
                ),
                "index.$": f"States.MathAdd({location}.index, 1)",
            },
            result_path=location,
        )
        read = self.sdk_task(
            "Output",
            S3_GET_OBJECT_RESOURCE,
            {"Bucket.$": f"{location}.bucket", "Key.$": f"{location}.key"},
            S3_RETRY_ERRORS,
            f"{REVIEW}.output",
            result_selector={"document.$": "States.StringToJson($.Body)"},
        )
        more.when(
            sfn.Condition.number_less_than_json_path(f"{location}.index", f"{location}.length"),
            join,
        )
        more.otherwise(read)
        locate.next(more)
        join.next(more)
        read.next(self.decide())
        return locate

    def decide(self) -> sfn.State:
        """Check the answers one by one, as ``review_outcome`` does."""
        answers = f"{REVIEW}.output.document.humanAnswers"
        check = f"{REVIEW}.check"
        has_answers = sfn.Choice(self.scope, self.name("HasAnswers"))
        no_answers = self.fail("NoAnswers", self.loop_cause("completed without answers"))
        first = sfn.Pass(
            self.scope,
            self.name("Answers"),
            parameters={"index": 0, "count.$": f"States.ArrayLength({answers})"},
            result_path=check,
        )
        has_answers.when(
            sfn.Condition.and_(
                sfn.Condition.is_present(answers), sfn.Condition.is_present(f"{answers}[0]")
            ),
            first,
        )
        has_answers.otherwise(no_answers)
        answer = sfn.Pass(
            self.scope,
            self.name("Answer"),
            parameters={"value.$": f"States.ArrayGetItem({answers}, {check}.index)"},
            result_path=f"{REVIEW}.answer",
        )
        field = json_path(f"{REVIEW}.answer.value.answerContent", self.step.approve_field)
        if not self.step.approve_field.replace("_", "").isalnum():
            field = f"{REVIEW}.answer.value.answerContent['{self.step.approve_field}']"
        checked = sfn.Choice(self.scope, self.name("Checked"), comment="Is this answer a yes?")
        words = sfn.Pass(
            self.scope,
            self.name("Words"),
            comment="The answer's text without the whitespace around it",
            parameters={
                "words.$": f"States.StringSplit({field}, '{_intrinsic_text(WHITESPACE)}')",
            },
            result_path=f"{REVIEW}.text",
        )
        word = sfn.Choice(self.scope, self.name("Yes"))
        following = sfn.Pass(
            self.scope,
            self.name("NextAnswer"),
            parameters={
                "index.$": f"States.MathAdd({check}.index, 1)",
                "count.$": f"{check}.count",
            },
            result_path=check,
        )
        more = sfn.Choice(self.scope, self.name("MoreAnswers"))
        approved = sfn.Pass(
            self.scope,
            self.name("Approved"),
            result=sfn.Result.from_object({REVIEW_OUTCOME_KEY: ReviewOutcome.APPROVED}),
            result_path=f"$.steps.{self.step.name}",
        )
        rejected = sfn.Pass(
            self.scope,
            self.name("Rejected"),
            result=sfn.Result.from_object({REVIEW_OUTCOME_KEY: ReviewOutcome.REJECTED}),
            result_path=f"$.steps.{self.step.name}",
        )
        self.done = sfn.Pass(
            self.scope,
            self.name("Decided"),
            comment="Keep the outcome; drop what the review states kept",
            parameters={
                "parameters.$": "$.parameters",
                "run.$": "$.run",
                "steps.$": "$.steps",
                "properties.$": "$.properties",
            },
        )
        yes_box = sfn.Condition.and_(
            sfn.Condition.is_present(field),
            sfn.Condition.is_boolean(field),
            sfn.Condition.boolean_equals(field, True),
        )
        on = f"{field}.on"
        yes_on = sfn.Condition.and_(
            sfn.Condition.is_present(on),
            sfn.Condition.is_boolean(on),
            sfn.Condition.boolean_equals(on, True),
        )
        checked.when(sfn.Condition.or_(yes_box, yes_on), following)
        checked.when(
            sfn.Condition.and_(sfn.Condition.is_present(field), sfn.Condition.is_string(field)),
            words,
        )
        checked.otherwise(rejected)
        first_word = f"{REVIEW}.text.words[0]"
        word.when(
            sfn.Condition.and_(
                sfn.Condition.is_present(first_word),
                sfn.Condition.not_(sfn.Condition.is_present(f"{REVIEW}.text.words[1]")),
                sfn.Condition.or_(
                    *(
                        sfn.Condition.string_equals(first_word, spelling)
                        for yes in YES_WORDS
                        for spelling in spellings(yes)
                    )
                ),
            ),
            following,
        )
        word.otherwise(rejected)
        more.when(
            sfn.Condition.number_less_than_json_path(f"{check}.index", f"{check}.count"), answer
        )
        more.otherwise(approved)
        first.next(answer)
        answer.next(checked)
        words.next(word)
        following.next(more)
        approved.next(self.done)
        rejected.next(self.done)
        return has_answers


def _partitioned(resource: str) -> str:
    return resource.format(partition=Aws.PARTITION)


def _intrinsic_text(text: str) -> str:
    """``text`` as the inside of an intrinsic string literal."""
    return escape(text)
