"""The managed policy of a SageMaker pipeline's role, derived from the definition's steps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Annotations, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlpipes_constructs.compliance import acknowledge_wildcard
from mlpipes_constructs.foundation._s3_access import KEY_READ_ACTIONS
from mlpipes_constructs.sagemaker._arns import model_package_arns, model_package_group_arns
from mlpipes_constructs.sagemaker._pipeline_permissions import (
    DEPLOY_CONFIG_ACTIONS,
    ENDPOINT_ACTIONS,
    ENDPOINT_CONFIG_ACTIONS,
    REGISTER_GROUP_ACTIONS,
    REGISTER_PACKAGE_ACTIONS,
    endpoint_usage,
    job_permissions,
    unmapped_step_types,
)


def add_pipeline_permissions(
    scope: Construct,
    policy: iam.ManagedPolicy,
    *,
    job_role: iam.IRole,
    definition: Mapping[str, Any],
    step_types: frozenset[str],
    model_package_group_names: Sequence[str],
    artifact_bucket: s3.IBucket,
    artifact_prefix: str,
    encryption_key: kms.IKey,
) -> None:
    """Add what the pipeline's steps need to ``policy``, and acknowledge its wildcards.

    The role may pass only the job role, to SageMaker only; create, describe and stop only
    the kinds of jobs the steps start, named ``pipelines-*``; register versions in the
    model package groups given; create the endpoint configurations and endpoints its
    endpoint steps name; read property files under ``artifact_prefix``; and use the key.
    """
    stack = Stack.of(scope)
    statements = [
        iam.PolicyStatement(
            sid="PassJobRole",
            actions=["iam:PassRole"],
            resources=[job_role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        )
    ]
    wildcard_arns: list[tuple[str, str]] = []
    for permissions in job_permissions(step_types):
        arn = stack.format_arn(
            service="sagemaker",
            resource=permissions.resource_type,
            resource_name=permissions.name_pattern,
        )
        statements.append(
            iam.PolicyStatement(
                sid=_sid("Run", permissions.resource_type, permissions.name_pattern),
                actions=list(permissions.actions),
                resources=[arn],
            )
        )
        reason = (
            f"SageMaker Pipelines names each {permissions.resource_type} it starts "
            "'pipelines-<execution id>-<step>-<suffix>' at run time; the wildcard covers "
            "only names with that prefix"
            if permissions.name_pattern != "*"
            else f"SageMaker generates {permissions.resource_type} names for tuning at run "
            "time without a documented prefix; the actions are limited to this account "
            "and region and to the tuning steps the definition contains"
        )
        wildcard_arns.append((arn, reason))
    if model_package_group_names:
        group_arns, package_arns = [], []
        for group in model_package_group_names:
            group_arns.extend(model_package_group_arns(stack, group))
            package_arns.extend(model_package_arns(stack, group))
        statements.append(
            iam.PolicyStatement(
                sid="RegisterModelVersions",
                actions=list(REGISTER_PACKAGE_ACTIONS),
                resources=package_arns,
            )
        )
        statements.append(
            iam.PolicyStatement(
                sid="UseModelPackageGroups",
                actions=list(REGISTER_GROUP_ACTIONS),
                resources=group_arns,
            )
        )
        wildcard_arns.extend(
            (
                arn,
                "a model package version's ARN ends with the version number SageMaker "
                "assigns at registration; the wildcard stays inside one model package group",
            )
            for arn in package_arns
        )
    endpoints = endpoint_usage(definition)
    endpoint_arns: dict[tuple[str, str], str] = {}
    for sid, actions, resource_type, patterns in (
        (
            "CreateEndpointConfigs",
            ENDPOINT_CONFIG_ACTIONS,
            "endpoint-config",
            endpoints.configs,
        ),
        ("DeployEndpoints", ENDPOINT_ACTIONS, "endpoint", endpoints.endpoints),
        (
            "DeployEndpointConfigs",
            DEPLOY_CONFIG_ACTIONS,
            "endpoint-config",
            endpoints.deployed_configs,
        ),
    ):
        if not patterns:
            continue
        arns = []
        for pattern in patterns:
            if (resource_type, pattern) not in endpoint_arns:
                arn = stack.format_arn(
                    service="sagemaker", resource=resource_type, resource_name=pattern
                )
                endpoint_arns[resource_type, pattern] = arn
                if pattern.endswith("*"):
                    wildcard_arns.append((arn, _endpoint_wildcard_reason(resource_type, pattern)))
            arns.append(endpoint_arns[resource_type, pattern])
        statements.append(iam.PolicyStatement(sid=sid, actions=list(actions), resources=arns))
    output_arn = artifact_bucket.arn_for_objects(f"{artifact_prefix}*")
    statements.append(
        iam.PolicyStatement(
            sid="ReadPropertyFiles",
            actions=["s3:GetObject"],
            resources=[output_arn],
        )
    )
    wildcard_arns.append(
        (
            output_arn,
            "the pipeline reads the property files its steps write under per-execution "
            "keys chosen at run time, inside this pipeline's artifact folder only",
        )
    )
    statements.append(
        iam.PolicyStatement(
            sid="UsePlatformKey",
            actions=[*KEY_READ_ACTIONS, "kms:GenerateDataKey"],
            resources=[encryption_key.key_arn],
        )
    )
    if endpoints.encrypted:
        # CreateEndpoint and UpdateEndpoint create grants on the configuration's key for
        # the endpoint's storage volumes, with the caller's permissions.
        statements.append(
            iam.PolicyStatement(
                sid="EncryptEndpointStorage",
                actions=["kms:CreateGrant"],
                resources=[encryption_key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )
    policy.add_statements(*statements)
    for arn, reason in wildcard_arns:
        acknowledge_wildcard(policy, arn, reason)
    unmapped = unmapped_step_types(step_types)
    if unmapped:
        Annotations.of(scope).add_warning_v2(
            "mlpipes:sagemaker-pipeline-unmapped-step-types",
            f"the definition uses step types {', '.join(unmapped)}, whose permissions are "
            "not derived: add them with add_to_role_policy()",
        )


def _endpoint_wildcard_reason(resource_type: str, pattern: str) -> str:
    if resource_type == "endpoint-config" and pattern != "*":
        return (
            "an endpoint configuration name ends with a value known at run time (for a compiled "
            "spec, the execution id: each execution creates its own configuration); the "
            "wildcard covers only what follows the name's fixed start"
        )
    # A name given as a pipeline parameter (or a deploy-time value) is unknown at synth.
    return (
        f"the definition names an {resource_type} with a pipeline parameter or a deploy-time "
        "value, so the policy cannot name it; the actions are limited to this account and "
        "region and to creating, updating and describing endpoints and their configurations"
    )


def _sid(*parts: str) -> str:
    return "".join(
        piece.capitalize() for part in parts for piece in part.replace("*", "Any").split("-")
    )
