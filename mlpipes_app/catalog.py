"""The stacks of the bundled app, in one list: the app, the tests and the benchmark use it.

Each entry imports its stack's module when it is built, and the cdk-nag packs are imported only
when the compliance checks are on, so an app pays for the stacks it builds only.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlpipes_app.config import AppConfig, default_environment

if TYPE_CHECKING:
    from aws_cdk import App, Environment, Stack

    from mlpipes_constructs.foundation import FoundationResources
    from mlpipes_constructs.stacks.a2i_stack import A2iStack
    from mlpipes_constructs.stacks.foundation_stack import FoundationStack
    from mlpipes_constructs.stacks.mlflow_stack import MlflowStack


@dataclass
class BuiltStacks:
    """The stacks built so far, for stacks that build on others."""

    foundation: FoundationStack | None = None
    mlflow: MlflowStack | None = None
    a2i: A2iStack | None = None


def _pipeline_options(config: AppConfig, built: BuiltStacks) -> dict[str, Any]:
    """What every reference pipeline stack takes from the stacks built before it: the MLflow
    server it tracks into and the A2I flow definition it reviews models with, when built."""
    return {
        "tracking_server": built.mlflow.server if built.mlflow is not None else None,
        "flow_definition": built.a2i.flow_definition if built.a2i is not None else None,
    }


@dataclass(frozen=True)
class StackEntry:
    """One deployable stack: its catalog key, name suffix and how to build it.

    Attributes:
        module: the module that defines the stack, imported only when the entry is built.
        opt_in: left out of the default ``mlpipes:stacks`` list of ``cdk.json`` because it has
            an idle cost (an always-on environment) or claims a resource an account has one
            of per Region (the A2I private workforce); built when named. Default: False.
    """

    key: str
    name: str
    description: str
    module: str
    build: Callable[[App, str, AppConfig, Environment, BuiltStacks], Stack]
    opt_in: bool = False


def _stack_type(module: str, class_name: str) -> Callable[..., Stack]:
    stack_type: Callable[..., Stack] = getattr(importlib.import_module(module), class_name)
    return stack_type


def _build_foundation(
    app: App, stack_name: str, config: AppConfig, env: Environment, built: BuiltStacks
) -> Stack:
    from mlpipes_constructs.stacks.foundation_stack import FoundationStack

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
    stack: tuple[str, str],
    description: str,
    options: Callable[[AppConfig, BuiltStacks], dict[str, Any]] = lambda config, built: {},
    *,
    opt_in: bool = False,
    built_as: str | None = None,
) -> StackEntry:
    """A stack that builds on the foundation and takes its resources as ``foundation=``;
    ``stack`` is its (module, class name), ``options`` picks its other props from the app
    configuration and the stacks built before it, and ``built_as`` names the attribute of
    :class:`BuiltStacks` that keeps it for later stacks."""
    module, class_name = stack

    def build(
        app: App, stack_name: str, config: AppConfig, env: Environment, built: BuiltStacks
    ) -> Stack:
        stack = _stack_type(module, class_name)(
            app,
            stack_name,
            env=env,
            description=f"mlpipes: {description}",
            foundation=_foundation_of(built, key),
            **options(config, built),
        )
        if built_as is not None:
            setattr(built, built_as, stack)
        return stack

    return StackEntry(
        key=key, name=name, description=description, module=module, build=build, opt_in=opt_in
    )


#: Every stack of the bundled app, in build order. A stack added here is synthesized by the
#: app and covered by the snapshot and compliance tests.
STACK_CATALOG: tuple[StackEntry, ...] = (
    StackEntry(
        key="foundation",
        name="Foundation",
        description="VPC, KMS key, artifact and log buckets, SageMaker job role",
        module="mlpipes_constructs.stacks.foundation_stack",
        build=_build_foundation,
    ),
    _workload(
        "mlflow",
        "Mlflow",
        ("mlpipes_constructs.stacks.mlflow_stack", "MlflowStack"),
        "MLflow tracking server on EC2 with PostgreSQL on RDS and artifacts in S3",
        built_as="mlflow",
    ),
    _workload(
        "a2i",
        "A2i",
        ("mlpipes_constructs.stacks.a2i_stack", "A2iStack"),
        "Amazon A2I model review: task UI, private work team and Cognito workforce, flow "
        "definition",
        opt_in=True,
        built_as="a2i",
    ),
    _workload(
        "sagemaker",
        "SageMakerPipelines",
        ("mlpipes_constructs.stacks.sagemaker_stack", "SageMakerPipelinesStack"),
        "reference pipeline on SageMaker Pipelines, model registry with deployment on "
        "approval, feature store, S3 trigger, failure notifications",
        lambda config, built: {
            "feature_group_lock_file": config.feature_group_lock_file,
            **_pipeline_options(config, built),
        },
    ),
    _workload(
        "stepfunctions",
        "StepFunctions",
        ("mlpipes_constructs.stacks.stepfunctions_stack", "StepFunctionsStack"),
        "reference pipeline as a Step Functions state machine with failure notifications",
        _pipeline_options,
    ),
    _workload(
        "mwaa",
        "Mwaa",
        ("mlpipes_constructs.stacks.mwaa_stack", "MwaaStack"),
        "private Amazon MWAA environment with a deployed DAG folder",
        _pipeline_options,
        opt_in=True,
    ),
    _workload(
        "mwaa-serverless",
        "MwaaServerless",
        ("mlpipes_constructs.stacks.mwaa_serverless_stack", "MwaaServerlessStack"),
        "Amazon MWAA Serverless workflow compiled from the reference pipeline spec",
        opt_in=True,
    ),
    _workload(
        "kubeflow",
        "Kubeflow",
        ("mlpipes_constructs.stacks.kubeflow_stack", "KubeflowStack"),
        "Kubeflow Pipelines 2.17.0 on a private EKS Auto Mode cluster, metadata in RDS for "
        "MySQL, artifacts in S3",
        _pipeline_options,
        opt_in=True,
    ),
)


def add_compliance_checks(app: App) -> None:
    """Run the AwsSolutions, HIPAA Security and NIST 800-53 R5 packs when the app synthesizes."""
    from aws_cdk import Validations
    from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks

    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app), HIPAASecurityChecks(app), NIST80053R5Checks(app)
    )


def build_app(
    app: App, config: AppConfig | None = None, env: Environment | None = None
) -> list[Stack]:
    """Build the configured stacks into ``app``; returns them in build order.

    Only the modules of the configured stacks are imported.
    """
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
