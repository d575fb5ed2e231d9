#!/usr/bin/env bash
# Soak test: DUR seconds (300) of mixed reads and writes against a release server on the
# 50,000-article SQLite newsroom (imported by bench/import.sh), over loopback with wrk.
# Reports errors (non-2xx and socket errors; must be 0), latency percentiles, and the
# server's resident memory at the start and the end.
#
#   bash bench/soak.sh                 # 5 minutes
#   DUR=30 bash bench/soak.sh          # a quick look
#
# With RESTART=1 it soaks PostgreSQL across a restart instead: a throwaway cluster (initdb,
# pg_ctl from /usr/lib/postgresql/*/bin, or PG_BIN) with the demo newsroom, CONC clients
# (bench/soak_restart.py) reading and writing for DUR seconds (60), and at RESTART_AT
# (DUR/2) `pg_ctl stop -m fast`, DOWN seconds (3) down, then started again. It reports the
# answers by status, INTERNAL ones (must be 0), the 503s, the longest outage a client saw,
# and checks in the database that every acknowledged write is there exactly once and no
# write was applied twice. BIN picks the binary (target/release/gazette, built unless
# SKIP_BUILD is set).
#
#   RESTART=1 bash bench/soak.sh
#   RESTART=1 DUR=30 DOWN=5 BIN=target/debug/gazette bash bench/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${RESTART:-}" ]; then
  DUR=${DUR:-60}
  CONC=${CONC:-16}
  PORT=${PORT:-18091}
  DOWN=${DOWN:-3}
  RESTART_AT=${RESTART_AT:-$((DUR / 2))}
  BIN=${BIN:-target/release/gazette}
  if [ -z "${SKIP_BUILD:-}" ] && [ "$BIN" = target/release/gazette ]; then
    cargo build --release --quiet
  fi
  pgbin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}
  [ -x "$pgbin/pg_ctl" ] || { echo "no PostgreSQL server binaries (set PG_BIN)" >&2; exit 1; }
  work=$(mktemp -d)
  chmod 755 "$work"
  as_pg=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$work"
    as_pg=(runuser -u postgres --)
  fi
  pg_ctl() { "${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg" "$@"; }
  pgport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "${as_pg[@]}" "$pgbin/initdb" -D "$work/pg" -U postgres -A trust -N >/dev/null
  pg_ctl -w -l "$work/pg.log" -o "-p $pgport -k $work -c listen_addresses=127.0.0.1" start >/dev/null
  server=
  cleanup() {
    [ -z "$server" ] || kill "$server" 2>/dev/null || true
    [ -z "$server" ] || wait "$server" 2>/dev/null || true
    pg_ctl -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$work"
  }
  trap cleanup EXIT
  export DATABASE_URL="postgres://postgres@127.0.0.1:$pgport/postgres"
  export GAZETTE_RATE_LIMIT=1000000 GAZETTE_WRITE_RATE_LIMIT=1000000 GAZETTE_RESPONSE_CACHE_BYTES=0
  GAZETTE_JWT_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')
  export GAZETTE_JWT_SECRET
  "$BIN" import --demo >/dev/null
  "$BIN" --addr "127.0.0.1:$PORT" >"$work/server.log" 2>&1 &
  server=$!
  base="http://127.0.0.1:$PORT"
  for _ in $(seq 1 120); do curl -fs "$base/readyz" >/dev/null && break; sleep 0.5; done
  token=$("$BIN" token --sub soak --role editor --ttl 2h)
  slugs=$(curl -s "$base/api/v1/articles?limit=50" | python3 -c 'import json,sys; print(",".join(a["slug"] for a in json.load(sys.stdin)["data"]))')
  section=$(curl -s "$base/api/v1/sections" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["path"])')
  author=$(curl -s "$base/api/v1/authors?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["slug"])')
  echo "restart soak: ${DUR}s, $CONC clients, PostgreSQL stopped (fast) at ${RESTART_AT}s for ${DOWN}s; response cache off"
  BASE=$base TOKEN=$token SLUGS=$slugs SECTION=$section AUTHOR=$author DUR=$DUR CONC=$CONC \
    ACKED="$work/acked.txt" python3 bench/soak_restart.py >"$work/clients.txt" &
  clients=$!
  sleep "$RESTART_AT"
  pg_ctl -m fast -w stop >/dev/null
  sleep "$DOWN"
  pg_ctl -w -l "$work/pg.log" -o "-p $pgport -k $work -c listen_addresses=127.0.0.1" start >/dev/null
  ok=0
  wait "$clients" || ok=$?
  cat "$work/clients.txt"
  sql() { psql -h 127.0.0.1 -p "$pgport" -U postgres -d postgres -Atc "$1"; }
  twice=$(sql "SELECT count(*) FROM (SELECT headline FROM articles WHERE headline LIKE 'Soak restart %' GROUP BY headline HAVING count(*) > 1) d")
  sql "SELECT headline FROM articles WHERE headline LIKE 'Soak restart %'" | sort >"$work/stored.txt"
  sort "$work/acked.txt" >"$work/acked.sorted"
  missing=$(comm -23 "$work/acked.sorted" "$work/stored.txt" | wc -l)
  echo "writes applied twice: $twice; acknowledged writes missing: $missing of $(wc -l <"$work/acked.sorted")"
  echo "server log: $(grep -c 'database unavailable' "$work/server.log" || true) database failures classified, $(grep -c 'internal error' "$work/server.log" || true) internal errors"
  grep 'internal error' "$work/server.log" | head -n 3 || true
  [ "$ok" = 0 ] && [ "$twice" = 0 ] && [ "$missing" = 0 ]
  exit
fi
DUR=${DUR:-300}
CONC=${CONC:-16}
N=${N:-50000}
PORT=${PORT:-18090}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/gazette-bench}
db_dir="$BENCH_DIR/import-sqlite"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
[ -f "$db_dir/gazette.db" ] || N=$N bash bench/import.sh
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet
work=$(mktemp -d)
cp "$db_dir"/gazette.db* "$work/" 2>/dev/null
export GAZETTE_DATA_DIR="$work" GAZETTE_RATE_LIMIT=1000000 GAZETTE_WRITE_RATE_LIMIT=1000000
GAZETTE_JWT_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')
export GAZETTE_JWT_SECRET
./target/release/gazette --addr "127.0.0.1:$PORT" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.5; done
token=$(./target/release/gazette token --sub soak --role editor --ttl 2h)
base="http://127.0.0.1:$PORT"
slugs=$(curl -s "$base/api/v1/articles?limit=100" | python3 -c 'import json,sys; print(",".join(chr(34)+a["slug"]+chr(34) for a in json.load(sys.stdin)["data"]))')
sections=$(curl -s "$base/api/v1/sections" | python3 -c 'import json,sys; t=json.load(sys.stdin); print(",".join(chr(34)+s["path"]+chr(34) for s in t))')
author=$(curl -s "$base/api/v1/authors?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["slug"])')
{ echo "SLUGS = {$slugs}"; echo "SECTIONS = {$sections}"; echo "AUTHOR = \"$author\""; echo "TOKEN = \"$token\""; cat bench/soak.lua; } >"$work/soak.lua"
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
wrk -t1 -c"$CONC" -d5s -s "$work/soak.lua" "$base" >/dev/null
rss_start=$(rss)
wrk -t1 -c"$CONC" -d"${DUR}s" --latency -s "$work/soak.lua" "$base" | tee "$work/wrk.txt"
rss_end=$(rss)
errors=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.txt"); errors=${errors:-0}
sock=$(awk -F'[ ,]+' '/Socket errors/ {s=0; for (i=1;i<=NF;i++) if ($i ~ /^[0-9]+$/) s+=$i; print s}' "$work/wrk.txt"); sock=${sock:-0}
echo
echo "soak: ${DUR}s at $CONC connections; non-2xx: $errors; socket errors: $sock; RSS start ${rss_start} KiB, end ${rss_end} KiB ($(( (rss_end - rss_start) * 100 / rss_start ))% growth)"
[ "$errors" = 0 ] && [ "$sock" = 0 ]
