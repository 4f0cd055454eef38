"""Every notebook executes top to bottom in fast mode, within a time limit, and is committed clean."""

from __future__ import annotations

import json

import pytest

from conftest import NOTEBOOKS, execute_fast

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
def test_notebook_executes_in_fast_mode(path, executed_dir, request):
    parameters = {}
    if path.name.startswith("11_"):  # run once, on PostgreSQL where there is one (in CI there must be)
        url, _ = request.getfixturevalue("pg_server")
        parameters = {"PG_URL": url} if url else {}
    elapsed = execute_fast(path, executed_dir, FAST_MODE_LIMIT_S, parameters)
    executed = json.loads((executed_dir / path.name).read_text())
    figures = sum("image/png" in out.get("data", {}) for c in executed["cells"] for out in c.get("outputs", []))
    assert figures >= 1, f"{path.name}: executed without showing a single figure"
    assert elapsed < FAST_MODE_LIMIT_S, f"{path.name} took {elapsed:.0f} s in fast mode (limit {FAST_MODE_LIMIT_S} s)"
    if parameters.get("PG_URL"):
        text = "".join("".join(o.get("text", "")) for c in executed["cells"] for o in c.get("outputs", []))
        assert "Shared storage: PostgreSQL" in text and "falling back" not in text
        assert "failed by its stale heartbeat and re-run as trial" in text, "the fault-tolerance demo ran on PostgreSQL"
        assert "complete trials, as planned" in text
