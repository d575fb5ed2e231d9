#!/usr/bin/env bash
# Runs graphql-http's server audits (the GraphQL-over-HTTP spec's conformance suite) against a
# live gazette on a fresh SQLite data directory, as .ci/schemathesis.sh starts it. Prints every
# result; fails on any MUST that fails. The warnings kept, and why, are listed at the top of
# .ci/graphql-http-audit.mjs. Installs Node.js and npm with apt-get when they are missing, and
# graphql-http into a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi

# .ci/run passes the binary its `cargo test` built (GAZETTE_BIN); a plain `cargo build` would
# build a second copy of gazette and of every crate whose features differ without dev-dependencies.
bin=${GAZETTE_BIN:-}
if [ -z "$bin" ]; then
  cargo build --quiet
  bin=./target/debug/gazette
fi
work=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

npm install --prefix "$work/npm" --no-audit --no-fund --silent graphql-http@1.23.1 graphql@16 >/dev/null

# A port nothing listens on now (or the one given).
port=${GRAPHQL_HTTP_AUDIT_PORT:-$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')}
export GAZETTE_DATA_DIR="$work/data"
# One client sends everything here; the limits have their own tests.
export GAZETTE_RATE_LIMIT=100000 GAZETTE_WRITE_RATE_LIMIT=100000
GAZETTE_JWT_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')
export GAZETTE_JWT_SECRET
"$bin" --addr "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 60); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done

GRAPHQL_URL="http://127.0.0.1:$port/graphql" GRAPHQL_HTTP_DIR="$work/npm" \
  node .ci/graphql-http-audit.mjs || { echo "--- server log ---"; tail -50 "$work/server.log"; exit 1; }
