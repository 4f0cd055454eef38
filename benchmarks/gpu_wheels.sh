#!/usr/bin/env bash
# Fetch, HERE (where PyPI and ../shared/data are), what benchmarks/gpu_check.sh needs on the GPU machine,
# which has Python 3.12 with torch, numpy, scipy, scikit-learn and pandas but no network:
#
#   .whl/        one wheel per package the GPU machine lacks, for CPython 3.12 on manylinux x86-64, at the
#                versions of requirements-lock.txt (`python -m benchmarks.gpu_check pins` lists them)
#   .gpu_faces/  the real faces at 24x24 (faces24.npz, ~10 MB instead of the CSV's 61 MB); never committed
#
# Both folders are git-ignored (.gitignore and .git/info/exclude); carry both to the GPU machine beside the
# checkout. Usage:
#
#   bash benchmarks/gpu_wheels.sh            # the wheels the GPU image lacks (its package list is in gpu_check.py)
#   BARE=1 bash benchmarks/gpu_wheels.sh     # also matplotlib, pytest, pillow...: for a machine with only the five
#
# Environment: PYTHON (default .venv/bin/python), GPU_CHECK_WHEELS (default .whl), GPU_CHECK_FACES (default .gpu_faces).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
WHEELS=${GPU_CHECK_WHEELS:-.whl}
FACES=${GPU_CHECK_FACES:-.gpu_faces}
LIMIT_MB=50

exclude=$(git rev-parse --git-path info/exclude)
mkdir -p "$(dirname "$exclude")"
for pattern in "/$WHEELS/" "/$FACES/"; do
    grep -qxF "$pattern" "$exclude" 2>/dev/null || echo "$pattern" >>"$exclude"
done

pins=$("$PY" -m benchmarks.gpu_check pins ${BARE:+$([ "$BARE" = 1 ] && echo --bare)})
mkdir -p "$WHEELS"
rm -f "$WHEELS"/*.whl  # one version of each: two of one package stop the install there
for pin in $pins; do
    if ! "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d "$WHEELS" "$pin" 2>/dev/null; then
        # No wheel on PyPI (madgrad 1.3 is an sdist only): build one. Only a pure-Python package may be built
        # here, on another Python, and travel.
        "$PY" -m pip wheel -q --no-deps -w "$WHEELS" "$pin" 2>/dev/null || { echo "cannot fetch $pin" >&2; exit 1; }
        name=${pin%%==*}
        built=$(ls "$WHEELS" | grep -i "^${name//-/_}-" | head -1)
        case "$built" in
            *-none-any.whl) echo "built $built (no wheel on PyPI)" ;;
            *) echo "$pin: no CPython 3.12 manylinux wheel, and the one built here ($built) is not pure Python" >&2; exit 1 ;;
        esac
    fi
done
echo "$(ls "$WHEELS"/*.whl | wc -l) wheels in $WHEELS/ for $(echo "$pins" | wc -w) pins"

if "$PY" -c "import sys; from benchmarks.gpu_check import REAL_DATA; sys.exit(0 if REAL_DATA.is_file() else 1)"; then
    "$PY" -m benchmarks.gpu_check faces "$FACES"
else
    echo "no real face data (../shared/data/age_gender.csv.gz): the GPU check will train on synthetic faces" >&2
fi

total=$(du -cm "$WHEELS" "$FACES" 2>/dev/null | tail -1 | cut -f1)
du -sh "$WHEELS" "$FACES" 2>/dev/null || true
echo "carried in all: ${total} MB"
if [ "$total" -gt "$LIMIT_MB" ]; then
    echo "warning: over ${LIMIT_MB} MB; the device tool carries at most 64 MiB with the working tree" >&2
fi
