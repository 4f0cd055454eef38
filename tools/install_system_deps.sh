#!/usr/bin/env bash
# System packages the full test suite uses beyond Python: PostgreSQL (the scaling-out tests) and Chromium with
# its driver (the rendered-site and JupyterLab checks). Idempotent; needs root (CI runs as root). Locally, tests
# that need a missing one skip with the reason, so a laptop without them still passes `make test`. In CI
# (CI=true) a failed install fails this script, and a skipped PostgreSQL or browser test fails the run.
set -uo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
{ command -v initdb || ls /usr/lib/postgresql/*/bin/initdb; } >/dev/null 2>&1 || need+=(postgresql)
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
skips() {  # what the suite does without them
  echo "  Without chromium/chromedriver: tests/test_site.py and tests/test_lab_browser.py skip (the rendered site, JupyterLab in a browser)."
  echo "  Without PostgreSQL's server: tests/test_postgres.py and notebook 11's PostgreSQL cells skip (the journal file stands in)."
  echo "  Everything else runs. In CI (CI=true) those skips are failures."
}
if ! command -v apt-get >/dev/null 2>&1; then
  echo "system deps: missing ${need[*]}, and this machine has no apt-get to install them with."
  skips
  case "$(uname -s)" in
    Darwin) echo "  On macOS (Homebrew): brew install --cask chromium && brew install chromedriver postgresql@16" ;;
    MINGW*|MSYS*|CYGWIN*) echo "  On Windows: winget install Chromium.ChromeDriver Hibbiki.Chromium PostgreSQL.PostgreSQL.16" ;;
    *) echo "  Elsewhere: install Chromium, its matching chromedriver and PostgreSQL's server with your package manager (dnf, pacman, ...)" ;;
  esac
  echo "  The tests find chromium and chromedriver on PATH, and PostgreSQL's initdb on PATH or under /usr/lib/postgresql/*/bin."
  if $ci; then exit 1; fi
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "system deps: missing ${need[*]}; installing them needs root: sudo bash $0"
  skips
  if $ci; then exit 1; fi
  exit 0
fi
start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
timeout 300 apt-get update -qq || fail "apt-get update failed"
timeout 600 apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
  || fail "apt-get install ${need[*]} failed: their tests will skip"
echo "system deps: installed ${need[*]} in $(( $(date +%s) - start )) s"
