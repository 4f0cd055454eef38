"""Every notebook gives its solutions one way: an exercise k has a folded "Solution k" that says why the answer is
right, followed by a hidden code cell tagged ``solution`` that shows it, and runs in fast mode with the rest."""

from __future__ import annotations

import json
import re

import pytest

from conftest import NOTEBOOKS

SUMMARY = re.compile(r"^<details><summary>Solution (\d+)</summary>\n\n(.+?)\n</details>\s*$", re.S)


def solution_problems(cells: list[dict]) -> list[str]:
    """What breaks the format in a notebook's ``cells`` (nbformat JSON cells)."""
    text = ["".join(c["source"]) for c in cells]
    exercises = next((t for t in text if "## Exercises" in t), None)
    if exercises is None:
        return ["no '## Exercises' section"]
    asked = [int(n) for n in re.findall(r"^(\d+)\. ", exercises.split("## Exercises", 1)[1], re.M)]
    problems, answered = [], []
    for i, (cell, source) in enumerate(zip(cells, text, strict=True)):
        if source.lstrip().startswith("# Solution"):
            problems.append(f"cell {i}: a bare '# Solution' code cell; give it a <details> Solution cell instead")
        if cell["cell_type"] != "markdown" or "<summary>Solution" not in source:
            continue
        match = SUMMARY.match(source.strip() + "\n")
        if not match:
            problems.append(f"cell {i}: not '<details><summary>Solution k</summary>', a blank line, the why, '</details>'")
            continue
        k, why = int(match.group(1)), match.group(2).strip()
        answered.append(k)
        if len(why.split()) < 12:
            problems.append(f"Solution {k}: say in a sentence or more why the answer is right")
        follower = cells[i + 1] if i + 1 < len(cells) else None
        if follower is None or follower["cell_type"] != "code":
            problems.append(f"Solution {k}: no code cell follows it")
            continue
        meta = follower.get("metadata", {})
        if "solution" not in meta.get("tags", []) or not meta.get("jupyter", {}).get("source_hidden"):
            problems.append(f"Solution {k}: its code cell must be hidden and tagged 'solution'")
    if answered != asked:
        problems.append(f"exercises {asked} but solutions {answered}")
    return problems


def _cell(kind: str, source: str, **meta) -> dict:
    return {"cell_type": kind, "source": source, "metadata": meta}


GOOD = [
    _cell("markdown", "## Summary\n\n## Exercises\n1. Do this.\n2. Do that.\n"),
    _cell("markdown", "<details><summary>Solution 1</summary>\n\nBecause the storage keeps every finished trial, "
                      "a rerun asks for none of them again.\n</details>"),
    _cell("code", "print(1)", jupyter={"source_hidden": True}, tags=["solution"]),
    _cell("markdown", "<details><summary>Solution 2</summary>\n\nThe warm-up delays every judgement by five epochs, "
                      "so nothing is pruned before them.\n</details>"),
    _cell("code", "print(2)", jupyter={"source_hidden": True}, tags=["solution"]),
]


@pytest.mark.parametrize(("cells", "n_problems"), [
    (GOOD, 0),
    (GOOD[:3], 1),                                                                     # exercise 2 unanswered
    ([*GOOD[:4], _cell("code", "print(2)")], 1),                                       # code not hidden/tagged
    ([*GOOD[:3], _cell("code", "# Solution 2\nprint(2)", jupyter={"source_hidden": True})], 2),  # the old format
    ([*GOOD[:3], _cell("markdown", "<details><summary>Solution 2</summary>\n\nSee below.\n</details>"), GOOD[4]], 1),
])
def test_the_checker_knows_the_format(cells, n_problems):
    assert len(solution_problems(cells)) == n_problems, solution_problems(cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_solutions_have_one_format(path):
    assert solution_problems(json.loads(path.read_text())["cells"]) == []
