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
    assert "tutorial_utils.curves" in edges["tutorial_utils.records"]  # `from . import curves`
    assert "tutorial_utils.curves" in edges["tutorial_utils.plotting.search"]  # `from ..curves import ...`
    assert "tutorial_utils.toys" in edges["tutorial_utils.plotting.search"]  # `from ..toys import Bounds`
    assert "tutorial_utils.toys" not in edges["tutorial_utils.records"]


def private_imports(package=PACKAGE) -> list[str]:
    """Every ``from <a tutorial_utils module> import _name``: a private name used outside its module."""
    found = []
    for path in sorted(package.rglob("*.py")):
        name = ".".join(path.relative_to(package.parent).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            if not (node.level or (node.module or "").startswith("tutorial_utils")):
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{name}:{node.lineno}: from {'.' * node.level}{node.module or ''} import {alias.name}")
    return found


def test_no_module_imports_a_private_name_of_another():
    """A ``_name`` is free to change with its module; a second module that needs it needs a public name."""
    assert private_imports() == []


def test_the_private_import_scan_finds_one(tmp_path):
    """Known answer for the scan above: a planted private import is reported; dunders and public names are not."""
    fake = tmp_path / "tutorial_utils"
    (fake / "plotting").mkdir(parents=True)
    (fake / "toys.py").write_text("import numpy as _np\n\n\ndef _hidden():\n    pass\n")
    (fake / "plotting" / "__init__.py").write_text("")
    (fake / "plotting" / "search.py").write_text(
        "from __future__ import annotations\n\nfrom ..toys import _hidden, quadratic\nfrom . import __doc__\n"
        "from numpy import _globals\n\n\ndef f():\n    from tutorial_utils.toys import _np\n"
    )
    assert private_imports(fake) == [
        "tutorial_utils.plotting.search:3: from ..toys import _hidden",
        "tutorial_utils.plotting.search:9: from tutorial_utils.toys import _np",
    ]


def test_the_layers_point_one_way():
    """Runner below exporter, model below data, one device resolver, one recorder (issue 26)."""
    edges = graph()
    # The runner writes study and trial attrs through recording; the exporter reads them: no runner -> exporter.
    assert "tutorial_utils.results" not in edges["tutorial_utils.studies"]
    assert "tutorial_utils.recording" in edges["tutorial_utils.studies"] & edges["tutorial_utils.results"]
    assert {"tutorial_utils.recording"} <= edges["tutorial_utils.training"] & edges["tutorial_utils.lockstep"]
    # The per-trial records are built on the exporter's frame, not a second reader of the storage.
    assert "tutorial_utils.results" in edges["tutorial_utils.records"]
    # The network's heads live with the network: models needs nothing of the data preparation.
    assert "tutorial_utils.prepare" not in edges["tutorial_utils.models"]
    # One device resolver: setup, the CLI, the batched trainer and the runner all go through devices.
    for user in ("setup", "cli", "batched", "studies"):
        assert "tutorial_utils.devices" in edges[f"tutorial_utils.{user}"], user
    assert edges["tutorial_utils.devices"] == set()  # the bottom layer
    # The maintainer's notebook stamping is not in the package.
    assert "tutorial_utils.colab" not in MODULES
