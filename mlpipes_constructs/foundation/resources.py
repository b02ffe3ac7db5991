"""What the other mlpipes stacks take from the foundation, or from your own platform."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3


@dataclass(frozen=True)
class FoundationResources:
    """The shared platform parts a workload stack builds on.

    Get one from :class:`FoundationStack` (``stack.resources``) or build it from
    resources you already have (``ec2.Vpc.from_vpc_attributes``, ``kms.Key.from_key_arn``,
    ``s3.Bucket.from_bucket_attributes``) to run mlpipes on your own platform.

    Attributes:
        vpc: the VPC workloads run in.
        private_subnets: the subnets workloads run in.
        encryption_key: the customer-managed key data is encrypted with.
        artifact_bucket: the bucket for datasets, code, models and reports.
        log_bucket: the bucket server access logs of new buckets go to, when there is one.
    """

    vpc: ec2.IVpc
    private_subnets: ec2.SubnetSelection
    encryption_key: kms.IKey
    artifact_bucket: s3.IBucket
    log_bucket: s3.IBucket | None = None
