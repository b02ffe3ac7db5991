"""Where a pipeline's SageMaker jobs and models run, given as CDK objects."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from mlpipes_constructs._internal.subnets import select_subnets
from mlpipes_constructs._internal.validation import Problems
from mlpipes_constructs.compile import JobPlacement
from mlpipes_constructs.compile.placement import MAX_SECURITY_GROUPS, MAX_SUBNETS
from mlpipes_constructs.compliance import acknowledge


@dataclass(frozen=True)
class JobPlacementOptions:
    """The VPC placement of a pipeline's jobs, models and endpoints, as CDK objects.

    Every pipeline construct takes it as ``placement=`` and converts it once to the
    compilers' :class:`~mlpipes_constructs.compile.JobPlacement` (subnet and security group
    ids).

    Attributes:
        vpc: the VPC the jobs' network interfaces are placed in.
        vpc_subnets: which subnets of ``vpc``. Default: the VPC's private subnets. Selecting
            no subnet is an error.
        security_groups: the security groups of the jobs' network interfaces (1 to 5).
            Default: a new group in ``vpc`` whose only inbound rule lets the instances of one
            job reach each other (distributed training, inter-container encryption), with
            all outbound traffic allowed. An empty list is an error.
        inter_container_traffic_encryption: encrypt traffic between the instances of a
            distributed processing, training or tuning job. Default: True.
    """

    vpc: ec2.IVpc
    vpc_subnets: ec2.SubnetSelection | None = None
    security_groups: Sequence[ec2.ISecurityGroup] | None = None
    inter_container_traffic_encryption: bool = True


@dataclass(frozen=True)
class ResolvedPlacement:
    """A placement converted for the compilers, with the security groups it uses."""

    placement: JobPlacement
    security_groups: tuple[ec2.ISecurityGroup, ...]
    subnets: ec2.SelectedSubnets


def placement_problems(
    options: JobPlacementOptions, *, prop: str = "placement"
) -> tuple[list[str], ec2.SelectedSubnets | None]:
    """Why ``options`` cannot place jobs, and the subnets it selects (None if it fails)."""
    problems: list[str] = []
    subnets: ec2.SelectedSubnets | None = None
    try:
        subnets = select_subnets(options.vpc, options.vpc_subnets)
    except RuntimeError as error:  # jsii reports a selection the VPC cannot satisfy this way
        problems.append(
            f"{prop}.vpc_subnets selects no subnets of '{options.vpc.node.path}': {error}"
        )
    if subnets is not None and not 1 <= len(subnets.subnet_ids) <= MAX_SUBNETS:
        problems.append(
            f"{prop}.vpc_subnets selects {len(subnets.subnet_ids)} subnets of "
            f"'{options.vpc.node.path}'; SageMaker places jobs in 1 to {MAX_SUBNETS} subnets"
        )
    groups = options.security_groups
    if groups is not None and not 1 <= len(groups) <= MAX_SECURITY_GROUPS:
        problems.append(
            f"{prop}.security_groups has {len(groups)} groups; a job needs 1 to "
            f"{MAX_SECURITY_GROUPS} (omit it for a new group)"
        )
    return problems, subnets


def resolve_placement(
    scope: Construct,
    options: JobPlacementOptions,
    *,
    description: str,
    prop: str = "placement",
    between_instances: bool = True,
    group_id: str = "JobSecurityGroup",
) -> ResolvedPlacement:
    """Convert ``options`` to a :class:`JobPlacement`, creating the default security group.

    Args:
        scope: where the default security group is created.
        options: the placement prop.
        description: the description of the default security group.
        prop: the prop name, for messages.
        between_instances: let the instances of one job reach each other in the default group.
        group_id: the construct id of the default security group.

    Raises:
        PropsValidationError: no subnet, or no (or too many) security groups.
    """
    problems = Problems(scope.node.path)
    found, subnets = placement_problems(options, prop=prop)
    for problem in found:
        problems.add(problem)
    problems.raise_if_any()
    assert subnets is not None
    groups = (
        tuple(options.security_groups)
        if options.security_groups is not None
        else (_default_group(scope, group_id, options.vpc, description, between_instances),)
    )
    return ResolvedPlacement(
        placement=JobPlacement(
            subnet_ids=tuple(subnets.subnet_ids),
            security_group_ids=tuple(group.security_group_id for group in groups),
            enable_inter_container_traffic_encryption=options.inter_container_traffic_encryption,
        ),
        security_groups=groups,
        subnets=subnets,
    )


def _default_group(
    scope: Construct, group_id: str, vpc: ec2.IVpc, description: str, between_instances: bool
) -> ec2.SecurityGroup:
    group = ec2.SecurityGroup(
        scope,
        group_id,
        vpc=vpc,
        description=description,
        allow_all_outbound=True,
    )
    if between_instances:
        # Distributed training and inter-container traffic encryption need the job's
        # instances to reach each other; nothing else may connect to them.
        group.add_ingress_rule(
            group, ec2.Port.all_traffic(), "Traffic between the instances of one job"
        )
        acknowledge(
            group,
            [
                "HIPAA.Security-EC2RestrictedCommonPorts",
                "NIST.800.53.R5-EC2RestrictedCommonPorts",
            ],
            "the group's only inbound rule has the group itself as source: instances of the "
            "pipeline's own jobs reach each other, nothing outside the group reaches any port",
        )
    return group
