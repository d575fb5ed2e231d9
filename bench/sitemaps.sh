#!/usr/bin/env bash
# The sitemaps' benchmark of issue #14: the Google News sitemap and one month's article
# sitemap of (nearly) 50,000 URLs, uncached (GAZETTE_RESPONSE_CACHE_BYTES=0), with wrk at
# $CONC connections, on the generated 50,000-article newsroom, on SQLite and PostgreSQL.
#
#   bash bench/sitemaps.sh                    # both databases, 15 s per route
#   DUR=5 DBS=sqlite bash bench/sitemaps.sh   # a quick look
#
# What it does: builds the release binary; generates the dataset when missing (the same
# file as bench/peer.sh); imports it into a SQLite file and a PostgreSQL database of its own
# (on the peer kit's server, ../shared/bench/peer/pg.sh, 127.0.0.1:$PGPORT), both reused
# while the file and the migrations are unchanged. The dataset's stories end in 2025, so it
# then re-dates the published ones in those copies: the newest $NEWS spread over the last
# 46 hours (a full news sitemap page at the default 1,000), every other one spread over last
# month (so that month's sitemap is one page of every remaining published story, about
# 46,500). Then per database it starts `gazette serve` with the response cache off and a
# public URL, fetches each route once with curl (status, bytes, time to first byte, total),
# runs wrk (a warm-up, then a measured run) while sampling the server's resident memory
# every 0.2 s, and prints one row per route: req/s, p50/p90/p99, errors, bytes per answer,
# the server's memory before and at its peak, and the CPU time per request of gazette and
# of PostgreSQL (every `postgres` process on the machine; on SQLite the database works
# inside gazette), which holds up better than latency on a machine other work shares. The target (issue #14): the news sitemap at
# p99 <= 20 ms at c=8 on both databases; the big page streams (its memory stays far below
# $CONC x its size).
#
# Env (defaults): PEER_DIR (../shared/bench beside this checkout), BENCH_DIR
# (${TMPDIR:-/tmp}/gazette-bench), N (50000), DATA ($BENCH_DIR/data/news_$N.json), NEWS
# (1000), DUR (15), WARM (3), CONC (8), THREADS (1), DBS ("postgres sqlite"), PORT (18390),
# PGPORT (55432), GZ_PGDB (gazette_sitemaps), REIMPORT (0; 1 imports again), SKIP_BUILD (0).
# Every GAZETTE_* variable of the environment reaches the server.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
case "${1:-}" in -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac
PEER_DIR=${PEER_DIR:-$ROOT/../shared/bench}
PEER_DIR=$(cd "$PEER_DIR" && pwd)
export BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/gazette-bench}
N=${N:-50000}; NEWS=${NEWS:-1000}; DUR=${DUR:-15}; WARM=${WARM:-3}; CONC=${CONC:-8}
THREADS=${THREADS:-1}; DBS=${DBS:-postgres sqlite}; PORT=${PORT:-18390}
export PGPORT=${PGPORT:-55432}; GZ_PGDB=${GZ_PGDB:-gazette_sitemaps}
REIMPORT=${REIMPORT:-0}; SKIP_BUILD=${SKIP_BUILD:-0}
DATA=${DATA:-$BENCH_DIR/data/news_${N}.json}
SQLITE_DIR=$BENCH_DIR/sitemaps-sqlite
LOGS=$BENCH_DIR/logs
mkdir -p "$LOGS" "$(dirname "$DATA")"
BIN=$ROOT/target/release/gazette
PG_DSN=postgres://bench@127.0.0.1:$PGPORT/$GZ_PGDB
PUBLIC=https://news.example
say() { echo "== $*" >&2; }

# ---- tools, binary, dataset -----------------------------------------------------------------
pkgs=()
command -v wrk >/dev/null || pkgs+=(wrk)
command -v curl >/dev/null || pkgs+=(curl)
command -v sqlite3 >/dev/null || pkgs+=(sqlite3)
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || pkgs+=(postgresql)
if [ ${#pkgs[@]} -gt 0 ]; then
  say "installing ${pkgs[*]}"
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get install -y "${pkgs[@]}" >/dev/null \
    || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y "${pkgs[@]}" >/dev/null; }
fi
PSQL=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/psql
if [ "$SKIP_BUILD" != 1 ]; then say "cargo build --release"; cargo build --release --quiet; fi
[ -x "$BIN" ] || { echo "no $BIN" >&2; exit 1; }
if [ ! -s "$DATA" ]; then
  say "generating $DATA ($N articles)"
  python3 "$PEER_DIR/gen_dataset.py" --articles "$N" -o "$DATA.tmp"
  mv "$DATA.tmp" "$DATA"
fi
DATA=$(readlink -f "$DATA")

# ---- the server started here is stopped on exit ----------------------------------------------
SERVER=; SAMPLER=
stop() {  # pid: TERM, wait up to 10 s, then KILL
  local p=$1; [ -n "$p" ] || return 0
  kill "$p" 2>/dev/null || return 0
  for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$p" 2>/dev/null || true
}
cleanup() { stop "$SAMPLER"; stop "$SERVER"; SAMPLER=; SERVER=; }
trap cleanup EXIT
trap 'exit 130' INT TERM
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

export GAZETTE_RATE_LIMIT=${GAZETTE_RATE_LIMIT:-1000000000}
export GAZETTE_WRITE_RATE_LIMIT=${GAZETTE_WRITE_RATE_LIMIT:-1000000000}
export GAZETTE_LOG=${GAZETTE_LOG:-warn}
export GAZETTE_RESPONSE_CACHE_BYTES=${GAZETTE_RESPONSE_CACHE_BYTES:-0}
export GAZETTE_PUBLIC_URL=${GAZETTE_PUBLIC_URL:-$PUBLIC}
db_env() {
  case $1 in
    postgres) DBENV=(-u GAZETTE_DATA_DIR "DATABASE_URL=$PG_DSN") ;;
    sqlite) DBENV=(-u DATABASE_URL "GAZETTE_DATA_DIR=$SQLITE_DIR") ;;
    *) echo "unknown database $1 (postgres, sqlite)" >&2; return 1 ;;
  esac
}
gz() { db_env "$1"; shift; env "${DBENV[@]}" "$BIN" "$@"; }

# ---- imports, reused while the file and the migrations are the same ---------------------------
MIGRATIONS=$(find migrations -type f -name '*.rs' | sort | xargs cat | sha1sum | cut -c1-12)
WANT="$(basename "$DATA") $(stat -L -c %s "$DATA") migrations $MIGRATIONS"
import_into() {
  local t0=$SECONDS
  gz "$1" import "$DATA" > "$LOGS/sitemaps_import_$1.log" 2>&1 \
    || { tail -5 "$LOGS/sitemaps_import_$1.log" >&2; echo "import into $1 failed" >&2; exit 1; }
  say "imported into $1 in $((SECONDS - t0)) s"
}
pg() { "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U bench "$@"; }
for db in $DBS; do
  case $db in
    postgres)
      bash "$PEER_DIR/peer/pg.sh" start >&2
      have=$(pg -d postgres -tAXc \
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '$GZ_PGDB'")
      if [ "$REIMPORT" = 1 ] || [ "$have" != "$WANT" ]; then
        say "importing $DATA into PostgreSQL database $GZ_PGDB (port $PGPORT)"
        pg -d postgres -qXc "DROP DATABASE IF EXISTS $GZ_PGDB WITH (FORCE)"
        pg -d postgres -qXc "CREATE DATABASE $GZ_PGDB"
        import_into postgres
        pg -d postgres -qXc "COMMENT ON DATABASE $GZ_PGDB IS '$WANT'"
      else say "PostgreSQL database $GZ_PGDB holds $WANT"; fi ;;
    sqlite)
      if [ "$REIMPORT" = 1 ] || [ "$(cat "$SQLITE_DIR/loaded" 2>/dev/null)" != "$WANT" ]; then
        say "importing $DATA into $SQLITE_DIR/gazette.db"
        rm -rf "$SQLITE_DIR"; mkdir -p "$SQLITE_DIR"
        import_into sqlite
        echo "$WANT" > "$SQLITE_DIR/loaded"
      else say "$SQLITE_DIR/gazette.db holds $WANT"; fi ;;
    *) echo "unknown database $db in DBS (postgres, sqlite)" >&2; exit 2 ;;
  esac
done

# ---- re-dating: $NEWS stories in the news window, the rest in last month ---------------------
NOW=$(date -u +%s)
THIS_MONTH=$(date -u +%Y-%m-01)
MEND=$(date -u -d "$THIS_MONTH" +%s)
MSTART=$(date -u -d "$THIS_MONTH -1 month" +%s)
MONTH=$(date -u -d "$THIS_MONTH -1 month" +%Y-%m)
# Rank 1 is the newest: ranks 1..NEWS go back from now over 46 h, the others back from the
# end of last month over the whole month; `updated_at` follows.
RANK="SELECT id, ROW_NUMBER() OVER (ORDER BY published_at DESC, id DESC) AS r, COUNT(*) OVER () AS n
      FROM articles WHERE status = 'PUBLISHED'"
AT="CASE WHEN r <= $NEWS THEN $NOW - r * (46 * 3600 / $NEWS)
         ELSE $MEND - 1 - (r - $NEWS) * ($MEND - $MSTART - 2) / (n - $NEWS) END"
redate() {
  case $1 in
    sqlite) sqlite3 "$SQLITE_DIR/gazette.db" <<SQL
CREATE TEMP TABLE ranked AS $RANK;
CREATE INDEX temp.ranked_id ON ranked (id);
UPDATE articles SET published_at = (SELECT strftime('%Y-%m-%dT%H:%M:%S+00:00', $AT, 'unixepoch')
                                    FROM ranked WHERE ranked.id = articles.id)
  WHERE id IN (SELECT id FROM ranked);
UPDATE articles SET updated_at = published_at WHERE id IN (SELECT id FROM ranked);
UPDATE article_authors SET published_at = (SELECT published_at FROM articles WHERE articles.id = article_authors.article_id)
  WHERE published_at IS NOT NULL;
SQL
    ;;
    postgres) pg -d "$GZ_PGDB" -qX <<SQL
WITH ranked AS ($RANK)
UPDATE articles a SET published_at = to_timestamp($AT), updated_at = to_timestamp($AT)
  FROM ranked WHERE ranked.id = a.id;
UPDATE article_authors b SET published_at = a.published_at FROM articles a
  WHERE a.id = b.article_id AND b.published_at IS NOT NULL;
VACUUM ANALYZE articles;
VACUUM ANALYZE article_authors;
SQL
    ;;
  esac
}

# ---- one database: serve, fetch once, measure ------------------------------------------------
NEWS_PATH=/sitemaps/news.xml
MONTH_PATH=/sitemaps/articles-$MONTH.xml
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# CPU time (utime + stime, in ticks) of a process, and of every `postgres` process: CPU per
# request holds up better than latency on a machine that other work shares.
TICK=$(getconf CLK_TCK)
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
cpu_db() { local s=0 p; for p in $(pgrep -x postgres || true); do s=$((s + $(cpu_of "$p"))); done; echo "$s"; }
run_db() {
  local db=$1
  say "$db: re-dating ($NEWS in the last 46 hours, the rest in $MONTH)"
  redate "$db"
  if port_busy; then echo "port $PORT is in use; set PORT" >&2; exit 1; fi
  db_env "$db"
  env "${DBENV[@]}" GAZETTE_ADDR="127.0.0.1:$PORT" "$BIN" serve > "$LOGS/sitemaps_serve_$db.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
  if ! kill -0 "$SERVER" 2>/dev/null || ! curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null; then
    echo "$db: server not ready" >&2; tail "$LOGS/sitemaps_serve_$db.log" >&2; exit 1
  fi
  local idle; idle=$(rss_kb "$SERVER")
  printf '\n%s (response cache off, c=%s, %ss after a %ss warm-up; server RSS idle %s MB)\n' \
    "$db" "$CONC" "$DUR" "$WARM" "$((idle / 1024))"
  printf '%-34s %6s %9s %8s %8s %8s %8s %6s %10s %8s %8s %9s %8s %8s\n' route urls 'req/s' p50_ms p90_ms p99_ms max_ms errs bytes ttfb_ms total_ms peak_rss_MB gz_us db_us
  for path in "$NEWS_PATH" "$MONTH_PATH"; do
    local url="http://127.0.0.1:$PORT$path" one status urls ttfb total
    one=$(curl -s -o "$LOGS/sitemaps_body.xml" -w '%{http_code} %{time_starttransfer} %{time_total}' "$url")
    read -r status ttfb total <<<"$one"
    [ "$status" = 200 ] || { echo "$db $path: status $status" >&2; head -c 400 "$LOGS/sitemaps_body.xml" >&2; exit 1; }
    urls=$(grep -o '<loc>' "$LOGS/sitemaps_body.xml" | wc -l)
    wrk -t"$THREADS" -c"$CONC" -d"${WARM}s" --timeout 30s -s bench/get_paths.lua "$url" >/dev/null 2>&1 || true
    local peak=0
    ( while kill -0 "$SERVER" 2>/dev/null; do rss_kb "$SERVER"; sleep 0.2; done ) > "$LOGS/sitemaps_rss.txt" &
    SAMPLER=$!
    local line g0 d0 g1 d1
    g0=$(cpu_of "$SERVER"); d0=$(cpu_db)
    line=$(wrk -t"$THREADS" -c"$CONC" -d"${DUR}s" --timeout 30s --latency -s bench/get_paths.lua "$url" 2>&1 \
             | tee "$LOGS/sitemaps_wrk_${db}_$(basename "$path").log" | grep '^RESULT' || true)
    g1=$(cpu_of "$SERVER"); d1=$(cpu_db)
    stop "$SAMPLER"; SAMPLER=
    peak=$(sort -n "$LOGS/sitemaps_rss.txt" | tail -1)
    [ -n "$line" ] || { echo "$db $path: wrk failed (see $LOGS)" >&2; continue; }
    # RESULT rps= p50_ms= p90_ms= p99_ms= max_ms= errors= non2xx= requests= bytes_per_req=
    field() { tr ' ' '\n' <<<"$line" | sed -n "s/^$1=//p"; }
    ms() { awk -v s="$1" 'BEGIN { printf "%.1f", s * 1000 }'; }
    local n; n=$(field requests); [ "${n:-0}" -gt 0 ] || n=1
    printf '%-34s %6s %9s %8s %8s %8s %8s %6s %10s %8s %8s %9s %8s %8s\n' "$path" "$urls" "$(field rps)" \
      "$(field p50_ms)" "$(field p90_ms)" "$(field p99_ms)" "$(field max_ms)" "$(field errors)" \
      "$(field bytes_per_req)" "$(ms "$ttfb")" "$(ms "$total")" "$((peak / 1024))" \
      "$(( (g1 - g0) * 1000000 / TICK / n ))" "$(( (d1 - d0) * 1000000 / TICK / n ))"
  done
  stop "$SERVER"; SERVER=
}
for db in $DBS; do run_db "$db"; done
echo
echo "target (issue #14): $NEWS_PATH p99 <= 20 ms at c=8 on both databases; the month page streams"
