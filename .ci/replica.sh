#!/usr/bin/env bash
# A streaming read replica of the PostgreSQL server on 127.0.0.1:5432, for the replica tests
# (tests/api/postgres_replicas.rs):
#
#   .ci/replica.sh start    # prints the replica's URL prefix on the last line
#   .ci/replica.sh stop     # stops it, removes its files and its slot on the primary
#
# `start` makes the primary accept replication connections if it does not yet (wal_level,
# max_wal_senders, a `replication` line in pg_hba.conf; a reload, or a restart only when
# wal_level or max_wal_senders must change), copies it with `pg_basebackup -R` over a
# physical replication slot (so the primary keeps the WAL the copy needs), and starts the
# copy as a hot standby on PORT. Both are idempotent: `start` on a running replica says so,
# `stop` on none does nothing. Run as root (the server runs as the `postgres` user) or as
# the user that owns the primary.
#
# Settings: PGHOST (127.0.0.1), PGPORT (5432), REPLICA_PORT (5433), REPLICA_DIR (a new
# temporary directory, which the server's user can reach wherever the repository is; its
# path is kept in target/pg-replica-$REPLICA_PORT.dir for `stop`), PG_BIN (the newest
# /usr/lib/postgresql/*/bin).
set -euo pipefail
cd "$(dirname "$0")/.."

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
REPLICA_PORT=${REPLICA_PORT:-5433}
STATE_FILE=$PWD/target/pg-replica-$REPLICA_PORT.dir
if [ -z "${REPLICA_DIR:-}" ] && [ -f "$STATE_FILE" ]; then
  REPLICA_DIR=$(cat "$STATE_FILE")
fi
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}
SLOT="gazette_replica_$REPLICA_PORT"

if [ "$(id -u)" -eq 0 ]; then
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi
primary() { psql -h "$PGHOST" -p "$PGPORT" -U postgres -d postgres -Atqc "$1"; }
replica() { psql -h "$PGHOST" -p "$REPLICA_PORT" -U postgres -d postgres -Atqc "$1"; }

# The primary accepts replication connections from 127.0.0.1 (trust, as the tests' own).
prepare_primary() {
  local restart=no
  case "$(primary 'SHOW wal_level')" in
    replica | logical) ;;
    *) primary "ALTER SYSTEM SET wal_level = 'replica'"; restart=yes ;;
  esac
  if [ "$(primary 'SHOW max_wal_senders')" -lt 4 ]; then
    primary "ALTER SYSTEM SET max_wal_senders = 10"; restart=yes
  fi
  if [ "$(primary 'SHOW max_replication_slots')" -lt 4 ]; then
    primary "ALTER SYSTEM SET max_replication_slots = 10"; restart=yes
  fi
  local hba
  hba=$(primary 'SHOW hba_file')
  if ! grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+(all|postgres)[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
    echo "host replication all 127.0.0.1/32 trust  # added by gazette's .ci/replica.sh" >>"$hba"
    primary 'SELECT pg_reload_conf()' >/dev/null
  fi
  if [ "$restart" = yes ]; then
    echo "restarting the primary for its replication settings" >&2
    local data
    data=$(primary 'SHOW data_directory')
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main restart
    else
      as_pg "$PG_BIN/pg_ctl" -D "$data" -w restart -m fast
    fi
    for _ in $(seq 1 30); do pg_isready -h "$PGHOST" -p "$PGPORT" -q && break; sleep 1; done
  fi
}

start() {
  if pg_isready -h "$PGHOST" -p "$REPLICA_PORT" -q; then
    if [ "$(replica 'SELECT pg_is_in_recovery()')" = t ]; then
      echo "a replica already runs on port $REPLICA_PORT"
      echo "postgres://postgres@$PGHOST:$REPLICA_PORT"
      return 0
    fi
    echo "port $REPLICA_PORT is taken by a server that is not a replica" >&2
    return 1
  fi
  prepare_primary
  [ -n "${REPLICA_DIR:-}" ] && rm -rf "$REPLICA_DIR"
  REPLICA_DIR=${REPLICA_DIR:-$(mktemp -d -t gazette-replica-XXXXXX)}
  mkdir -p "$REPLICA_DIR" "$(dirname "$STATE_FILE")"
  echo "$REPLICA_DIR" >"$STATE_FILE"
  chmod 700 "$REPLICA_DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$REPLICA_DIR"
  # A slot left by a replica that was not stopped would hold WAL forever: start afresh.
  primary "SELECT pg_drop_replication_slot('$SLOT') FROM pg_replication_slots WHERE slot_name = '$SLOT'" >/dev/null
  as_pg "$PG_BIN/pg_basebackup" -h "$PGHOST" -p "$PGPORT" -U postgres -D "$REPLICA_DIR" \
    -R -X stream -C -S "$SLOT" -c fast
  # A Debian cluster keeps its configuration outside the data directory: the copy gets its
  # own. A hot standby needs at least the primary's connection and worker limits.
  local setting
  {
    echo "port = $REPLICA_PORT"
    echo "listen_addresses = '$PGHOST'"
    echo "unix_socket_directories = '$REPLICA_DIR'"
    echo "hot_standby = on"
    echo "hot_standby_feedback = on"
    echo "shared_buffers = 32MB"
    echo "ssl = off"
    for setting in max_connections max_worker_processes max_prepared_transactions \
      max_locks_per_transaction max_wal_senders; do
      echo "$setting = $(primary "SHOW $setting")"
    done
  } >"$REPLICA_DIR/postgresql.conf"
  printf 'local all all trust\nhost all all %s/32 trust\n' "$PGHOST" >"$REPLICA_DIR/pg_hba.conf"
  : >"$REPLICA_DIR/pg_ident.conf"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$REPLICA_DIR"/*.conf
  as_pg "$PG_BIN/pg_ctl" -D "$REPLICA_DIR" -l "$REPLICA_DIR/server.log" -w -t 60 start >/dev/null
  for _ in $(seq 1 60); do
    [ "$(replica "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'" 2>/dev/null)" = 1 ] && break
    sleep 0.5
  done
  [ "$(replica 'SELECT pg_is_in_recovery()')" = t ] || { echo "the copy is not in recovery" >&2; return 1; }
  echo "replica streaming on port $REPLICA_PORT (slot $SLOT)"
  echo "postgres://postgres@$PGHOST:$REPLICA_PORT"
}

stop() {
  if [ -n "${REPLICA_DIR:-}" ]; then
    if [ -f "$REPLICA_DIR/postmaster.pid" ]; then
      as_pg "$PG_BIN/pg_ctl" -D "$REPLICA_DIR" -w -t 60 stop -m fast >/dev/null || true
    fi
    rm -rf "$REPLICA_DIR"
  fi
  rm -f "$STATE_FILE"
  if pg_isready -h "$PGHOST" -p "$PGPORT" -q; then
    primary "SELECT pg_drop_replication_slot('$SLOT') FROM pg_replication_slots WHERE slot_name = '$SLOT'" >/dev/null
  fi
  echo "replica on port $REPLICA_PORT stopped and removed"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
