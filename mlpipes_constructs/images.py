"""AWS-owned SageMaker framework images, resolved per region from a table.

The SageMaker scikit-learn and XGBoost (1.x "sagemaker-xgboost") framework images live in one
AWS-owned ECR registry account per region. The table below is the one the SageMaker Python SDK
ships (``image_uri_config/sklearn.json``); resolving from it keeps synthesis free of SDK and
network calls::

    framework_image_uri("sagemaker-scikit-learn", "1.2-1-cpu-py3", "eu-west-1")
    # '141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3'
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "FRAMEWORK_REGISTRY_ACCOUNTS",
    "FRAMEWORK_REPOSITORIES",
    "SKLEARN_REPOSITORY",
    "XGBOOST_REPOSITORY",
    "framework_image_uri",
    "framework_registry_account",
    "framework_repository_arn",
]

#: The SageMaker scikit-learn framework images.
SKLEARN_REPOSITORY = "sagemaker-scikit-learn"
#: The SageMaker XGBoost 1.x framework images (the built-in algorithm).
XGBOOST_REPOSITORY = "sagemaker-xgboost"

#: Repositories whose images come from :data:`FRAMEWORK_REGISTRY_ACCOUNTS`.
FRAMEWORK_REPOSITORIES: tuple[str, ...] = (SKLEARN_REPOSITORY, XGBOOST_REPOSITORY)

#: Region -> AWS account that owns the SageMaker scikit-learn and XGBoost images there.
FRAMEWORK_REGISTRY_ACCOUNTS: Mapping[str, str] = MappingProxyType(
    {
        "af-south-1": "510948584623",
        "ap-east-1": "651117190479",
        "ap-northeast-1": "354813040037",
        "ap-northeast-2": "366743142698",
        "ap-northeast-3": "867004704886",
        "ap-south-1": "720646828776",
        "ap-south-2": "628508329040",
        "ap-southeast-1": "121021644041",
        "ap-southeast-2": "783357654285",
        "ap-southeast-3": "951798379941",
        "ap-southeast-4": "106583098589",
        "ca-central-1": "341280168497",
        "eu-central-1": "492215442770",
        "eu-central-2": "680994064768",
        "eu-north-1": "662702820516",
        "eu-south-1": "978288397137",
        "eu-south-2": "104374241257",
        "eu-west-1": "141502667606",
        "eu-west-2": "764974769150",
        "eu-west-3": "659782779980",
        "me-central-1": "272398656194",
        "me-south-1": "801668240914",
        "sa-east-1": "737474898029",
        "us-east-1": "683313688378",
        "us-east-2": "257758044811",
        "us-gov-east-1": "237065988967",
        "us-gov-west-1": "414596584902",
        "us-west-1": "746614075791",
        "us-west-2": "246618743249",
    }
)


def _partition(region: str) -> str:
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


def framework_registry_account(region: str) -> str:
    """The AWS account that hosts the SageMaker framework images in ``region``.

    Raises:
        ValueError: ``region`` is not in the table.
    """
    try:
        return FRAMEWORK_REGISTRY_ACCOUNTS[region]
    except KeyError:
        raise ValueError(
            f"region '{region}' has no known SageMaker framework image registry; "
            f"expected one of {', '.join(sorted(FRAMEWORK_REGISTRY_ACCOUNTS))}"
        ) from None


def framework_image_uri(repository: str, tag: str, region: str) -> str:
    """Image URI of an AWS-owned framework image, e.g. ``sagemaker-scikit-learn:1.2-1-cpu-py3``.

    Raises:
        ValueError: ``repository`` is not one of :data:`FRAMEWORK_REPOSITORIES`, or ``region``
            is not in the table.
    """
    if repository not in FRAMEWORK_REPOSITORIES:
        raise ValueError(
            f"repository '{repository}' is not an AWS framework repository; "
            f"expected one of {', '.join(FRAMEWORK_REPOSITORIES)}"
        )
    account = framework_registry_account(region)
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{repository}:{tag}"


def framework_repository_arn(repository: str, region: str) -> str:
    """ARN of an AWS-owned framework image repository, for ECR pull permissions."""
    account = framework_registry_account(region)
    return f"arn:{_partition(region)}:ecr:{region}:{account}:repository/{repository}"
