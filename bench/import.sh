#!/usr/bin/env bash
# Times `gazette import` of the generated newsroom, with its max RSS and CPU time, into a new
# database, then a re-import of the same file (every record unchanged: nothing is rewritten),
# on SQLite and, with PG_URL, on PostgreSQL; in gazette's own format and, with FORMATS, as a
# WordPress export (WXR) and a Ghost export of the same newsroom (bench/gen_foreign.py).
#
#   bash bench/import.sh                                  # SQLite, 50,000 articles
#   N=2000 bash bench/import.sh                           # a quick run
#   PG_URL=postgres://postgres@127.0.0.1:5432/gazette bash bench/import.sh   # SQLite, then PostgreSQL
#   FORMATS="gazette wordpress ghost" bash bench/import.sh                  # the three formats
#   SIZES="10000 25000 50000" RUNS=first bash bench/import.sh               # memory as the file grows
#
# Env: N (articles, 50000), SIZES (several N in turn), DATA (the gazette file to import
# instead of $BENCH_DIR/data/news_$N.json), FORMATS (gazette; also wordpress, ghost), RUNS
# (first re-import), DBS (sqlite and, with PG_URL, postgres), PG_URL (a PostgreSQL database
# in which the script drops and recreates the schema PG_SCHEMA), PG_SCHEMA
# (gazette_import_bench), BIN (a gazette binary to measure instead of building the release
# one), SHARED_BENCH (folder of gen_dataset.py, ../shared/bench beside this checkout),
# BENCH_DIR (work folder, ${TMPDIR:-/tmp}/gazette-bench), DB_DIR (the SQLite databases,
# $BENCH_DIR), FOREIGN_DIR (the generated WordPress and Ghost files, beside the data file).
#
# Each run prints the progress lines (with the RSS at each tenth), then one line:
# `<db> <format> N=<n> <run>: wall … s, CPU … s (user+sys), max RSS … MB, load …`.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED_BENCH=${SHARED_BENCH:-../shared/bench}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/gazette-bench}
DB_DIR=${DB_DIR:-$BENCH_DIR}
PG_SCHEMA=${PG_SCHEMA:-gazette_import_bench}
DBS=${DBS:-sqlite${PG_URL:+ postgres}}
FORMATS=${FORMATS:-gazette}
RUNS=${RUNS:-first re-import}
SIZES=${SIZES:-${N:-50000}}
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=./target/release/gazette
fi
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }

for n in $SIZES; do
  data=${DATA:-$BENCH_DIR/data/news_$n.json}
  if [ ! -f "$data" ]; then
    echo "generating $n articles into $data"
    mkdir -p "$(dirname "$data")"
    python3 "$SHARED_BENCH/gen_dataset.py" --articles "$n" -o "$data" --truth "$(dirname "$data")/truth_$n.json"
  fi
  foreign=${FOREIGN_DIR:-$(dirname "$data")}
  base=$foreign/$(basename "$data" .json)
  for format in $FORMATS; do
    case $format in
      gazette) file=$data; from=() ;;
      wordpress) file=$base.wxr; from=(--from wordpress) ;;
      ghost) file=$base.ghost.json; from=(--from ghost --site-url https://news.example) ;;
      *) echo "unknown format $format" >&2; exit 2 ;;
    esac
    if [ ! -f "$file" ] || [ "$file" -ot "$data" ]; then
      echo "writing $file from $data"
      mkdir -p "$foreign"
      case $format in
        wordpress) python3 bench/gen_foreign.py "$data" --wxr "$file.tmp" ;;
        ghost) python3 bench/gen_foreign.py "$data" --ghost "$file.tmp" ;;
      esac
      mv "$file.tmp" "$file"
    fi
    echo "file: $file ($(du -m "$file" | cut -f1) MB)"
    for db in $DBS; do
      case $db in
        sqlite)
          db_dir="$DB_DIR/import-sqlite"
          rm -rf "$db_dir"
          target=(env -u DATABASE_URL GAZETTE_LOG=warn "$BIN" --data-dir "$db_dir") ;;
        postgres)
          [ -n "${PG_URL:-}" ] || { echo "postgres needs PG_URL" >&2; exit 2; }
          psql -qX "$PG_URL" -c "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" -c "CREATE SCHEMA $PG_SCHEMA"
          sep='?'; [[ $PG_URL == *\?* ]] && sep='&'
          target=(env "DATABASE_URL=$PG_URL${sep}options=-csearch_path%3D$PG_SCHEMA" GAZETTE_LOG=warn "$BIN") ;;
        *) echo "unknown database $db" >&2; exit 2 ;;
      esac
      for run in $RUNS; do
        echo "== $db, $format, N=$n, $run"
        out=$(/usr/bin/time -f "TIME %e %U %S %M" "${target[@]}" import "${from[@]}" "$file" 2>&1) || { echo "$out" | tail -20; exit 1; }
        echo "$out" | grep -E '^(sections|authors|tags|articles|comments)(: | +[0-9])|^memory:|^in [0-9.]+ s' || true
        read -r wall user sys rss < <(echo "$out" | awk '/^TIME / {print $2, $3, $4, $5}')
        printf '%s %s N=%s %s: wall %s s, CPU %.1f s (user+sys), max RSS %d MB, load %s\n' \
          "$db" "$format" "$n" "$run" "$wall" "$(echo "$user + $sys" | bc)" $((rss / 1024)) \
          "$(cut -d' ' -f1-3 /proc/loadavg)"
      done
    done
  done
done
