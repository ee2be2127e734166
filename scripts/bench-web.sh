#!/usr/bin/env bash
# Dashboard benchmarks against `azcops demo` (tests/web/browser/bench.py): server render p50/p95
# per page, the overview's compressed first-load transfer size and its load time with charts
# drawn in headless Chromium. `--screenshots docs` also regenerates the README's screenshots.
# Uses the same tools as scripts/web-tests.sh (run that once first to install them); builds the
# release binary unless AZCOPS_BIN is set.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${AZCOPS_BIN:-target/release/azcops}
if [ -z "${AZCOPS_BIN:-}" ]; then
  cargo build --locked --release --bin azcops
fi
AZCOPS_WEB_BIN="$PWD/$BIN" \
AZCOPS_WEB_CHROMIUM="$(command -v chromium)" \
  target/web-venv/bin/python tests/web/browser/bench.py "$@"
