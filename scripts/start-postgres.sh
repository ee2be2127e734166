#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the store tests and benchmarks (Debian 12, as root).
# Idempotent: installs postgresql only when missing, initialises the data directory once, and
# leaves an already running server alone. Prints the export line for AZCOPS_TEST_POSTGRES_URL.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PGDATA="${AZCOPS_PGDATA:-$REPO/target/pgdata}"
PORT="${AZCOPS_PG_PORT:-55432}"

find_bin() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        if [[ -x "$dir/pg_ctl" ]]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

# initdb and the server run as postgres, which must be able to reach the data directory.
require_reachable() {
    if ! runuser -u postgres -- test -w "$PGDATA"; then
        echo "user postgres cannot reach $PGDATA (a parent directory is private?); set AZCOPS_PGDATA" >&2
        exit 1
    fi
}

if ! BIN="$(find_bin)"; then
    echo "installing postgresql ..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    BIN="$(find_bin)"
fi

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    require_reachable
    runuser -u postgres -- "$BIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --no-locale >&2
fi

# The server trusts every local login, except the Entra-token store test's role, which must
# present its password (a token) for that test to prove anything. First matching line wins.
HBA="$PGDATA/pg_hba.conf"
HBA_LINE="host all azcops_entra_test 127.0.0.1/32 scram-sha-256"
HBA_CHANGED=0
if ! grep -qxF "$HBA_LINE" "$HBA"; then
    { echo "$HBA_LINE"; cat "$HBA"; } >"$HBA.new"
    mv "$HBA.new" "$HBA"
    HBA_CHANGED=1
fi

# A data directory left behind by another user (e.g. copied target/) must belong to postgres.
chown -R postgres:postgres "$PGDATA"
chmod 600 "$HBA"
require_reachable

# A throwaway server: durability is off (fsync, full-page writes, synchronous commit), WAL is
# minimal and checkpoints are spaced out so bulk loads measure the store, not the disk.
OPTIONS="-c listen_addresses=127.0.0.1 -p $PORT -k /tmp -c fsync=off -c full_page_writes=off"
OPTIONS+=" -c synchronous_commit=off -c wal_level=minimal -c max_wal_senders=0 -c max_wal_size=8GB"
OPTIONS+=" -c shared_buffers=${AZCOPS_PG_SHARED_BUFFERS:-1GB} -c max_connections=200"
if ! runuser -u postgres -- "$BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    runuser -u postgres -- "$BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 60 -o "$OPTIONS" start >&2
elif ((HBA_CHANGED)); then
    runuser -u postgres -- "$BIN/pg_ctl" -D "$PGDATA" reload >&2
fi

deadline=$((SECONDS + 60))
until "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U postgres; do
    if ((SECONDS >= deadline)); then
        echo "PostgreSQL did not accept connections on 127.0.0.1:$PORT; see $PGDATA/server.log" >&2
        exit 1
    fi
    sleep 0.2
done

echo "export AZCOPS_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$PORT/postgres"
