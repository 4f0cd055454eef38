#!/usr/bin/env bash
# Every GPU check of the course in one call of at most 8 minutes (issue 27), CSVs under one folder:
#
#   bash benchmarks/gpu_check.sh [--dry] [OUT_DIR]      # OUT_DIR: default $OUT, else build/gpu_check
#   DRY=1 bash benchmarks/gpu_check.sh /tmp/gpu_check   # the same as --dry
#
# On the GPU machine: carry .whl/ and .gpu_faces/ beside the checkout (benchmarks/gpu_wheels.sh fetches them
# here); the wheels are installed offline into /tmp/site. Dry mode runs the same steps on the CPU at tiny
# sizes with this machine's .venv, installing nothing (tests/test_gpu_check.py runs it).
#
# Steps (benchmarks/gpu_check.py): preflight, cuda_tests, repro, epoch, batched, study_plain, study_lockstep,
# notebook. Each runs in a fresh process under its own limit, and the whole script under GPU_CHECK_BUDGET_S
# (480 s, less what the install took): a step that would start with too little time left is not run, and
# says so in steps.csv. Output: steps.csv, cuda_tests.csv, repro.csv, epoch.csv, batched.csv, study.csv,
# notebook.csv and gpu_check.log (8 files: all that the device tool brings back); the rest (SQLite studies,
# the executed notebook, the face cache) stays in GPU_CHECK_WORK (default: a new folder under /tmp).
#
# Exit status: 0 when every step passed or skipped with a reason, 1 otherwise.
set -uo pipefail
start=$(date +%s)
cd "$(dirname "$0")/.."

DRY=${DRY:-0}
out_arg=""
for arg in "$@"; do
    case "$arg" in
        --dry) DRY=1 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) out_arg=$arg ;;
    esac
done
OUT_DIR=${out_arg:-${OUT:-build/gpu_check}}
WHEELS=${GPU_CHECK_WHEELS:-.whl}
BUDGET_S=${GPU_CHECK_BUDGET_S:-480}
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
WORK=${GPU_CHECK_WORK:-$(mktemp -d /tmp/gpu_check.XXXXXX)}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
rm -f "$OUT_DIR"/{steps,cuda_tests,repro,epoch,batched,study,notebook}.csv "$WORK/steps.tsv"
rm -rf "$WORK/notes"
exec > >(tee "$OUT_DIR/gpu_check.log") 2>&1
export PYTHONUNBUFFERED=1

if [ "$DRY" = 1 ]; then
    PY=${PYTHON:-.venv/bin/python}
    [ -x "$PY" ] || PY=python3
    dry=(--dry)
    # Light on a small shared CPU: one thread everywhere (the runner and the notebook read the first).
    export TUTORIAL_UTILS_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
    export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
    echo "dry mode: $($PY --version) from $PY, no install"
else
    PY=${PYTHON:-python3}
    dry=()
    if compgen -G "$WHEELS/*.whl" >/dev/null; then
        echo "installing $(ls "$WHEELS"/*.whl | wc -l) wheels from $WHEELS into /tmp/site (offline)"
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
            "$WHEELS"/*.whl || { echo "wheel install failed"; exit 1; }
        export PYTHONPATH=/tmp/site:$PWD
        # --no-deps installs blind: list what does not fit together (the image's own packages too), for the log.
        echo "pip check (for information):"; "$PY" -m pip check 2>&1 | sed 's/^/  /' | head -40
    else
        echo "no wheels in $WHEELS/: using what $PY has (run benchmarks/gpu_wheels.sh here and carry .whl/)"
        export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
    fi
fi
# The course's parsed-data cache, where preflight puts the faces for every step (and nowhere in $HOME).
export TUTORIAL_UTILS_CACHE=$WORK/cache
# Jupyter's, IPython's and matplotlib's own files too: a read-only or shared home changes nothing.
export JUPYTER_RUNTIME_DIR=$WORK/jupyter IPYTHONDIR=$WORK/ipython MPLCONFIGDIR=$WORK/matplotlib
echo "out: $OUT_DIR  work: $WORK  budget: ${BUDGET_S} s  (install and setup took $(( $(date +%s) - start )) s)"

# run_step NAME LIMIT_S: run one step in its own process, at most LIMIT_S and never past the budget.
run_step() {
    local name=$1 limit=$2 left t0 t1 ms seconds code
    left=$(( BUDGET_S - ($(date +%s) - start) - 5 ))  # 5 s for finish
    [ "$left" -lt "$limit" ] && limit=$left
    if [ "$limit" -lt 15 ]; then
        printf '%s\t-1\t0\t%s\n' "$name" "$limit" >>"$WORK/steps.tsv"
        mkdir -p "$WORK/notes"; echo "not run: the 8-minute budget was spent" >"$WORK/notes/$name.txt"
        echo "== $name: not run (${left} s left)"
        return
    fi
    echo "== $name (limit ${limit} s)"
    t0=$(date +%s%N)
    GPU_CHECK_STEP_LIMIT=$limit timeout -k 5 "$limit" "$PY" -m benchmarks.gpu_check step "$name" --out "$OUT_DIR" --work "$WORK" "${dry[@]}"
    code=$?
    t1=$(date +%s%N)
    ms=$(( (t1 - t0) / 1000000 ))
    seconds=$(printf '%d.%03d' $(( ms / 1000 )) $(( ms % 1000 )))
    printf '%s\t%s\t%s\t%s\n' "$name" "$code" "$seconds" "$limit" >>"$WORK/steps.tsv"
    echo "== $name: exit $code after $seconds s"
    return "$code"
}

# Limits: about twice each step's expected time on an H200 (gpu_check.py, SIZES, says how they were sized).
if run_step preflight 90; then
    run_step cuda_tests 90
    run_step repro 90
    run_step epoch 120
    run_step batched 150
    run_step study_plain 200
    run_step study_lockstep 120
    run_step notebook 150
else
    for name in cuda_tests repro epoch batched study_plain study_lockstep notebook; do
        printf '%s\t-1\t0\t0\n' "$name" >>"$WORK/steps.tsv"
        mkdir -p "$WORK/notes"; echo "not run: preflight failed" >"$WORK/notes/$name.txt"
    done
fi
"$PY" -m benchmarks.gpu_check finish --out "$OUT_DIR" --work "$WORK" "${dry[@]}"
code=$?
echo "gpu_check.sh took $(( $(date +%s) - start )) s; CSVs in $OUT_DIR"
exit "$code"
