#!/usr/bin/env bash
# Soak test: DUR seconds (300) of mixed reads and writes against a release server on the
# 50,000-article SQLite newsroom (imported by bench/import.sh), over loopback with wrk.
# Reports errors (non-2xx and socket errors; must be 0), latency percentiles, and the
# server's resident memory at the start and the end.
#
#   bash bench/soak.sh                 # 5 minutes
#   DUR=30 bash bench/soak.sh          # a quick look
set -euo pipefail
cd "$(dirname "$0")/.."
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
