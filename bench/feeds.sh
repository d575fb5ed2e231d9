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

OUT=$(mktemp -d)
# shellcheck source=bench/lib.sh
source bench/lib.sh

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
