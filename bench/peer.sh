#!/usr/bin/env bash
# The read benchmark of issue #7 in one command: gazette on PostgreSQL and on SQLite, each
# side by side with the peer (PostGraphile on PostgreSQL) and the machine's limit (nginx
# answering a fixed response), on the same generated 50,000-article newsroom.
#
#   bash bench/peer.sh                  # both databases, 15 s per query at 32 connections
#   DUR=5 DBS=sqlite bash bench/peer.sh # a quick look at one database
#   bash bench/peer.sh --record         # also append the run to bench/RESULTS.md
#
# What it does: builds the release binary; generates the dataset if missing; starts the
# peer's PostgreSQL (../shared/bench/peer/pg.sh, 127.0.0.1:$PGPORT) and imports the dataset
# into gazette twice, a SQLite file and a database `gazette` on that same PostgreSQL server
# (both reused by later runs while the file and gazette's migrations are unchanged); times
# start-up to ready on the SQLite file; then per database starts `gazette serve`, runs
# peer_bench.sh with GAZETTE_URL and STATIC=1 (Q1-Q4: peer, gazette, back to back per
# query, then the static limit), measures the limit again with gazette's own answer to each
# query (same bytes, see same_bytes_limits), runs the gazette-only queries (bench/queries/*.graphql) at
# GZ_CONC connections, samples the server's resident memory throughout, and prints one
# table per database.
#
# Env (defaults): PEER_DIR (../shared/bench beside this checkout: the folder holding
# gen_dataset.py and peer/), BENCH_DIR (${TMPDIR:-/tmp}/gazette-bench, shared with
# peer_bench.sh), N (50000), DATA ($BENCH_DIR/data/news_$N.json), DUR (15), WARM (3),
# CONC (32), THREADS (1), DBS ("postgres sqlite"), STATIC (1), GZ_QUERIES (bench/queries/
# *.graphql), GZ_CONC (8), GZ_DUR ($DUR), STARTUP_TRIES (5), PORT (18180, gazette),
# PGPORT (55432), LIMIT_PORT (55681, nginx of the same-bytes limits), GZ_PGDB (gazette), REIMPORT (0; 1 imports again), SKIP_BUILD (0),
# PEER (1; 0 skips peer_bench.sh: the gazette-only queries alone, e.g. while tuning Q5/Q6).
# Every GAZETTE_* variable of the environment reaches the server (e.g. a cache switch);
# the rate limits are lifted so that one load generator is not throttled.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RECORD=0
for a in "$@"; do
  case $a in
    --record) RECORD=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument $a (--record, --help)" >&2; exit 2 ;;
  esac
done
PEER_DIR=${PEER_DIR:-$ROOT/../shared/bench}
[ -f "$PEER_DIR/peer/peer_bench.sh" ] || {
  echo "no peer kit at $PEER_DIR/peer/peer_bench.sh: set PEER_DIR to the shared bench folder" >&2; exit 1; }
PEER_DIR=$(cd "$PEER_DIR" && pwd); export PEER_DIR
export BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/gazette-bench}
N=${N:-50000}; DUR=${DUR:-15}; WARM=${WARM:-3}; CONC=${CONC:-32}; THREADS=${THREADS:-1}
DBS=${DBS:-postgres sqlite}; STATIC=${STATIC:-1}
GZ_CONC=${GZ_CONC:-8}; GZ_DUR=${GZ_DUR:-$DUR}; STARTUP_TRIES=${STARTUP_TRIES:-5}
PORT=${PORT:-18180}; export PGPORT=${PGPORT:-55432}; GZ_PGDB=${GZ_PGDB:-gazette}
REIMPORT=${REIMPORT:-0}; SKIP_BUILD=${SKIP_BUILD:-0}; PEER=${PEER:-1}
export DATA=${DATA:-$BENCH_DIR/data/news_${N}.json}
if [ -z "${GZ_QUERIES+x}" ]; then GZ_QUERIES=$(ls bench/queries/*.graphql 2>/dev/null || true); fi
RUN=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$BENCH_DIR/results/gazette_$RUN; LOGS=$BENCH_DIR/logs
mkdir -p "$OUT" "$LOGS" "$(dirname "$DATA")"
BIN=$ROOT/target/release/gazette
GZ_URL=http://127.0.0.1:$PORT
PG_DSN=postgres://bench@127.0.0.1:$PGPORT/$GZ_PGDB
SQLITE_DIR=$BENCH_DIR/gazette-sqlite
say() { echo "== $*" >&2; }
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- tools, binary, dataset -----------------------------------------------------------------
pkgs=()
command -v wrk >/dev/null || pkgs+=(wrk)
command -v curl >/dev/null || pkgs+=(curl)
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
if [ ! -s "$DATA" ]; then   # the same command as peer_bench.sh, so it finds the file
  say "generating $DATA ($N articles)"
  python3 "$PEER_DIR/gen_dataset.py" --articles "$N" -o "$DATA.tmp"
  mv "$DATA.tmp" "$DATA"
fi
# peer_bench.sh marks its load with the file's size as `stat` sees the path: a symlink's own
# size would make it reload the peer at every run, so hand it the file itself.
DATA=$(readlink -f "$DATA"); export DATA

# ---- processes started here are stopped on exit --------------------------------------------
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
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if port_busy "$PORT"; then echo "port $PORT is in use; set PORT" >&2; exit 1; fi

# Settings of every gazette process here: no throttling of the single load generator.
export GAZETTE_RATE_LIMIT=${GAZETTE_RATE_LIMIT:-1000000000}
export GAZETTE_WRITE_RATE_LIMIT=${GAZETTE_WRITE_RATE_LIMIT:-1000000000}
export GAZETTE_LOG=${GAZETTE_LOG:-warn}
db_env() {  # db: the `env` arguments that point gazette at that database, into DBENV
  case $1 in
    postgres) DBENV=(-u GAZETTE_DATA_DIR "DATABASE_URL=$PG_DSN") ;;
    sqlite) DBENV=(-u DATABASE_URL "GAZETTE_DATA_DIR=$SQLITE_DIR") ;;
    *) echo "unknown database $1 (postgres, sqlite)" >&2; return 1 ;;
  esac
}
gz() { db_env "$1"; shift; env "${DBENV[@]}" "$BIN" "$@"; }   # db args...: run gazette

# ---- imports, reused while the file and the migrations are the same --------------------------
MIGRATIONS=$(find migrations -type f -name '*.rs' | sort | xargs cat | sha1sum | cut -c1-12)
WANT="$(basename "$DATA") $(stat -L -c %s "$DATA") migrations $MIGRATIONS"
import_into() {  # db
  local t0=$SECONDS
  gz "$1" import "$DATA" > "$LOGS/gazette_import_$1.log" 2>&1 \
    || { tail -5 "$LOGS/gazette_import_$1.log" >&2; echo "import into $1 failed: $LOGS/gazette_import_$1.log" >&2; exit 1; }
  grep -E '^imported' "$LOGS/gazette_import_$1.log" >&2 || true
  say "imported into $1 in $((SECONDS - t0)) s"
}
for db in $DBS; do
  case $db in
    postgres)
      bash "$PEER_DIR/peer/pg.sh" start >&2
      have=$("$PSQL" -h 127.0.0.1 -p "$PGPORT" -U bench -d postgres -tAXc \
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '$GZ_PGDB'")
      if [ "$REIMPORT" = 1 ] || [ "$have" != "$WANT" ]; then
        say "importing $DATA into PostgreSQL database $GZ_PGDB (port $PGPORT)"
        "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U bench -d postgres -qXc "DROP DATABASE IF EXISTS $GZ_PGDB WITH (FORCE)"
        "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U bench -d postgres -qXc "CREATE DATABASE $GZ_PGDB"
        import_into postgres
        "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U bench -d "$GZ_PGDB" -qXc "VACUUM ANALYZE"
        "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U bench -d postgres -qXc "COMMENT ON DATABASE $GZ_PGDB IS '$WANT'"
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

# ---- start-up to ready on the existing SQLite file ---------------------------------------
case " $DBS " in *" sqlite "*)
  say "start-up to ready on $SQLITE_DIR/gazette.db, $STARTUP_TRIES tries"
  GAZETTE_DATA_DIR=$SQLITE_DIR GAZETTE_ADDR=127.0.0.1:$PORT python3 - "$BIN" "$PORT" "$STARTUP_TRIES" \
      > "$OUT/startup.txt" 2>"$LOGS/gazette_startup.log" <<'PY'
import http.client, os, subprocess, sys, time
binary, port, tries = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
for _ in range(tries):
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=sys.stderr)
    took = None
    while time.monotonic() - t0 < 60 and p.poll() is None:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                took = time.monotonic() - t0
                break
        except OSError:
            pass
        time.sleep(0.002)
    p.terminate(); p.wait(20)
    print(f"{took * 1000:.0f}" if took is not None else "NA", flush=True)
    time.sleep(0.3)
PY
  say "start-up to ready, ms: $(tr '\n' ' ' < "$OUT/startup.txt")" ;;
esac

# ---- gazette-only queries: wrk on a query file of bench/queries/ at GZ_CONC connections ------
COLS="target\tquery\trps\tp50_ms\tp90_ms\tp99_ms\tmax_ms\terrors\tnon2xx\trequests\tbytes_per_req\tload1\tnote"
check_bodies() {  # url bodies-file: first and last body answer data without errors
  local body r
  for body in "$(head -1 "$2")" "$(tail -1 "$2")"; do
    r=$(curl -sS --max-time 60 -XPOST "$1" -H 'content-type: application/json' --data-binary "$body" 2>&1) \
      || { echo "  $r" >&2; return 1; }
    printf '%s' "$r" | python3 -c '
import json, sys
raw = sys.stdin.read()
try:
    j = json.loads(raw)
except ValueError:
    sys.exit("  not JSON: " + raw[:300])
d = j.get("data") if isinstance(j, dict) else None
if not isinstance(d, dict) or j.get("errors") or not d or any(v in (None, []) for v in d.values()):
    sys.exit("  no data or errors: " + raw[:400])
' || { echo "  (variables: $(printf '%s' "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("variables"))'))" >&2; return 1; }
  done
}
na_row() {  # target query note: a row for a query that was not measured
  echo -e "$1\t$2\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA\t$(cut -d' ' -f1 /proc/loadavg)\t$3"
}
measure() {  # target query url bodies conc dur tsv note: wrk warm-up, then one measured run
  local line vals
  BODIES=$4 wrk -t"$THREADS" -c"$5" -d"${WARM}s" --timeout 10s -s "$PEER_DIR/peer/rotate.lua" "$3" >/dev/null 2>&1 || true
  line=$(BODIES=$4 wrk -t"$THREADS" -c"$5" -d"${6}s" --timeout 10s --latency -s "$PEER_DIR/peer/rotate.lua" "$3" 2>&1 \
           | tee -a "$LOGS/wrk_gazette_$RUN.log" | grep '^RESULT' || true)
  if [ -z "$line" ]; then na_row "$1" "$2" wrk_failed >> "$7"; return 0; fi
  vals=$(echo "$line" | sed 's/^RESULT //; s/[a-z0-9_]*=//g' | tr ' ' '\t')
  echo -e "$1\t$2\t$vals\t$(cut -d' ' -f1 /proc/loadavg)\t$8" >> "$7"
  say "$1 $2: $line"
}
run_gz_query() {  # db query-file [conc]: measure one gazette-only query, append to $OUT/<db>.gz.tsv
  local db=$1 qf=$2 conc=${3:-$GZ_CONC} name bodies tsv=$OUT/$1.gz.tsv
  name=$(basename "$qf" .graphql)
  bodies=$BENCH_DIR/bodies/$(basename "$DATA" .json)/gz_$name.jsonl
  [ -s "$tsv" ] || echo -e "$COLS" > "$tsv"
  mkdir -p "$(dirname "$bodies")"
  if [ ! -s "$bodies" ] || [ "$DATA" -nt "$bodies" ] || [ "$qf" -nt "$bodies" ] || [ bench/gz_bodies.py -nt "$bodies" ]; then
    python3 bench/gz_bodies.py "$qf" "$DATA" "$bodies" --peer-dir "$PEER_DIR" || {
      na_row gazette "$name" no_bodies >> "$tsv"; return 0; }
  fi
  if ! check_bodies "$GZ_URL/graphql" "$bodies"; then
    echo "  gazette $name ($db): check failed, not measured" >&2
    na_row gazette "$name" check_failed >> "$tsv"; return 0
  fi
  measure gazette "$name" "$GZ_URL/graphql" "$bodies" "$conc" "$GZ_DUR" "$tsv" "c=$conc"
}

# ---- the limit for gazette's own bytes: nginx answering a captured gazette response ----------
# peer_bench.sh's limit answers the peer's Q1 response (7.5 kB); gazette's answers are other
# sizes (its Q1 asks each paragraph as HTML and as text: 14.5 kB), so each query also gets a
# limit of the same bytes: nginx, with the peer kit's configuration, answering the median-
# sized of gazette's answers to the first 21 bodies of that query, under the same load.
LIMIT_PORT=${LIMIT_PORT:-55681}   # not peer_bench.sh's port: its nginx may still be exiting
same_bytes_limits() {  # db: appends one row per query to $OUT/<db>.limit.tsv
  local q i body bodies n ngx=$BENCH_DIR/nginx-gazette tsv=$OUT/$1.limit.tsv
  local nginx; nginx=$(command -v nginx || echo /usr/sbin/nginx)
  [ -x "$nginx" ] || { say "no nginx: the same-bytes limits are not measured"; return 0; }
  echo -e "$COLS" > "$tsv"
  mkdir -p "$ngx/www" "$ngx/tmp"
  sed "s/127\.0\.0\.1:55680/127.0.0.1:$LIMIT_PORT/" "$PEER_DIR/peer/nginx-static.conf" > "$ngx/nginx.conf"
  for q in q1 q2 q3 q4; do
    bodies=$BENCH_DIR/bodies/$(basename "$DATA" .json)/gazette_$q.jsonl
    [ -s "$bodies" ] || continue
    rm -rf "$ngx/capture"; mkdir -p "$ngx/capture"
    i=0
    while IFS= read -r body; do
      i=$((i + 1))
      curl -sS -XPOST "$GZ_URL/graphql" -H 'content-type: application/json' --data-binary "$body" \
        -o "$ngx/capture/$i.json"
    done < <(head -21 "$bodies")
    n=$(ls "$ngx/capture" | wc -l)
    cp "$(ls -S "$ngx"/capture/*.json | sed -n "$(( (n + 1) / 2 ))p")" "$ngx/www/static.json"
    for _ in $(seq 1 50); do port_busy "$LIMIT_PORT" || break; sleep 0.1; done
    if port_busy "$LIMIT_PORT"; then echo "port $LIMIT_PORT is in use; set LIMIT_PORT" >&2; exit 1; fi
    "$nginx" -p "$ngx/" -c "$ngx/nginx.conf" -e "$ngx/error.log"
    for _ in $(seq 1 50); do port_busy "$LIMIT_PORT" && break; sleep 0.1; done
    measure "nginx-static-$(wc -c < "$ngx/www/static.json")B" "$q" "http://127.0.0.1:$LIMIT_PORT/graphql" \
      "$bodies" "$CONC" "$DUR" "$tsv" ""
    stop "$(cat "$ngx/nginx.pid" 2>/dev/null)"
  done
}

# ---- per database: serve, peer_bench.sh, gazette-only queries, memory --------------------------
rss_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || true; }
for db in $DBS; do
  say "gazette on $db: serving at $GZ_URL"
  if port_busy "$PORT"; then echo "port $PORT is in use; set PORT" >&2; exit 1; fi
  db_env "$db"
  # env execs the server, so $! is the server's own pid (stopped, and its memory read, by pid)
  GAZETTE_ADDR=127.0.0.1:$PORT env "${DBENV[@]}" "$BIN" serve > "$LOGS/gazette_serve_$db.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 600); do
    kill -0 "$SERVER" 2>/dev/null || { echo "gazette exited; see $LOGS/gazette_serve_$db.log" >&2; exit 1; }
    curl -fs "$GZ_URL/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  sleep 0.2
  [ "$(readlink "/proc/$SERVER/exe")" = "$(readlink -f "$BIN")" ] \
    || { echo "pid $SERVER is not gazette; see $LOGS/gazette_serve_$db.log" >&2; exit 1; }
  curl -fs "$GZ_URL/readyz" >/dev/null || { echo "gazette not ready after 60 s; see $LOGS/gazette_serve_$db.log" >&2; exit 1; }
  rss_ready=$(rss_kb "$SERVER" VmRSS)
  # VmRSS; its anonymous and file-backed parts; and Pss, which counts a page mapped several
  # times once
  ( while kill -0 "$SERVER" 2>/dev/null; do
      echo "$(rss_kb "$SERVER" VmRSS) $(rss_kb "$SERVER" RssAnon) $(rss_kb "$SERVER" RssFile)" \
           "$(awk '$1 == "Pss:" {print $2}' "/proc/$SERVER/smaps_rollup" 2>/dev/null)"; sleep 0.5
    done ) > "$OUT/$db.rss" &
  SAMPLER=$!
  if [ "$PEER" = 1 ]; then
    say "peer_bench.sh with GAZETTE_URL=$GZ_URL/graphql STATIC=$STATIC"
    GAZETTE_URL=$GZ_URL/graphql STATIC=$STATIC DUR=$DUR WARM=$WARM CONC=$CONC THREADS=$THREADS RELOAD=0 \
      bash "$PEER_DIR/peer/peer_bench.sh" > "$OUT/$db.peer.out"
    tsv=$(sed -n 's/^results: \([^ ]*\).*/\1/p' "$OUT/$db.peer.out")
    [ -s "$tsv" ] || { echo "peer_bench.sh gave no results; see $OUT/$db.peer.out" >&2; exit 1; }
    cp "$tsv" "$OUT/$db.peer.tsv"
    [ "$STATIC" = 1 ] && same_bytes_limits "$db"
  fi
  for qf in $GZ_QUERIES; do run_gz_query "$db" "$qf"; done
  rss_end=$(rss_kb "$SERVER" VmRSS); hwm=$(rss_kb "$SERVER" VmHWM)
  stop "$SAMPLER"; SAMPLER=
  stop "$SERVER"; SERVER=
  read -r rss_max anon_max file_max _ < <(sort -n "$OUT/$db.rss" | tail -1)
  pss_max=$(awk '{print $4}' "$OUT/$db.rss" | sort -n | tail -1)
  printf 'rss_ready_kb=%s\nrss_max_kb=%s\nanon_at_max_kb=%s\nfile_at_max_kb=%s\npss_max_kb=%s\nrss_end_kb=%s\nhwm_kb=%s\n' \
    "$rss_ready" "$rss_max" "$anon_max" "$file_max" "$pss_max" "$rss_end" "$hwm" > "$OUT/$db.mem"
  # (the 503s of /readyz while starting are logged as errors too: not counted)
  errs=$(grep -cE '(gazette::error|panicked)' "$LOGS/gazette_serve_$db.log" || true)
  echo "server_errors=$errs" >> "$OUT/$db.mem"
  if [ "$errs" != 0 ]; then
    say "gazette logged $errs internal errors on $db ($LOGS/gazette_serve_$db.log), the first:"
    grep -E '(gazette::error|panicked)' "$LOGS/gazette_serve_$db.log" | head -1 | sed 's/\x1b\[[0-9;]*m//g' | cut -c1-600 >&2
  fi
done

# ---- report ----------------------------------------------------------------------------------
CMD=
[ "$DUR" = 15 ] || CMD+="DUR=$DUR "
[ "$WARM" = 3 ] || CMD+="WARM=$WARM "
[ "$CONC" = 32 ] || CMD+="CONC=$CONC "
[ "$DBS" = "postgres sqlite" ] || CMD+="DBS=\"$DBS\" "
[ "$GZ_CONC" = 8 ] || CMD+="GZ_CONC=$GZ_CONC "
[ "$N" = 50000 ] || CMD+="N=$N "
[ "$PEER" = 1 ] || CMD+="PEER=$PEER "
CMD+="bash bench/peer.sh"
CACHE=on; [ "${GAZETTE_RESPONSE_CACHE_BYTES:-}" = 0 ] && CACHE=off && CMD="GAZETTE_RESPONSE_CACHE_BYTES=0 $CMD"
python3 bench/peer_report.py "$OUT" --dbs "$DBS" --command "$CMD" --load-start "$LOAD_START" --cache "$CACHE" \
  --commit "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src migrations Cargo.toml 2>/dev/null || echo '+local changes')" \
  > "$OUT/report.md"
cat "$OUT/report.md"
if [ "$RECORD" = 1 ]; then
  { echo; cat "$OUT/report.md"; } >> bench/RESULTS.md
  say "appended to bench/RESULTS.md"
fi
echo "files: $OUT   (the peer's PostgreSQL still runs: bash $PEER_DIR/peer/pg.sh stop)" >&2
