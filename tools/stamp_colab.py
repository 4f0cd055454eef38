"""Stamp the notebooks for Colab: the ONE place that holds the course's repository URL, and the setup cell.

A maintainer's tool, not part of the installed package: a notebook's setup cell must run before the course
is installed, so it cannot import anything of the course. Instead this writes the same setup cell and Colab
badge into every notebook (and points the README's Colab links at the same URL); ``--check`` (what the tests
do) reports drift without writing. ``make lock`` runs it too: the setup cell quotes the lock's pins.

    python tools/stamp_colab.py                 # restamp every notebook and the README
    python tools/stamp_colab.py --check         # only report drift; exit 1 if any
    python tools/stamp_colab.py notebooks/01_manual_search.ipynb   # just these notebooks (not the README)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tutorial_utils.lockfile import LOCK, pins_for  # noqa: E402

COURSE_REPO = "https://github.com/hpo-course/hpo-course"
COURSE_DIR = "/content/hpo-course"
# What Colab lacks, installed at the lock's exact versions (tutorial_utils.lockfile; the lines keep their markers,
# so pip picks the right one on Colab's Python). Packages Colab already ships and the course accepts at its
# pyproject floor (lightgbm, greenlet) are asked for at that floor, so Colab's copy is kept. kagglehub is not
# listed: Colab ships it (tutorial_utils.download says how to install it elsewhere).
COLAB_LOCKED = ("optuna", "optuna-integration", "optuna-dashboard", "scikit-optimize", "madgrad", "cmaes")
COLAB_AT_FLOOR = ("lightgbm>=4.0", "greenlet>=3.0")


def colab_pins(lock: Path = LOCK) -> list[str]:
    """What the Colab setup cell installs: the lock's pins for what Colab lacks, then the floors of what it has."""
    return [*pins_for(COLAB_LOCKED, lock), *COLAB_AT_FLOOR]


# Colab's own builds, held at the versions found (a pip constraint) so that installing the pins can never
# replace them: a new numpy under an imported one needs a kernel restart, and Colab's torch is its CUDA build.
COLAB_KEEPS = ("torch", "numpy", "pandas", "scipy", "scikit-learn", "matplotlib", "plotly", "ipykernel", "ipywidgets")
# Environment variables the setup cell honours, so that a test can take the Colab path outside Colab.
FORCE_COLAB_ENV = "HPO_COURSE_FORCE_COLAB"  # "1": install as in Colab
REPO_ENV = "HPO_COURSE_REPO"  # what to clone instead of COURSE_REPO (a path or URL)
DIR_ENV = "HPO_COURSE_DIR"  # where to clone it instead of COURSE_DIR
SETUP_MARKER = "# Setup: run first."
NOTEBOOKS_DIR = REPO / "notebooks"
README = REPO / "README.md"
_COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/[^/\s)]+/[^/\s)]+/blob/main/notebooks/")


def badge_markdown(notebook_name: str) -> str:
    """The Open-in-Colab badge for one notebook."""
    slug = COURSE_REPO.removeprefix("https://github.com/")
    url = f"https://colab.research.google.com/github/{slug}/blob/main/notebooks/{notebook_name}"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def setup_cell_source() -> str:
    """The setup cell every notebook starts with (stamped from here; do not edit it by hand).

    In Colab it installs only what Colab lacks, then the course itself without dependencies (not editable, so
    the running kernel imports it at once: no restart), and never replaces Colab's own packages.
    """
    pins = ", ".join(json.dumps(p) for p in colab_pins())
    keeps = ", ".join(f'"{k}"' for k in COLAB_KEEPS)
    return f'''{SETUP_MARKER} Locally it checks versions and picks the device; in Colab it first installs the course.
import importlib.metadata, importlib.util, os, subprocess, sys, tempfile
COURSE_REPO = os.environ.get("{REPO_ENV}", "{COURSE_REPO}")  # stamped by `python tools/stamp_colab.py`
COURSE_DIR = os.environ.get("{DIR_ENV}", "{COURSE_DIR}")
IN_COLAB = os.environ.get("{FORCE_COLAB_ENV}") == "1" or (
    importlib.util.find_spec("google") is not None and importlib.util.find_spec("google.colab") is not None)
if IN_COLAB and importlib.util.find_spec("tutorial_utils") is None:  # once per Colab runtime, no restart needed
    if not os.path.isdir(COURSE_DIR):
        subprocess.run(["git", "clone", "--depth", "1", COURSE_REPO, COURSE_DIR], check=True)
    keep = []  # Colab's own packages stay exactly as they are: pip fails rather than replace one
    for name in ({keeps}):
        try:
            keep.append(f"{{name}}=={{importlib.metadata.version(name)}}")
        except importlib.metadata.PackageNotFoundError:
            pass
    constraints = os.path.join(tempfile.mkdtemp(), "colab-keeps.txt")
    with open(constraints, "w") as file:
        file.write("\\n".join(keep) + "\\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-c", constraints, {pins}], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", COURSE_DIR], check=True)
    importlib.invalidate_caches()
if IN_COLAB:
    os.chdir(os.path.join(COURSE_DIR, "notebooks"))  # so data/ and imgs/ resolve as locally
from tutorial_utils.setup import setup_notebook
DEVICE = setup_notebook()'''


def _colab_link_prefix() -> str:
    return f"https://colab.research.google.com/github/{COURSE_REPO.removeprefix('https://github.com/')}/blob/main/notebooks/"


def stamp_readme(path: Path = README, write: bool = True) -> list[str]:
    """Point every Colab link in the README at COURSE_REPO; return what differed."""
    text = path.read_text()
    stamped = _COLAB_LINK.sub(_colab_link_prefix(), text)
    if stamped == text:
        return []
    if write:
        path.write_text(stamped)
    return [f"{path.name}: Colab links differ from {_colab_link_prefix()}"]


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _stamped_title(text: str, notebook_name: str) -> str:
    lines = [line for line in text.splitlines() if "colab-badge.svg" not in line]
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join([*lines, "", badge_markdown(notebook_name)])


def _render(value: str | list[str], ascii_only: bool) -> str:
    """A cell's source as a notebook file indented by 1 writes it (nbformat's and json.dump's way)."""
    text = json.dumps(value, indent=1, ensure_ascii=ascii_only)
    return text.replace("\n", "\n" + " " * 3) if isinstance(value, list) else text


def _with_new_sources(text: str, changes: list[tuple[str | list[str], str]]) -> str | None:
    """``text`` with each old source replaced by its new one, written in the old one's style (string or list of
    lines, escaped or not); None when an old source is not found exactly once."""
    for old, new in changes:
        value = new.splitlines(keepends=True) if isinstance(old, list) else new
        for ascii_only in (False, True):
            if text.count(_render(old, ascii_only)) == 1:
                text = text.replace(_render(old, ascii_only), _render(value, ascii_only))
                break
        else:
            return None
    return text


def stamp_notebook(path: Path, write: bool = True) -> list[str]:
    """Bring one notebook's badge and setup cell in line with the template; return what differed.

    Only the stamped cells change on disk: the rest of the file keeps its bytes (key order, source as string or
    list), so a restamp never shows up as a diff of cells it did not touch.
    """
    text = path.read_text()
    nb = json.loads(text)
    cells = nb["cells"]
    problems = []
    changes: list[tuple[str | list[str], str]] = []
    title = _source(cells[0])
    wanted_title = _stamped_title(title, path.name)
    if title.rstrip() != wanted_title:
        problems.append(f"{path.name}: Colab badge differs from {badge_markdown(path.name)}")
        changes.append((cells[0]["source"], wanted_title))
        cells[0]["source"] = wanted_title
    setup = [c for c in cells if c["cell_type"] == "code" and _source(c).startswith(SETUP_MARKER)]
    if len(setup) != 1:
        problems.append(f"{path.name}: expected one setup cell starting with {SETUP_MARKER!r}, found {len(setup)}")
        if not setup and write:
            code = next(i for i, c in enumerate(cells) if c["cell_type"] == "code")
            if "parameters" not in cells[code].get("metadata", {}).get("tags", []):
                setup = [cells[code]]
    for cell in setup[:1]:
        if _source(cell) != setup_cell_source():
            problems.append(f"{path.name}: setup cell differs from the template")
            changes.append((cell["source"], setup_cell_source()))
            cell["source"] = setup_cell_source()
    if write and problems:
        stamped = _with_new_sources(text, changes)
        if stamped is None or _normalized(json.loads(stamped)) != _normalized(nb):
            stamped = json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        path.write_text(stamped)
    return problems


def _normalized(nb: dict) -> dict:
    """``nb`` with every source as one string, to compare notebooks whatever their source style."""
    return {**nb, "cells": [{**c, "source": _source(c)} for c in nb["cells"]]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Stamp the Colab badge and setup cell into every notebook.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--stamp", action="store_true", help="write the template into every notebook (the default)")
    mode.add_argument("--check", action="store_true", help="only report drift; exit 1 if any")
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    problems = [p for path in paths for p in stamp_notebook(path, write=not args.check)]
    if not args.notebooks:
        problems += stamp_readme(write=not args.check)
    for problem in problems:
        print(problem)
    if args.check:
        return 1 if problems else 0
    print(f"stamped {len(paths)} notebooks ({len(problems)} changes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
