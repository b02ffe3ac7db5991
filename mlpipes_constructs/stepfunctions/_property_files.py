"""Property files: reading a processing step's JSON report from S3, without a Lambda."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions_tasks as tasks

from mlpipes_constructs.compile.locations import processing_output_keys
from mlpipes_constructs.spec import JsonValue, ProcessingStep
from mlpipes_constructs.stepfunctions._asl import Expr, Value, concat, field, state_name

if TYPE_CHECKING:
    from mlpipes_constructs.stepfunctions._builder import Builder

#: Where the state machine keeps the execution's name.
RUN_NAME = "$.run.name"
_S3_URI = re.compile(r"s3://([^/]+)/(.*)")


def property_file_problems(builder: Builder, owner: str, ref: JsonValue) -> Iterator[str]:
    source = builder.pipeline.step(ref.step)
    assert isinstance(source, ProcessingStep)
    property_file = next(p for p in source.property_files if p.name == ref.property_file)
    output = next(o for o in source.outputs if o.name == property_file.output_name)
    if output.destination is not None and not (
        isinstance(output.destination, str) and _S3_URI.fullmatch(output.destination)
    ):
        yield (
            f"step '{owner}' reads property file '{ref.property_file}' of '{ref.step}', whose "
            f"output '{output.name}' must have no destination or a constant s3:// URI"
        )


def load_property_file(builder: Builder, owner: str, ref: JsonValue) -> tasks.CallAwsService:
    """Read a property file from S3 and parse it, without a Lambda function."""
    source = builder.pipeline.step(ref.step)
    assert isinstance(source, ProcessingStep)
    property_file = next(p for p in source.property_files if p.name == ref.property_file)
    output = next(o for o in source.outputs if o.name == property_file.output_name)
    bucket: str
    key: Value
    if output.destination is None:
        bucket = builder.bucket.bucket_name
        key = concat(
            [
                builder.artifact_prefix,
                Expr(RUN_NAME),
                "".join(f"/{key}" for key in processing_output_keys(ref.step, output.name)),
                f"/{property_file.path}",
            ]
        )
        resource = builder.bucket.arn_for_objects(f"{builder.artifact_prefix}*")
    else:
        assert isinstance(output.destination, str)
        match = _S3_URI.fullmatch(output.destination)
        assert match is not None
        bucket = match.group(1)
        key = f"{match.group(2).rstrip('/')}/{property_file.path}".lstrip("/")
        resource = f"arn:{Aws.PARTITION}:s3:::{bucket}/{key}"
    extra = []
    if builder.kms_key is not None:
        extra.append(
            iam.PolicyStatement(actions=["kms:Decrypt"], resources=[builder.kms_key.key_arn])
        )
    load = tasks.CallAwsService(
        builder.scope,
        state_name(owner, "Load", ref.step, ref.property_file),
        comment=f"Read property file {ref.property_file} of {ref.step}",
        service="s3",
        action="getObject",
        parameters={"Bucket": bucket, **field("Key", key)},
        iam_action="s3:GetObject",
        iam_resources=[resource],
        additional_iam_statements=extra,
        result_selector={"document.$": "States.StringToJson($.Body)"},
        result_path=f"$.properties.{ref.step}.{ref.property_file}",
    )
    builder.guard(load, owner, ["ThrottlingException", "S3.SlowDownException"])
    return load
