"""An Amazon MWAA Serverless workflow from a dag-factory definition, checked at synth time."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_mwaaserverless as mwaaserverless
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlpipes_constructs._internal.subnets import select_subnets
from mlpipes_constructs._internal.validation import Problems
from mlpipes_constructs.airflow._serverless_rules import workflow_problems
from mlpipes_constructs.airflow._source_deployment import SourceDeployment
from mlpipes_constructs.compliance import acknowledge_wildcards
from mlpipes_constructs.foundation import FoundationResources, PlatformKey
from mlpipes_constructs.iam import ManagedPolicyRole

SERVICE_PRINCIPAL = "airflow-serverless.amazonaws.com"
DEFAULT_DEFINITION_PREFIX = "workflows/"


class MwaaServerlessWorkflow(Construct):
    """An MWAA Serverless workflow (``AWS::MWAAServerless::Workflow``), pay per task-second.

    The definition (dag-factory YAML, given as a dict or a local YAML file) is checked against
    what MWAA Serverless runs, so a workflow it would refuse fails the synth with the task and
    the rule: only operators on its allow-list, ``retries`` 0-3, ``retry_delay`` at most
    300 s, ``execution_timeout`` at most 3600 s, and cron schedules only (see
    ``_serverless_rules``). It is uploaded to ``bucket`` with its S3 version wired into
    ``DefinitionS3Location.VersionId``: a changed definition updates the workflow, an
    unchanged one leaves it alone.

    The workflow runs as a new role for ``airflow-serverless.amazonaws.com`` that may read its
    definition, write its log group and use the key; add what the tasks call with
    :meth:`add_to_execution_policy` or grants to :attr:`execution_role`. Workflow data is
    encrypted with a customer-managed key, logs go to a log group encrypted with it, and tasks
    run in the given private subnets.

    Args:
        definition: the workflow as a dag-factory mapping ``{dag_id: {...}}``. Give this or
            ``definition_file``.
        definition_file: a local dag-factory YAML file. Give this or ``definition``.
        bucket: the versioned bucket the definition is uploaded to.
            Default: the foundation's artifact bucket.
        bucket_key: the key of ``bucket``. Default: ``encryption_key``.
        definition_prefix: bucket folder of the definition. Default: ``"workflows/"``.
        vpc: the VPC tasks run in. Default: the foundation's VPC.
        vpc_subnets: subnets of ``vpc`` tasks run in. Default: the foundation's private
            subnets, else the VPC's private subnets.
        security_groups: security groups of the tasks. Default: a new group with HTTPS egress
            only and no ingress.
        foundation: the platform to build on (VPC, subnets, key, artifact bucket).
            Default: none; then give ``vpc`` and ``bucket``.
        encryption_key: the customer-managed key of the workflow and its logs.
            Default: the foundation's key, else a new ``PlatformKey``.
        workflow_name: the workflow's name. Default: the DAG id.
        description: the workflow's description. Default: the DAG's ``description``, else none.
        log_retention: how long the workflow's logs are kept. Default: one year.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        definition: Mapping[str, Any] | None = None,
        definition_file: str | os.PathLike[str] | None = None,
        bucket: s3.IBucket | None = None,
        bucket_key: kms.IKey | None = None,
        definition_prefix: str = DEFAULT_DEFINITION_PREFIX,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        foundation: FoundationResources | None = None,
        encryption_key: kms.IKey | None = None,
        workflow_name: str | None = None,
        description: str | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems(self.node.path)
        if (definition is None) == (definition_file is None):
            if definition is None:
                problems.add("one of 'definition' or 'definition_file' is required")
            else:
                problems.conflict("definition", "definition_file", "give the workflow once")
        loaded = _load(problems, definition, definition_file)
        if loaded is not None:
            for problem in workflow_problems(loaded):
                problems.add(f"definition {problem}")
        if foundation is None and vpc is None:
            problems.add("one of 'vpc' or 'foundation' is required")
        if foundation is None and bucket is None:
            problems.add("one of 'bucket' or 'foundation' is required")
        if vpc is not None and foundation is not None:
            problems.conflict("vpc", "foundation", "the foundation already names the VPC")
        if not definition_prefix.endswith("/") or definition_prefix.startswith("/"):
            problems.add(
                f"definition_prefix '{definition_prefix}' must be a folder such as 'workflows/'"
            )
        if log_retention == logs.RetentionDays.INFINITE:
            problems.add("log_retention INFINITE is not allowed: choose a retention")
        problems.raise_if_any()
        assert loaded is not None

        dag_id, dag = next((k, v) for k, v in loaded.items() if k != "default")
        self.definition: dict[str, Any] = loaded
        self.dag_id = str(dag_id)
        network_vpc = vpc or (foundation.vpc if foundation else None)
        assert network_vpc is not None
        selection = vpc_subnets or (foundation.private_subnets if foundation else None)
        subnets = select_subnets(network_vpc, selection)

        self.platform_key: PlatformKey | None = None
        if encryption_key is None and foundation is not None:
            encryption_key = foundation.encryption_key
        if encryption_key is None:
            self.platform_key = PlatformKey(
                self, "Key", description=f"mlpipes MWAA Serverless workflow {self.dag_id}"
            )
            encryption_key = self.platform_key.key
        self.encryption_key: kms.IKey = encryption_key
        bucket = bucket or (foundation.artifact_bucket if foundation else None)
        assert bucket is not None
        bucket_key = bucket_key or encryption_key
        self.bucket: s3.IBucket = bucket

        self.log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=encryption_key,
            retention=log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        if security_groups is None:
            group = ec2.SecurityGroup(
                self,
                "SecurityGroup",
                vpc=network_vpc,
                description=f"MWAA Serverless workflow {self.dag_id}: HTTPS egress only",
                allow_all_outbound=False,
            )
            group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS APIs")
            security_groups = [group]
        self.security_groups = list(security_groups)

        definition_key = f"{definition_prefix}{self.dag_id}.yaml"
        self.deployment = SourceDeployment(
            self,
            "Definition",
            bucket=bucket,
            encryption_key=bucket_key,
            log_key=encryption_key,
            vpc=network_vpc,
            subnets=ec2.SubnetSelection(subnets=list(subnets.subnets)),
            log_retention=log_retention,
        )
        if definition_file is not None:
            uploaded = self.deployment.add_file("Upload", Path(definition_file), definition_key)
        else:
            # Written by the handler at deploy time, so the definition may hold deploy-time
            # values (bucket names of other stacks): they resolve in the template.
            uploaded = self.deployment.add_content(
                "Upload", definition_yaml(loaded), definition_key
            )

        role = ManagedPolicyRole(
            self,
            "ExecutionRole",
            service=SERVICE_PRINCIPAL,
            description=f"Execution role of the MWAA Serverless workflow {self.dag_id}",
        )
        role.managed_policy.add_statements(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[bucket.arn_for_objects(definition_key)],
            ),
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[self.log_group.log_group_arn],
            ),
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
                resources=sorted({encryption_key.key_arn, bucket_key.key_arn}, key=str),
            ),
        )
        self._role = role
        log_group_arn = self.log_group.log_group_arn
        acknowledge_wildcards(
            role.managed_policy,
            lambda: [
                (
                    log_group_arn,
                    "log streams of the workflow's own log group, named per task run",
                ),
            ],
        )

        description = description or dag.get("description")
        self.resource = mwaaserverless.CfnWorkflow(
            self,
            "Resource",
            name=workflow_name or self.dag_id,
            description=description,
            role_arn=role.role_arn,
            definition_s3_location=mwaaserverless.CfnWorkflow.S3LocationProperty(
                bucket=bucket.bucket_name,
                object_key=definition_key,
                version_id=uploaded.get_att_string("VersionId"),
            ),
            encryption_configuration=mwaaserverless.CfnWorkflow.EncryptionConfigurationProperty(
                type="CUSTOMER_MANAGED_KEY", kms_key_id=encryption_key.key_arn
            ),
            logging_configuration=mwaaserverless.CfnWorkflow.LoggingConfigurationProperty(
                log_group_name=self.log_group.log_group_name
            ),
            network_configuration=mwaaserverless.CfnWorkflow.NetworkConfigurationProperty(
                subnet_ids=list(subnets.subnet_ids),
                security_group_ids=[group.security_group_id for group in self.security_groups],
            ),
        )
        self.resource.node.add_dependency(role.managed_policy)
        self.workflow_arn = self.resource.attr_workflow_arn

    @property
    def execution_role(self) -> iam.IRole:
        """The role the workflow's tasks run as (``iam.IGrantable``)."""
        return self._role

    def add_to_execution_policy(self, statement: iam.PolicyStatement) -> None:
        """Add a permission the workflow's tasks need."""
        self._role.managed_policy.add_statements(statement)

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start runs of this workflow (``StartWorkflowRun``)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["airflow-serverless:StartWorkflowRun"],
            resource_arns=[self.workflow_arn],
        )


def _load(
    problems: Problems,
    definition: Mapping[str, Any] | None,
    definition_file: str | os.PathLike[str] | None,
) -> dict[str, Any] | None:
    if definition is not None:
        loaded: Any = json.loads(json.dumps(definition, default=str))
    elif definition_file is not None:
        path = Path(definition_file)
        if not path.is_file():
            problems.add(f"definition_file '{definition_file}' is not a file")
            return None
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            problems.add(f"definition_file '{definition_file}' is not YAML: {error}")
            return None
    else:
        return None
    if not isinstance(loaded, dict):
        problems.add("definition must be a mapping of DAG id to DAG")
        return None
    return loaded


def definition_yaml(definition: Mapping[str, Any]) -> str:
    """The definition as dag-factory YAML, in its own key order, lines never wrapped (so
    deploy-time values embedded in strings stay whole)."""
    text: str = yaml.safe_dump(dict(definition), sort_keys=False, width=2**31 - 1)
    return text
