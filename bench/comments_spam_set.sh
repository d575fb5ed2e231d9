#!/usr/bin/env bash
# How the built-in spam scoring sorts the generated 50,000-article newsroom's own comments
# and a generated spam set (bench/comments_spam_set.py): on a fresh copy of the imported
# newsroom (SQLite file copied, PostgreSQL database cloned from the import), so every run
# starts from the same data, and prints how many were approved, held and marked spam by
# kind, with a sample of reasons.
#
#   bash bench/comments_spam_set.sh                     # SQLite, 5,000 of the newsroom's comments
#   DBS="sqlite postgres" bash bench/comments_spam_set.sh
#   SAMPLE=1000 N=2000 bash bench/comments_spam_set.sh  # a quick look
#
# The server blocks what the spam set uses (a blocklist file: three words and a domain),
# trusts 127.0.0.1 as a proxy so each post comes from an address of its own, and keeps
# comments open on the dataset's old articles. Every other setting is the default.
# Settings: BENCH_DIR, N (50000), SAMPLE (5000), DBS (sqlite), PORT (18194), PGPORT, SKIP_BUILD.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd); cd "$ROOT"
PEER_DIR=${PEER_DIR:-$ROOT/../shared/bench}
export BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/gazette-bench}
N=${N:-50000}; SAMPLE=${SAMPLE:-5000}; DUR=0; WARM=0; CONC=1
DBS=${DBS:-sqlite}; PORT=${PORT:-18194}; SKIP_BUILD=${SKIP_BUILD:-0}
export PGPORT=${PGPORT:-55432}
DATA=${DATA:-$BENCH_DIR/data/news_${N}.json}
BIN=${BIN:-$ROOT/target/release/gazette}
SECRET=comments-bench-secret-comments-bench-secret
OUT=$(mktemp -d)
# shellcheck source=bench/lib.sh
source bench/lib.sh
printf 'casino\nviagra\ncrypto giveaway\ndomain:cheap-pills.example\n' > "$OUT/blocklist.txt"
SERVE_ENVS="GAZETTE_COMMENTS_CLOSE_AFTER_DAYS=0 GAZETTE_WRITE_RATE_LIMIT=1000000000 GAZETTE_TRUSTED_PROXIES=127.0.0.1 GAZETTE_JWT_SECRET=$SECRET GAZETTE_COMMENTS_HMAC_KEY=$SECRET GAZETTE_COMMENTS_BLOCKLIST_FILE=$OUT/blocklist.txt"

for DB in $DBS; do
  prepare "$DB"
  case $DB in
    sqlite)
      copy=$BENCH_DIR/comments-spam-sqlite
      rm -rf "$copy"; mkdir -p "$copy"; cp -a "$SQLITE_DIR"/. "$copy"/
      SQLITE_DIR=$copy
      ;;
    postgres)
      "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U bench -d postgres -qXc "DROP DATABASE IF EXISTS gazette_spam_set WITH (FORCE)"
      "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U bench -d postgres -qXc "CREATE DATABASE gazette_spam_set TEMPLATE gazette"
      PG_DSN=postgres://bench@127.0.0.1:$PGPORT/gazette_spam_set
      ;;
  esac
  serve "$DB"
  # shellcheck disable=SC2046
  TOKEN=$(env $(db_env "$DB") GAZETTE_JWT_SECRET=$SECRET "$BIN" token --sub bench-editor --role editor --ttl 2h)
  echo "### $DB: $SAMPLE of the newsroom's comments and the spam set"
  echo
  python3 bench/comments_spam_set.py "http://127.0.0.1:$PORT" "$TOKEN" "$DATA" --sample "$SAMPLE"
  echo
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
  if [ "$DB" = postgres ]; then
    "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U bench -d postgres -qXc "DROP DATABASE IF EXISTS gazette_spam_set WITH (FORCE)"
    PG_DSN=postgres://bench@127.0.0.1:$PGPORT/gazette
  else
    SQLITE_DIR=$BENCH_DIR/gazette-sqlite
  fi
done
echo "rerun: bash bench/comments_spam_set.sh"
