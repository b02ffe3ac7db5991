"""Local files deployed into a bucket by a custom resource that reports their S3 versions.

MWAA reads ``requirements.txt``, ``plugins.zip`` and the startup script at the S3 object
versions named in ``RequirementsS3ObjectVersion``, ``PluginsS3ObjectVersion`` and
``StartupScriptS3ObjectVersion``, and MWAA Serverless reads a workflow definition at
``DefinitionS3Location.VersionId``. S3 assigns a version id only when an object is written,
so no synth-time value can be right (aws-cdk #21114), and a hand-typed one is wrong after the
next upload. The mechanism here:

1. CDK uploads each local file as a content-addressed asset (``<sha256>.<ext>``); a changed
   file gets a new asset key, an unchanged one keeps it, byte for byte.
2. One custom resource per file copies the asset into the destination bucket with
   ``CopyObject`` and returns the ``VersionId`` S3 answers with. Its properties hold the
   asset key, so CloudFormation updates it (one new copy, one new version) exactly when the
   file changed, and leaves it alone otherwise.
3. The consumer's property is ``Fn::GetAtt [<resource>, VersionId]``: a new version updates
   the environment or workflow, and an unchanged file changes nothing in the template, so
   nothing is updated and no environment restarts.

``CopyObject`` reports the version of the object it wrote, so there is no window in which a
separate ``HeadObject`` could read a version written by someone else. The same handler
unpacks a DAG folder (a zip asset) under a prefix. The handler is our own small Python
function (``_deploy_handler/index.py``), not ``BucketDeployment``, so that its role holds only
the object keys it writes and runs without the AWS CLI layer or Docker bundling.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CustomResource, Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from mlpipes_constructs._internal.python_handler import (
    BYTECODE,
    CUSTOM_RESOURCE_DLQ_REASON,
    HandlerNetwork,
    HandlerReasons,
    python_handler,
)
from mlpipes_constructs.compliance import acknowledge_wildcard

HANDLER_DIRECTORY = Path(__file__).resolve().parent / "_deploy_handler"
RESOURCE_TYPE = "Custom::MlpipesS3Deployment"


class SourceDeployment(Construct):
    """A function that deploys assets into ``bucket``; one custom resource per file or folder.

    Args:
        bucket: the destination bucket (must be versioned for :meth:`add_file`).
        encryption_key: the key of the destination bucket, for writing. Default: none.
        log_key: the key the handler's log group is encrypted with.
        vpc: the VPC the handler runs in.
        subnets: the subnets of ``vpc`` it runs in.
        log_retention: how long the handler's logs are kept.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        encryption_key: kms.IKey | None,
        log_key: kms.IKey,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        self._bucket = bucket
        statements = []
        if encryption_key is not None:
            statements.append(
                iam.PolicyStatement(
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[encryption_key.key_arn],
                    # Only for the objects S3 encrypts: the key may be shared with other data.
                    conditions={
                        "StringEquals": {
                            "kms:ViaService": f"s3.{Stack.of(self).region}.amazonaws.com"
                        }
                    },
                )
            )
        parts = python_handler(
            self,
            code_directory=HANDLER_DIRECTORY,
            handler="index.handler",
            description="mlpipes: copies deployed files into a bucket and reports S3 versions",
            role_description="Copies deployed files into their bucket and reports their versions",
            timeout=Duration.minutes(5),
            memory_size=512,
            log_key=log_key,
            log_retention=log_retention,
            network=HandlerNetwork(
                vpc=vpc,
                vpc_subnets=subnets,
                description="Deployment handler: HTTPS to S3 and the CloudFormation response URL",
                egress="HTTPS to S3 (gateway endpoint or NAT)",
            ),
            reasons=HandlerReasons(
                concurrency=(
                    "the handler runs only during stack operations, once per changed file; "
                    "reserving concurrency would fail to deploy in accounts at the minimum "
                    "unreserved concurrency"
                ),
                dead_letter_queue=CUSTOM_RESOURCE_DLQ_REASON,
            ),
            statements=statements,
        )
        self.role = parts.role
        self.log_group = parts.log_group
        assert parts.security_group is not None
        self.security_group = parts.security_group
        self.function = parts.function

    def add_file(
        self, construct_id: str, local_path: Path, key: str, *, remove_on_delete: bool = False
    ) -> CustomResource:
        """Deploy one local file to ``key``; the resource's ``VersionId`` is its version.
        With ``remove_on_delete``, deleting the resource removes the object."""
        asset = s3_assets.Asset(self, f"{construct_id}Asset", path=str(local_path))
        self._grant_asset_read(asset)
        self._grant_write(key, remove_on_delete)
        return self._resource(
            construct_id,
            {"Kind": "File", "DestinationKey": key, **_removal(remove_on_delete)},
            asset,
        )

    def add_content(
        self, construct_id: str, body: str, key: str, *, remove_on_delete: bool = False
    ) -> CustomResource:
        """Write ``body`` (which may hold deploy-time values) to ``key``; the resource's
        ``VersionId`` is its version. The text travels in the template, so keep it small.
        With ``remove_on_delete``, deleting the resource removes the object."""
        self._grant_write(key, remove_on_delete)
        resource = CustomResource(
            self,
            construct_id,
            service_token=self.function.function_arn,
            resource_type=RESOURCE_TYPE,
            properties={
                "Kind": "Content",
                "Body": body,
                "DestinationKey": key,
                "DestinationBucket": self._bucket.bucket_name,
                **_removal(remove_on_delete),
            },
        )
        resource.node.add_dependency(self.role.managed_policy)
        return resource

    def add_folder(
        self,
        construct_id: str,
        local_dir: Path,
        prefix: str,
        *,
        keep_prefixes: tuple[str, ...] = (),
    ) -> CustomResource:
        """Deploy the files of a local folder under ``prefix``, removing files no longer there
        (except under ``keep_prefixes``, which other resources deploy into)."""
        asset = s3_assets.Asset(
            self, f"{construct_id}Asset", path=str(local_dir), exclude=list(BYTECODE)
        )
        self._grant_asset_read(asset)
        objects = self._bucket.arn_for_objects(f"{prefix}*")
        self.role.managed_policy.add_statements(
            iam.PolicyStatement(actions=["s3:PutObject", "s3:DeleteObject"], resources=[objects]),
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self._bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
            ),
        )
        acknowledge_wildcard(
            self.role.managed_policy,
            objects,
            f"the deployed folder '{prefix}': files are written and stale ones removed under "
            "that prefix only",
        )
        return self._resource(
            construct_id,
            {"Kind": "Folder", "DestinationPrefix": prefix, "KeepPrefixes": list(keep_prefixes)},
            asset,
        )

    def _grant_write(self, key: str, remove_on_delete: bool) -> None:
        actions = ["s3:PutObject", "s3:DeleteObject"] if remove_on_delete else ["s3:PutObject"]
        self.role.managed_policy.add_statements(
            iam.PolicyStatement(actions=actions, resources=[self._bucket.arn_for_objects(key)])
        )

    def _grant_asset_read(self, asset: s3_assets.Asset) -> None:
        self.role.managed_policy.add_statements(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[asset.bucket.arn_for_objects(asset.s3_object_key)],
            )
        )

    def _resource(
        self, construct_id: str, properties: dict[str, Any], asset: s3_assets.Asset
    ) -> CustomResource:
        resource = CustomResource(
            self,
            construct_id,
            service_token=self.function.function_arn,
            resource_type=RESOURCE_TYPE,
            properties={
                **properties,
                "SourceBucket": asset.s3_bucket_name,
                "SourceKey": asset.s3_object_key,
                "DestinationBucket": self._bucket.bucket_name,
            },
        )
        resource.node.add_dependency(self.role.managed_policy)
        return resource


def _removal(remove_on_delete: bool) -> dict[str, str]:
    return {"RemoveOnDelete": "true"} if remove_on_delete else {}
