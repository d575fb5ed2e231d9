#!/usr/bin/env bash
# Validates gazette's feeds with a parser others wrote: Python's feedparser must read every
# RSS and Atom feed (the site's, each section's, each author's, some tags') without a
# `bozo` error, with every item the REST API lists for the same scope, and the JSON Feed
# must hold the same items. Runs a live gazette on a fresh SQLite file with the demo
# newsroom. Installs feedparser from PyPI when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import feedparser' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check "feedparser>=6,<7"

# .ci/run passes the binary its `cargo test` built (GAZETTE_BIN); a plain `cargo build` would
# build a second copy of gazette and of every crate whose features differ without dev-dependencies.
bin=${GAZETTE_BIN:-}
if [ -z "$bin" ]; then
  cargo build --quiet
  bin=./target/debug/gazette
fi
work=$(mktemp -d)
port=${FEEDS_PORT:-18089}
export GAZETTE_DATA_DIR="$work/data" GAZETTE_RATE_LIMIT=100000
export GAZETTE_PUBLIC_URL=https://news.example GAZETTE_PUBLICATION_NAME="The Harbour Ledger"
"$bin" --addr "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 60); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done

python3 - "http://127.0.0.1:$port" <<'PY'
import json, sys, urllib.parse, urllib.request
import feedparser

base = sys.argv[1]
def get(path):
    with urllib.request.urlopen(base + path) as r:
        return r.read(), r.headers.get("content-type", "")

def rest(path):
    return json.loads(get(path)[0])

def sections(tree):
    for s in tree:
        yield s["path"]
        yield from sections(s["children"])

scopes = [("", "")]
scopes += [(f"section={p}", f"section={urllib.parse.quote(p)}") for p in sections(rest("/api/v1/sections"))]
scopes += [(f"author={a['slug']}", f"author={a['slug']}") for a in rest("/api/v1/authors?limit=100")["data"]]
tags = {t["slug"] for a in rest("/api/v1/articles?limit=100")["data"] for t in a["tags"]}
scopes += [(f"tag={t}", f"tag={t}") for t in sorted(tags)[:10]]

checked = 0
for label, query in scopes:
    want = [a["url"] for a in rest(f"/api/v1/articles?limit=50&{query}")["data"]]
    for path, ctype, version in [("/feeds/rss.xml", "application/rss+xml", "rss20"),
                                  ("/feeds/atom.xml", "application/atom+xml", "atom10")]:
        body, got_type = get(f"{path}?{query}")
        assert got_type.startswith(ctype), (path, label, got_type)
        feed = feedparser.parse(body)
        assert not feed.bozo, (path, label, feed.get("bozo_exception"))
        assert feed.version == version, (path, label, feed.version)
        links = [e.link for e in feed.entries]
        assert links == want, (path, label, links, want)
        for e in feed.entries:
            assert e.title and e.get("published_parsed") and e.get("content"), (path, label, e.get("id"))
        checked += 1
    body, got_type = get(f"/feeds/feed.json?{query}")
    assert got_type.startswith("application/feed+json"), got_type
    doc = json.loads(body)
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert [i["url"] for i in doc["items"]] == want, ("json", label)
    checked += 1
print(f"feedparser: {checked} feeds of {len(scopes)} scopes parsed without errors, every item present")
PY
