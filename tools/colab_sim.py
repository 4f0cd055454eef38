"""A simulated fresh Colab runtime, offline: the notebooks' setup cell must install the course into it without
replacing what Colab ships, and notebooks 01 and 06 must then run top to bottom (fast mode) with no restart.

What is simulated, and how (all local, nothing downloaded):

* **Colab's own packages**: a fresh venv (with its own pip) that sees torch, numpy, pandas, scipy, scikit-learn,
  matplotlib, plotly, ipykernel, ipywidgets and the rest of Colab's usual stack, with their dependencies, through
  one .pth line naming a folder of symlinks into .venv's site-packages. Only those distributions are linked:
  optuna, scikit-optimize, lightgbm, madgrad, cmaes, greenlet and tutorial_utils are absent, so the setup cell
  has to install them. The folder lies outside the venv, so pip cannot uninstall from it: a package the cell
  replaced would land in the venv's own site-packages, ahead of it, and show up as a changed version.
* **PyPI**: a wheelhouse (``PIP_NO_INDEX=1``, ``PIP_FIND_LINKS``) holding the exact versions installed in .venv
  of what the cell asks for and Colab lacks, plus setuptools for the course's build. The wheels are repacked
  from .venv's installed files (their RECORD), because the tests may not use the network.
* **GitHub**: a git repository holding the working tree's files (tracked and untracked-but-not-ignored, as a
  push would publish them); the cell clones it (``HPO_COURSE_REPO``) into ``content/hpo-course``
  (``HPO_COURSE_DIR``), and takes the Colab path because ``HPO_COURSE_FORCE_COLAB=1``.
* **the notebook**: papermill (from .venv) runs each notebook with a kernel of the new venv, from ``content/``.
  A last cell, appended to the copy that is run, reports from inside the kernel where tutorial_utils and
  Colab's packages were imported from.

Not simulated (needs a real Colab run): Colab's actual package versions, its GPU runtime, Drive, google.colab
itself, and the kagglehub download.

Usage: python tools/colab_sim.py [--work DIR] [--notebooks 01 06] (the report is printed as JSON).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import packaging.tags
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tools")]  # the course; stamp_colab, also when loaded by path
import stamp_colab  # noqa: E402

# What a Colab runtime ships that the course uses (plus their dependencies): the simulated runtime's packages.
COLAB_SHIPS = (*stamp_colab.COLAB_KEEPS, "sqlalchemy", "pyyaml", "tqdm", "packaging", "requests", "joblib", "setuptools")
# What the setup cell itself must install; none of these is visible in the simulated runtime beforehand.
MUST_INSTALL = ("optuna", "optuna-integration", "optuna-dashboard", "scikit-optimize", "lightgbm", "madgrad",
                "cmaes", "greenlet", "tutorial-utils")
MUST_INSTALL_MODULES = ("optuna", "optuna_integration", "optuna_dashboard", "skopt", "lightgbm", "madgrad", "cmaes",
                        "greenlet", "tutorial_utils")
REPORT_MARK = "COLAB-SIM:"
CELL_TIMEOUT_S = 300


def _requirements(dist: importlib.metadata.Distribution) -> list[str]:
    """Names ``dist`` needs unconditionally (markers evaluated here, extras left out)."""
    names = []
    for text in dist.requires or []:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            names.append(canonicalize_name(requirement.name))
    return names


def dependency_closure(names: list[str] | tuple[str, ...]) -> dict[str, importlib.metadata.Distribution]:
    """``names`` and everything they need, as installed in this environment (the first found on sys.path)."""
    found: dict[str, importlib.metadata.Distribution] = {}
    todo = [canonicalize_name(n) for n in names]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        try:
            found[name] = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # an optional platform dependency not installed here
        todo += _requirements(found[name])
    return found


def _top_level_entries(dist: importlib.metadata.Distribution) -> set[str]:
    """The names directly in site-packages that belong to ``dist`` (packages, modules, its dist-info)."""
    entries = set()
    for file in dist.files or []:
        first = file.parts[0]
        if first not in ("..", "__pycache__") and not first.endswith(".pth"):
            entries.add(first)
    return entries


def link_colab_site(dists: dict[str, importlib.metadata.Distribution], folder: Path) -> list[str]:
    """A folder of symlinks to ``dists``' files in site-packages, to put on a venv's path; returns the names."""
    folder.mkdir(parents=True)
    for dist in dists.values():
        root = Path(dist.locate_file(""))
        for entry in _top_level_entries(dist):
            target = folder / entry
            if not target.exists() and (root / entry).exists():
                target.symlink_to(root / entry)
    return sorted(dists)


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def repack_wheel(dist: importlib.metadata.Distribution, out_dir: Path) -> Path:
    """Rebuild the wheel an installed distribution came from, from its RECORD (offline, exact version).

    Files outside site-packages (console scripts, which pip regenerates from entry_points.txt) are left out,
    as are the installer's own files (INSTALLER, REQUESTED, direct_url.json) and byte code.
    """
    root = Path(dist.locate_file(""))
    tags = [line.split(":", 1)[1].strip() for line in (dist.read_text("WHEEL") or "").splitlines()
            if line.startswith("Tag:")]
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"]).lower()
    supported = {str(tag) for tag in packaging.tags.sys_tags()}
    tag = next(t for t in tags if t in supported)  # e.g. py3-none-any of py2-none-any and py3-none-any
    wheel = out_dir / f"{name}-{dist.version}-{tag}.whl"
    info_dirs = {f.parts[0] for f in dist.files or [] if f.parts[0].endswith(".dist-info")}
    (info_dir,) = info_dirs
    skipped = {f"{info_dir}/{n}" for n in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")}
    record = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for file in dist.files or []:
            arcname = file.as_posix()
            if file.parts[0] == ".." or "__pycache__" in file.parts or arcname in skipped:
                continue
            path = root / file
            if not path.is_file():
                continue
            data = path.read_bytes()
            archive.writestr(arcname, data)
            record.append(f"{arcname},{_record_hash(data)},{len(data)}")
        record.append(f"{info_dir}/RECORD,,")
        archive.writestr(f"{info_dir}/RECORD", "\n".join(record) + "\n")
    return wheel


def snapshot_repository(source: Path, dest: Path) -> Path:
    """A git repository holding ``source``'s working tree as a push would publish it (tracked and untracked,
    not ignored files), so the simulated Colab clones the code under test, not only the last commit."""
    listed = subprocess.run(["git", "-C", str(source), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            check=True, capture_output=True).stdout.decode().split("\0")
    for relative in filter(None, listed):
        path = source / relative
        if path.is_file() and not path.is_symlink():
            (dest / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest / relative)
    git = ["git", "-C", str(dest), "-c", "user.name=colab-sim", "-c", "user.email=colab-sim@localhost"]
    subprocess.run(["git", "init", "-q", str(dest)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "snapshot of the working tree"], check=True)
    return dest


_PROBE = """
import importlib.metadata, importlib.util, json, sys
names, modules = json.loads(sys.argv[1]), json.loads(sys.argv[2])
out = {"packages": {}, "importable": [m for m in modules if importlib.util.find_spec(m) is not None]}
for name in names:
    try:
        dist = importlib.metadata.distribution(name)
        out["packages"][name] = [dist.version, str(dist.locate_file(""))]
    except importlib.metadata.PackageNotFoundError:
        out["packages"][name] = None
print(json.dumps(out))
"""


def probe(python: Path, names: tuple[str, ...], modules: tuple[str, ...], env: dict[str, str]) -> dict:
    """Versions and locations of ``names`` and which ``modules`` are importable, as ``python`` sees them."""
    result = subprocess.run([str(python), "-c", _PROBE, json.dumps(names), json.dumps(modules)], check=True,
                            capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
    return json.loads(result.stdout)


def _report_cell(keeps: tuple[str, ...]) -> str:
    """The cell appended to each notebook copy: where the kernel imported the course and Colab's packages from."""
    return (
        "import importlib, importlib.metadata, json, os, sys\n"
        "import tutorial_utils\n"
        f"_modules = {{'numpy': 'numpy', 'pandas': 'pandas', 'scikit-learn': 'sklearn', 'torch': 'torch',"
        f" 'matplotlib': 'matplotlib', 'ipykernel': 'ipykernel', 'ipywidgets': 'ipywidgets'}}\n"
        "_report = {'prefix': sys.prefix, 'cwd': os.getcwd(), 'tutorial_utils': tutorial_utils.__file__,\n"
        "           'tutorial_utils_version': importlib.metadata.version('tutorial_utils'),\n"
        "           'loaded': {n: [importlib.metadata.version(n), importlib.import_module(m).__file__]\n"
        "                      for n, m in _modules.items()}}\n"
        f"print({REPORT_MARK!r}, json.dumps(_report))"
    )


def _clean_env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "HPO_COURSE_", "JUPYTER", "VIRTUAL_ENV")) and k != "PYTHONPATH"}
    env.update({
        "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_CACHE_DIR": str(work / "pip-cache"),
        "MPLBACKEND": "Agg", "TUTORIAL_UTILS_CACHE": str(work / "cache"), "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "JUPYTER_PATH": str(work / "venv" / "share" / "jupyter"), "JUPYTER_DATA_DIR": str(work / "jupyter-data"),
        "JUPYTER_CONFIG_DIR": str(work / "jupyter-config"), "IPYTHONDIR": str(work / "ipython"),
    })
    return env


def simulate(work: Path, notebooks: tuple[str, ...] = ("01", "06"), python: str = sys.executable) -> dict:
    """Build the simulated runtime under ``work``, run ``notebooks`` (by number) in it; return what happened.

    The report holds the step timings, the Colab packages' versions and locations before and after, what was
    installed into the venv, and each notebook's in-kernel report. It raises when a step or a notebook fails.
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(step: str) -> None:
        timings[step] = round(time.perf_counter() - started - sum(timings.values()), 1)

    env = _clean_env(work)
    colab_dists = dependency_closure(COLAB_SHIPS)
    for name in MUST_INSTALL:
        colab_dists.pop(canonicalize_name(name), None)
    link_colab_site(colab_dists, work / "colab-site")
    subprocess.run([python, "-m", "venv", str(work / "venv")], check=True, env=env)
    vpy = work / "venv" / "bin" / "python"
    purelib = subprocess.run([str(vpy), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    (Path(purelib) / "_colab_site.pth").write_text(str(work / "colab-site") + "\n")
    kernel_dir = work / "venv" / "share" / "jupyter" / "kernels" / "colab-sim"
    kernel_dir.mkdir(parents=True)
    kernel = {"argv": [str(vpy), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
              "display_name": "Python 3 (simulated Colab)", "language": "python"}
    (kernel_dir / "kernel.json").write_text(json.dumps(kernel))
    lap("runtime (venv + Colab's packages linked)")

    wanted = [Requirement(p).name for p in stamp_colab.colab_pins()]
    house = work / "wheelhouse"
    house.mkdir()
    to_pack = {n: d for n, d in dependency_closure(wanted).items() if n not in colab_dists}
    to_pack["setuptools"] = importlib.metadata.distribution("setuptools")  # the course's build backend
    wheels = sorted(repack_wheel(dist, house).name for dist in to_pack.values())
    lap("wheelhouse (repacked from .venv)")

    source = snapshot_repository(REPO, work / "published")
    lap("repository snapshot")

    before = probe(vpy, stamp_colab.COLAB_KEEPS, MUST_INSTALL_MODULES, env)
    site_before = sorted(p.name for p in Path(purelib).iterdir())
    content = work / "content"
    content.mkdir()
    env.update({stamp_colab.FORCE_COLAB_ENV: "1", stamp_colab.REPO_ENV: f"file://{source}",
                stamp_colab.DIR_ENV: str(content / "hpo-course"), "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(house)})
    import nbformat

    runs = {}
    for number in notebooks:
        (path,) = sorted((source / "notebooks").glob(f"{number}_*.ipynb"))
        nb = nbformat.read(path, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(_report_cell(stamp_colab.COLAB_KEEPS)))
        run_in, run_out = work / f"in_{path.name}", work / f"out_{path.name}"
        nbformat.write(nb, run_in)
        t0 = time.perf_counter()
        result = subprocess.run(
            [python, "-m", "papermill", "--no-progress-bar", "--log-level", "WARNING", "-k", "colab-sim",
             "--cwd", str(content), "--execution-timeout", str(CELL_TIMEOUT_S), "-p", "FAST", "True",
             str(run_in), str(run_out)], env=env, capture_output=True, text=True)
        seconds = round(time.perf_counter() - t0, 1)
        if result.returncode != 0:
            raise RuntimeError(f"notebook {path.name} failed in the simulated Colab:\n{result.stderr[-6000:]}")
        executed = nbformat.read(run_out, as_version=4)
        texts = ["".join(o.get("text", "") for o in c.get("outputs", [])) for c in executed.cells if c.cell_type == "code"]
        report = next(json.loads(t.split(REPORT_MARK, 1)[1]) for t in texts if REPORT_MARK in t)
        runs[number] = {"notebook": path.name, "seconds": seconds, "setup_output": texts[0], "kernel": report,
                        "site_packages": sorted(p.name for p in Path(purelib).iterdir())}
        lap(f"notebook {number}")
    after = probe(vpy, stamp_colab.COLAB_KEEPS, MUST_INSTALL_MODULES, env)
    return {
        "work": str(work), "venv_site_packages": purelib, "colab_site": str(work / "colab-site"),
        "course_dir": str(content / "hpo-course"), "colab_packages": sorted(colab_dists), "wheels": wheels,
        "before": before, "after": after, "site_before": site_before, "runs": runs, "timings": timings,
        "total_s": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--work", type=Path, help="folder to build in (default: a new temp folder, kept)")
    parser.add_argument("--notebooks", nargs="+", default=["01", "06"], help="notebook numbers to run")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="hpo-colab-sim."))
    report = simulate(work, tuple(args.notebooks))
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
