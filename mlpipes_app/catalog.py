"""The stacks of the bundled app, in one list: the app, the tests and the benchmark use it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_cdk import App, Environment, Stack, Validations
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks

from mlpipes_app.config import AppConfig, default_environment
from mlpipes_constructs.foundation import FoundationResources
from mlpipes_constructs.stacks import (
    FoundationStack,
    MlflowStack,
    SageMakerPipelinesStack,
    StepFunctionsStack,
)


@dataclass
class BuiltStacks:
    """The stacks built so far, for stacks that build on others."""

    foundation: FoundationStack | None = None


@dataclass(frozen=True)
class StackEntry:
    """One deployable stack: its catalog key, name suffix and how to build it."""

    key: str
    name: str
    description: str
    build: Callable[[App, str, AppConfig, Environment, BuiltStacks], Stack]


def _build_foundation(
    app: App, stack_name: str, config: AppConfig, env: Environment, built: BuiltStacks
) -> Stack:
    built.foundation = FoundationStack(
        app,
        stack_name,
        env=env,
        description="mlpipes: VPC, KMS key, artifact and log buckets, SageMaker job role",
        nat_gateways=config.nat_gateways,
        interface_endpoints=config.interface_endpoints,
    )
    return built.foundation


def _foundation_of(built: BuiltStacks, key: str) -> FoundationResources:
    if built.foundation is None:
        raise ValueError(
            f"the '{key}' stack builds on the 'foundation' stack; add 'foundation' to "
            "mlpipes:stacks"
        )
    return built.foundation.resources


def _workload(
    key: str,
    name: str,
    stack_type: Callable[..., Stack],
    description: str,
    options: Callable[[AppConfig], dict[str, Any]] = lambda config: {},
) -> StackEntry:
    """A stack that builds on the foundation and takes its resources as ``foundation=``;
    ``options`` picks its other props from the app configuration."""

    def build(
        app: App, stack_name: str, config: AppConfig, env: Environment, built: BuiltStacks
    ) -> Stack:
        return stack_type(
            app,
            stack_name,
            env=env,
            description=f"mlpipes: {description}",
            foundation=_foundation_of(built, key),
            **options(config),
        )

    return StackEntry(key=key, name=name, description=description, build=build)


#: Every stack of the bundled app, in build order. A stack added here is synthesized by the
#: app and covered by the snapshot and compliance tests.
STACK_CATALOG: tuple[StackEntry, ...] = (
    StackEntry(
        key="foundation",
        name="Foundation",
        description="VPC, KMS key, artifact and log buckets, SageMaker job role",
        build=_build_foundation,
    ),
    _workload(
        "mlflow",
        "Mlflow",
        MlflowStack,
        "MLflow tracking server on EC2 with PostgreSQL on RDS and artifacts in S3",
    ),
    _workload(
        "sagemaker",
        "SageMakerPipelines",
        SageMakerPipelinesStack,
        "reference pipeline on SageMaker Pipelines, model registry with deployment on "
        "approval, feature store, S3 trigger, failure notifications",
        lambda config: {"feature_group_lock_file": config.feature_group_lock_file},
    ),
    _workload(
        "stepfunctions",
        "StepFunctions",
        StepFunctionsStack,
        "reference pipeline as a Step Functions state machine with failure notifications",
    ),
)


def add_compliance_checks(app: App) -> None:
    """Run the AwsSolutions, HIPAA Security and NIST 800-53 R5 packs when the app synthesizes."""
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app), HIPAASecurityChecks(app), NIST80053R5Checks(app)
    )


def build_app(
    app: App, config: AppConfig | None = None, env: Environment | None = None
) -> list[Stack]:
    """Build the configured stacks into ``app``; returns them in build order."""
    config = config or AppConfig.from_context(app)
    env = env or default_environment()
    known = {entry.key for entry in STACK_CATALOG}
    unknown = [key for key in config.stacks if key not in known]
    if unknown:
        raise ValueError(
            f"mlpipes:stacks names unknown stacks {unknown}; expected some of {sorted(known)}"
        )
    built = BuiltStacks()
    stacks = [
        entry.build(app, f"{config.prefix}-{entry.name}", config, env, built)
        for entry in STACK_CATALOG
        if entry.key in config.stacks
    ]
    if config.compliance_checks:
        add_compliance_checks(app)
    return stacks
