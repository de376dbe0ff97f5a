#!/usr/bin/env bash
# test-browser.sh: the browser test of the web mode (frontend/e2e/), with
# the real binary and the real engine behind it; Debian's chromium driven
# by playwright-core. Every *.test.mjs of frontend/e2e/ runs: web.test.mjs
# (up, live state, logs, down of the shop), revisions.test.mjs (deploy,
# rollback and history from a temporary Git repo of probe definitions),
# databases.test.mjs (a PostgreSQL 15 clone from a seed: snapshot, rows
# deleted with psql, restore), drift.test.mjs (docker update from
# outside shows as drift live, healed from the UI), copies.test.mjs (a
# secret asked for and a variant picked in the New environment dialog, two
# copies of one definition on moved ports), develop.test.mjs (the Watch
# toggle: a host edit synced into the running container) and home.test.mjs
# (the first screen's definitions with their preflight, Open repository, Up).
# Installs nothing: scripts/deps.sh and npm ci do.
# Screenshots of each step: build/artifacts/playwright/.
#
#   scripts/test-browser.sh [path/to/berth]     default build/bin/berth
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/bin/berth}
for need in "$bin" /usr/bin/chromium frontend/node_modules/playwright-core; do
  if [ ! -e "$need" ]; then
    echo "test-browser: $need is missing (make deps, make build)" >&2
    exit 1
  fi
done
mkdir -p build/artifacts/playwright
BERTH_BIN=$(realpath "$bin") node --test frontend/e2e/
