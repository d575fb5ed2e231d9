#!/usr/bin/env bash
# Times `gazette import` of the generated newsroom into a new SQLite file, then a re-import
# of the same file (updates by slug, no duplicates).
#
#   bash bench/import.sh                 # 50,000 articles
#   N=2000 bash bench/import.sh          # a quick run
#
# Env: N (articles, 50000), SHARED_BENCH (folder of gen_dataset.py, ../shared/bench beside
# this checkout), BENCH_DIR (work folder, ${TMPDIR:-/tmp}/gazette-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-50000}
SHARED_BENCH=${SHARED_BENCH:-../shared/bench}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/gazette-bench}
data="$BENCH_DIR/data/news_$N.json"
mkdir -p "$BENCH_DIR/data"
if [ ! -f "$data" ]; then
  echo "generating $N articles into $data"
  python3 "$SHARED_BENCH/gen_dataset.py" --articles "$N" -o "$data" --truth "$BENCH_DIR/data/truth_$N.json"
fi
cargo build --release --quiet
db_dir="$BENCH_DIR/import-sqlite"
rm -rf "$db_dir"
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
for run in first re-import; do
  echo "== $run of $data"
  /usr/bin/time -f "wall %e s, max RSS %M KiB" ./target/release/gazette --data-dir "$db_dir" import "$data" 2>&1 \
    | grep -E '^(imported|wall)'
done
ls -l "$db_dir/gazette.db"
