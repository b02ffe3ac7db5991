"""Where a SageMaker pipeline's definition comes from: a spec, a dict or an SDK pipeline."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any

from aws_cdk import Token
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from mlpipes_constructs._internal.validation import Problems, is_unresolved
from mlpipes_constructs.errors import PropsValidationError
from mlpipes_constructs.sagemaker._checks import iter_steps
from mlpipes_constructs.spec import Pipeline

#: Definitions up to this size (UTF-8 bytes) are inlined in the template
#: (``PipelineDefinitionBody``); larger ones are uploaded as an asset and referenced
#: (``PipelineDefinitionS3Location``), as the SageMaker SDK does above 100 KB.
INLINE_DEFINITION_LIMIT = 100 * 1024
#: The largest pipeline definition SageMaker accepts (``PipelineDefinition``: 1 MiB).
MAX_DEFINITION_SIZE = 1024 * 1024


class SourceKind(Enum):
    """What the ``pipeline`` prop of :class:`SageMakerPipeline` holds."""

    SPEC = "spec"
    DEFINITION = "definition dict"
    SDK = "sagemaker SDK pipeline"


def source_kind(problems: Problems, pipeline: object) -> SourceKind | None:
    """Which kind of pipeline the prop holds; None (and a problem) for anything else."""
    if isinstance(pipeline, Pipeline):
        return SourceKind.SPEC
    if isinstance(pipeline, Mapping):
        return SourceKind.DEFINITION
    if callable(getattr(pipeline, "definition", None)):
        return SourceKind.SDK
    problems.add(
        f"pipeline {type(pipeline).__name__!r} is not a pipeline: expected a spec "
        "(mlpipes_constructs.spec.Pipeline), a SageMaker pipeline definition dict or a "
        "sagemaker SDK pipeline (sagemaker.mlops.workflow.pipeline.Pipeline)"
    )
    return None


def size_problems(body: str) -> list[str]:
    """Why a definition of this JSON text cannot be deployed; empty when it can."""
    size = len(body.encode("utf-8"))
    if size > MAX_DEFINITION_SIZE:
        return [
            f"the pipeline definition is {size} bytes; SageMaker accepts at most "
            f"{MAX_DEFINITION_SIZE} bytes (1 MiB): split the pipeline or move large "
            "literals (such as inline scripts) into job code"
        ]
    if size > INLINE_DEFINITION_LIMIT and Token.is_unresolved(body):
        return [
            f"the pipeline definition is {size} bytes, more than the "
            f"{INLINE_DEFINITION_LIMIT} bytes kept inline, so it is uploaded to S3 as a "
            "file, where deploy-time values (role ARNs, bucket names, asset locations) "
            "cannot be filled in: use literal values in a definition this large"
        ]
    return []


def default_name(kind: SourceKind | None, pipeline: Any) -> str | None:
    """The spec's or the SDK pipeline's name; None for a definition dict."""
    if kind is SourceKind.SPEC:
        name: Any = pipeline.name
    elif kind is SourceKind.SDK:
        name = getattr(pipeline, "name", None)
    else:
        return None
    return name if isinstance(name, str) else None


def sdk_definition(path: str, pipeline: Any) -> dict[str, Any]:
    """The definition dict of a sagemaker SDK pipeline (its ``definition()`` JSON)."""
    text = pipeline.definition()
    try:
        loaded = json.loads(text)
    except (TypeError, json.JSONDecodeError) as error:
        raise PropsValidationError(
            path, [f"pipeline.definition() did not return JSON: {error}"]
        ) from None
    if not isinstance(loaded, dict):
        raise PropsValidationError(path, ["pipeline.definition() is not a JSON object"])
    return loaded


def parameter_types(definition: Mapping[str, Any]) -> dict[str, str]:
    """Parameter name -> ``Type`` (``String`` when omitted, as SageMaker reads it)."""
    parameters = definition.get("Parameters") or []
    return {
        parameter["Name"]: str(parameter.get("Type", "String"))
        for parameter in parameters
        if isinstance(parameter, Mapping) and isinstance(parameter.get("Name"), str)
    }


def register_groups(definition: Mapping[str, Any], problems: Problems) -> list[str]:
    """The literal model package group names of the definition's RegisterModel steps."""
    groups: list[str] = []
    for step in iter_steps(definition.get("Steps")):
        if step.get("Type") != "RegisterModel":
            continue
        arguments = step.get("Arguments")
        group = arguments.get("ModelPackageGroupName") if isinstance(arguments, Mapping) else None
        if isinstance(group, str) and "model-package-group/" in group:
            group = group.split("model-package-group/", 1)[1]
        if not isinstance(group, str) or is_unresolved(group):
            problems.add(
                f"RegisterModel step '{step.get('Name')}' takes its model package group from "
                f"{json.dumps(group)}, which is only known at run time: pass the groups it may "
                "use as model_package_group_names"
            )
        elif group not in groups:
            groups.append(group)
    return groups


def definition_asset(scope: Construct, body: str) -> s3_assets.Asset:
    directory = Path(tempfile.mkdtemp(prefix="mlpipes-definition-"))
    path = directory / "pipeline-definition.json"
    path.write_text(body, encoding="utf-8")
    return s3_assets.Asset(scope, "Definition", path=str(path))
