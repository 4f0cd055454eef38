#!/usr/bin/env bash
# System packages the full test suite uses beyond Python: PostgreSQL (the scaling-out tests) and Chromium with
# its driver (the rendered-site check). Idempotent; needs root (CI runs as root). Tests that need a missing
# one skip with the reason, so a laptop without them still passes `make test`.
set -uo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -eq 0 ]; then
  echo "system deps: already installed"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "system deps: not root, skipping install of ${need[*]} (their tests will skip)"
  exit 0
fi
start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
timeout 300 apt-get update -qq || echo "apt-get update failed"
timeout 600 apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || echo "apt-get install ${need[*]} failed: their tests will skip"
echo "system deps: installed ${need[*]} in $(( $(date +%s) - start )) s"
