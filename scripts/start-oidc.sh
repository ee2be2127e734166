#!/usr/bin/env bash
# Starts the mock OpenID provider (oauth2-mock-server, npm) on 127.0.0.1 for the API tests and
# prints export lines: AZCOPS_TEST_OIDC (trusted provider) and AZCOPS_TEST_OIDC_ROGUE (a second
# provider whose key the API does not trust). Safe to run twice: an earlier instance is stopped.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$REPO/tests/tools"
STATE="$REPO/target/oidc"
PORT="${AZCOPS_OIDC_PORT:-10122}"
mkdir -p "$STATE"

if [ ! -d "$TOOLS/node_modules/oauth2-mock-server" ]; then
  echo "start-oidc: installing oauth2-mock-server from npm" >&2
  (cd "$TOOLS" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

if [ -f "$STATE/oidc.pid" ] && kill -0 "$(cat "$STATE/oidc.pid")" 2>/dev/null; then
  kill "$(cat "$STATE/oidc.pid")" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$(cat "$STATE/oidc.pid")" 2>/dev/null || break; sleep 0.1; done
fi

nohup node "$TOOLS/oidc.mjs" "$PORT" >"$STATE/oidc.log" 2>&1 &
echo $! >"$STATE/oidc.pid"

ROGUE=$((PORT + 1))
for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$ROGUE") 2>/dev/null; then
    echo "export AZCOPS_TEST_OIDC='http://127.0.0.1:$PORT'"
    echo "export AZCOPS_TEST_OIDC_ROGUE='http://127.0.0.1:$ROGUE'"
    exit 0
  fi
  sleep 0.1
done
echo "start-oidc: the mock OpenID provider did not start; see $STATE/oidc.log" >&2
exit 1
