#!/usr/bin/env bash
# Starts a fresh Azurite (Blob + Queue, in-memory) on 127.0.0.1 for the tests, installing it from
# npm on first use, and prints the connection string as an export line. Safe to run twice: an
# instance this script started earlier is stopped first, so every run starts empty.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$REPO/tests/tools"
STATE="$REPO/target/azurite"
BLOB_PORT="${AZCOPS_AZURITE_BLOB_PORT:-10100}"
QUEUE_PORT="${AZCOPS_AZURITE_QUEUE_PORT:-10101}"
mkdir -p "$STATE"

if [ ! -x "$TOOLS/node_modules/.bin/azurite" ]; then
  echo "start-azurite: installing Azurite from npm" >&2
  (cd "$TOOLS" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

for pidfile in "$STATE/blob.pid" "$STATE/queue.pid"; do
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
  fi
done

# --skipApiVersionCheck: the Rust SDK sends a newer API version than Azurite knows.
# --disableTelemetry: no calls out. --inMemoryPersistence: every run starts empty.
nohup "$TOOLS/node_modules/.bin/azurite-blob" --silent --disableTelemetry --skipApiVersionCheck --loose \
  --inMemoryPersistence --blobHost 127.0.0.1 --blobPort "$BLOB_PORT" >"$STATE/blob.log" 2>&1 &
BLOB_PID=$!
nohup "$TOOLS/node_modules/.bin/azurite-queue" --silent --disableTelemetry --skipApiVersionCheck --loose \
  --inMemoryPersistence --queueHost 127.0.0.1 --queuePort "$QUEUE_PORT" >"$STATE/queue.log" 2>&1 &
QUEUE_PID=$!
echo "$BLOB_PID" >"$STATE/blob.pid"
echo "$QUEUE_PID" >"$STATE/queue.pid"

for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$BLOB_PORT") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$QUEUE_PORT") 2>/dev/null; then
    echo "export AZCOPS_TEST_AZURITE='UseDevelopmentStorage=true;BlobEndpoint=http://127.0.0.1:$BLOB_PORT/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$QUEUE_PORT/devstoreaccount1'"
    exit 0
  fi
  sleep 0.1
done
echo "start-azurite: Azurite did not start; see $STATE/*.log" >&2
exit 1
