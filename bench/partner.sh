#!/usr/bin/env bash
# Issue 15's speed target alone, on the generated 50,000-article newsroom, uncached, on
# SQLite and PostgreSQL, at 8 connections: a 50-item partner feed page
# (`/api/v1/partner/items?limit=50`, at 100 stream positions spread over the stream) and a
# ninjs article (`/api/v1/articles/{slug}/ninjs`, the newest 50 articles of each section of
# the grant), both for a partner granted every other top-level section (as bench/stream.sh,
# which measures them too, among the rest of the change stream). The target: p99 ≤ 20 ms.
#
#   bash bench/partner.sh                      # both databases, 15 s per target
#   DUR=5 DBS=sqlite bash bench/partner.sh     # a quick look
#
# Each row gives wrk's req/s and latency percentiles and the CPU time per request of gazette
# and of PostgreSQL (every `postgres` process on the machine), which holds up better than
# latency on a machine other work shares; the last line gives the load average.
# Settings as bench/feeds.sh: BENCH_DIR, DATA, N (50000), DUR (15), WARM (3), CONC (8), DBS
# ("sqlite postgres"), PORT (18390), PGPORT (55432), VERSION (2: ninjs 2.1; 3: ninjs 3.1),
# BIN (target/release/gazette; with SKIP_BUILD=1, another build to compare with),
# SKIP_BUILD. A token secret is made for the run and passed through the environment only.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd); cd "$ROOT"
PEER_DIR=${PEER_DIR:-$ROOT/../shared/bench}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/gazette-bench}
N=${N:-50000}; DUR=${DUR:-15}; WARM=${WARM:-3}; CONC=${CONC:-8}
DBS=${DBS:-sqlite postgres}; PORT=${PORT:-18390}; SKIP_BUILD=${SKIP_BUILD:-0}
VERSION=${VERSION:-2}
export PGPORT=${PGPORT:-55432}
DATA=${DATA:-$BENCH_DIR/data/news_${N}.json}
BIN=${BIN:-$ROOT/target/release/gazette}

OUT=$(mktemp -d)
# shellcheck source=bench/lib.sh
source bench/lib.sh
GAZETTE_JWT_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
export GAZETTE_JWT_SECRET
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

token() {  # role sub
  # shellcheck disable=SC2046
  env $(db_env "$DB") GAZETTE_LOG=error "$BIN" token --role "$1" --sub "$2" --ttl 2h
}

echo "| database | target | req/s | p50 ms | p99 ms | errors | bytes/resp | gazette CPU µs/req | PostgreSQL CPU µs/req | peak RSS |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for DB in $DBS; do
  prepare "$DB"
  serve "$DB"
  ADMIN=$(token admin bench)
  python3 - "http://127.0.0.1:$PORT" "$OUT" "$ADMIN" "$VERSION" <<'PY'
import base64, json, sys, urllib.request
base, out, admin, version = sys.argv[1:5]
def call(path, tok=None, body=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body else None)
    req.add_header("content-type", "application/json")
    if tok:
        req.add_header("authorization", "Bearer " + tok)
    return json.loads(urllib.request.urlopen(req).read())
def gql(q):
    r = call("/graphql", admin, {"query": q})
    assert "errors" not in r, r
    return r["data"]
# The partner of bench/stream.sh: every other top-level section, with its subsections.
tops = [s["path"] for s in call("/api/v1/sections")]
grant = tops[::2]
r = call("/graphql", admin, {"query": 'mutation { createPartner(input: { name: "Bench Wire", slug: "bench-wire", sections: %s }) { slug } }' % json.dumps(grant)})
if "errors" in r:  # a rerun on the same import: the partner is there; give it this run's grant
    gql('mutation { updatePartner(slug: "bench-wire", input: { sections: %s }) { slug } }' % json.dumps(grant))
gql('mutation { createPartnerKey(partner: "bench-wire", name: "bench") { id } }')
# The stream's last position: a snapshot's first position names it.
n = call("/api/v1/changes?limit=1")["next"]
head = int(base64.urlsafe_b64decode(n + "=" * (-len(n) % 4)).decode()[1:].split(".")[0])
pos = lambda i: base64.urlsafe_b64encode(f"p{i}".encode()).decode().rstrip("=")
v = "" if version == "2" else f"&version={version}"
stream = [pos(i) for i in range(0, max(head - 100, 1), max(head // 100, 1))]
open(f"{out}/partner.txt", "w").write("".join(f"/api/v1/partner/items?limit=50&since={s}{v}\n" for s in stream))
slugs = [a["slug"] for g in grant for a in call(f"/api/v1/articles?limit=50&section={g}")["data"]]
v = "" if version == "2" else f"?version={version}"
open(f"{out}/ninjs.txt", "w").write("".join(f"/api/v1/articles/{s}/ninjs{v}\n" for s in slugs))
PY
  export AUTH; AUTH=$(token partner bench-wire)
  measure "partner feed page (50 ninjs $VERSION items, $(wc -l < "$OUT/partner.txt") positions)" "$OUT/partner.txt"
  measure "ninjs $VERSION article, partner ($(wc -l < "$OUT/ninjs.txt") articles)" "$OUT/ninjs.txt"
  unset AUTH
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
done
echo
echo "machine: $(nproc) cores, load average before: $LOAD, after: $(cut -d' ' -f1-3 /proc/loadavg); rerun: bash bench/partner.sh"
