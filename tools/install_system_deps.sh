#!/usr/bin/env bash
# System packages the full test suite uses beyond Python: PostgreSQL (the scaling-out tests) and Chromium with
# its driver (the rendered-site and JupyterLab checks). Idempotent; needs root (CI runs as root). Locally, tests
# that need a missing one skip with the reason, so a laptop without them still passes `make test`. In CI
# (CI=true) a failed install fails this script, and a skipped PostgreSQL or browser test fails the run.
set -uo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -eq 0 ]; then
  echo "system deps: already installed"
  exit 0
fi
ci=false
case "${CI:-}" in 1|true|TRUE|yes) ci=true ;; esac
fail() {
  echo "system deps: $1"
  if $ci; then exit 1; fi
  exit 0
}
if [ "$(id -u)" != 0 ]; then
  fail "not root, cannot install ${need[*]} (their tests will skip)"
fi
start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
timeout 300 apt-get update -qq || fail "apt-get update failed"
timeout 600 apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
  || fail "apt-get install ${need[*]} failed: their tests will skip"
echo "system deps: installed ${need[*]} in $(( $(date +%s) - start )) s"
