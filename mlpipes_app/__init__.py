"""The bundled mlpipes app's configuration: which stacks to build, read from cdk.json context.

Not installed with the library: ``app.py`` and the tests use it from the repository. The stacks
themselves are in :mod:`mlpipes_constructs.stacks`.
"""

from mlpipes_app.catalog import STACK_CATALOG, StackEntry, add_compliance_checks, build_app
from mlpipes_app.config import AppConfig, default_environment

__all__ = [
    "STACK_CATALOG",
    "AppConfig",
    "StackEntry",
    "add_compliance_checks",
    "build_app",
    "default_environment",
]
