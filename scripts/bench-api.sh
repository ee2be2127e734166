#!/usr/bin/env bash
# Load test of the dashboard API on loopback with wrk: `azcops serve` (release build), uncached
# (AZCOPS_API_CACHE_SECONDS=0), a valid token from the mock OpenID provider, 64 connections, on
# PostgreSQL and on SQLite, each holding the cost-analytics reference data: 20 tenants, one of
# them (the token's) with 100 subscriptions x 395 days x 40 cost rows a day (~1.6 M rows) and
# resources tagged with a cost center; the others with 2 subscriptions each. The cost rollups
# are built with `azcops rollups rebuild` after the bulk load (timed).
# Prints `name: value unit` lines (req/s, p50/p95/p99 latency, non-2xx responses) per backend for
# /costs/summary over 30 days and 13 months, /costs/explore by service and by the cost-center
# tag, a resources page, and the resources page again with Application Insights configured (the
# sandbox as its ingestion endpoint) to show telemetry's per-request cost.
# Options (env): AZCOPS_BENCH_API_BACKENDS ("postgres sqlite"), AZCOPS_BENCH_API_DURATION (15s),
# AZCOPS_BENCH_API_CONNECTIONS (64), AZCOPS_BENCH_API_THREADS (2), AZCOPS_BENCH_API_RUNS (3 measured
# runs per endpoint, each printed, the median by p95 reported as the figures), AZCOPS_BENCH_API_PORT (10125),
# AZCOPS_BENCH_API_SUBSCRIPTIONS (100), AZCOPS_BENCH_API_DAYS (395), AZCOPS_BENCH_API_ROWS_PER_DAY
# (40), AZCOPS_BENCH_API_RESOURCES (200 per subscription), AZCOPS_BENCH_API_TENANTS (20),
# AZCOPS_BENCH_API_BIN (a prebuilt binary to measure), AZCOPS_BENCH_API_SEED=0 (measure the data
# the previous run loaded, e.g. after changing only the server). A running mock provider
# (AZCOPS_TEST_OIDC) and PostgreSQL (AZCOPS_TEST_POSTGRES_URL) are used as they are; otherwise
# scripts/start-oidc.sh and scripts/start-postgres.sh start them.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
STATE="$REPO/target/bench-api"
PORT="${AZCOPS_BENCH_API_PORT:-10125}"
DURATION="${AZCOPS_BENCH_API_DURATION:-15s}"
CONNECTIONS="${AZCOPS_BENCH_API_CONNECTIONS:-64}"
THREADS="${AZCOPS_BENCH_API_THREADS:-2}"
RUNS="${AZCOPS_BENCH_API_RUNS:-3}"
# wrk gives up on a response after 2 s by default and counts it as an error; a slow answer is a
# latency to report, not an error.
WRK_TIMEOUT=30s
if ! [[ "$RUNS" =~ ^[1-9][0-9]?$ ]]; then
  echo "bench-api: AZCOPS_BENCH_API_RUNS must be a number from 1 to 99, not '$RUNS'" >&2
  exit 2
fi
BACKENDS="${AZCOPS_BENCH_API_BACKENDS:-postgres sqlite}"
SUBS="${AZCOPS_BENCH_API_SUBSCRIPTIONS:-100}"
DAYS="${AZCOPS_BENCH_API_DAYS:-395}"
ROWS="${AZCOPS_BENCH_API_ROWS_PER_DAY:-40}"
RESOURCES="${AZCOPS_BENCH_API_RESOURCES:-200}"
TENANTS="${AZCOPS_BENCH_API_TENANTS:-20}"
TENANT="00000000-0000-4000-8000-00000000be01"
AUDIENCE="api://azcops-bench"
mkdir -p "$STATE"

if ! command -v wrk >/dev/null; then
  echo "bench-api: installing wrk (apt)" >&2
  apt-get install -y wrk >/dev/null
fi

reachable() { curl -fsS -o /dev/null "$1/.well-known/openid-configuration" 2>/dev/null; }
if [ -z "${AZCOPS_TEST_OIDC:-}" ] || ! reachable "$AZCOPS_TEST_OIDC"; then
  eval "$(bash "$REPO/scripts/start-oidc.sh")"
fi

# AZCOPS_BENCH_API_BIN: measure a given binary instead of building target/release/azcops.
if [ -n "${AZCOPS_BENCH_API_BIN:-}" ]; then
  BIN="$AZCOPS_BENCH_API_BIN"
else
  cargo build -q --release --bin azcops
  BIN="$REPO/target/release/azcops"
fi

rebuild_rollups() {
  local started=$SECONDS
  "$BIN" rollups rebuild 2>"$STATE/rollups-$1.log"
  echo "api_${1}_rollups_rebuild: $((SECONDS - started)) s for $(grep -c rebuilt "$STATE/rollups-$1.log") tenant-months"
}

prepare_sqlite() {
  rm -f "$STATE"/api.db*
  export DATABASE_URL="sqlite://$STATE/api.db?mode=rwc"
  "$BIN" migrate >/dev/null
  python3 "$REPO/scripts/api-seed.py" "$STATE/api.db" "$TENANT" --subscriptions "$SUBS" --days "$DAYS" \
    --rows-per-day "$ROWS" --resources-per-subscription "$RESOURCES" --other-tenants "$((TENANTS - 2))" >/dev/null
  rebuild_rollups sqlite
  sqlite3 "$STATE/api.db" "ANALYZE" 2>/dev/null || true
}

prepare_postgres() {
  if [ -z "${AZCOPS_TEST_POSTGRES_URL:-}" ]; then
    eval "$(bash "$REPO/scripts/start-postgres.sh")"
  fi
  local psql
  psql="$(ls /usr/lib/postgresql/*/bin/psql | tail -1)"
  "$psql" -q "$AZCOPS_TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS azcops_bench_api WITH (FORCE)" \
    -c "CREATE DATABASE azcops_bench_api" >/dev/null
  export DATABASE_URL="${AZCOPS_TEST_POSTGRES_URL%/*}/azcops_bench_api"
  "$BIN" migrate >/dev/null
  "$psql" -q "$DATABASE_URL" -v tenant="$TENANT" -v subs="$SUBS" -v others="$((TENANTS - 1))" -v other_subs=2 \
    -v res="$RESOURCES" -v days="$DAYS" -v rows="$ROWS" -f "$REPO/scripts/bench-api-seed.sql" >/dev/null
  rebuild_rollups postgres
  "$psql" -q "$DATABASE_URL" -c "VACUUM ANALYZE" >/dev/null
}

SERVER_PID=""
SANDBOX_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$SANDBOX_PID" ]; then kill "$SANDBOX_PID" 2>/dev/null || true; fi
}
stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# The sandbox as Application Insights' ingestion endpoint for the telemetry run.
SANDBOX_PORT=$((PORT + 1))
SANDBOX_URL="http://127.0.0.1:$SANDBOX_PORT"
"$BIN" sandbox --port "$SANDBOX_PORT" --estate tenants=1,subscriptions=1,resources=5,days=2 >"$STATE/sandbox.log" 2>&1 &
SANDBOX_PID=$!
for _ in $(seq 100); do
  if curl -fsS -o /dev/null "$SANDBOX_URL/_sandbox/telemetry" 2>/dev/null; then break; fi
  sleep 0.1
done
TELEMETRY="InstrumentationKey=00000000-0000-4000-8000-0000000000b1;IngestionEndpoint=$SANDBOX_URL/"
trap cleanup EXIT

start_server() { # backend [extra VAR=value ...]
  local backend=$1
  shift
  # Request logging stays on (as deployed): one JSON line per request, to a file.
  env "$@" FUNCTIONS_APP_ROOT_PATH="$REPO" AZCOPS_AUTH_AUDIENCE="$AUDIENCE" AZCOPS_AUTH_AUTHORITY="$AZCOPS_TEST_OIDC" \
    AZCOPS_AUTH_JWKS_URL="$AZCOPS_TEST_OIDC/jwks" AZCOPS_API_RATE_LIMIT_PER_MINUTE=0 AZCOPS_API_RATE_LIMIT_PER_CALLER_PER_MINUTE=0 \
    AZCOPS_API_CACHE_SECONDS=0 \
    RUST_LOG=info AZCOPS_LOG_FORMAT=json "$BIN" serve --port "$PORT" >"$STATE/server-$backend.log" 2>&1 &
  SERVER_PID=$!
  # A server left on the port would answer instead of this one and be measured in its place.
  sleep 0.5
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "bench-api: the server did not start (port $PORT in use?):" >&2
    cat "$STATE/server-$backend.log" >&2
    exit 1
  fi
  for _ in $(seq 100); do
    if curl -fsS "http://127.0.0.1:$PORT/api/health" >/dev/null 2>&1; then break; fi
    sleep 0.1
  done
}

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
  # Warm-up, then the measured runs: each is printed, and the figures reported under the
  # endpoint's name are the median run's (by p95), since a shared 2-core machine's throughput
  # drifts by a fifth between otherwise identical runs.
  wrk -t"$THREADS" -c"$CONNECTIONS" -d3s --timeout "$WRK_TIMEOUT" -H "Authorization: Bearer $TOKEN" "$url" >/dev/null
  local results=() run line
  for run in $(seq "$RUNS"); do
    line=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout "$WRK_TIMEOUT" -H "Authorization: Bearer $TOKEN" \
      -s "$STATE/report.lua" "$url" | grep '^RESULT')
    results+=("$line")
    if [ "$RUNS" -gt 1 ]; then
      read -r _ rps p50 p95 p99 bad total <<<"$line"
      echo "api_${name}_run_$run: $rps req/s, p50 $p50 / p95 $p95 / p99 $p99 ms, $bad errors"
    fi
  done
  read -r _ rps p50 p95 p99 bad total < <(printf '%s\n' "${results[@]}" | sort -g -k4 | sed -n "$(((RUNS + 1) / 2))p")
  echo "api_${name}_requests_per_sec: $rps req/s"
  echo "api_${name}_latency_p50: $p50 ms"
  echo "api_${name}_latency_p95: $p95 ms"
  echo "api_${name}_latency_p99: $p99 ms"
  echo "api_${name}_errors: $bad of $total requests"
}

echo "api_connections: $CONNECTIONS connections"
for backend in $BACKENDS; do
  if [ "${AZCOPS_BENCH_API_SEED:-1}" = 0 ]; then
    case $backend in
      sqlite) export DATABASE_URL="sqlite://$STATE/api.db" ;;
      postgres) export DATABASE_URL="${AZCOPS_TEST_POSTGRES_URL%/*}/azcops_bench_api" ;;
    esac
  else
    "prepare_$backend"
  fi
  start_server "$backend"
  run "${backend}_costs_summary_30d" "/api/v1/costs/summary?days=30"
  run "${backend}_costs_summary_13m" "/api/v1/costs/summary?days=395"
  run "${backend}_explore_service_30d" "/api/v1/costs/explore?group_by=service"
  run "${backend}_explore_tag_30d" "/api/v1/costs/explore?group_by=tag:cost-center"
  run "${backend}_resources_page50" "/api/v1/resources?page_size=50"
  # 13 calendar months by resource group: whole months from the month-level rollup, the current
  # month's days from the per-subscription daily rollup (40 combinations a subscription-day).
  run "${backend}_explore_rg_13m_month" "/api/v1/costs/explore?group_by=resource_group&granularity=month&from=$(date -u -d "$(date -u +%Y-%m-01) -12 months" +%F)"
  stop_server
  # Telemetry's per-request cost: the resources page again with Application Insights configured,
  # its ingestion endpoint the sandbox's `/v2/track` (requests, dependencies and metrics sent).
  start_server "$backend" APPLICATIONINSIGHTS_CONNECTION_STRING="$TELEMETRY" WEBSITE_SITE_NAME=azcops-bench
  run "${backend}_resources_page50_telemetry" "/api/v1/resources?page_size=50"
  stop_server
  echo "api_${backend}_telemetry_items_received: $(curl -fsS "$SANDBOX_URL/_sandbox/telemetry" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["items"]) + d["dropped_items"], "items,", len(d["uploads"]), "uploads kept,", d["refused_uploads"], "refused")')"
done
