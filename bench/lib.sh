# Shared by the benchmarks that serve the generated newsroom and load it with wrk
# (bench/feeds.sh, bench/stream.sh): sourced after they set ROOT, PEER_DIR, BENCH_DIR, N,
# DUR, WARM, CONC, PORT, PGPORT, DATA, BIN, SKIP_BUILD and OUT (a temporary directory).
# Gives `say`, `prepare DB` (import the dataset once per file and migrations),
# `serve DB` (start gazette with the response cache off; SERVE_ENVS adds settings) and
# `measure NAME PATHS-FILE [LUA]` (a wrk warm-up, then one measured run printed as a table
# row with gazette's and PostgreSQL's CPU time per request and gazette's peak RSS).

say() { echo "== $*" >&2; }

command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
[ "$SKIP_BUILD" = 1 ] || { say "cargo build --release"; cargo build --release --quiet; }
mkdir -p "$(dirname "$DATA")"
if [ ! -s "$DATA" ]; then
  say "generating $DATA"
  python3 "$PEER_DIR/gen_dataset.py" --articles "$N" -o "$DATA.tmp" && mv "$DATA.tmp" "$DATA"
fi
# The same imports as bench/peer.sh (and the same marks), reused while file and migrations are.
MIGRATIONS=$(find migrations -type f -name '*.rs' | sort | xargs cat | sha1sum | cut -c1-12)
WANT="$(basename "$(readlink -f "$DATA")") $(stat -L -c %s "$DATA") migrations $MIGRATIONS"
PSQL=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)/psql
PG_DSN=postgres://bench@127.0.0.1:$PGPORT/gazette
SQLITE_DIR=$BENCH_DIR/gazette-sqlite
SERVE_ENVS=${SERVE_ENVS:-}

SERVER=
cleanup() { [ -z "$SERVER" ] || { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }; rm -rf "$OUT"; }
trap cleanup EXIT

prepare() {  # db: import when needed
  case $1 in
    sqlite)
      if [ "$(cat "$SQLITE_DIR/loaded" 2>/dev/null)" != "$WANT" ]; then
        say "importing into SQLite ($SQLITE_DIR)"; rm -rf "$SQLITE_DIR"; mkdir -p "$SQLITE_DIR"
        env -u DATABASE_URL GAZETTE_DATA_DIR="$SQLITE_DIR" GAZETTE_LOG=error "$BIN" import "$DATA" >/dev/null 2>&1
        echo "$WANT" > "$SQLITE_DIR/loaded"
      fi
      ;;
    postgres)
      bash "$PEER_DIR/peer/pg.sh" start >&2
      have=$("$PSQL" -h 127.0.0.1 -p "$PGPORT" -U bench -d postgres -tAXc \
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'gazette'")
      if [ "$have" != "$WANT" ]; then
        say "importing into PostgreSQL (gazette on port $PGPORT)"
        "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U bench -d postgres -qXc "DROP DATABASE IF EXISTS gazette WITH (FORCE)"
        "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U bench -d postgres -qXc "CREATE DATABASE gazette"
        env -u GAZETTE_DATA_DIR DATABASE_URL="$PG_DSN" GAZETTE_LOG=error "$BIN" import "$DATA" >/dev/null 2>&1
        "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U bench -d gazette -qXc "VACUUM ANALYZE"
        "$PSQL" -h 127.0.0.1 -p "$PGPORT" -U bench -d postgres -qXc "COMMENT ON DATABASE gazette IS '$WANT'"
      fi
      ;;
  esac
}

# The environment of a server (and of `gazette token`) on `db`.
db_env() {  # db
  case $1 in
    sqlite) echo "-u DATABASE_URL GAZETTE_DATA_DIR=$SQLITE_DIR" ;;
    postgres) echo "-u GAZETTE_DATA_DIR DATABASE_URL=$PG_DSN" ;;
  esac
}

serve() {  # db
  local envs=(GAZETTE_ADDR=127.0.0.1:$PORT GAZETTE_RESPONSE_CACHE_BYTES=0 GAZETTE_PUBLIC_URL=https://news.example
    GAZETTE_RATE_LIMIT=1000000000 GAZETTE_LOG=warn)
  [ -z "${RENDER:-}" ] || envs+=(GAZETTE_RENDER_CACHE_BYTES="$RENDER")
  # shellcheck disable=SC2086,SC2046
  env $(db_env "$1") "${envs[@]}" $SERVE_ENVS "$BIN" >"$OUT/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return; sleep 0.2; done
  echo "gazette did not start" >&2; cat "$OUT/server.log" >&2; exit 1
}

cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
cpu_db() { local s=0 p; for p in $(pgrep -x postgres || true); do s=$((s + $(cpu_of "$p"))); done; echo "$s"; }
measure() {  # name paths-file [wrk script]
  local url=http://127.0.0.1:$PORT script=${3:-bench/get_paths.lua}
  PATHS=$2 wrk -t1 -c"$CONC" -d"${WARM}s" --timeout 10s -s "$script" "$url" >/dev/null 2>&1 || true
  local rss0 line g0 d0 g1 d1 n hz
  g0=$(cpu_of "$SERVER"); d0=$(cpu_db)
  line=$(PATHS=$2 wrk -t1 -c"$CONC" -d"${DUR}s" --timeout 10s --latency -s "$script" "$url" 2>&1 | grep '^RESULT')
  g1=$(cpu_of "$SERVER"); d1=$(cpu_db)
  rss0=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")
  n=$(sed -E 's/.* requests=([0-9]+).*/\1/' <<<"$line"); hz=$(getconf CLK_TCK)
  printf '| %s | %s | %s | %s | %s | %s MB |\n' "$DB" "$1" \
    "$(sed -E 's/RESULT rps=([^ ]+) p50_ms=([^ ]+) p90_ms=[^ ]+ p99_ms=([^ ]+) max_ms=[^ ]+ errors=([^ ]+) .* bytes_per_req=([^ ]+)/\1 | \2 | \3 | \4 | \5/' <<<"$line")" \
    "$(( (g1 - g0) * 1000000 / hz / (n > 0 ? n : 1) ))" \
    "$([ "$DB" = postgres ] && echo $(( (d1 - d0) * 1000000 / hz / (n > 0 ? n : 1) )) || echo -)" \
    "$((rss0 / 1024))"
}
