#!/usr/bin/env bash
# Feeds, uncached, on the generated 50,000-article newsroom: RSS, Atom and JSON Feed of the
# site, of every section, of 40 authors and of 40 tags, each with the newest 50 articles in
# full, on SQLite and PostgreSQL (the sitemaps have bench/sitemaps.sh).
#
#   bash bench/feeds.sh                   # both databases, 15 s per target at 8 connections
#   DUR=5 DBS=sqlite bash bench/feeds.sh  # a quick look
#
# The response cache is off (GAZETTE_RESPONSE_CACHE_BYTES=0): every request reads the
# database. Bodies rendered to HTML are kept per article version (GAZETTE_RENDER_CACHE_BYTES,
# 32 MiB); RENDER=0 switches that off too, so every body is read and rendered each time.
# Each row gives wrk's figures and the CPU time per request of gazette and of PostgreSQL
# (every `postgres` process on the machine; on SQLite the database works inside gazette),
# which holds up better than latency on a machine that other work shares. Settings: BENCH_DIR (${TMPDIR:-/tmp}/gazette-bench, shared with bench/peer.sh),
# N (50000), DUR (15), CONC (8), DBS ("sqlite postgres"), RENDER (unset), SKIP_BUILD.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd); cd "$ROOT"
PEER_DIR=${PEER_DIR:-$ROOT/../shared/bench}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/gazette-bench}
N=${N:-50000}; DUR=${DUR:-15}; WARM=${WARM:-3}; CONC=${CONC:-8}
DBS=${DBS:-sqlite postgres}; PORT=${PORT:-18190}; SKIP_BUILD=${SKIP_BUILD:-0}
export PGPORT=${PGPORT:-55432}
DATA=${DATA:-$BENCH_DIR/data/news_${N}.json}
BIN=$ROOT/target/release/gazette
OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT
say() { echo "== $*" >&2; }

command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
[ "$SKIP_BUILD" = 1 ] || { say "cargo build --release"; cargo build --release --quiet; }
mkdir -p "$(dirname "$DATA")"
if [ ! -s "$DATA" ]; then
  say "generating $DATA"
  python3 "$PEER_DIR/gen_dataset.py" --articles "$N" -o "$DATA.tmp" && mv "$DATA.tmp" "$DATA"
fi
# The same imports as bench/peer.sh (and the same marks), reused while file and migrations are.
MIGRATIONS=$(find migrations -type f -name '*.rs' | sort | xargs cat | sha1sum | cut -c1-12)
WANT="$(basename "$(readlink -f "$DATA")") $(stat -L -c %s "$DATA") migrations $MIGRATIONS"
PSQL=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)/psql
PG_DSN=postgres://bench@127.0.0.1:$PGPORT/gazette
SQLITE_DIR=$BENCH_DIR/gazette-sqlite

SERVER=
cleanup() { [ -z "$SERVER" ] || { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }; rm -rf "$OUT"; }
trap cleanup EXIT


prepare() {  # db: import when needed
  case $1 in
    sqlite)
      if [ "$(cat "$SQLITE_DIR/loaded" 2>/dev/null)" != "$WANT" ]; then
        say "importing into SQLite ($SQLITE_DIR)"; rm -rf "$SQLITE_DIR"; mkdir -p "$SQLITE_DIR"
        env -u DATABASE_URL GAZETTE_DATA_DIR="$SQLITE_DIR" GAZETTE_LOG=error "$BIN" import "$DATA" >/dev/null 2>&1
        echo "$WANT" > "$SQLITE_DIR/loaded"
      fi
      ;;
    postgres)
      bash "$PEER_DIR/peer/pg.sh" start >&2
      have=$("$PSQL" -h 127.0.0.1 -p "$PGPORT" -U bench -d postgres -tAXc \
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'gazette'")
      if [ "$have" != "$WANT" ]; then
        say "importing into PostgreSQL (gazette on port $PGPORT)"
        "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U bench -d postgres -qXc "DROP DATABASE IF EXISTS gazette WITH (FORCE)"
        "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U bench -d postgres -qXc "CREATE DATABASE gazette"
        env -u GAZETTE_DATA_DIR DATABASE_URL="$PG_DSN" GAZETTE_LOG=error "$BIN" import "$DATA" >/dev/null 2>&1
        "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U bench -d gazette -qXc "VACUUM ANALYZE"
        "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U bench -d postgres -qXc "COMMENT ON DATABASE gazette IS '$WANT'"
      fi
      ;;
  esac
}

serve() {  # db
  local envs=(GAZETTE_ADDR=127.0.0.1:$PORT GAZETTE_RESPONSE_CACHE_BYTES=0 GAZETTE_PUBLIC_URL=https://news.example
    GAZETTE_RATE_LIMIT=1000000000 GAZETTE_LOG=warn)
  [ -z "${RENDER:-}" ] || envs+=(GAZETTE_RENDER_CACHE_BYTES="$RENDER")
  case $1 in
    sqlite) env -u DATABASE_URL GAZETTE_DATA_DIR="$SQLITE_DIR" "${envs[@]}" "$BIN" >"$OUT/server.log" 2>&1 & ;;
    postgres) env -u GAZETTE_DATA_DIR DATABASE_URL="$PG_DSN" "${envs[@]}" "$BIN" >"$OUT/server.log" 2>&1 & ;;
  esac
  SERVER=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return; sleep 0.2; done
  echo "gazette did not start" >&2; cat "$OUT/server.log" >&2; exit 1
}

cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
cpu_db() { local s=0 p; for p in $(pgrep -x postgres || true); do s=$((s + $(cpu_of "$p"))); done; echo "$s"; }
measure() {  # name paths-file
  local url=http://127.0.0.1:$PORT
  PATHS=$2 wrk -t1 -c"$CONC" -d"${WARM}s" --timeout 10s -s bench/get_paths.lua "$url" >/dev/null 2>&1 || true
  local rss0 line g0 d0 g1 d1 n hz
  g0=$(cpu_of "$SERVER"); d0=$(cpu_db)
  line=$(PATHS=$2 wrk -t1 -c"$CONC" -d"${DUR}s" --timeout 10s --latency -s bench/get_paths.lua "$url" 2>&1 | grep '^RESULT')
  g1=$(cpu_of "$SERVER"); d1=$(cpu_db)
  rss0=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")
  n=$(sed -E 's/.* requests=([0-9]+).*/\1/' <<<"$line"); hz=$(getconf CLK_TCK)
  printf '| %s | %s | %s | %s | %s | %s MB |\n' "$DB" "$1" \
    "$(sed -E 's/RESULT rps=([^ ]+) p50_ms=([^ ]+) p90_ms=[^ ]+ p99_ms=([^ ]+) max_ms=[^ ]+ errors=([^ ]+) .* bytes_per_req=([^ ]+)/\1 | \2 | \3 | \4 | \5/' <<<"$line")" \
    "$(( (g1 - g0) * 1000000 / hz / (n > 0 ? n : 1) ))" \
    "$([ "$DB" = postgres ] && echo $(( (d1 - d0) * 1000000 / hz / (n > 0 ? n : 1) )) || echo -)" \
    "$((rss0 / 1024))"
}

echo "| database | target | req/s | p50 ms | p99 ms | errors | bytes/resp | gazette CPU µs/req | PostgreSQL CPU µs/req | peak RSS |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for DB in $DBS; do
  prepare "$DB"
  serve "$DB"
  base=http://127.0.0.1:$PORT
  python3 - "$base" "$OUT" <<'PY'
import json, sys, urllib.request
base, out = sys.argv[1], sys.argv[2]
get = lambda p: urllib.request.urlopen(base + p).read()
def walk(t):
    for s in t:
        yield s["path"]; yield from walk(s["children"])
sections = list(walk(json.loads(get("/api/v1/sections"))))
authors = [a["slug"] for a in json.loads(get("/api/v1/authors?limit=100"))["data"]][:40]
tags = sorted({t["slug"] for a in json.loads(get("/api/v1/articles?limit=100"))["data"] for t in a["tags"]})[:40]
scopes = [""] + [f"?section={s}" for s in sections] + [f"?author={a}" for a in authors] + [f"?tag={t}" for t in tags]
feeds = [f"{f}{q}" for q in scopes for f in ("/feeds/rss.xml", "/feeds/atom.xml", "/feeds/feed.json")]
open(f"{out}/feeds.txt", "w").write("\n".join(feeds) + "\n")
for name, q in (("site_rss", [""]), ("sections", [s for s in scopes if "section=" in s]),
                ("authors", [s for s in scopes if "author=" in s]), ("tags", [s for s in scopes if "tag=" in s])):
    open(f"{out}/{name}.txt", "w").write("".join(f"/feeds/rss.xml{x}\n" for x in q))
open(f"{out}/site_atom.txt", "w").write("/feeds/atom.xml\n")
open(f"{out}/site_json.txt", "w").write("/feeds/feed.json\n")
PY
  measure "site RSS (50 items, full content)" "$OUT/site_rss.txt"
  measure "site Atom" "$OUT/site_atom.txt"
  measure "site JSON Feed" "$OUT/site_json.txt"
  measure "RSS of each section ($(wc -l < "$OUT/sections.txt") URLs)" "$OUT/sections.txt"
  measure "RSS of 40 authors" "$OUT/authors.txt"
  measure "RSS of 40 tags" "$OUT/tags.txt"
  measure "feeds: $(wc -l < "$OUT/feeds.txt") URLs, 3 formats, all scopes" "$OUT/feeds.txt"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
done
echo
echo "machine: $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg); rerun: bash bench/feeds.sh"
