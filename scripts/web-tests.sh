#!/usr/bin/env bash
# The dashboard in a real browser (tests/web/browser): headless Debian `chromium` driven by
# Playwright for Python through `executable_path` (no browser download), axe-core from npm
# injected by the tests (never by the app), against one `azcops demo` on a free port (sandbox
# estate, full ingestion, the local host emulator with the repository's host.json).
#
# Installs what is missing: `chromium` (apt), a venv in target/web-venv (playwright, pytest),
# axe-core in target/web-node. AZCOPS_BIN overrides the binary (default target/debug/azcops,
# built when missing). Extra arguments go to pytest (e.g. `-k axe`).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; fi
  $sudo apt-get install -y -qq chromium >/dev/null || { $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium >/dev/null; }
fi

if [ ! -x target/web-venv/bin/python ]; then
  mkdir -p target
  python3 -m venv target/web-venv
fi
target/web-venv/bin/pip install --quiet --disable-pip-version-check 'playwright>=1.65,<2' 'pytest>=8,<10'

if [ ! -f target/web-node/node_modules/axe-core/axe.min.js ]; then
  mkdir -p target/web-node
  (cd target/web-node && npm install --silent --no-audit --no-fund 'axe-core@4')
fi

BIN=${AZCOPS_BIN:-target/debug/azcops}
if [ -z "${AZCOPS_BIN:-}" ]; then
  cargo build --locked --bin azcops
fi

AZCOPS_WEB_BIN="$PWD/$BIN" \
AZCOPS_WEB_CHROMIUM="$(command -v chromium)" \
AZCOPS_WEB_AXE="$PWD/target/web-node/node_modules/axe-core/axe.min.js" \
  target/web-venv/bin/python -m pytest -q -p no:cacheprovider tests/web/browser "$@"
