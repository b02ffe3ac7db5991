"""The app's configuration, read from CDK context with safe defaults."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_cdk import App, Environment

#: The fixed environment used when no AWS account is configured (synth only).
PLACEHOLDER_ACCOUNT = "123456789012"
PLACEHOLDER_REGION = "us-east-1"

CONTEXT_PREFIX = "mlpipes:"
CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"


@dataclass(frozen=True)
class AppConfig:
    """What the bundled app builds. Every field has a context key ``mlpipes:<camelCase>``.

    Attributes:
        stacks: the stacks to build, by catalog key. Default: ``("foundation",)`` (the
            bundled cdk.json lists every stack).
        prefix: prefix of the stack names. Default: ``"mlpipes"``.
        nat_gateways: NAT gateways of the platform VPC. Default: 1.
        interface_endpoints: create the VPC interface endpoints for SageMaker, STS, ECR and
            CloudWatch Logs. Default: False (they are created anyway when nat_gateways is 0).
        compliance_checks: run the cdk-nag AwsSolutions, HIPAA Security and NIST 800-53 R5
            packs on synth (a finding fails the synth). Default: True.
        feature_group_lock_file: the lock file that records the feature groups'
            replacement-sensitive settings, relative to the project root (see
            ``FeatureStore``); a change that would replace a group then fails the synth.
            Default: none (the bundled cdk.json sets ``mlpipes_app/feature-groups.lock.json``).
    """

    stacks: tuple[str, ...] = ("foundation",)
    prefix: str = "mlpipes"
    nat_gateways: int = 1
    interface_endpoints: bool = False
    compliance_checks: bool = True
    feature_group_lock_file: Path | None = None

    @classmethod
    def from_context(cls, app: App) -> AppConfig:
        def get(key: str, default: Any) -> Any:
            value = app.node.try_get_context(f"{CONTEXT_PREFIX}{key}")
            return default if value is None else value

        defaults = cls()
        stacks = get("stacks", defaults.stacks)
        if isinstance(stacks, str):  # -c mlpipes:stacks=foundation,sagemaker
            stacks = [name.strip() for name in stacks.split(",") if name.strip()]
        return cls(
            stacks=tuple(stacks),
            prefix=str(get("prefix", defaults.prefix)),
            nat_gateways=int(get("natGateways", defaults.nat_gateways)),
            interface_endpoints=_as_bool(get("interfaceEndpoints", defaults.interface_endpoints)),
            compliance_checks=_as_bool(get("complianceChecks", defaults.compliance_checks)),
            feature_group_lock_file=_project_path(get("featureGroupLockFile", None)),
        )


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The context of ``cdk.json`` (feature flags and mlpipes settings).

    The CDK CLI passes it to the app; tests and benchmarks that build the app in-process pass
    it to ``App(context=...)`` so they synthesize exactly what ``cdk synth`` does.
    """
    context: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["context"]
    return context


def default_environment() -> Environment:
    """The account and region the CDK CLI resolved, or a fixed placeholder without them."""
    from aws_cdk import Environment

    return Environment(
        account=os.environ.get("CDK_DEFAULT_ACCOUNT") or PLACEHOLDER_ACCOUNT,
        region=os.environ.get("CDK_DEFAULT_REGION") or PLACEHOLDER_REGION,
    )


def _project_path(value: Any) -> Path | None:
    """A path from context, relative to the project root (where cdk.json is)."""
    if value in (None, ""):
        return None
    path = Path(str(value))
    return path if path.is_absolute() else CDK_JSON.parent / path


def _as_bool(value: Any) -> bool:
    """Context from ``-c key=value`` arrives as a string."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)
