"""The package's modules import each other without a cycle, and the face data flows one way."""

from __future__ import annotations

import ast
import graphlib

import pytest

from conftest import REPO

PACKAGE = REPO / "tutorial_utils"


def module_name(path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path) -> set[str]:
    """Every tutorial_utils module ``path`` imports, at the top or inside a function (a lazy import is still
    a dependency: it only moves the failure to run time)."""
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("tutorial_utils"):
                continue
            for alias in node.names:  # `from . import records` names a module; `from .data import X` does not
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in MODULES else target)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("tutorial_utils")}
    return {name for name in found if name in MODULES and name != module_name(path)}


MODULES = {module_name(p) for p in PACKAGE.rglob("*.py")}


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in PACKAGE.rglob("*.py")}


def test_the_import_graph_has_no_cycle():
    try:
        order = list(graphlib.TopologicalSorter(graph()).static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")
    assert order.index("tutorial_utils.storage") < order.index("tutorial_utils.studies")


def test_the_face_data_path_runs_one_way():
    """find and read (data) -> parse (face_csv) / cache (face_cache) -> prepare: nothing below calls back up."""
    edges = graph()
    for low in ("tutorial_utils.face_csv", "tutorial_utils.face_cache", "tutorial_utils.synthetic"):
        assert not edges[low] & {"tutorial_utils.data", "tutorial_utils.prepare"}, low
    assert "tutorial_utils.prepare" not in edges["tutorial_utils.data"]
    assert {"tutorial_utils.face_csv", "tutorial_utils.face_cache", "tutorial_utils.synthetic"} <= edges["tutorial_utils.data"]


def test_the_graph_reader_sees_lazy_and_package_relative_imports():
    """Known answers, so the two tests above cannot pass by reading nothing."""
    edges = graph()
    assert "tutorial_utils.prepare" in edges["tutorial_utils.cli"]  # imported inside a function
    assert "tutorial_utils.toys" in edges["tutorial_utils.records"]  # `from . import toys`
    assert "tutorial_utils.toys" in edges["tutorial_utils.plotting.search"]  # `from ..toys import ...`
