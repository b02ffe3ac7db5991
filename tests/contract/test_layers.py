"""What may import what: imports point downward only (see the package layout)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "mlpipes_constructs"
#: Packages whose modules compile specs for one orchestrator; none may import another.
ORCHESTRATORS = ("sagemaker", "stepfunctions", "airflow", "kubeflow")


def imported_modules(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, at any depth of the file (absolute names)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def modules_of(package: str) -> list[Path]:
    return sorted((PACKAGE / package).rglob("*.py"))


@pytest.mark.parametrize("package", ["spec", "compile"])
def test_the_spec_and_the_compile_core_import_no_cdk(package: str) -> None:
    offending = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in modules_of(package)
        for module in imported_modules(path)
        if module.split(".")[0] in ("aws_cdk", "constructs", "cdk_nag")
    ]
    assert modules_of(package) and offending == []


def test_the_compile_core_imports_no_orchestrator_package() -> None:
    offending = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in modules_of("compile")
        for module in imported_modules(path)
        if module.startswith("mlpipes_constructs.")
        and module.split(".")[1] not in ("compile", "spec")
    ]
    assert offending == []


@pytest.mark.parametrize("package", [p for p in ORCHESTRATORS if (PACKAGE / p).is_dir()])
def test_no_orchestrator_package_imports_another(package: str) -> None:
    others = {f"mlpipes_constructs.{other}" for other in ORCHESTRATORS if other != package}
    offending = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in modules_of(package)
        for module in imported_modules(path)
        if any(module == other or module.startswith(f"{other}.") for other in others)
    ]
    assert offending == []
