"""Every notebook executes top to bottom in fast mode, within a time limit, and is committed clean."""

from __future__ import annotations

import json
import sys

import pytest

from conftest import NOTEBOOKS, REPO

sys.path.insert(0, str(REPO / "tools"))
import build_site  # noqa: E402

FAST_MODE_LIMIT_S = 300  # per notebook, on a 2-core CPU


def _load(path):
    return json.loads(path.read_text())


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found in notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_without_outputs_and_with_conventions(path):
    nb = _load(path)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    dirty = [i for i, c in enumerate(code) if c.get("outputs") or c.get("execution_count")]
    assert not dirty, f"{path.name}: code cells {dirty} have outputs; clear them before committing"
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
    assert "FAST" in "".join(tagged[0]["source"]), f"{path.name}: the parameters cell must define FAST"
    first = "".join(nb["cells"][0]["source"])
    assert first.lstrip().startswith("# "), f"{path.name}: must open with a '# Title' markdown cell"
    assert "colab.research.google.com" in first, f"{path.name}: the first cell needs the Open-in-Colab badge"
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "## Summary" in text and "Exercises" in text, f"{path.name}: needs a Summary with Exercises"


@pytest.mark.notebook
@pytest.mark.timeout(FAST_MODE_LIMIT_S + 60)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_in_fast_mode(path, executed_dir):
    elapsed = execute_fast(path, executed_dir)
    executed = json.loads((executed_dir / path.name).read_text())
    figures = sum("image/png" in out.get("data", {}) for c in executed["cells"] for out in c.get("outputs", []))
    assert figures >= 1, f"{path.name}: executed without showing a single figure"
    assert elapsed < FAST_MODE_LIMIT_S, f"{path.name} took {elapsed:.0f} s in fast mode (limit {FAST_MODE_LIMIT_S} s)"


def execute_fast(path, out_dir) -> float:
    """Run one notebook in fast mode into out_dir, record its time in out_dir/timings.json, return it."""
    elapsed = build_site.execute_notebook(path, out_dir / path.name, fast=True, timeout=FAST_MODE_LIMIT_S)
    timings_file = out_dir / "timings.json"
    timings = json.loads(timings_file.read_text()) if timings_file.exists() else {}
    timings[path.name] = elapsed
    timings_file.write_text(json.dumps(timings, indent=2))
    return elapsed
