#!/usr/bin/env bash
# CPU per request of gazette and of its database, query by query: the figures behind the
# "what the profile shows" of issue #7. Against a gazette already serving (e.g. started as
# bench/peer.sh starts it), it runs wrk with the same rotating bodies as bench/peer.sh and
# reads the CPU time (utime + stime, /proc/PID/stat) that the gazette process and every
# `postgres` process used meanwhile, divided by the requests answered.
#
#   GZ_PID=$(pgrep -f 'gazette serve') bash bench/cpu.sh            # Q1-Q4
#   GZ_PID=… QUERIES="q1 q4" DUR=20 bash bench/cpu.sh
#
# Env (defaults): GZ_PID (required), GZ_URL (http://127.0.0.1:18180), BENCH_DIR
# (${TMPDIR:-/tmp}/gazette-bench), N (50000), PEER_DIR (../shared/bench beside this checkout),
# QUERIES ("q1 q2 q3 q4": gazette_<q>.jsonl bodies, or gz_<name>.jsonl of bench/queries/),
# DUR (10), WARM (3), CONC (32). On SQLite the database works inside gazette's own process,
# so its column reads 0. Other postgres clusters on the machine count too: keep them idle.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${GZ_PID:?set GZ_PID to the pid of the gazette server}"
GZ_URL=${GZ_URL:-http://127.0.0.1:18180}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/gazette-bench}; N=${N:-50000}
PEER_DIR=${PEER_DIR:-$(pwd)/../shared/bench}
QUERIES=${QUERIES:-q1 q2 q3 q4}; DUR=${DUR:-10}; WARM=${WARM:-3}; CONC=${CONC:-32}
BODIES=$BENCH_DIR/bodies/news_$N
TICK=$(getconf CLK_TCK)
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
cpu_db() { local s=0 p; for p in $(pgrep -x postgres || true); do s=$((s + $(cpu_of "$p"))); done; echo "$s"; }
printf '| query | req/s | gazette µs/request | database µs/request |\n|---|---:|---:|---:|\n'
for q in $QUERIES; do
  f=$BODIES/gazette_$q.jsonl; [ -s "$f" ] || f=$BODIES/gz_$q.jsonl
  [ -s "$f" ] || { echo "no bodies for $q in $BODIES (run bench/peer.sh once)" >&2; exit 1; }
  BODIES=$f wrk -t1 -c"$CONC" -d"${WARM}s" -s "$PEER_DIR/peer/rotate.lua" "$GZ_URL/graphql" >/dev/null 2>&1 || true
  g0=$(cpu_of "$GZ_PID"); d0=$(cpu_db)
  line=$(BODIES=$f wrk -t1 -c"$CONC" -d"${DUR}s" -s "$PEER_DIR/peer/rotate.lua" "$GZ_URL/graphql" 2>&1 | grep '^RESULT')
  g1=$(cpu_of "$GZ_PID"); d1=$(cpu_db)
  n=$(echo "$line" | sed 's/.*requests=\([0-9]*\).*/\1/'); rps=$(echo "$line" | sed 's/.*rps=\([0-9.]*\).*/\1/')
  printf '| %s | %.0f | %d | %d |\n' "$q" "$rps" $(( (g1 - g0) * 1000000 / TICK / n )) $(( (d1 - d0) * 1000000 / TICK / n ))
done
