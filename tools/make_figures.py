"""Regenerate imgs/: the figures the README and the site show, cut from executed notebooks (never pasted by hand).

A notebook cell tagged ``figure:NAME`` gives its first PNG output to ``imgs/NAME.png``. Each notebook that has
such a cell is executed with papermill (in its fast mode, except the ones listed in FULL, whose full mode loads
committed records and runs in seconds), and the tagged outputs are written, downscaled to at most 1200 px wide.

    python tools/make_figures.py        # or: make figures
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
IMGS = REPO / "imgs"
FULL = ("sampler_showdown",)  # full mode draws from the committed real-run records, in seconds
MAX_WIDTH = 1200


def tagged_figures(notebook: dict) -> dict[str, int]:
    """{figure name: cell index} for every cell tagged ``figure:NAME``."""
    found = {}
    for i, cell in enumerate(notebook["cells"]):
        for tag in cell.get("metadata", {}).get("tags", []):
            if tag.startswith("figure:"):
                found[tag.removeprefix("figure:")] = i
    return found


def first_png(cell: dict) -> bytes | None:
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if "image/png" in data:
            return base64.b64decode(data["image/png"])
    return None


def shrink(png: bytes) -> bytes:
    from PIL import Image

    image = Image.open(io.BytesIO(png))
    if image.width > MAX_WIDTH:
        image = image.resize((MAX_WIDTH, round(image.height * MAX_WIDTH / image.width)), Image.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(IMGS))
    parser.add_argument("--build", default=str(REPO / "build" / "figures"))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO / "tools"))
    import build_site

    out, build = Path(args.out), Path(args.build)
    out.mkdir(parents=True, exist_ok=True)
    build.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        wanted = tagged_figures(json.loads(path.read_text()))
        if not wanted:
            continue
        fast = not any(name in path.stem for name in FULL)
        print(f"executing {path.name} ({'fast' if fast else 'full'} mode) for {', '.join(wanted)}", flush=True)
        build_site.execute_notebook(path, build / path.name, fast=fast, timeout=600)
        executed = json.loads((build / path.name).read_text())
        for name, index in tagged_figures(executed).items():  # papermill adds a cell: find the tags again
            png = first_png(executed["cells"][index])
            if png is None:
                raise SystemExit(f"{path.name}: the cell tagged figure:{name} drew no figure")
            target = out / f"{name}.png"
            target.write_bytes(shrink(png))
            written.append(target)
    total = sum(p.stat().st_size for p in written)
    print(f"wrote {len(written)} figures to {out} ({total / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
