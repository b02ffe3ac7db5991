"""What every pipeline construct does for the human review steps of its spec.

A pipeline construct takes ``flow_definitions=``: the A2I flow definitions its review steps
start human loops with. The role that starts and watches the loops (the state machine's, the
MWAA execution role, the callback handler's, the KFP tasks') gets ``StartHumanLoop`` on those
flow definitions, ``DescribeHumanLoop``/``StopHumanLoop`` on the loops whose names start with
each step's prefix, and read access to the reviewers' answers.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam
from constructs import IConstruct

from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.a2i import IFlowDefinition
from mlpipes_constructs.compile.human_review import human_loop_prefix
from mlpipes_constructs.compliance import acknowledge_wildcard
from mlpipes_constructs.spec import HumanReviewStep, ParameterRef, Pipeline

#: The prop every pipeline construct names the flow definitions with.
FLOW_DEFINITIONS_PROP = "flow_definitions"


def human_review_steps(pipeline: Pipeline) -> tuple[HumanReviewStep, ...]:
    """The spec's human review steps, in declaration order."""
    return tuple(step for step in pipeline.steps if isinstance(step, HumanReviewStep))


def flow_definition_problems(
    problems: Problems, pipeline: Pipeline, flow_definitions: Sequence[IFlowDefinition]
) -> None:
    """A spec with review steps needs ``flow_definitions``; each literal flow definition ARN a
    step names must be one of them (else its loops could not be started or read)."""
    steps = human_review_steps(pipeline)
    if not steps:
        return
    if not flow_definitions:
        names = ", ".join(f"'{step.name}'" for step in steps)
        problems.add(
            f"{FLOW_DEFINITIONS_PROP} is empty, but the pipeline has human review steps "
            f"({names}); pass the flow definitions they start human loops with"
        )
        return
    known = [definition.flow_definition_arn for definition in flow_definitions]
    if any(is_unresolved(arn) for arn in known):
        # A token's value is known at deploy time only.
        return
    for step in steps:
        arn = _literal_arn(pipeline, step)
        if arn is not None and not is_unresolved(arn) and arn not in known:
            problems.add(
                f"step '{step.name}' starts human loops with '{arn}', which is not one of "
                f"{FLOW_DEFINITIONS_PROP} ({', '.join(known)})"
            )


def _literal_arn(pipeline: Pipeline, step: HumanReviewStep) -> str | None:
    if isinstance(step.flow_definition_arn, ParameterRef):
        # A parameter's default is what an execution uses unless it is given another.
        for parameter in pipeline.parameters:
            if parameter.name == step.flow_definition_arn.name:
                return str(parameter.default) if parameter.default is not None else None
        return None
    return step.flow_definition_arn


def grant_human_reviews(
    grantee: iam.IGrantable,
    pipeline: Pipeline,
    flow_definitions: Sequence[IFlowDefinition],
    *,
    job_prefix: str,
) -> iam.Grant | None:
    """Let ``grantee`` run the spec's review steps: start loops with ``flow_definitions``,
    describe and stop the loops of each step (named by :func:`human_loop_prefix` of
    ``job_prefix``), and read the answers. None when the spec has no review step."""
    grant: iam.Grant | None = None
    for step in human_review_steps(pipeline):
        prefix = human_loop_prefix(job_prefix, step.name)
        for definition in flow_definitions:
            started = definition.grant_start_human_loop(grantee, human_loop_name_prefix=prefix)
            grant = started if grant is None else grant.combine(started)
    if grant is not None:
        for definition in flow_definitions:
            grant = grant.combine(definition.grant_read_output(grantee))
    return grant


#: Why each wildcard of the review grants is needed, and what bounds it.
_LOOP_REASON = (
    "a review names each human loop '<step prefix>-<part unique to the execution>': only the "
    "step's fixed prefix can be named, and the loops of other steps and pipelines stay out"
)
_ANSWERS_REASON = (
    "A2I writes each loop's answers under the flow definition's output prefix, in folders "
    "named by date and loop; reading is limited to that prefix"
)


def acknowledge_human_review_wildcards(policy: IConstruct, grant: iam.Grant | None) -> None:
    """Acknowledge, on ``policy``, the wildcards of :func:`grant_human_reviews`'s ``grant``:
    the human loops of each step's prefix and the answers under each output prefix."""
    if grant is None:
        return
    for statement in grant.principal_statements:
        for resource in statement.resources:
            if "*" not in resource:
                continue
            reason = _LOOP_REASON if ":human-loop/" in resource else _ANSWERS_REASON
            acknowledge_wildcard(policy, resource, reason)
