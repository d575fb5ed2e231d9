#!/usr/bin/env bash
# Search on the generated 50,000-article newsroom, uncached, on SQLite and PostgreSQL, at 8
# connections (issue 19's target: p99 ≤ 50 ms on both): a results page of ten with score,
# highlight and `totalCount`, over GraphQL GET, for 600 queries drawn from the headlines'
# vocabulary by bench/search_queries.py (the commonest words, words by frequency, rare words,
# two words, quoted two-word phrases, prefixes, a word in one section, in turn). One row for
# the mix, then one for each kind alone (KINDS="" skips those).
#
#   bash bench/search.sh                          # both databases, 15 s per row
#   DUR=5 DBS=postgres KINDS=phrase bash bench/search.sh
#
# Settings as bench/feeds.sh: BENCH_DIR, DATA, N (50000), DUR (15), WARM (3), CONC (8), DBS
# ("sqlite postgres"), PORT (18395), PGPORT (55432), BIN, SKIP_BUILD, and KINDS (which
# kinds get a row of their own; default all seven).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd); cd "$ROOT"
PEER_DIR=${PEER_DIR:-$ROOT/../shared/bench}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/gazette-bench}
N=${N:-50000}; DUR=${DUR:-15}; WARM=${WARM:-3}; CONC=${CONC:-8}
DBS=${DBS:-sqlite postgres}; PORT=${PORT:-18395}; SKIP_BUILD=${SKIP_BUILD:-0}
KINDS=${KINDS-common word rare two phrase prefix section}
export PGPORT=${PGPORT:-55432}
DATA=${DATA:-$BENCH_DIR/data/news_${N}.json}
BIN=${BIN:-$ROOT/target/release/gazette}

OUT=$(mktemp -d)
# shellcheck source=bench/lib.sh
source bench/lib.sh
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
python3 bench/search_queries.py "$DATA" "$OUT/search.txt"

echo "| database | queries | req/s | p50 ms | p99 ms | errors | bytes/resp | gazette CPU µs/req | PostgreSQL CPU µs/req | peak RSS |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for DB in $DBS; do
  prepare "$DB"
  serve "$DB"
  measure "mix of 600" "$OUT/search.txt"
  for k in $KINDS; do measure "$k ($(wc -l < "$OUT/search.txt.$k"))" "$OUT/search.txt.$k"; done
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
done
echo
echo "machine: $(nproc) cores, load average before: $LOAD, after: $(cut -d' ' -f1-3 /proc/loadavg); rerun: bash bench/search.sh"
