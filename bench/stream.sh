#!/usr/bin/env bash
# The change stream on the generated 50,000-article newsroom (issues 15 and 16), uncached,
# on SQLite and PostgreSQL:
#   - delta sync pages (`/api/v1/changes`, 100 entries): snapshot pages at 100 positions
#     spread over the snapshot, and stream pages at 100 positions spread over the import's
#     50,000 events, anonymous (the public view) and as an editor (every event);
#   - the partner feed (`/api/v1/partner/items`, 50 ninjs items) at the same stream
#     positions, and ninjs articles, for a partner granted about half of the sections;
#   - a full sync timed end to end: one client pages through the whole snapshot, another
#     follows the whole stream from its start (entries and events per second);
#   - writes: `createArticle` at CONC connections, each a transaction that takes a stream
#     position (events written per second); last, as it adds drafts to the dataset's import;
#   - webhooks: a local receiver subscribed to `article.*`, then PUBLISH (300) of those
#     drafts published one after another: events delivered per second, and how long after
#     the last publish the last delivery arrived.
#
#   bash bench/stream.sh                      # both databases, 15 s per target at 8 connections
#   DUR=5 DBS=sqlite bash bench/stream.sh     # a quick look
#
# Settings as bench/feeds.sh: BENCH_DIR, N (50000), DUR (15), WARM (3), CONC (8), DBS
# ("sqlite postgres"), PORT (18290), SKIP_BUILD. A token secret is made for the run and
# passed to the server and to `gazette token` through the environment only.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd); cd "$ROOT"
PEER_DIR=${PEER_DIR:-$ROOT/../shared/bench}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/gazette-bench}
N=${N:-50000}; DUR=${DUR:-15}; WARM=${WARM:-3}; CONC=${CONC:-8}
DBS=${DBS:-sqlite postgres}; PORT=${PORT:-18290}; SKIP_BUILD=${SKIP_BUILD:-0}
export PGPORT=${PGPORT:-55432}
DATA=${DATA:-$BENCH_DIR/data/news_${N}.json}
BIN=$ROOT/target/release/gazette

OUT=$(mktemp -d)
# shellcheck source=bench/lib.sh
source bench/lib.sh
GAZETTE_JWT_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
export GAZETTE_JWT_SECRET
GAZETTE_WEBHOOK_KEY=$(head -c 32 /dev/urandom | base64 | tr -d '\n')
export GAZETTE_WEBHOOK_KEY
SERVE_ENVS="GAZETTE_WRITE_RATE_LIMIT=1000000 GAZETTE_WEBHOOK_ALLOW_PRIVATE=true"
PUBLISH=${PUBLISH:-300}

# The stream's last position: a snapshot's first position names it.
stream_head() {
  curl -s "http://127.0.0.1:$PORT/api/v1/changes?limit=1" | python3 -c 'import base64,json,sys; n=json.load(sys.stdin)["next"]; print(base64.urlsafe_b64decode(n+"="*(-len(n)%4)).decode()[1:].split(".")[0])'
}

token() {  # role sub
  # shellcheck disable=SC2046
  env $(db_env "$DB") GAZETTE_LOG=error "$BIN" token --role "$1" --sub "$2" --ttl 2h
}

echo "| database | target | req/s | p50 ms | p99 ms | errors | bytes/resp | gazette CPU µs/req | PostgreSQL CPU µs/req | peak RSS |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for DB in $DBS; do
  prepare "$DB"
  serve "$DB"
  EDITOR=$(token editor bench); ADMIN=$(token admin bench)
  python3 - "http://127.0.0.1:$PORT" "$OUT" "$ADMIN" "$EDITOR" <<'PY' > "$OUT/sync.txt"
import base64, json, sys, time, urllib.request
base, out, admin, editor = sys.argv[1:5]
def call(path, tok=None, body=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body else None)
    req.add_header("content-type", "application/json")
    if tok:
        req.add_header("authorization", "Bearer " + tok)
    return json.loads(urllib.request.urlopen(req).read())
def gql(tok, q):
    r = call("/graphql", tok, {"query": q})
    assert "errors" not in r, r
    return r["data"]
def pos(p):
    return base64.urlsafe_b64encode(p.encode()).decode().rstrip("=")
def unpos(p):
    return base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)).decode()

# The partner: every other top-level section, with its subsections.
tops = [s["path"] for s in call("/api/v1/sections")]
grant = tops[::2]
r = call("/graphql", admin, {"query": 'mutation { createPartner(input: { name: "Bench Wire", slug: "bench-wire", sections: %s }) { slug } }' % json.dumps(grant)})
if "errors" in r:  # a rerun on the same import: the partner is there; give it this run's grant
    gql(admin, 'mutation { updatePartner(slug: "bench-wire", input: { sections: %s }) { slug } }' % json.dumps(grant))
gql(admin, 'mutation { createPartnerKey(partner: "bench-wire", name: "bench") { id } }')

# A full snapshot, timed; every sixth position kept.
t0, n, pages, snap = time.time(), 0, 0, []
page = call("/api/v1/changes?limit=100")
head = int(unpos(page["next"])[1:].split(".")[0])
while True:
    n += len(page["items"]); pages += 1
    if pages % 6 == 0:
        snap.append(page["next"])
    if not page["has_more"]:
        break
    page = call("/api/v1/changes?limit=100&since=" + page["next"])
dt = time.time() - t0
print(f"full snapshot, anonymous: {n} entries in {pages} pages, {dt:.1f} s ({n / dt:.0f} entries/s)")
# Following the whole stream from its start as an editor (who sees every event), timed.
t0, seen, pages, p = time.time(), 0, 0, pos("p0")
while True:
    page = call("/api/v1/changes?limit=100&since=" + p, editor)
    seen += len(page["items"]); pages += 1; p = page["next"]
    if not page["has_more"]:
        break
dt = time.time() - t0
print(f"the whole stream from its start, editor: {head} events, {seen} entries in {pages} pages, {dt:.1f} s ({head / dt:.0f} events/s)")

stream = [pos(f"p{i}") for i in range(0, max(head - 100, 1), max(head // 100, 1))]
open(f"{out}/snap.txt", "w").write("".join(f"/api/v1/changes?limit=100&since={s}\n" for s in snap))
open(f"{out}/stream.txt", "w").write("".join(f"/api/v1/changes?limit=100&since={s}\n" for s in stream))
open(f"{out}/partner.txt", "w").write("".join(f"/api/v1/partner/items?limit=50&since={s}\n" for s in stream))
slugs = [a["slug"] for g in grant for a in call(f"/api/v1/articles?limit=50&section={g}")["data"]]
open(f"{out}/ninjs.txt", "w").write("".join(f"/api/v1/articles/{s}/ninjs\n" for s in slugs))
open(f"{out}/head", "w").write(str(head))
open(f"{out}/section", "w").write(tops[0])
open(f"{out}/author", "w").write(call("/api/v1/authors?limit=1")["data"][0]["slug"])
PY
  PARTNER=$(token partner bench-wire)
  measure "delta sync: snapshot pages (100 entries)" "$OUT/snap.txt"
  measure "delta sync: stream pages (100 entries), anonymous" "$OUT/stream.txt"
  export AUTH=$EDITOR
  measure "delta sync: stream pages (100 entries), editor" "$OUT/stream.txt"
  export AUTH=$PARTNER
  measure "partner feed: stream pages (50 ninjs items)" "$OUT/partner.txt"
  measure "ninjs article, partner ($(wc -l < "$OUT/ninjs.txt") articles)" "$OUT/ninjs.txt"
  export AUTH=$EDITOR SECTION; SECTION=$(cat "$OUT/section"); export AUTHOR; AUTHOR=$(cat "$OUT/author")
  before=$(stream_head)
  measure "writes: createArticle (a stream event each)" /dev/null bench/create_article.lua
  after=$(stream_head)
  unset AUTH
  python3 - "http://127.0.0.1:$PORT" "$ADMIN" "$EDITOR" "$PUBLISH" "$((PORT + 1))" <<'PY' >> "$OUT/sync.txt"
import http.server, json, sys, threading, time, urllib.request
base, admin, editor, n, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
got = []
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        got.append(time.time())
        self.send_response(204); self.end_headers()
    def log_message(self, *a):
        pass
class Srv(http.server.ThreadingHTTPServer):
    # The default backlog of 5 overflows when gazette delivers 32 at once, and each refused
    # connection waits for TCP's one-second SYN retry: that, not gazette, set the pace.
    request_queue_size = 256
    daemon_threads = True
Hook.protocol_version = "HTTP/1.1"  # keep-alive, as real receivers answer
srv = Srv(("127.0.0.1", port), Hook)
threading.Thread(target=srv.serve_forever, daemon=True).start()
def gql(tok, q, v=None):
    req = urllib.request.Request(base + "/graphql", data=json.dumps({"query": q, "variables": v or {}}).encode())
    req.add_header("content-type", "application/json"); req.add_header("authorization", "Bearer " + tok)
    r = json.loads(urllib.request.urlopen(req).read())
    assert "errors" not in r, r
    return r["data"]
gql(admin, 'mutation($u: String!) { createWebhook(input: { url: $u, eventTypes: ["article.*"] }) { webhook { id } } }', {"u": f"http://127.0.0.1:{port}/hook"})
drafts, after = [], None
while len(drafts) < n:
    page = gql(editor, 'query($a: String) { articles(first: 100, after: $a, filter: { status: DRAFT }) { pageInfo { hasNextPage endCursor } edges { node { id version } } } }', {"a": after})["articles"]
    drafts += [e["node"] for e in page["edges"]]
    if not page["pageInfo"]["hasNextPage"]:
        break
    after = page["pageInfo"]["endCursor"]
drafts = drafts[:n]
t0 = time.time()
for d in drafts:
    gql(editor, 'mutation($id: ID!, $v: Int!) { publishArticle(id: $id, expectedVersion: $v) { status } }', {"id": d["id"], "v": d["version"]})
t1 = time.time()
while len(got) < len(drafts) and time.time() < t1 + 300:
    time.sleep(0.05)
t2 = max(got) if got else time.time()
print(f"webhooks: {len(drafts)} publishes in {t1 - t0:.1f} s ({len(drafts) / (t1 - t0):.0f}/s, one client); "
      f"{len(got)} deliveries, the last {t2 - t1:.1f} s after the last publish ({len(got) / (t2 - t0):.0f} delivered/s)")
srv.shutdown()
PY
  sed "s/^/    $DB: /" "$OUT/sync.txt" >> "$OUT/notes"
  echo "    $DB: events written during the write run (warm-up and measured, $((WARM + DUR)) s): $((after - before)), $(( (after - before) / (WARM + DUR) )) events/s" >> "$OUT/notes"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
done
echo
cat "$OUT/notes"
echo
echo "machine: $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg); rerun: bash bench/stream.sh"
