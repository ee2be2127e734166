#!/usr/bin/env bash
# Streams a generated FOCUS export of about 1 GB of CSV (gzip on disk; SUBS scales it) through
# `azcops exports ingest` into SQLite, and prints the wall time and the peak RSS of the ingestion.
# FORMAT=parquet generates and ingests the same rows as snappy Parquet partitions instead
# (read by ranges, one row group at a time). A measurement, not a test: it starts its own
# sandbox (for registration) and works in a temporary directory it removes. Uses the debug
# binary unless AZCOPS_BIN names another.
set -euo pipefail
cd "$(dirname "$0")/.."
SUBS=${SUBS:-560}
FORMAT=${FORMAT:-csv}
case "$FORMAT" in csv | parquet) ;; *) echo "FORMAT must be csv or parquet" >&2; exit 2 ;; esac
BIN=${AZCOPS_BIN:-target/debug/azcops}
AS_OF=2026-12-07
ESTATE="tenants=1,subscriptions=$SUBS,resources=100,days=35"
[ -x "$BIN" ] || cargo build --quiet
WORK=$(mktemp -d)
SANDBOX_PID=""
cleanup() {
  if [ -n "$SANDBOX_PID" ]; then kill "$SANDBOX_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "==> generating the estate's FOCUS exports ($ESTATE, $FORMAT)"
start=$(date +%s)
"$BIN" sandbox --estate "$ESTATE" --as-of "$AS_OF" --exports-dir "$WORK/exports" --exports-format "$FORMAT" \
  --exports-only >"$WORK/runs.txt"
echo "    generated in $(( $(date +%s) - start )) s"
# The November run: a whole month of every subscription.
MANIFEST=$(grep ' month 2026-11:' "$WORK/runs.txt" | sed 's/.*: //')
FOLDER=$(dirname "$WORK/exports/$MANIFEST")
ROWS=$(grep ' month 2026-11:' "$WORK/runs.txt" | sed 's/.*files, \([0-9]*\) rows.*/\1/')
if [ "$FORMAT" = parquet ]; then
  PQ=$(cat "$FOLDER"/part_*.parquet | wc -c)
  echo "    export: $ROWS rows, $(( PQ / 1048576 )) MiB of Parquet (snappy)"
else
  GZ=$(cat "$FOLDER"/part_*.csv.gz | wc -c)
  CSV=$(cat "$FOLDER"/part_*.csv.gz | gzip -dc | wc -c)
  echo "    export: $ROWS rows, $(( CSV / 1048576 )) MiB of CSV, $(( GZ / 1048576 )) MiB gzip"
fi

echo "==> registering the tenant and its subscriptions (sandbox ARM)"
"$BIN" sandbox --estate "$ESTATE" --as-of "$AS_OF" >"$WORK/sandbox.out" &
SANDBOX_PID=$!
for _ in $(seq 1 100); do grep -q '^# serving on' "$WORK/sandbox.out" 2>/dev/null && break; sleep 0.2; done
eval "$(grep '^export ' "$WORK/sandbox.out")"
export DATABASE_URL="sqlite://$WORK/azcops.db" AZCOPS_RAW_STORE="$WORK/raw" AZCOPS_AZURE_CREDENTIAL=managed_identity RUST_LOG=warn
TENANT=${AZCOPS_SANDBOX_TENANTS%%,*}
"$BIN" tenant add --name bench --azure-tenant-id "$TENANT" >/dev/null
"$BIN" subscription discover --tenant "$TENANT" >/dev/null
"$BIN" exports source --tenant "$TENANT" --all exports >/dev/null

echo "==> ingesting (peak RSS of the ingestion process)"
/usr/bin/time -f '%e %M' -o "$WORK/time.txt" \
  "$BIN" exports ingest --tenant "$TENANT" --container-dir "$WORK/exports" "$MANIFEST" >"$WORK/ingest.txt" 2>"$WORK/ingest.err"
read -r WALL RSS_KB <"$WORK/time.txt"
SLICES=$(grep -c 'export rows ->' "$WORK/ingest.txt")
echo "    ingested $ROWS $FORMAT rows into $SLICES slices in ${WALL} s, peak RSS $(( RSS_KB / 1024 )) MiB"
