#!/usr/bin/env bash
# Prove the WHEEL, not the source tree, is a complete course package: build it from a copy of the sources,
# install it (no deps) into a fresh venv, import every module from there, and run notebook 01 in fast mode
# with a kernel of that venv, from a folder outside the checkout.
#
# Fast (well under a minute) because nothing is downloaded: the new venv sees the project's dependencies
# through a .pth line naming .venv's site-packages. A .pth line only appends that folder to sys.path; the
# .pth files inside it (among them the editable install's finder, which would import tutorial_utils from the
# checkout) are not run, and the venv's own site-packages, holding the wheel, comes first. The checks below
# assert that every tutorial_utils module was imported from the new venv.
#
# Usage: tools/wheel_check.sh   (PY=path/to/python builds with another venv; KEEP=1 keeps the temp dir;
#                               CELL_TIMEOUT_S fails a notebook cell that runs longer, default 180)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
py="${PY:-$repo/.venv/bin/python}"
work="$(mktemp -d "${TMPDIR:-/tmp}/hpo-wheel-check.XXXXXX")"
if [[ "${KEEP:-0}" != 1 ]]; then trap 'rm -rf "$work"' EXIT; else echo "(work folder: $work)"; fi
unset PYTHONPATH HPO_COURSE_HOME HPO_COURSE_DATA
start=$(date +%s)
elapsed() { echo "$(( $(date +%s) - start )) s"; }

echo "== build the wheel from a copy of the sources"
mkdir -p "$work/src"
(cd "$repo" && tar cf - --exclude=__pycache__ --exclude='*.pyc' pyproject.toml README.md PYPI_DESCRIPTION.md LICENSE tutorial_utils package/samplers/skopt_sampler) | tar xf - -C "$work/src"
"$py" -m pip wheel --quiet --no-deps --no-index --no-build-isolation -w "$work/dist" "$work/src" >/dev/null
wheel=$(ls "$work"/dist/tutorial_utils-*.whl)
echo "$(basename "$wheel") ($(elapsed))"

echo "== the wheel holds every module of the source tree, and nothing else"
"$py" - "$wheel" "$repo/tutorial_utils" "$repo/package/samplers/skopt_sampler" <<'EOF'
import sys, zipfile
from pathlib import Path
wheel, source, hub = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
names = zipfile.ZipFile(wheel).namelist()
expected = {f"tutorial_utils/{p.relative_to(source).as_posix()}" for p in source.rglob("*.py") if "__pycache__" not in p.parts}
# The OptunaHub package ships as tutorial_utils.optunahub_skopt (pyproject.toml's package-dir), its tests/ left out.
expected |= {f"tutorial_utils/optunahub_skopt/{p.name}" for p in hub.glob("*.py")}
assert not any("/tests/" in n for n in names), [n for n in names if "/tests/" in n]
licenses = [n for n in names if ".dist-info/licenses/" in n]
assert any(n.endswith("/LICENSE") for n in licenses), f"the wheel ships no LICENSE: {licenses}"
assert "tutorial_utils/py.typed" in names, "the wheel lacks tutorial_utils/py.typed"
metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
assert "License-Expression: MIT" in metadata and "License-File: LICENSE" in metadata, "license metadata"
assert "Project-URL: Source, https://github.com/" in metadata, "no project URLs"
description = metadata.split("\n\n", 1)[1]
assert "](http" in description and "](imgs/" not in description, "the long description has relative links"
missing = sorted(expected - set(names))
assert not missing, f"the wheel lacks {missing}"
stray = sorted(n for n in names if not n.startswith("tutorial_utils/") and ".dist-info/" not in n)
assert not stray, f"the wheel holds files outside tutorial_utils/: {stray}"
print(f"{len(expected)} modules, all present")
EOF

echo "== install it into a fresh venv (no deps; they come from .venv through a .pth line)"
"$py" -m venv --without-pip "$work/venv"
vpy="$work/venv/bin/python"
"$py" -m pip --python "$vpy" install --quiet --no-deps --no-index "$wheel"
deps=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
site=$("$vpy" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$deps" > "$site/_hpo_course_deps.pth"
echo "($(elapsed))"

echo "== import every module from the installed wheel, outside the checkout"
mkdir -p "$work/run/notebooks"
cd "$work/run"
"$vpy" - "$work/venv" "$repo" <<'EOF'
import importlib, importlib.metadata, os, pkgutil, sys
from pathlib import Path
venv, repo = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
assert Path(sys.prefix).resolve() == venv, sys.prefix
leaks = [p for p in sys.path if p and Path(p).resolve().is_relative_to(repo) and not Path(p).resolve().is_relative_to(repo / ".venv")]
assert not leaks, f"the checkout is on sys.path: {leaks}"
import tutorial_utils
modules = [tutorial_utils] + [
    importlib.import_module(info.name)
    for info in pkgutil.walk_packages(tutorial_utils.__path__, "tutorial_utils.")
    if not info.name.endswith("__main__")  # runs the CLI; checked below with --help
]
outside = [m.__name__ for m in modules if not Path(m.__file__).resolve().is_relative_to(venv)]
assert not outside, f"imported from outside the new venv: {outside}"
dist = importlib.metadata.distribution("tutorial_utils")
assert Path(dist.locate_file("tutorial_utils/__init__.py")).resolve() == Path(tutorial_utils.__file__).resolve()
from tutorial_utils import data, setup
assert setup._checkout_pyproject() is None
assert setup.MIN_VERSIONS == setup.minimums_from_requirements(importlib.metadata.requires("tutorial_utils"))
assert {"optuna", "torch", "scikit-optimize"} <= set(setup.MIN_VERSIONS), setup.MIN_VERSIONS
setup.check_versions()
cwd = Path.cwd()
assert data.repo_root() == cwd, data.repo_root()
assert data.data_dirs()[0] == cwd / "data"
print(f"{len(modules)} modules imported from {venv}; course home {data.repo_root()}")
EOF
echo "== the committed showdown records, from outside the checkout"
"$vpy" - <<'EOF'
from tutorial_utils import records
try:
    records.load_records()
except FileNotFoundError as exc:  # no results/ here: the error says where to point
    assert "HPO_COURSE_HOME" in str(exc), exc
else:
    raise AssertionError("records found without a course home")
EOF
HPO_COURSE_HOME="$repo" "$vpy" - "$repo" <<'EOF'
import sys
from pathlib import Path
from tutorial_utils import records
assert records.SHOWDOWN_RECORDS == Path(sys.argv[1]) / "results" / "showdown", records.SHOWDOWN_RECORDS
table = records.load_records()
assert len(table) > 0 and table["study"].nunique() > 1
print(f"{len(table)} trial records of {table['study'].nunique()} studies loaded through HPO_COURSE_HOME")
EOF
"$work/venv/bin/tutorial-utils" --help >/dev/null
"$vpy" -m tutorial_utils --help >/dev/null
echo "console script and python -m tutorial_utils work ($(elapsed))"

echo "== notebook 01 in fast mode, kernel = the new venv, from outside the checkout"
mkdir -p "$work/jupyter/kernels/python3"
cat > "$work/jupyter/kernels/python3/kernel.json" <<EOF
{"argv": ["$vpy", "-m", "ipykernel_launcher", "-f", "{connection_file}"], "display_name": "wheel check", "language": "python"}
EOF
# A copy of the notebook plus one last cell that fails unless the kernel imported the wheel.
"$py" - "$repo/notebooks/01_manual_search.ipynb" "$work/run/notebooks/01_manual_search.ipynb" "$work/venv" <<'EOF'
import sys
import nbformat
source, target, venv = sys.argv[1:]
nb = nbformat.read(source, as_version=4)
nb.cells.append(nbformat.v4.new_code_cell(
    "import sys, os, tutorial_utils\n"
    "from tutorial_utils.data import repo_root\n"
    f"assert os.path.realpath(sys.prefix) == os.path.realpath({venv!r}), sys.prefix\n"
    "assert os.path.realpath(tutorial_utils.__file__).startswith(os.path.realpath(sys.prefix) + os.sep), tutorial_utils.__file__\n"
    "assert str(repo_root()) == os.path.dirname(os.getcwd()), repo_root()\n"
    "print('WHEEL-CHECK: kernel imported', tutorial_utils.__file__)"
))
nbformat.write(nb, target)
EOF
cd "$work/run/notebooks"
JUPYTER_PATH="$work/jupyter" JUPYTER_DATA_DIR="$work/jupyter-data" MPLBACKEND=Agg \
  TUTORIAL_UTILS_CACHE="$work/cache" PYDEVD_DISABLE_FILE_VALIDATION=1 \
  "$vpy" -m papermill --no-progress-bar --log-level WARNING --execution-timeout "${CELL_TIMEOUT_S:-180}" \
  -k python3 -p FAST True \
  01_manual_search.ipynb "$work/run/01_out.ipynb"
grep -q "WHEEL-CHECK: kernel imported $work" "$work/run/01_out.ipynb" || { echo "the kernel did not report the wheel"; exit 1; }
echo "notebook 01 ran against the wheel ($(elapsed))"
echo "wheel check passed in $(elapsed)"
