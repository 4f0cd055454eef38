"""Colab support: the ONE place that holds the course's repository URL, and the stamping of every notebook.

The setup cell must run before the course is installed, so it cannot import this module: instead
``python -m tutorial_utils.colab --stamp`` writes the same setup cell and Colab badge into every notebook, and
``--check`` (run by the tests) fails when a notebook has drifted from this template.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

COURSE_REPO = "https://github.com/hpo-course/hpo-course"
COURSE_DIR = "/content/hpo-course"
# Pinned to the versions the course was tested with. Colab's own torch, numpy, pandas, scikit-learn and
# matplotlib are kept: they already satisfy the course's minimums, and replacing them breaks Colab.
COLAB_PINS = (
    "optuna==5.0.0",
    "optuna-integration==5.0.0",
    "optuna-dashboard==0.21.0",
    "scikit-optimize==0.10.2",
    "lightgbm==4.7.0",
    "madgrad==1.3",
    "cmaes==0.13.1",
    "kagglehub>=0.3",
)
SETUP_MARKER = "# Setup: run first."
NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
README = NOTEBOOKS_DIR.parent / "README.md"
_COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/[^/\s)]+/[^/\s)]+/blob/main/notebooks/")


def badge_markdown(notebook_name: str) -> str:
    """The Open-in-Colab badge for one notebook."""
    slug = COURSE_REPO.removeprefix("https://github.com/")
    url = f"https://colab.research.google.com/github/{slug}/blob/main/notebooks/{notebook_name}"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def setup_cell_source() -> str:
    """The setup cell every notebook starts with (stamped from here; do not edit it by hand)."""
    pins = ", ".join(f'"{p}"' for p in COLAB_PINS)
    return f'''{SETUP_MARKER} Locally it checks versions and picks the device; in Colab it first installs the course.
import importlib.util, os, subprocess, sys
COURSE_REPO = "{COURSE_REPO}"  # stamped by `python -m tutorial_utils.colab --stamp`
COURSE_DIR = "{COURSE_DIR}"
IN_COLAB = importlib.util.find_spec("google") is not None and importlib.util.find_spec("google.colab") is not None
if IN_COLAB and importlib.util.find_spec("tutorial_utils") is None:  # once per Colab runtime
    if not os.path.isdir(COURSE_DIR):
        subprocess.run(["git", "clone", "--depth", "1", COURSE_REPO, COURSE_DIR], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", {pins}, "-e", COURSE_DIR], check=True)
    sys.path.insert(0, COURSE_DIR)  # the editable install is only seen by new processes
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


def stamp_notebook(path: Path, write: bool = True) -> list[str]:
    """Bring one notebook's badge and setup cell in line with the template; return what differed."""
    nb = json.loads(path.read_text())
    cells = nb["cells"]
    problems = []
    title = _source(cells[0])
    wanted_title = _stamped_title(title, path.name)
    if title.rstrip() != wanted_title:
        problems.append(f"{path.name}: Colab badge differs from {badge_markdown(path.name)}")
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
            cell["source"] = setup_cell_source()
    if write and problems:
        path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Stamp the Colab badge and setup cell into every notebook.")
    parser.add_argument("--check", action="store_true", help="only report drift; exit 1 if any")
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
