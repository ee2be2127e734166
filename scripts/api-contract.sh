#!/usr/bin/env bash
# Contract fuzzing of the dashboard API with schemathesis (PyPI) against /api/openapi.json:
# starts the mock OpenID provider, `azcops serve` on a fresh SQLite store seeded by
# scripts/api-seed.py, mints a valid token for the seeded tenant, and runs schemathesis with
# checks: no 5xx, responses match the schema (status codes, content types, bodies).
# Exits non-zero on any failure. Options (env): AZCOPS_CONTRACT_PORT (default 10124),
# AZCOPS_CONTRACT_EXAMPLES (max examples per operation, default 40), AZCOPS_OIDC_PORT.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
STATE="$REPO/target/api-contract"
# A venv of its own: target/venv may be shared with other tooling.
VENV="$REPO/target/venv-api"
PORT="${AZCOPS_CONTRACT_PORT:-10124}"
EXAMPLES="${AZCOPS_CONTRACT_EXAMPLES:-40}"
TENANT="00000000-0000-4000-8000-00000000c0a1"
OPERATORS="00000000-0000-4000-8000-00000000c0c0"
AUDIENCE="api://azcops-contract"
mkdir -p "$STATE"

if [ ! -x "$VENV/bin/st" ]; then
  echo "api-contract: installing schemathesis into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check schemathesis >&2
fi

eval "$(bash "$REPO/scripts/start-oidc.sh")"

cargo build -q --bin azcops
BIN="$REPO/target/debug/azcops"
rm -f "$STATE"/api.db*
export DATABASE_URL="sqlite://$STATE/api.db?mode=rwc"
"$BIN" migrate >/dev/null
python3 "$REPO/scripts/api-seed.py" "$STATE/api.db" "$TENANT" --subscriptions 2 --days 40 --rows-per-day 5 \
  --resources-per-subscription 60 >"$STATE/seed.json"

SERVER_PID=""
SANDBOX_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$SANDBOX_PID" ]; then kill "$SANDBOX_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

# Subscription registration asks ARM who owns a subscription; the sandbox answers as ARM does
# (the fuzzer's random GUIDs are unknown there, so registration answers its documented 422).
"$BIN" sandbox --estate "tenants=2,subscriptions=2,resources=5,days=3" >"$STATE/sandbox.out" 2>"$STATE/sandbox.log" &
SANDBOX_PID=$!
for _ in $(seq 100); do
  if grep -q '^# serving on' "$STATE/sandbox.out" 2>/dev/null; then break; fi
  sleep 0.1
done
grep -q '^# serving on' "$STATE/sandbox.out"
eval "$(grep '^export ' "$STATE/sandbox.out")"
export AZCOPS_AZURE_CREDENTIAL=managed_identity

FUNCTIONS_APP_ROOT_PATH="$REPO" AZCOPS_AUTH_AUDIENCE="$AUDIENCE" AZCOPS_AUTH_AUTHORITY="$AZCOPS_TEST_OIDC" \
  AZCOPS_AUTH_JWKS_URL="$AZCOPS_TEST_OIDC/jwks" AZCOPS_API_RATE_LIMIT_PER_MINUTE=0 AZCOPS_API_RATE_LIMIT_PER_CALLER_PER_MINUTE=0 AZCOPS_CONTROL_PLANE_TENANT="$OPERATORS" RUST_LOG=warn \
  "$BIN" serve --port "$PORT" >"$STATE/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  if curl -fsS "http://127.0.0.1:$PORT/api/health" >/dev/null 2>&1; then break; fi
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$PORT/api/health" >/dev/null

token() { # tenant role
  local claims
  claims=$(printf '{"iss":"%s/%s/v2.0","aud":"%s","tid":"%s","roles":["%s"],"oid":"contract","name":"Contract"}' \
    "$AZCOPS_TEST_OIDC" "$1" "$AUDIENCE" "$1" "$2")
  curl -fsS -X POST "$AZCOPS_TEST_OIDC/token" -d grant_type=client_credentials --data-urlencode "claims=$claims" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
TOKEN=$(token "$TENANT" AzCops.Admin)
OPERATOR_TOKEN=$(token "$OPERATORS" AzCops.PlatformAdmin)

# Positive mode: every generated request is valid by the schema, so any 5xx or non-conforming
# response is a defect. Negative inputs are covered by the Rust tests (422 naming the field).
fuzz() { # token, extra args...
  local token=$1
  shift
  # Run from the state directory: schemathesis keeps a cache in its working directory.
  (cd "$STATE" && "$VENV/bin/st" run "http://127.0.0.1:$PORT/api/openapi.json" \
    --url "http://127.0.0.1:$PORT" \
    -H "Authorization: Bearer $token" \
    --mode positive \
    --phases examples,coverage,fuzzing \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "$EXAMPLES" \
    --generation-deterministic \
    --workers 2 \
    "$@")
}
STATUS=0
# Tenant data with a tenant admin's token; tenant management with a platform admin's.
fuzz "$TOKEN" --exclude-path-regex '/tenants' || STATUS=1
fuzz "$OPERATOR_TOKEN" --include-path-regex '/tenants' || STATUS=1
if grep -q '"level":"ERROR"' "$STATE/server.log"; then
  echo "api-contract: the server logged errors; see $STATE/server.log" >&2
  STATUS=1
fi
exit $STATUS
