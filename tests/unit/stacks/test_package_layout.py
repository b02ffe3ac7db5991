"""The wheel installs one top-level package, and the stacks use the library's public names only."""

from __future__ import annotations

import ast
import importlib
import inspect
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
STACKS = ROOT / "mlpipes_constructs" / "stacks"
#: What the bundled app is made of besides the library: it uses public names only, as a user's
#: app would.
APP_SOURCES = (ROOT / "app.py", *sorted((ROOT / "mlpipes_app").glob("*.py")))
#: Not part of a source distribution: build output, caches, installed packages.
_NOT_SOURCES = shutil.ignore_patterns(
    ".git",
    ".venv",
    "node_modules",
    "cdk.out",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
)


def _imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of every module and every name a file imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def _private_imports(path: Path) -> list[tuple[int, str]]:
    """The imports of ``path`` that name a ``_``-prefixed module or name."""
    return [
        (line, name)
        for line, name in _imported_modules(path)
        if any(part.startswith("_") for part in name.split(".") if part != "__future__")
    ]


def _private_imports_of(paths: list[Path]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in paths
        for line, name in _private_imports(path)
    ]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a copy of the repository (the build writes next to its sources)."""
    source = tmp_path_factory.mktemp("source") / "mlpipes"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCES)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", dist, "."],
        cwd=source,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = dist.glob("*.whl")
    return built


def test_wheel_installs_only_mlpipes_constructs(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/", 1)[0] for name in names}
    dist_info = {name for name in top_level if name.endswith(".dist-info")}
    assert top_level - dist_info == {"mlpipes_constructs"}
    assert len(dist_info) == 1
    assert "mlpipes_constructs/stacks/foundation_stack.py" in names
    # The bundled app's configuration stays in the repository.
    assert not [name for name in names if "feature-groups.lock" in name or "mlpipes_app" in name]


def test_stacks_import_no_private_module() -> None:
    sources = sorted(STACKS.glob("*.py"))
    assert len(sources) >= 6
    assert _private_imports_of(sources) == []


def test_bundled_app_imports_no_private_module() -> None:
    assert _private_imports_of(list(APP_SOURCES)) == []


def test_private_import_check_finds_private_modules_and_names(tmp_path: Path) -> None:
    module = tmp_path / "uses_private.py"
    module.write_text(
        "from __future__ import annotations\n"
        "import mlpipes_constructs._internal.iam\n"
        "from mlpipes_constructs.mlflow import MlflowServer\n"
        "from mlpipes_constructs.mlflow._props import DEFAULT_INSTANCE_TYPE\n"
        "from mlpipes_constructs.foundation import _helper\n",
        encoding="utf-8",
    )
    assert [name for _, name in _private_imports(module)] == [
        "mlpipes_constructs._internal.iam",
        "mlpipes_constructs.mlflow._props",
        "mlpipes_constructs.mlflow._props.DEFAULT_INSTANCE_TYPE",
        "mlpipes_constructs.foundation._helper",
    ]


def test_no_module_imports_a_top_level_stacks_package() -> None:
    """The reusable stacks are ``mlpipes_constructs.stacks``; ``stacks`` is a user's folder."""
    sources = [
        path
        for folder in ("mlpipes_constructs", "mlpipes_app", "tests", "benchmarks", "scripts")
        for path in (ROOT / folder).rglob("*.py")
    ] + [ROOT / "app.py"]
    found = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in sources
        for line, name in _imported_modules(path)
        if name == "stacks" or name.startswith("stacks.")
    ]
    assert found == []


PUBLIC_HELPER_MODULES = (
    "mlpipes_constructs.errors",
    "mlpipes_constructs.compliance",
    "mlpipes_constructs.iam",
    "mlpipes_constructs.images",
    "mlpipes_constructs.stacks",
)


@pytest.mark.parametrize("module_name", PUBLIC_HELPER_MODULES)
def test_public_modules_document_every_public_name(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert module.__doc__
    undocumented = [
        name
        for name in module.__all__
        if (inspect.isclass(getattr(module, name)) or inspect.isfunction(getattr(module, name)))
        and not inspect.getdoc(getattr(module, name))
    ]
    assert undocumented == []


def test_internal_defines_none_of_the_public_names() -> None:
    """The public helpers live in their public modules, with no copy or shim in ``_internal``."""
    public = {
        name
        for module_name in PUBLIC_HELPER_MODULES
        for name in importlib.import_module(module_name).__all__
    }
    defined = {
        node.name
        for path in (ROOT / "mlpipes_constructs" / "_internal").glob("*.py")
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, ast.ClassDef | ast.FunctionDef)
    }
    assert public & defined == set()
