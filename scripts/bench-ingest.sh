#!/usr/bin/env bash
# The main job at scale: a full ingestion run of 500 subscriptions (100 customer tenants x 5, an
# MSP's shape) against the sandbox with every quota on and lognormal latency, through
# `azcops ingest` — the pipeline `ingest_subscription` runs, then the rules, in one process at
# the concurrency one Functions instance gets from host.json (batchSize 16 + newBatchThreshold 8),
# so the process stands for one handler instance carrying the whole night. Prints the wall time,
# the quota lower bound (the least time the sandbox's buckets could have served the run's draws
# in, from /_sandbox/stats), their ratio (target <= 1.1), subscriptions/s, and the process's
# peak RSS (target <= 100 MB).
#
# The night measured is a steady-state one: every subscription was ingested the night before, so
# Cost Management is asked for yesterday plus the 3 refresh days (AZCOPS_INGEST_COST_DAYS=4 gives
# a first run exactly that window). AZCOPS_BENCH_INGEST_COST_DAYS=35 measures the first night's
# backfill instead: two calendar months of costs, 16 QPU per subscription, more than a tenant's
# 10-second window holds, so each subscription waits ~10 s on its tenant's quota between its
# small and its large queries — without its work slot, so the night stays bound by the quotas
# (targets: wall <= 1.1x the bound, <= 5 responses of 429 in the whole night, peak RSS <= 100 MB).
#
# Sizes: AZCOPS_BENCH_INGEST_TENANTS (100), AZCOPS_BENCH_INGEST_SUBSCRIPTIONS (5 per tenant),
# AZCOPS_BENCH_INGEST_RESOURCES (40 per subscription), AZCOPS_BENCH_INGEST_CONCURRENCY (24),
# AZCOPS_BENCH_INGEST_LATENCY (lognormal:100:0.5). AZCOPS_BIN picks the binary
# (default target/release/azcops, which the caller builds).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
BIN="${AZCOPS_BIN:-target/release/azcops}"
[[ "$BIN" = /* ]] || BIN="$REPO/$BIN"
TENANTS="${AZCOPS_BENCH_INGEST_TENANTS:-100}"
SUBS="${AZCOPS_BENCH_INGEST_SUBSCRIPTIONS:-5}"
RESOURCES="${AZCOPS_BENCH_INGEST_RESOURCES:-40}"
CONCURRENCY="${AZCOPS_BENCH_INGEST_CONCURRENCY:-24}"
LATENCY="${AZCOPS_BENCH_INGEST_LATENCY:-lognormal:100:0.5}"
COST_DAYS="${AZCOPS_BENCH_INGEST_COST_DAYS:-4}"
WORK="$REPO/target/bench/ingest"
rm -rf "$WORK"
mkdir -p "$WORK"

"$BIN" sandbox --estate "tenants=$TENANTS,subscriptions=$SUBS,resources=$RESOURCES,days=35" \
  --quotas on --latency "$LATENCY" >"$WORK/sandbox.out" 2>"$WORK/sandbox.err" &
SANDBOX_PID=$!
trap 'kill $SANDBOX_PID 2>/dev/null || true' EXIT
for _ in $(seq 600); do grep -q '^export AZCOPS_SANDBOX_TENANTS=' "$WORK/sandbox.out" 2>/dev/null && break; sleep 0.1; done
eval "$(grep '^export ' "$WORK/sandbox.out")"

# A fresh curated store — PostgreSQL, production's, when AZCOPS_TEST_POSTGRES_URL names a server
# (scripts/start-postgres.sh), else the embedded SQLite — and a local raw layer. Run from the work
# directory so no local.settings.json applies.
cd "$WORK"
if [ -n "${AZCOPS_TEST_POSTGRES_URL:-}" ] && [ "${AZCOPS_BENCH_INGEST_STORE:-postgres}" = postgres ]; then
  psql -q "$AZCOPS_TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS azcops_bench_ingest" -c "CREATE DATABASE azcops_bench_ingest"
  export DATABASE_URL="${AZCOPS_TEST_POSTGRES_URL%/*}/azcops_bench_ingest"
  STORE=postgres
else
  export DATABASE_URL="sqlite://$WORK/azcops.db"
  STORE=sqlite
fi
export AZCOPS_INGEST_COST_DAYS="$COST_DAYS" AZCOPS_INGEST_REFRESH_DAYS=3
export AZCOPS_DB_AUTH=password AZCOPS_RAW_STORE="$WORK/raw" AZCOPS_INGEST_CONCURRENCY="$CONCURRENCY" RUST_LOG="${RUST_LOG:-warn}"
"$BIN" migrate >/dev/null
i=0
for tenant in ${AZCOPS_SANDBOX_TENANTS//,/ }; do
  i=$((i + 1))
  "$BIN" tenant add --name "customer-$i" --azure-tenant-id "$tenant" --type external >/dev/null
  "$BIN" subscription discover --tenant "$tenant" >/dev/null
done

start=$(date +%s.%N)
status=0
"$BIN" ingest >"$WORK/ingest.out" 2>"$WORK/ingest.err" || status=$?
end=$(date +%s.%N)
if [ "$status" -ne 0 ]; then
  cat "$WORK/ingest.out" >&2
  tail -20 "$WORK/ingest.err" >&2
  echo "azcops ingest failed (exit $status)" >&2
  exit 1
fi

python3 - "$start" "$end" "$WORK/ingest.out" "$AZCOPS_ARM_ENDPOINT/_sandbox/stats" "$STORE" <<'PY'
import json, os, re, sys, urllib.request
start, end, summary_path, stats_url, store = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
summary = open(summary_path).read()
def field(name):
    m = re.search(rf"^{name}\s+(\d+)", summary, re.M)
    return int(m.group(1)) if m else None
stats = json.load(urllib.request.urlopen(stats_url))
bound = stats["quota_use"]["lower_bound"]
throttled = sum(api.get("throttled", 0) for api in stats["apis"].values())
requests = sum(api.get("requests", 0) for api in stats["apis"].values())
wall = end - start
ok, failed = field("subscriptions ok"), field("subscriptions failed")
rss = field("peak memory")
print(f"ingest.store: {store}")
print(f"ingest.cost_days: {os.environ['AZCOPS_INGEST_COST_DAYS']}")
print(f"ingest.subscriptions: {ok} ok, {failed} failed")
print(f"ingest.resources: {field('resources')}")
print(f"ingest.cost_rows: {field('cost rows')}")
print(f"ingest.requests: {requests} ({throttled} throttled by the sandbox)")
per_api = ", ".join(f"{name} {api.get('throttled', 0)}" for name, api in sorted(stats["apis"].items()) if api.get("throttled", 0))
print(f"ingest.throttled_429: {throttled} (target <= 5){': ' + per_api if per_api else ''}")
print(f"ingest.wall_s: {wall:.2f} s")
print(f"ingest.quota_lower_bound_s: {bound['seconds']:.2f} s ({bound['units']} units on {bound['bucket'].split(':')[0]})")
if bound["seconds"] > 0:
    print(f"ingest.wall_to_bound_ratio: {wall / bound['seconds']:.3f} (target <= 1.1)")
print(f"ingest.subscriptions_per_s: {ok / wall:.2f}")
print(f"ingest.peak_rss_mib: {rss} MiB (target <= 100 MB)")
PY
