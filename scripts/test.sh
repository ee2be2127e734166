#!/usr/bin/env bash
# The one test command: installs what the tests need on a fresh Debian 12 machine, starts the
# services they use, and runs every suite. Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

step() { printf '\n==> %s\n' "$*"; }

step "Python tools (venv in target/venv)"
if [ ! -x target/venv/bin/python ]; then
  mkdir -p target
  python3 -m venv target/venv
fi
target/venv/bin/pip install --quiet --disable-pip-version-check 'jsonschema>=4.20,<5' 'pytest>=8,<9'

step "Services: PostgreSQL 15, Azurite (Blob + Queue), mock OpenID provider"
eval "$(bash scripts/start-postgres.sh)"
eval "$(bash scripts/start-azurite.sh)"
eval "$(bash scripts/start-oidc.sh)"

step "Formatting and lints"
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings

step "Module layers (scripts/check-layers.sh)"
bash scripts/check-layers.sh

step "Rust tests"
cargo test --locked

step "Sandbox contract: official Azure SDK for Python and MSAL (scripts/sdk-tests.sh)"
bash scripts/sdk-tests.sh

step "Dashboard in headless Chromium: Playwright and axe-core (scripts/web-tests.sh)"
bash scripts/web-tests.sh

step "Deployment package (release build, scripts/package.sh)"
bash scripts/package.sh

step "API contract (schemathesis against /api/openapi.json)"
bash scripts/api-contract.sh

step "Schema tests (and the package's layout: a missing zip fails)"
AZCOPS_REQUIRE_PACKAGE=1 AZCOPS_PACKAGE_ZIP="${PACKAGE_ZIP:-dist/azcops.zip}" target/venv/bin/python -m pytest -q tests/schemas

step "Infrastructure checks (offline)"
bash scripts/check-infra.sh

echo
echo "All suites passed."
