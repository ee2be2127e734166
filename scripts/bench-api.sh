#!/usr/bin/env bash
# Load test of the dashboard API on loopback with wrk: `azcops serve` (release build) on a
# SQLite store holding the store issue's reference data (10 subscriptions x 395 days x 40 cost
# rows a day, plus resources), a valid token from the mock OpenID provider, 64 connections.
# Prints `name: value unit` lines (req/s, p50/p95/p99 latency, non-2xx responses) for
# /api/v1/costs/summary?days=30 and /api/v1/resources?page_size=50.
# Options (env): AZCOPS_BENCH_API_DURATION (default 15s), AZCOPS_BENCH_API_CONNECTIONS (64),
# AZCOPS_BENCH_API_THREADS (2), AZCOPS_BENCH_API_PORT (10125), AZCOPS_BENCH_API_SUBSCRIPTIONS (10),
# AZCOPS_BENCH_API_DAYS (395), AZCOPS_BENCH_API_ROWS_PER_DAY (40), AZCOPS_BENCH_API_RESOURCES (500
# per subscription), AZCOPS_BENCH_API_BIN (a prebuilt binary to measure).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
STATE="$REPO/target/bench-api"
PORT="${AZCOPS_BENCH_API_PORT:-10125}"
DURATION="${AZCOPS_BENCH_API_DURATION:-15s}"
CONNECTIONS="${AZCOPS_BENCH_API_CONNECTIONS:-64}"
THREADS="${AZCOPS_BENCH_API_THREADS:-2}"
TENANT="00000000-0000-4000-8000-00000000be01"
AUDIENCE="api://azcops-bench"
mkdir -p "$STATE"

if ! command -v wrk >/dev/null; then
  echo "bench-api: installing wrk (apt)" >&2
  apt-get install -y wrk >/dev/null
fi

eval "$(bash "$REPO/scripts/start-oidc.sh")"

# AZCOPS_BENCH_API_BIN: measure a given binary instead of building target/release/azcops.
if [ -n "${AZCOPS_BENCH_API_BIN:-}" ]; then
  BIN="$AZCOPS_BENCH_API_BIN"
else
  cargo build -q --release --bin azcops
  BIN="$REPO/target/release/azcops"
fi
rm -f "$STATE"/api.db*
export DATABASE_URL="sqlite://$STATE/api.db?mode=rwc"
"$BIN" migrate >/dev/null
python3 "$REPO/scripts/api-seed.py" "$STATE/api.db" "$TENANT" \
  --subscriptions "${AZCOPS_BENCH_API_SUBSCRIPTIONS:-10}" --days "${AZCOPS_BENCH_API_DAYS:-395}" \
  --rows-per-day "${AZCOPS_BENCH_API_ROWS_PER_DAY:-40}" \
  --resources-per-subscription "${AZCOPS_BENCH_API_RESOURCES:-500}" >/dev/null
sqlite3 "$STATE/api.db" "ANALYZE" 2>/dev/null || true

SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT
# Request logging stays on (as deployed): one JSON line per request, to a file.
FUNCTIONS_APP_ROOT_PATH="$REPO" AZCOPS_AUTH_AUDIENCE="$AUDIENCE" AZCOPS_AUTH_AUTHORITY="$AZCOPS_TEST_OIDC" \
  AZCOPS_AUTH_JWKS_URL="$AZCOPS_TEST_OIDC/jwks" AZCOPS_API_RATE_LIMIT_PER_MINUTE=0 RUST_LOG=info \
  AZCOPS_LOG_FORMAT=json "$BIN" serve --port "$PORT" >"$STATE/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  if curl -fsS "http://127.0.0.1:$PORT/api/health" >/dev/null 2>&1; then break; fi
  sleep 0.1
done

CLAIMS=$(printf '{"iss":"%s/%s/v2.0","aud":"%s","tid":"%s","roles":["AzCops.Reader"],"oid":"bench","name":"Bench"}' \
  "$AZCOPS_TEST_OIDC" "$TENANT" "$AUDIENCE" "$TENANT")
TOKEN=$(curl -fsS -X POST "$AZCOPS_TEST_OIDC/token" -d grant_type=client_credentials --data-urlencode "claims=$CLAIMS" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

cat >"$STATE/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %.1f %.3f %.3f %.3f %d %d\n", summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000, bad, summary.requests))
end
LUA

run() { # name path
  local name=$1 url="http://127.0.0.1:$PORT$2"
  local status
  status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$url")
  if [ "$status" != 200 ]; then
    echo "bench-api: $url answered $status" >&2
    exit 1
  fi
  # Warm-up, then the measured run.
  wrk -t"$THREADS" -c"$CONNECTIONS" -d3s -H "Authorization: Bearer $TOKEN" "$url" >/dev/null
  read -r _ rps p50 p95 p99 bad total < <(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" \
    -H "Authorization: Bearer $TOKEN" -s "$STATE/report.lua" "$url" | grep '^RESULT')
  echo "api_${name}_requests_per_sec: $rps req/s"
  echo "api_${name}_latency_p50: $p50 ms"
  echo "api_${name}_latency_p95: $p95 ms"
  echo "api_${name}_latency_p99: $p99 ms"
  echo "api_${name}_errors: $bad of $total requests"
}

echo "api_connections: $CONNECTIONS connections"
run costs_summary "/api/v1/costs/summary?days=30"
run resources_page50 "/api/v1/resources?page_size=50"
