"""Compile a pipeline spec into a Step Functions state machine definition.

The definition's data, from its first two states on::

    {"parameters": {<pipeline parameters: defaults merged with the execution input>},
     "run": {"name": <execution name>, "token": <20 hex digits>, "root": s3://<bucket>/<prefix><name>},
     "steps": {<step>: <kept task results>},
     "properties": {<step>: {<property file>: {"document": <parsed JSON>}}}}

Steps that do not depend on each other run as the branches of a ``Parallel`` state, in
declaration order; a Pass state after it merges the branches' ``steps`` into this shape again
(property files read inside a branch are read again by later steps that need them).

Job, model and endpoint config names are ``<slug>-<run token>`` (see :mod:`.naming`). Outputs
without a destination go to ``<root>/<step>/<output>`` (training: ``<root>/<step>/model``,
transform: ``<root>/<step>/output``), so they can be found from the execution name. Every
SageMaker task retries throttling and service errors with exponential backoff and jitter
(:data:`RETRY_ERRORS`); a job that ran and failed is not retried, because its name is taken.
Any error ends in the ``Pipeline.Failed`` Fail state, whose cause names the step and carries
the service's cause (for a ``.sync`` job, its description with the ``FailureReason``). Inside a
Parallel branch, which cannot lead to states outside it, the branch has its own Fail state with
the same error and cause; it fails the Parallel, and so the execution, with them.

A human review step starts an A2I human loop and polls it every ``poll_interval_seconds``
(see :mod:`._review_states`); its outcome is ``$.steps.<step>.Outcome``. Its SDK tasks carry
no IAM: the state machine role needs ``grant_human_reviews`` (``MlStateMachine`` grants it for
its ``flow_definitions``).

An endpoint step creates the endpoint, or updates it when one of that name exists, then checks
it every 30 seconds until it is ``InService``; a ``Failed`` endpoint fails the step with
SageMaker's ``FailureReason``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.compile import CompileError, JobPlacement
from mlpipes_constructs.compile.tracking import Tracking
from mlpipes_constructs.spec import Pipeline
from mlpipes_constructs.stepfunctions._builder import ORCHESTRATOR, Builder
from mlpipes_constructs.stepfunctions.naming import default_prefix

#: Errors every SageMaker task retries: throttling, and the service errors the optimized
#: (``SageMaker.AmazonSageMakerException``) and SDK integrations raise, which include
#: ``ResourceLimitExceeded`` while capacity is short.
RETRY_ERRORS: tuple[str, ...] = (
    "ThrottlingException",
    "SageMaker.AmazonSageMakerException",
    "SageMaker.SageMakerException",
    "SageMaker.ResourceLimitExceeded",
)
RETRY_INTERVAL = Duration.seconds(10)
RETRY_MAX_ATTEMPTS = 5
RETRY_BACKOFF_RATE = 2.0
RETRY_MAX_DELAY = Duration.minutes(5)
_PREFIX_FORBIDDEN = set("'{}\\ \"")


@dataclass(frozen=True)
class CompiledStateMachine:
    """A compiled pipeline.

    Attributes:
        definition: the chain to pass to ``sfn.DefinitionBody.from_chainable``.
        start_state: its first state.
        step_states: each spec step's first state.
        name_slugs: each step's name slug; its SageMaker names are ``<slug>-<run token>``.
        artifact_prefix: the bucket folder outputs go under (the role reads reports there).
        fail_state: the Fail state every error outside a Parallel branch ends in.
        task_states: every task state, with its retries and catch.
        job_name_prefix: the start of every SageMaker name (and of the human loop names of
            the review steps, see ``human_loop_prefix``).
    """

    definition: sfn.IChainable
    start_state: sfn.State
    step_states: Mapping[str, sfn.State]
    name_slugs: Mapping[str, str]
    artifact_prefix: str
    fail_state: sfn.Fail
    task_states: tuple[sfn.State, ...] = field(default=())
    job_name_prefix: str = ""


def compile_state_machine(
    scope: Construct,
    pipeline: Pipeline,
    *,
    job_role: iam.IRole,
    artifact_bucket: s3.IBucket,
    artifact_prefix: str,
    code_locations: Mapping[str, str],
    kms_key: kms.IKey | None = None,
    placement: JobPlacement | None = None,
    integration_pattern: sfn.IntegrationPattern = sfn.IntegrationPattern.RUN_JOB,
    job_name_prefix: str | None = None,
    tracking: Tracking | None = None,
) -> CompiledStateMachine:
    """Build the states of ``pipeline`` in ``scope`` and return the definition.

    Args:
        scope: where the states are created (their ids are their state names).
        pipeline: the spec.
        job_role: the role jobs and models run as.
        artifact_bucket: the bucket outputs go to.
        artifact_prefix: the folder in it for this pipeline, e.g. ``pipelines/<name>/``;
            empty or ending with ``/``.
        code_locations: ``s3://`` URI of a ZIP of each local code directory, keyed by the
            steps' ``code`` values (see ``local_code_paths``).
        kms_key: key for job outputs and volumes (and reading reports). Default: the bucket's
            default encryption and SageMaker's volume encryption.
        placement: VPC placement of jobs and models. Default: no VPC configuration.
        integration_pattern: ``RUN_JOB`` waits for every job (``.sync``); ``REQUEST_RESPONSE``
            only starts them (for emulators and fire-and-forget runs). Default: ``RUN_JOB``.
        job_name_prefix: start of every SageMaker name (letters, digits, hyphens).
            Default: the pipeline name, lowercased, at most 16 characters.
        tracking: the MLflow server every processing and training job logs to, with the
            execution's ARN (``$$.Execution.Id``) as its run's execution id. Default: no
            tracking.

    Raises:
        PropsValidationError: bad arguments.
        CompileError: steps the compiler cannot express, each named with its field.
        UnsupportedStepError: a step of a kind the compiler does not handle.
    """
    problems = Problems(f"{scope.node.path} (compile_state_machine)")
    if not is_unresolved(artifact_prefix):
        problems.require(
            artifact_prefix == ""
            or (
                artifact_prefix.endswith("/")
                and not artifact_prefix.startswith("/")
                and not set(artifact_prefix) & _PREFIX_FORBIDDEN
            ),
            f"artifact_prefix '{artifact_prefix}' must be empty or a folder such as "
            "'pipelines/name/' (ending with '/', no leading '/', no quotes, braces or spaces)",
        )
    problems.require(
        integration_pattern
        in (sfn.IntegrationPattern.RUN_JOB, sfn.IntegrationPattern.REQUEST_RESPONSE),
        "integration_pattern must be RUN_JOB or REQUEST_RESPONSE",
    )
    prefix = job_name_prefix if job_name_prefix is not None else default_prefix(pipeline.name)
    problems.require(
        0 < len(prefix) <= 16
        and prefix[0].isalnum()
        and all(c.isascii() and (c.isalnum() or c == "-") for c in prefix),
        f"job_name_prefix '{prefix}' must be 1-16 letters, digits and hyphens, starting with a "
        "letter or digit",
    )
    problems.raise_if_any()
    builder = Builder(
        scope,
        pipeline,
        job_role=job_role,
        bucket=artifact_bucket,
        artifact_prefix=artifact_prefix,
        code_locations=code_locations,
        kms_key=kms_key,
        placement=placement,
        pattern=integration_pattern,
        name_prefix=prefix,
        retry=_retry,
        tracking=tracking,
    )
    messages = builder.check()
    if messages:
        raise CompileError("; ".join(messages), orchestrator=ORCHESTRATOR)
    start, ends = builder.build()
    last = ends[-1] if ends else start
    assert isinstance(last, sfn.State)
    definition = sfn.Chain.custom(start, ends, last)
    return CompiledStateMachine(
        definition=definition,
        start_state=start,
        step_states=dict(builder.step_states),
        name_slugs=dict(builder.slugs),
        artifact_prefix=artifact_prefix,
        fail_state=builder.fail_state,
        task_states=tuple(builder.task_states),
        job_name_prefix=prefix,
    )


def _retry(state: sfn.TaskStateBase, errors: Sequence[str] = RETRY_ERRORS) -> None:
    state.add_retry(
        errors=list(errors),
        interval=RETRY_INTERVAL,
        max_attempts=RETRY_MAX_ATTEMPTS,
        backoff_rate=RETRY_BACKOFF_RATE,
        max_delay=RETRY_MAX_DELAY,
        jitter_strategy=sfn.JitterType.FULL,
    )
