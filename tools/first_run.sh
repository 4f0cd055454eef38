#!/usr/bin/env bash
# A new learner's first run, timed: clone the course, set it up, run notebook 01 headless (as shipped), then
# notebook 06 in fast mode. Usage: tools/first_run.sh [SOURCE_REPO] [WORKDIR]
# SOURCE_REPO defaults to this checkout (a learner would use the GitHub URL); WORKDIR to a fresh temp folder.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
source_repo="${1:-$here}"
work="${2:-$(mktemp -d /tmp/hpo-first-run.XXXXXX)}"
declare -a names times
step() {  # step NAME COMMAND...
  local name="$1"; shift
  echo "== $name"
  local t0=$(date +%s)
  "$@"
  names+=("$name"); times+=("$(( $(date +%s) - t0 ))")
}
step "git clone" git clone --quiet "$source_repo" "$work/course"
cd "$work/course"
step "make setup (venv + install)" make setup
step "notebook 01 (as shipped)" bash -c "cd notebooks && ../.venv/bin/papermill --no-progress-bar 01_manual_search.ipynb $work/01_out.ipynb"
step "notebook 06 (fast mode)" bash -c "cd notebooks && ../.venv/bin/papermill --no-progress-bar -p FAST True 06_age_gender_network.ipynb $work/06_out.ipynb"
echo
echo "| step | seconds |"
echo "|---|---|"
total=0
for i in "${!names[@]}"; do
  echo "| ${names[$i]} | ${times[$i]} |"
  total=$(( total + times[i] ))
done
echo "| total | $total |"
echo "(work folder: $work)"
