"""Notebooks name their own runs, studies and files by their own number, and other notebooks by numbers that exist.

The course was renumbered once, and names like ``runs/07`` in notebook 08 outlived it: a learner then finds one
notebook's files under another's number, or is sent to a notebook that says something else. The checker is
tested on known inputs first, so that a pattern that matches nothing cannot pass silently.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import NOTEBOOKS

# Names a notebook gives to what it writes: run folders, build folders, temporary-folder prefixes, study names,
# storage files ("08-face-net", "05_lightgbm.db", "runs/11", "hpo-11-", "build/10_analysis").
ARTIFACT = re.compile(
    r"(?:\b(?:runs|build)/(?P<folder>\d\d)(?![\d])[\w.-]*)"
    r"|(?:\bhpo-(?P<prefix>\d\d)-)"
    r"|(?:(?<=[\"'/])(?P<name>\d\d)[-_][A-Za-z][\w.-]*)"
)
# Where the text sends the learner: "notebook 06", "notebooks 06 and 07", "06_age_gender_network.ipynb".
MENTION = re.compile(r"\bnotebooks? (\d\d)\b(?:(?:,| and| or) (\d\d)\b)*")
NOTEBOOK_FILE = re.compile(r"\b(\d\d_\w+\.ipynb)\b")


def notebook_text(path: Path) -> str:
    return "\n".join("".join(cell["source"]) for cell in json.loads(path.read_text())["cells"])


def _stem(token: str) -> str:
    """What another notebook must also say for ``token`` to be its name: "06-tpe" of "06-tpe-synthetic-seed0"
    (study names are built from parts), the whole token for folders."""
    study = re.match(r"\d\d[-_][A-Za-z]+", token)
    return study.group(0) if study else token


def name_problems(own: str, text: str, texts: dict[str, str], files: set[str]) -> list[str]:
    """What in notebook ``own``'s ``text`` names a number wrongly, given every notebook's text by number and
    the notebook file names. Another notebook's artifact may be named only if that notebook names it too (a
    notebook reading 06's storage, say); a mentioned notebook must exist."""
    problems = []
    for match in ARTIFACT.finditer(text):
        number = match.group("folder") or match.group("prefix") or match.group("name")
        token = match.group(0)
        if number == own or token in files:
            continue
        if number not in texts:
            problems.append(f"{token!r} names notebook {number}, which does not exist")
        elif _stem(token) not in texts[number]:
            problems.append(f"{token!r} carries number {number}, but it is not notebook {number}'s: use {own}")
    for match in MENTION.finditer(text):
        for number in re.findall(r"\d\d", match.group(0)):
            if number not in texts:
                problems.append(f"{match.group(0)!r} points at notebook {number}, which does not exist")
    for match in NOTEBOOK_FILE.finditer(text):
        if match.group(1) not in files:
            problems.append(f"{match.group(1)!r} does not exist")
    return problems


KNOWN = {"06": 'study = "06-tpe-x"; db = "06_age_gender.db"', "08": "", "10": ""}
FILES = {"06_age_gender_network.ipynb", "08_sampler_showdown.ipynb", "10_analysis_and_reuse.ipynb"}


@pytest.mark.parametrize(("text", "expected"), [
    ('STUDIES = "runs/08"; name = "08-face-net"; tmp = "hpo-08-"', 0),
    ('STUDIES = "runs/07"', 1),                                # a renumbering leftover: 07 does not exist
    ('STUDIES = "runs/10"', 1),                                # exists, but is not 08's folder
    ('DIR = "../build/10_analysis"; s = "10-face-net"', 2),
    ('tempfile.mkdtemp(prefix="hpo-10-")', 1),
    ('nb06 = "06-tpe-x"; path = Path("06_age_gender.db")', 0),  # reading what notebook 06 writes
    ("'06-tpe-synthetic-seed0', a study of notebook 06", 0),     # one of 06's names, built from its parts
    ('path = "06_other.db"', 1),                               # 06 writes no such file
    ("as notebook 06 showed; see notebooks 06 and 10", 0),
    ("as notebook 07 showed", 1),
    ("open 08_sampler_showdown.ipynb, not 07_pruning.ipynb", 1),
    ('x = 64; print(f"{x} random trials")', 0),
])
def test_the_checker_finds_what_it_should(text, expected):
    assert len(name_problems("08", text, KNOWN, FILES)) == expected, name_problems("08", text, KNOWN, FILES)


def test_every_notebook_names_runs_studies_and_notebooks_by_numbers_that_are_right():
    texts = {path.name[:2]: notebook_text(path) for path in NOTEBOOKS}
    files = {path.name for path in NOTEBOOKS}
    problems = {path.name: name_problems(path.name[:2], texts[path.name[:2]], texts, files) for path in NOTEBOOKS}
    assert {k: v for k, v in problems.items() if v} == {}
