#!/usr/bin/env bash
# Runs schemathesis against a live gazette (fresh SQLite, demo content) with openapi.yaml:
# server errors, response schemas, status codes and content types, with an admin token so
# the write routes are exercised too. Installs schemathesis from PyPI when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v st >/dev/null 2>&1 || python3 -m pip install -q --disable-pip-version-check "schemathesis>=4,<5"
ST=$(command -v st || echo "python3 -m schemathesis.cli")

# .ci/run passes the binary its `cargo test` built (GAZETTE_BIN); a plain `cargo build` would
# build a second copy of gazette and of every crate whose features differ without dev-dependencies.
bin=${GAZETTE_BIN:-}
if [ -z "$bin" ]; then
  cargo build --quiet
  bin=./target/debug/gazette
fi
work=$(mktemp -d)
port=${SCHEMATHESIS_PORT:-18087}
export GAZETTE_DATA_DIR="$work/data"
# One client sends everything here; the limits have their own tests.
export GAZETTE_RATE_LIMIT=100000 GAZETTE_WRITE_RATE_LIMIT=100000
# With public URLs, so feeds, sitemaps and oEmbed answer in full, not only 404.
export GAZETTE_PUBLIC_URL=https://news.example
# Webhooks on, so that their routes answer as they do in a deployment (without a key they
# refuse with 503). The key is made for the run.
GAZETTE_WEBHOOK_KEY=$(head -c 32 /dev/urandom | base64 | tr -d "\n")
export GAZETTE_WEBHOOK_KEY
GAZETTE_JWT_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')
export GAZETTE_JWT_SECRET
"$bin" --addr "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 60); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done
token=$("$bin" token --sub schemathesis --role admin --ttl 2h)

run() {
  $ST run openapi.yaml \
    --url "http://127.0.0.1:$port" \
    --header "Authorization: Bearer $token" \
    --max-examples "${SCHEMATHESIS_EXAMPLES:-30}" \
    --phases examples,coverage,fuzzing \
    --seed 7 \
    --no-color \
    --request-timeout 10 \
    --generation-database none \
    "$@" || { echo "--- server log ---"; tail -50 "$work/server.log"; exit 1; }
}
# Every operation but oEmbed, with every check.
run --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
  --exclude-path /oembed "$@"
# oEmbed answers 501 to a format it does not serve, as oEmbed 1.0 asks (documented in
# openapi.yaml), so "no 5xx" does not apply to it; the rest do.
run --checks response_schema_conformance,status_code_conformance,content_type_conformance \
  --include-path /oembed "$@"
