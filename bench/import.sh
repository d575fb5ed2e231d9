#!/usr/bin/env bash
# Times `gazette import` of the generated newsroom, with its max RSS, into a new database,
# then a re-import of the same file (every record unchanged: nothing is rewritten), on
# SQLite and, with PG_URL, on PostgreSQL.
#
#   bash bench/import.sh                                  # SQLite, 50,000 articles
#   N=2000 bash bench/import.sh                           # a quick run
#   PG_URL=postgres://postgres@127.0.0.1:5432/gazette bash bench/import.sh   # SQLite, then PostgreSQL
#
# Env: N (articles, 50000), DBS (sqlite and, with PG_URL, postgres), PG_URL (a PostgreSQL
# database in which the script drops and recreates the schema PG_SCHEMA), PG_SCHEMA
# (gazette_import_bench), BIN (a gazette binary to measure instead of building the release
# one), SHARED_BENCH (folder of gen_dataset.py, ../shared/bench beside this checkout),
# BENCH_DIR (work folder, ${TMPDIR:-/tmp}/gazette-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-50000}
SHARED_BENCH=${SHARED_BENCH:-../shared/bench}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/gazette-bench}
PG_SCHEMA=${PG_SCHEMA:-gazette_import_bench}
DBS=${DBS:-sqlite${PG_URL:+ postgres}}
data="$BENCH_DIR/data/news_$N.json"
mkdir -p "$BENCH_DIR/data"
if [ ! -f "$data" ]; then
  echo "generating $N articles into $data"
  python3 "$SHARED_BENCH/gen_dataset.py" --articles "$N" -o "$data" --truth "$BENCH_DIR/data/truth_$N.json"
fi
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=./target/release/gazette
fi
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
echo "file: $data ($(du -m "$data" | cut -f1) MB)"

for db in $DBS; do
  case $db in
    sqlite)
      db_dir="$BENCH_DIR/import-sqlite"
      rm -rf "$db_dir"
      target=(env -u DATABASE_URL "$BIN" --data-dir "$db_dir") ;;
    postgres)
      [ -n "${PG_URL:-}" ] || { echo "postgres needs PG_URL" >&2; exit 2; }
      psql -qX "$PG_URL" -c "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" -c "CREATE SCHEMA $PG_SCHEMA"
      sep='?'; [[ $PG_URL == *\?* ]] && sep='&'
      target=(env "DATABASE_URL=$PG_URL${sep}options=-csearch_path%3D$PG_SCHEMA" "$BIN") ;;
    *) echo "unknown database $db" >&2; exit 2 ;;
  esac
  for run in first re-import; do
    echo "== $db, $run"
    /usr/bin/time -f "$db $run: wall %e s, max RSS %M KiB" "${target[@]}" import "$data" 2>&1 \
      | grep -E '^(articles|comments|sections|authors|tags) +[0-9]| wall |^in [0-9.]+ s'
  done
done
