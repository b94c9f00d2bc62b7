"""The shape of the source tree: no run-time import cycle between packages, small modules.

The import graph is built statically with :mod:`ast` from every module under
``src/lift``. Its nodes are the units a reader sees: each subpackage (``lift.websocket``,
``lift.apigw``...) taken whole, and each top-level module (``lift.app``, ``lift.cli``...).
Only imports that run at import time count: those in ``if TYPE_CHECKING:`` blocks and
inside functions do not. Each unit must also import on its own in a fresh interpreter.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import SRC, TESTS

PACKAGE = SRC / "lift"
MAX_LINES = 500

# Modules already over the limit, each being split by its own change; none may join them.
PENDING_SPLIT: set[str] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def unit_of(module: str) -> str:
    """``lift.websocket.stores.memory`` -> ``lift.websocket``; ``lift.app`` stays."""
    parts = module.split(".")
    if len(parts) >= 2 and (PACKAGE / parts[1]).is_dir():
        return ".".join(parts[:2])
    return module


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_imports(path: Path) -> set[str]:
    """The ``lift`` modules ``path`` imports when it is imported."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If):
                if not _is_type_checking(node.test):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, (ast.Try, ast.With)):
                for block in ("body", "orelse", "finalbody"):
                    visit(getattr(node, block, []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)
            elif isinstance(node, ast.ClassDef):
                visit(node.body)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    prefix = ".".join(base)
                    if node.module:
                        found.add(f"{prefix}.{node.module}")
                    else:
                        found.update(f"{prefix}.{alias.name}" for alias in node.names)
                elif node.module:
                    found.add(node.module)
            # functions (and lambdas) import when called, not when the module loads

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return {name for name in found if name == "lift" or name.startswith("lift.")}


def unit_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        source = unit_of(module_name(path))
        graph.setdefault(source, set())
        for target in runtime_imports(path):
            unit = unit_of(target)
            if unit != source:
                graph[source].add(unit)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of nodes, or ``None`` (depth-first search)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_finds_a_cycle_when_there_is_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_the_graph_reads_relative_type_checking_and_local_imports() -> None:
    graph = unit_graph()
    assert "lift.apigw" in graph["lift.testing"]  # relative: the test client drives the model
    assert "lift.websocket" in graph["lift.apigw"]  # the model raises the runtime's errors
    assert "lift.apigw" not in graph["lift.websocket"]  # TYPE_CHECKING and a lazy shim
    assert "lift.events" in graph["lift.app"]
    assert "lift.observability" not in graph["lift.app"]  # imported inside App.__init__


def test_package_level_imports_form_a_dag() -> None:
    assert find_cycle(unit_graph()) is None


def test_the_model_does_no_io_and_depends_on_no_driver() -> None:
    graph = unit_graph()
    drivers = {"lift.testing", "lift.local", "lift.deploy", "lift.cli", "lift.loading"}
    assert not graph["lift.apigw"] & drivers
    io_modules = {"socket", "asyncio", "aiohttp", "websockets", "boto3", "botocore", "http"}
    for path in (PACKAGE / "apigw").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in io_modules, f"{path.name} imports {name}"


def test_the_gateway_does_not_import_the_cli() -> None:
    graph = unit_graph()
    assert "lift.cli" not in graph["lift.local"]
    local_sources = "\n".join(p.read_text() for p in (PACKAGE / "local").rglob("*.py"))
    assert "cli import" not in local_sources


@pytest.mark.parametrize("unit", sorted(unit_graph()))
def test_each_unit_imports_alone_in_a_fresh_interpreter(unit: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", f"import {unit}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_no_module_is_over_500_lines() -> None:
    over = {
        str(path.relative_to(SRC)): lines
        for path in PACKAGE.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert set(over) <= PENDING_SPLIT, over


def test_tests_mirror_the_package() -> None:
    """A test module sits in the folder of what it tests: ``tests/websocket/stores/`` tests
    ``lift/websocket/stores/``; ``tests/examples/`` drives ``examples/``; project-wide checks
    (docs, README, imports, benchmarks, this file) stay at the top."""
    folders = {path.parent.relative_to(TESTS) for path in TESTS.rglob("test_*.py")}
    packages = {Path(".")} | {
        path.parent.relative_to(PACKAGE) for path in PACKAGE.rglob("__init__.py")
    }
    assert folders - packages == {Path("examples")}
    assert all((TESTS / folder / "__init__.py").is_file() for folder in folders)
