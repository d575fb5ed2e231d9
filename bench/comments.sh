#!/usr/bin/env bash
# Reader comments on the generated 50,000-article newsroom, on SQLite and PostgreSQL:
#
# - posting (`POST /api/v1/articles/{slug}/comments`) with the built-in spam scoring in full
#   (the posting limits and every signal are counted in the database), each request from an
#   address of its own, rotating over 2,000 articles; target p99 ≤ 30 ms at 8 connections;
# - the moderation queue: a page of 50 from 1,000 pending comments (`GET /api/v1/comments`
#   as an editor, the 20 pages of the queue in turn); target p99 ≤ 20 ms at 8 connections.
#
#   bash bench/comments.sh                    # both databases, 15 s per target
#   N=2000 DUR=5 bash bench/comments.sh       # a quick look
#
# Comments close 30 days after publication by default; the generated newsroom is older, so
# the server runs with GAZETTE_COMMENTS_CLOSE_AFTER_DAYS=0. The comments a run posts stay in
# the database (the next import starts afresh when the file or migrations change).
# Settings: BENCH_DIR, N (50000), DUR (15), CONC (8), DBS ("sqlite postgres"), PORT (18193),
# PGPORT (55432: the peer kit's PostgreSQL, started by bench/lib.sh), SKIP_BUILD.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd); cd "$ROOT"
PEER_DIR=${PEER_DIR:-$ROOT/../shared/bench}
export BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/gazette-bench}
N=${N:-50000}; DUR=${DUR:-15}; WARM=${WARM:-3}; CONC=${CONC:-8}
DBS=${DBS:-sqlite postgres}; PORT=${PORT:-18193}; SKIP_BUILD=${SKIP_BUILD:-0}
export PGPORT=${PGPORT:-55432}
DATA=${DATA:-$BENCH_DIR/data/news_${N}.json}
BIN=${BIN:-$ROOT/target/release/gazette}
# The HMAC key turns on trust by history on PostgreSQL too (SQLite makes one in its data
# directory), so both databases run the same lookups.
SERVE_ENVS="GAZETTE_COMMENTS_CLOSE_AFTER_DAYS=0 GAZETTE_WRITE_RATE_LIMIT=1000000000 GAZETTE_TRUSTED_PROXIES=127.0.0.1 GAZETTE_JWT_SECRET=comments-bench-secret-comments-bench-secret GAZETTE_COMMENTS_HMAC_KEY=comments-bench-secret-comments-bench-secret"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

OUT=$(mktemp -d)
# shellcheck source=bench/lib.sh
source bench/lib.sh

echo "| database | target | req/s | p50 ms | p99 ms | errors | bytes/resp | gazette CPU µs/req | PostgreSQL CPU µs/req | peak RSS |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for DB in $DBS; do
  prepare "$DB"
  serve "$DB"
  # shellcheck disable=SC2046
  EDITOR_TOKEN=$(env $(db_env "$DB") GAZETTE_JWT_SECRET=comments-bench-secret-comments-bench-secret "$BIN" token --sub bench-editor --role editor --ttl 2h)
  python3 - "http://127.0.0.1:$PORT" "$OUT" "$EDITOR_TOKEN" <<'PY'
import json, sys, urllib.request
base, out, token = sys.argv[1:4]
def call(method, path, body=None, ip=None, auth=False):
    req = urllib.request.Request(base + path, method=method,
        data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if ip: req.add_header("X-Forwarded-For", ip)
    if auth: req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())
slugs, cursor = [], None
while len(slugs) < 2000:
    page = call("GET", "/api/v1/articles?limit=100" + (f"&cursor={cursor}" if cursor else ""))
    slugs += [a["slug"] for a in page["data"]]
    cursor = page.get("next_cursor")
    if not cursor: break
open(f"{out}/slugs.txt", "w").write("\n".join(slugs) + "\n")
# 1,000 pending comments (three links each holds them for moderation), counting those
# an earlier run left.
n = 0
cur = None
while True:
    page = call("GET", "/api/v1/comments?status=PENDING&limit=100" + (f"&cursor={cur}" if cur else ""), auth=True)
    n += len(page["items"]); cur = page["next_cursor"]
    if not cur: break
for k in range(n, 1000):
    call("POST", f"/api/v1/articles/{slugs[k % len(slugs)]}/comments",
         {"author_name": f"Held {k}", "body": f"Sources {k}: https://a.test/{k} https://b.test/{k} https://c.test/{k}"},
         ip=f"172.16.{k // 250}.{k % 250 + 1}")
pages, cur = [], None
while len(pages) < 20:
    pages.append("/api/v1/comments?status=PENDING&limit=50" + (f"&cursor={cur}" if cur else ""))
    page = call("GET", pages[-1], auth=True)
    cur = page["next_cursor"]
    if not cur: break
open(f"{out}/queue.txt", "w").write("\n".join(pages) + "\n")
PY
  PATHS="$OUT/slugs.txt" measure "post a comment (built-in scoring, 2,000 articles)" "$OUT/slugs.txt" bench/post_comment.lua
  AUTH=$EDITOR_TOKEN measure "queue page of 50 from 1,000 pending" "$OUT/queue.txt"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
done
echo
echo "machine: $(nproc) cores, load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg); rerun: bash bench/comments.sh"
