"""What each orchestrator's stack creates to run the reference pipeline's SageMaker jobs."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from mlpipes_constructs.a2i import IFlowDefinition
from mlpipes_constructs.core import JobPlacementOptions, MlflowTracking
from mlpipes_constructs.foundation import FoundationResources, SageMakerJobRole
from mlpipes_constructs.mlflow import IMlflowTrackingServer


@dataclass(frozen=True)
class ReferenceJobs:
    """The job security group, job role and model package group of one orchestrator's stack.

    Attributes:
        security_group: the jobs' network interfaces (``JobSecurityGroup``).
        job_role: the role the jobs run as, on the foundation's bucket and key (``JobRole``).
        model_package_group: the stack's own group (``ModelPackageGroup``), so the
            orchestrators' stacks do not register into one another's.
        placement: the jobs in the foundation's private subnets with ``security_group``.
    """

    security_group: ec2.SecurityGroup
    job_role: SageMakerJobRole
    model_package_group: sagemaker.CfnModelPackageGroup
    placement: JobPlacementOptions


def reference_jobs(
    scope: Construct,
    foundation: FoundationResources,
    *,
    runner: str,
    model_package_group_name: str,
    model_package_group_description: str,
) -> ReferenceJobs:
    """Create the :class:`ReferenceJobs` of ``scope``, whose pipeline is ``runner`` (e.g.
    "the Step Functions pipeline"), as children with fixed ids."""
    security_group = ec2.SecurityGroup(
        scope,
        "JobSecurityGroup",
        vpc=foundation.vpc,
        description=f"Network interfaces of the SageMaker jobs of {runner}",
        allow_all_outbound=True,
    )
    job_role = SageMakerJobRole(
        scope,
        "JobRole",
        bucket=foundation.artifact_bucket,
        encryption_key=foundation.encryption_key,
        vpc=foundation.vpc,
    )
    group = sagemaker.CfnModelPackageGroup(
        scope,
        "ModelPackageGroup",
        model_package_group_name=model_package_group_name,
        model_package_group_description=model_package_group_description,
    )
    return ReferenceJobs(
        security_group=security_group,
        job_role=job_role,
        model_package_group=group,
        placement=JobPlacementOptions(
            vpc=foundation.vpc,
            vpc_subnets=foundation.private_subnets,
            security_groups=[security_group],
        ),
    )


@dataclass(frozen=True)
class ReferenceIntegrations:
    """What a reference pipeline stack takes from the app's other stacks, as the pipeline
    constructs' props.

    Attributes:
        flow_definition_arn: the default of the reference pipeline's
            ``HumanReviewFlowDefinitionArn`` (None: no human review).
        flow_definitions: the pipeline construct's ``flow_definitions``.
        tracking: the pipeline construct's ``tracking``.
    """

    flow_definition_arn: str | None
    flow_definitions: tuple[IFlowDefinition, ...]
    tracking: MlflowTracking | None


def reference_integrations(
    flow_definition: IFlowDefinition | None, tracking_server: IMlflowTrackingServer | None
) -> ReferenceIntegrations:
    """Review models with ``flow_definition`` and track runs in ``tracking_server``, when
    given (the experiment is the pipeline's name)."""
    return ReferenceIntegrations(
        flow_definition_arn=(
            flow_definition.flow_definition_arn if flow_definition is not None else None
        ),
        flow_definitions=(flow_definition,) if flow_definition is not None else (),
        tracking=MlflowTracking(server=tracking_server) if tracking_server is not None else None,
    )
