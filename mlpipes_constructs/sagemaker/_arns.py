"""ARNs of model package groups and their versions, in every casing SageMaker may use."""

from __future__ import annotations

from aws_cdk import Stack

from mlpipes_constructs._internal.validation import is_unresolved


def name_casings(name: str) -> list[str]:
    """``name`` as given and lowercased, without duplicates (a token stays as it is).

    SageMaker keeps the group name's case in ``model-package-group/<name>`` and
    ``model-package/<name>/<n>`` ARNs in some places and lowercases it in others, so a policy
    must name both to match either.
    """
    if is_unresolved(name):
        return [name]
    return sorted({name, name.lower()})


def model_package_group_arns(stack: Stack, group: str) -> list[str]:
    """The ARNs of model package group ``group``, in both casings."""
    return [
        stack.format_arn(service="sagemaker", resource="model-package-group", resource_name=name)
        for name in name_casings(group)
    ]


def model_package_arns(stack: Stack, group: str) -> list[str]:
    """ARN patterns matching every version registered in ``group``, in both casings."""
    return [
        stack.format_arn(service="sagemaker", resource="model-package", resource_name=f"{name}/*")
        for name in name_casings(group)
    ]
