#!/usr/bin/env bash
# The sandbox's contract with clients nobody here wrote: Microsoft's official Azure SDK for
# Python and MSAL drive `azcops sandbox --https` (tests/sdk). Two sandboxes on free loopback
# ports: a clean one, and one injecting 5xx errors and recurring 429 storms that the SDKs'
# retries must absorb. Both are stopped on exit.
#
# Last, the Rust SDK AzCops uses (azure_identity's ClientSecretCredential over azure_core) reads
# the clean sandbox through `azcops collect`, trusting the CA through SSL_CERT_FILE.
#
# AZCOPS_BIN overrides the binary (default target/debug/azcops, built when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x target/venv/bin/python ]; then
  mkdir -p target
  python3 -m venv target/venv
fi
target/venv/bin/pip install --quiet --disable-pip-version-check \
  'azure-identity>=1.27,<2' 'azure-mgmt-resource-subscriptions>=1,<2' 'azure-mgmt-resourcegraph>=8,<9' \
  'azure-mgmt-costmanagement>=5,<6' 'azure-mgmt-advisor>=9,<10' 'azure-mgmt-monitor>=7,<8' \
  'msal>=1.39,<2' 'pytest>=8,<9'

BIN=${AZCOPS_BIN:-target/debug/azcops}
if [ -z "${AZCOPS_BIN:-}" ] && [ ! -x "$BIN" ]; then
  cargo build --locked --bin azcops
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Starts a sandbox writing its settings to $WORK/$1.out; waits until it serves.
start() {
  local name=$1
  shift
  "$BIN" sandbox --estate demo --seed 42 --as-of 2026-11-25 --https --out "$WORK/$name" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=("$!")
  for _ in $(seq 1 300); do
    if grep -q '^# serving on' "$WORK/$name.out"; then return 0; fi
    if ! kill -0 "${PIDS[-1]}" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "sandbox $name did not start:" >&2
  cat "$WORK/$name.err" >&2
  return 1
}

start clean
start faulty --faults 'errors=0.25,statuses=500:503,storm=3000:1000,seed=7,apis=subscriptions:resource_graph:cost_management:advisor:metrics'

# One CA bundle trusting both sandboxes: requests (azure-core's transport, MSAL) reads it.
cat "$WORK/clean/sandbox-ca.pem" "$WORK/faulty/sandbox-ca.pem" >"$WORK/ca-bundle.pem"
REQUESTS_CA_BUNDLE="$WORK/ca-bundle.pem" \
AZCOPS_SDK_CLEAN="$WORK/clean.out" \
AZCOPS_SDK_FAULTY="$WORK/faulty.out" \
  target/venv/bin/python -m pytest -q tests/sdk "$@"

echo "azure_identity (Rust) client secret over https: azcops collect advisor"
(
  eval "$(sed -n 's/^export //p' "$WORK/clean.out")"
  sub=$(target/venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["subscriptions"][0]["subscription_id"])' "$WORK/clean/estate.json")
  SSL_CERT_FILE="$AZCOPS_SANDBOX_CA_CERT" AZCOPS_ARM_ENDPOINT="$AZCOPS_ARM_ENDPOINT" \
  RUST_LOG=warn AZCOPS_AZURE_CREDENTIAL=client_secret AZCOPS_AUTHORITY_HOST="$AZCOPS_ARM_ENDPOINT" \
  AZURE_TENANT_ID="$AZCOPS_SANDBOX_APP_0_TENANT_ID" AZURE_CLIENT_ID="$AZCOPS_SANDBOX_APP_0_CLIENT_ID" \
  AZURE_CLIENT_SECRET="$AZCOPS_SANDBOX_APP_0_CLIENT_SECRET" \
    "$BIN" collect advisor --tenant "$AZCOPS_SANDBOX_APP_0_TENANT_ID" --subscription "$sub" >"$WORK/collect.out"
  rows=$(wc -l <"$WORK/collect.out")
  [ "$rows" -gt 0 ] || { echo "no Advisor rows read over https" >&2; exit 1; }
  echo "ok: $rows Advisor rows"
)
