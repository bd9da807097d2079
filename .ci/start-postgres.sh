#!/usr/bin/env bash
# Start (or reuse) a throw-away PostgreSQL on loopback for the tests; prints a fresh
# database URL to use.
set -euo pipefail
PORT="${PGPORT_TEST:-55432}"
DIR="${PGDATA_TEST:-/tmp/vvs-pg-$PORT}"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -x "$BIN/initdb" ] || { echo "PostgreSQL server binaries not found" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if ! as_pg "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
  rm -rf "$DIR"; mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
  as_pg "$BIN/initdb" -D "$DIR" -U postgres -A trust --no-locale -E UTF8 >/dev/null
  as_pg "$BIN/pg_ctl" -D "$DIR" -l "$DIR/log" -w \
    -o "-h 127.0.0.1 -p $PORT -k /tmp -c fsync=off -c max_connections=200" start >/dev/null
fi
# A database of its own for each run, so two test runs never reset each other's schema.
NAME="vvs_test_$(date +%s)_$$"
as_pg "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres "$NAME"
echo "postgresql://postgres@127.0.0.1:$PORT/$NAME"
