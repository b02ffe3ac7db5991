"""Uploading a spec's local job code as assets that the job role may read."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from mlpipes_constructs._internal.python_handler import BYTECODE
from mlpipes_constructs._internal.validation import Problems
from mlpipes_constructs.spec import Pipeline, local_code_paths


class JobCode(Construct):
    """Each local code directory of a spec as a ZIP asset, readable by the job role only.

    Children: ``Code0``, ``Code1``... (the assets) and, when there is code, ``Policy``: a
    managed policy on the job role that allows ``s3:GetObject`` on those objects and
    ``s3:ListBucket`` on their keys (a processing input is an S3 prefix, which SageMaker lists
    before downloading).

    Raises:
        PropsValidationError: a code directory does not exist (named with ``prop``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline: Pipeline,
        job_role: iam.IRole,
        description: str,
        prop: str = "pipeline",
    ) -> None:
        paths = local_code_paths(pipeline)
        problems = Problems(scope.node.path)
        for code, directory in paths.items():
            problems.require(
                directory.is_dir(),
                f"{prop} step code '{code}' is not a directory: '{directory}' does not exist",
            )
        problems.raise_if_any()
        super().__init__(scope, construct_id)
        self.assets: dict[str, s3_assets.Asset] = {
            # Without bytecode: a test or a local run that imports the code must not change
            # the archive.
            code: s3_assets.Asset(self, f"Code{index}", path=str(directory), exclude=list(BYTECODE))
            for index, (code, directory) in enumerate(paths.items())
        }
        #: code location in the spec -> ``s3://`` URL of the uploaded archive.
        self.locations: dict[str, str] = {
            code: asset.s3_object_url for code, asset in self.assets.items()
        }
        self.policy: iam.ManagedPolicy | None = None
        if not self.assets:
            return
        assets = list(self.assets.values())
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            roles=[job_role],
            description=description,
            statements=[
                iam.PolicyStatement(
                    sid="ReadJobCode",
                    actions=["s3:GetObject"],
                    resources=[
                        asset.bucket.arn_for_objects(asset.s3_object_key) for asset in assets
                    ],
                ),
                iam.PolicyStatement(
                    sid="ListJobCode",
                    actions=["s3:ListBucket"],
                    resources=sorted({asset.bucket.bucket_arn for asset in assets}),
                    conditions={
                        "StringLike": {"s3:prefix": [asset.s3_object_key for asset in assets]}
                    },
                ),
            ],
        )
