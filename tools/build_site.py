"""Execute every notebook (full mode, or fast with --fast) and render the course as a static HTML site.

Rendering is nbconvert's HTMLExporter with a small template (tools/site_template/course) that extends
JupyterLab's: navigation between notebooks, each notebook's run time, MathJax served locally, no CDN scripts.
Usage: python tools/build_site.py [--fast] [--out build/site] [--skip-execute]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import nbformat
import papermill
from nbconvert import HTMLExporter

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
TEMPLATES = Path(__file__).resolve().parent / "site_template"
REMOTE_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"  # served locally: the site works offline


def notebook_title(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The first markdown heading, e.g. '01 · Manual search'."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def execute_notebook(
    path: Path, out_path: Path, fast: bool, timeout: float | None = None, parameters: dict | None = None
) -> float:
    """Run one notebook with papermill (in notebooks/) and return its seconds.

    The kernel starts without MPLBACKEND: with MPLBACKEND=Agg it would draw no inline figures.
    """
    backend = os.environ.pop("MPLBACKEND", None)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(path), str(out_path), parameters={"FAST": fast, **(parameters or {})}, cwd=str(NOTEBOOKS), kernel_name="python3",
            progress_bar=False, execution_timeout=timeout,
        )
    finally:
        if backend is not None:
            os.environ["MPLBACKEND"] = backend
    return time.perf_counter() - start


def execute_all(paths: list[Path], out_dir: Path, fast: bool) -> dict[str, float]:
    """Run each notebook into out_dir; return seconds per notebook."""
    out_dir.mkdir(parents=True, exist_ok=True)
    timings = {}
    for path in paths:
        print(f"executing {path.name} ({'fast' if fast else 'full'} mode)...", flush=True)
        timings[path.name] = execute_notebook(path, out_dir / path.name, fast)
        print(f"  {timings[path.name]:.0f} s", flush=True)
    return timings


def _exporter() -> HTMLExporter:
    exporter = HTMLExporter(template_name="course", extra_template_basedirs=[str(TEMPLATES)])
    exporter.mathjax_url = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    return exporter


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "not executed"
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def render_site(executed: Path, out: Path, timings: dict[str, float], mode: str) -> list[Path]:
    """Write one HTML page per executed notebook plus index.html; returns the pages."""
    out.mkdir(parents=True, exist_ok=True)
    mathjax = Path(__import__("jupyter_server_mathjax").__file__).parent / "static"
    shutil.copytree(mathjax, out / "mathjax", dirs_exist_ok=True)
    shutil.copyfile(TEMPLATES / "colab-badge.svg", out / "colab-badge.svg")
    paths = sorted(executed.glob("[0-9][0-9]_*.ipynb"))
    books = [nbformat.read(p, as_version=4) for p in paths]
    titles = [notebook_title(nb, p.stem) for nb, p in zip(books, paths, strict=True)]
    exporter = _exporter()
    pages = []
    for i, (path, nb) in enumerate(zip(paths, books, strict=True)):
        nav = {"mode": mode}
        if path.name in timings:
            nav["runtime"] = _fmt(timings[path.name])
        if i > 0:
            nav["prev"] = {"href": paths[i - 1].stem + ".html", "title": titles[i - 1]}
        if i + 1 < len(paths):
            nav["next"] = {"href": paths[i + 1].stem + ".html", "title": titles[i + 1]}
        body, _ = exporter.from_notebook_node(nb, resources={"course_nav": nav, "metadata": {"name": titles[i]}})
        page = out / f"{path.stem}.html"
        page.write_text(body.replace(REMOTE_BADGE, "colab-badge.svg"), encoding="utf-8")
        pages.append(page)

    rows = "\n".join(
        f"| {p.stem[:2]} | [{t}]({p.stem}.html) | {_fmt(timings.get(p.name))} |" for p, t in zip(paths, titles, strict=True)
    )
    total = sum(timings.get(p.name, 0.0) for p in paths)
    index = nbformat.v4.new_notebook()
    index.cells = [
        nbformat.v4.new_markdown_cell(
            "# Hyperparameter optimization, hands-on\n\n"
            "From tuning by hand to grid, random and Bayesian search with Optuna, on a toy quadratic, LightGBM and "
            "a multi-head PyTorch network on face pixels. These pages are the notebooks as executed "
            f"(**{mode} mode**, {_fmt(total)} in all).\n\n| # | notebook | run time |\n|---|---|---|\n{rows}\n"
        )
    ]
    body, _ = exporter.from_notebook_node(index, resources={"course_nav": {}, "metadata": {"name": "Course index"}})
    (out / "index.html").write_text(body, encoding="utf-8")
    (out / "timings.json").write_text(json.dumps({"mode": mode, "seconds": timings}, indent=2))
    return [out / "index.html", *pages]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="execute in fast mode (FAST=True)")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "site")
    parser.add_argument("--executed", type=Path, default=None, help="folder for executed notebooks")
    parser.add_argument("--skip-execute", action="store_true", help="render what --executed already holds")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook")
    args = parser.parse_args(argv)
    mode = "fast" if args.fast else "full"
    executed = args.executed or REPO / "build" / f"executed-{mode}"
    timings_file = executed / "timings.json"
    if args.skip_execute:
        timings = json.loads(timings_file.read_text()) if timings_file.exists() else {}
    else:
        paths = args.notebooks or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
        timings = execute_all([p.resolve() for p in paths], executed, args.fast)
        timings_file.write_text(json.dumps(timings, indent=2))
    pages = render_site(executed, args.out, timings, mode)
    print(f"site: {len(pages)} pages in {args.out} (open {args.out / 'index.html'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
