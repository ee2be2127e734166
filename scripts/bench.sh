#!/usr/bin/env bash
# Benchmarks: prints figures as `name: value` lines. Release builds; takes several minutes on
# 2 cores. Each benchmark documents the AZCOPS_BENCH_* variables that shrink or grow it.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=target/bench
mkdir -p "$OUT"

echo "==> handler cold start and idle memory (targets: <= 30 ms, <= 30 MiB)"
cargo bench --locked --bench startup

echo "==> sandbox: 500 x 500 estate generation (target: < 10 s)"
cargo bench --locked --bench sandbox

echo "==> curated store: 1M-row cost upserts and summary latency on SQLite and PostgreSQL"
eval "$(bash scripts/start-postgres.sh)"
cargo bench --locked --bench store

echo "==> connectors: mapping throughput, and a 50-subscription collection against the sandbox with quotas on"
cargo build --locked --release --bin azcops
SANDBOX_LOG="$OUT/sandbox.out"
target/release/azcops sandbox --estate tenants=1,subscriptions=50,resources=100,days=35 --quotas on \
  --out "$OUT/sandbox-estate" >"$SANDBOX_LOG" 2>"$OUT/sandbox.err" &
SANDBOX_PID=$!
trap 'kill $SANDBOX_PID 2>/dev/null || true' EXIT
for _ in $(seq 300); do grep -q '^export AZCOPS_SANDBOX_TENANTS=' "$SANDBOX_LOG" 2>/dev/null && break; sleep 0.1; done
eval "$(grep '^export ' "$SANDBOX_LOG")"
export AZCOPS_BENCH_TENANT="${AZCOPS_SANDBOX_TENANTS%%,*}"
cargo bench --locked --bench azure

echo "==> ingestion: 500 subscriptions (100 tenants x 5) against the sandbox, quotas on, lognormal latency"
echo "    (targets: wall time <= 1.1 x the quota lower bound, peak RSS <= 100 MB)"
bash scripts/bench-ingest.sh

echo "==> rule engine: every rule over 1,000,000 in-memory resources on one core (target: < 1000 ms)"
cargo bench --locked --bench rules

echo "==> dashboard API under load: wrk, 64 connections, reference data (targets: p95 <= 20 ms, >= 3000 req/s)"
bash scripts/bench-api.sh
