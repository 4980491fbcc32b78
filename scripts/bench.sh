#!/usr/bin/env bash
# Benchmarks (not part of the test command). One line:
#
#   ./scripts/bench.sh                      # 1,000 sessions in the database
#   ./scripts/bench.sh --sessions 1000000   # ... then a million, and refresh and /api/v1/me again
#   ./scripts/bench.sh --db postgres        # the same on PostgreSQL (a throwaway cluster, scripts/pg.sh)
#
# Builds the release binary and site (`cargo leptos build --release`, into target/bench-site so
# a debug site in target/site is left alone), starts it on a fresh SQLite database in a temp
# dir on 127.0.0.1 with every rate limit switched off, generates users and sessions, drives it
# with wrk from separate processes (every run bounded by --duration), and prints one table —
# also written as JSON to bench/results/<timestamp>.json (git-ignored).
#
# Options (or env): --sessions N (BENCH_SESSIONS, default: no scale stage), --duration 10s
# (BENCH_DURATION), --only "bare livez me_bearer ..." (BENCH_ONLY: just those rows), --repeats 3 (BENCH_REPEATS; rows are medians of the repeats, ratios are
# medians of per-repeat ratios), --port 3917 (BENCH_PORT), --no-build (BENCH_NO_BUILD=1);
# BENCH_BIN=path serves another server binary (e.g. a saved copy of an earlier build);
# --db sqlite|postgres (BENCH_DB, default sqlite).
# Ports: --port serves Gatehouse (metrics off), +1 bare axum; +3 and +4 are two twins of it (same
# binary, database and settings, started together): +3 with metrics on (its /metrics listener on
# +2), +4 without. Their rows, me_metrics and me_twin, run next to each other in every repeat
# (the order turning round each time): me_metrics ÷ me_twin is what metrics cost on
# /api/v1/me, and me_twin ÷ me_bearer (two servers alike) the noise of such a comparison.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

SESSIONS="${BENCH_SESSIONS:-0}"
DURATION="${BENCH_DURATION:-10s}"
REPEATS="${BENCH_REPEATS:-3}"
PORT="${BENCH_PORT:-3917}"
NO_BUILD="${BENCH_NO_BUILD:-0}"
DB_KIND="${BENCH_DB:-sqlite}"
while [ $# -gt 0 ]; do
  case "$1" in
    --sessions) SESSIONS="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --repeats) REPEATS="$2"; shift 2 ;;
    --port) PORT="$2"; shift 2 ;;
    --no-build) NO_BUILD=1; shift ;;
    --only) export BENCH_ONLY="$2"; shift 2 ;;
    --db) DB_KIND="$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
BASE_SESSIONS=1000
SITE_ROOT="target/bench-site"
BASE="http://127.0.0.1:$PORT"
PASSWORD="correct horse battery staple 42"
ARGON2_MEMORY_KIB=19456 # the server's defaults (config.rs), passed explicitly to both
ARGON2_ITERATIONS=2
CORES="$(nproc)"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "$@" >/dev/null 2>&1 ||
    { as_root apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "$@" >/dev/null; }
}

# --- tools ------------------------------------------------------------------------------
"$ROOT/scripts/tools.sh" release
for pair in wrk:wrk brotli:brotli sqlite3:sqlite3 jq:jq curl:curl gzip:gzip; do
  if ! command -v "${pair%%:*}" >/dev/null 2>&1; then
    say "installing ${pair#*:} (apt)"
    apt_install "${pair#*:}"
  fi
done
command -v python3 >/dev/null 2>&1 || { say "installing python3 (apt)"; apt_install python3; }

# --- build (one release build at a time) ------------------------------------------------
if [ "$NO_BUILD" != 1 ]; then
  say "building the release binary and site into $SITE_ROOT"
  LEPTOS_SITE_ROOT="$SITE_ROOT" cargo leptos build --release
  say "building bench/argon2-limit (times one argon2id check at the server's parameters)"
  cargo build --release --quiet --locked --manifest-path bench/argon2-limit/Cargo.toml --target-dir target/bench-tools
  say "building bench/bare-axum (the physical limit: one axum route answering \"ok\", same axum/hyper/tokio)"
  cargo build --release --quiet --locked --manifest-path bench/bare-axum/Cargo.toml --target-dir target/bench-tools
fi
# BENCH_BIN: compare another build. cargo leptos honours CARGO_TARGET_DIR.
BIN="${BENCH_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/gatehouse}"
ARGON2_LIMIT="$ROOT/target/bench-tools/release/argon2-limit"
BARE_AXUM="$ROOT/target/bench-tools/release/bare-axum"
BARE_PORT=$((PORT + 1))
BARE="http://127.0.0.1:$BARE_PORT"
[ -x "$BIN" ] && [ -x "$ARGON2_LIMIT" ] && [ -x "$BARE_AXUM" ] && [ -f "$SITE_ROOT/pkg/gatehouse.wasm" ] ||
  { echo "bench.sh: build first (run without --no-build)" >&2; exit 1; }

# --- a fresh server ---------------------------------------------------------------------
WORK="$(mktemp -d /tmp/gatehouse-bench.XXXXXX)"
SERVER_PID=""
SAMPLER_PID=""
FLOOD_PID=""
BARE_PID=""
TWIN_PID=""
TWIN_OFF_PID=""
cleanup() {
  for pid in $FLOOD_PID $SAMPLER_PID $SERVER_PID $TWIN_PID $TWIN_OFF_PID $BARE_PID; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "$DB_KIND" = postgres ] && "$ROOT/scripts/pg.sh" stop "$WORK/pg" >/dev/null 2>&1 || true
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
if curl -fsS -o /dev/null "$BASE/livez" 2>/dev/null; then
  echo "bench.sh: something already listens on 127.0.0.1:$PORT (use --port)" >&2; exit 1
fi
if curl -fsS -o /dev/null "$BARE/livez" 2>/dev/null; then
  echo "bench.sh: something already listens on 127.0.0.1:$BARE_PORT (bare axum takes --port + 1)" >&2; exit 1
fi
say "starting bare axum on $BARE (the physical-limit row)"
"$BARE_AXUM" "127.0.0.1:$BARE_PORT" >"$WORK/bare.log" 2>&1 &
BARE_PID=$!
SECRET_ENV=()
case "$DB_KIND" in
  sqlite)
    DB="$WORK/bench.db"
    DATABASE_URL="sqlite://$DB"
    ;;
  postgres)
    chmod 755 "$WORK"
    say "starting a throwaway PostgreSQL cluster in $WORK/pg"
    PG_ADMIN="$("$ROOT/scripts/pg.sh" start "$WORK/pg")"
    psql "$PG_ADMIN" -qc "create database gatehouse_bench"
    DATABASE_URL="${PG_ADMIN%/*}/gatehouse_bench"
    DB="$DATABASE_URL"
    # On PostgreSQL the refresh secret must be given (SQLite creates its file in $WORK).
    SECRET_ENV=(GATEHOUSE_REFRESH_SECRET="$(head -c 32 /dev/urandom | base64)")
    ;;
  *) echo "bench.sh: --db sqlite or postgres" >&2; exit 2 ;;
esac
serve() { # port log [VAR=value...]: the server under test, every rate limit off (run with &:
  # exec, so the background job's pid is the server's own, whose memory is sampled)
  local port="$1" log="$2"; shift 2
  exec env DATABASE_URL="$DATABASE_URL" GATEHOUSE_DATA_DIR="$WORK" LEPTOS_SITE_ADDR="127.0.0.1:$port" \
    LEPTOS_SITE_ROOT="$SITE_ROOT" GATEHOUSE_ACCESS_TTL=3h GATEHOUSE_PUBLIC_URL="$BASE" \
    GATEHOUSE_LOGIN_RATE_PER_MINUTE=0 GATEHOUSE_REGISTER_RATE_PER_MINUTE=0 GATEHOUSE_REFRESH_RATE_PER_MINUTE=0 \
    GATEHOUSE_ARGON2_MEMORY_KIB="$ARGON2_MEMORY_KIB" GATEHOUSE_ARGON2_ITERATIONS="$ARGON2_ITERATIONS" \
    "${SECRET_ENV[@]}" "$@" "$BIN" serve >"$log" 2>&1
}
up() { # base log
  for _ in $(seq 1 100); do curl -fsS -o /dev/null "$1/livez" 2>/dev/null && return 0; sleep 0.2; done
  cat "$2" >&2; exit 1
}
say "starting gatehouse on $BASE, database $DB; rate limits OFF (GATEHOUSE_*_RATE_PER_MINUTE=0)"
serve "$PORT" "$WORK/server.log" &
SERVER_PID=$!
up "$BASE" "$WORK/server.log"
# The twins: same binary, database, keys and settings, one with metrics on. Started once the
# first has migrated; idle except during their own rows.
TWIN="http://127.0.0.1:$((PORT + 3))"
TWIN_OFF="http://127.0.0.1:$((PORT + 4))"
METRICS_URL="http://127.0.0.1:$((PORT + 2))/metrics"
say "starting two twins: metrics on at $TWIN (GATEHOUSE_METRICS_ADDR=127.0.0.1:$((PORT + 2))), off at $TWIN_OFF"
serve "$((PORT + 3))" "$WORK/twin.log" GATEHOUSE_METRICS_ADDR="127.0.0.1:$((PORT + 2))" &
TWIN_PID=$!
serve "$((PORT + 4))" "$WORK/twin-off.log" &
TWIN_OFF_PID=$!
up "$TWIN" "$WORK/twin.log"
up "$TWIN_OFF" "$WORK/twin-off.log"
START_RSS_KB="$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$SERVER_PID/status")"

now_ms() { date +%s%3N; }
rss_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$SERVER_PID/status"; }
# Samples the server's resident memory every 200 ms: "epoch_ms kB".
( while kill -0 "$SERVER_PID" 2>/dev/null; do echo "$(now_ms) $(rss_kb VmRSS)"; sleep 0.2; done ) >"$WORK/rss.log" 2>/dev/null &
SAMPLER_PID=$!

api() { # method path [json body] [extra curl args...]
  local m="$1" p="$2" body="${3:-}"; shift 3 || shift $#
  curl -sS -X "$m" "$BASE$p" -H 'Content-Type: application/json' ${body:+--data "$body"} "$@"
}
register() {
  api POST /api/v1/auth/register "{\"email\":\"$1\",\"password\":\"$PASSWORD\",\"display_name\":\"$2\"}" -o /dev/null -w '%{http_code}' |
    grep -qx 201 || { echo "bench.sh: registering $1 failed" >&2; exit 1; }
}
login_json() { api POST /api/v1/auth/login "{\"email\":\"$1\",\"password\":\"$PASSWORD\"}"; }

say "generating accounts and $BASE_SESSIONS sessions"
register me@bench.example "Bench Me"
register login@bench.example "Bench Login"
# Bulk rows straight into SQLite in one transaction: every generated account gets the bench
# password's real argon2id hash; every session a random 32-byte refresh hash (nobody
# refreshes those; the refresh benchmark signs in for real tokens).
generate() { # prefix users sessions
  local now; now="$(date +%s)"
  if [ "$DB_KIND" = postgres ]; then
    psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 -v prefix="$1" -v users="$2" -v sessions="$3" -v now="$now" \
      -f "$ROOT/bench/seed-postgres.sql" >/dev/null
    return
  fi
  sqlite3 "$DB" <<SQL
.timeout 30000
begin;
with recursive n(i) as (select 1 union all select i + 1 from n where i < $2)
insert into users (id, email, display_name, password_hash, created_at)
select printf('$1-%08d', i), printf('$1-%08d@bench.example', i), printf('User %d', i),
       (select password_hash from users where email = 'me@bench.example'), $now from n;
with recursive n(i) as (select 1 union all select i + 1 from n where i < $3)
insert into sessions (id, user_id, refresh_hash, refresh_issued_at, created_at, last_used_at, expires_at, user_agent, ip)
select lower(substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-' || substr(h, 17, 4) || '-' || substr(h, 21)),
       printf('$1-%08d', 1 + i % $2), randomblob(32), $now, $now, $now, $now + 30 * 86400,
       'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0', '127.0.0.1'
  from (select i, hex(randomblob(16)) as h from n);
commit;
SQL
}
# seed_sessions <email> <count>: that many more live sessions for one account, stored the
# way a sign-in stores them (device details included), each last used a second before the
# one before.
seed_sessions() {
  local now; now="$(date +%s)"
  if [ "$DB_KIND" = postgres ]; then
    psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
insert into sessions (id, user_id, refresh_hash, refresh_issued_at, created_at, last_used_at, expires_at, user_agent, ip,
                      browser, os, device_kind)
select gen_random_uuid()::text, (select id from users where email = '$1'),
       decode(md5(random()::text || i::text) || md5(random()::text || i::text), 'hex'),
       $now, $now - i, $now - i, $now + 30 * 86400, 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0', '127.0.0.1',
       'Firefox', 'Linux', 'desktop'
  from generate_series(1, $2) as i;
SQL
    return
  fi
  sqlite3 "$DB" <<SQL
.timeout 30000
with recursive n(i) as (select 1 union all select i + 1 from n where i < $2)
insert into sessions (id, user_id, refresh_hash, refresh_issued_at, created_at, last_used_at, expires_at, user_agent, ip,
                      browser, os, device_kind)
select lower(hex(randomblob(16))), (select id from users where email = '$1'), randomblob(32),
       $now, $now - i, $now - i, $now + 30 * 86400, 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0', '127.0.0.1',
       'Firefox', 'Linux', 'desktop'
  from n;
SQL
}
session_count() {
  if [ "$DB_KIND" = postgres ]; then psql "$DATABASE_URL" -Atc "select count(*) from sessions"
  else sqlite3 -cmd ".timeout 30000" "$DB" "select count(*) from sessions;"; fi
}
generate bench-a 100 $((BASE_SESSIONS - $(session_count)))

ME_JSON="$(login_json me@bench.example)"
ACCESS="$(jq -r .access_token <<<"$ME_JSON")"
[ -n "$ACCESS" ] && [ "$ACCESS" != null ] || { echo "bench.sh: sign-in failed: $ME_JSON" >&2; exit 1; }
# Listing sessions: me@ has its one session; cap@ as many as an account may have
# (GATEHOUSE_MAX_SESSIONS_PER_ACCOUNT, default 100); many@ 2,000 from before the cap (or
# with a cap raised that far), of which one page of 100 is listed.
MAX_SESSIONS=100
register cap@bench.example "Bench Cap"
register many@bench.example "Bench Many"
CAP_ACCESS="$(login_json cap@bench.example | jq -r .access_token)"
MANY_ACCESS="$(login_json many@bench.example | jq -r .access_token)"
seed_sessions cap@bench.example $((MAX_SESSIONS - 1))
seed_sessions many@bench.example 1999
# Every target must answer what a real client gets, not an error page or a redirect.
check() { # name expected-status grep-pattern curl-args...
  local name="$1" want="$2" pattern="$3"; shift 3
  local code; code="$(curl -sS -o "$WORK/check.out" -w '%{http_code}' "$@")"
  [ "$code" = "$want" ] && grep -q -- "$pattern" "$WORK/check.out" ||
    { echo "bench.sh: $name answered $code, not $want with '$pattern'" >&2; head -c 400 "$WORK/check.out" >&2; exit 1; }
}
check livez 200 "" "$BASE/livez"
check "bare axum" 200 "ok" "$BARE/livez"
check "me (bearer)" 200 '"session_id"' -H "Authorization: Bearer $ACCESS" "$BASE/api/v1/me"
check "me (metrics on)" 200 '"session_id"' -H "Authorization: Bearer $ACCESS" "$TWIN/api/v1/me"
check "me (the other twin)" 200 '"session_id"' -H "Authorization: Bearer $ACCESS" "$TWIN_OFF/api/v1/me"
check "the twin's /metrics" 200 'route="/api/v1/me"' "$METRICS_URL"
check "me (cookie)" 200 '"session_id"' -H "Cookie: gh_access=$ACCESS" "$BASE/api/v1/me"
# The forward-auth check answers 200 with the identity in its headers (its body is empty).
FWD_CODE="$(curl -sS -o /dev/null -D "$WORK/forward.headers" -w '%{http_code}' -H "Cookie: gh_access=$ACCESS" \
  -H "X-Forwarded-Host: app.bench.example" "$BASE/auth/forward")"
[ "$FWD_CODE" = 200 ] && grep -qi '^remote-email: me@bench.example' "$WORK/forward.headers" ||
  { echo "bench.sh: /auth/forward answered $FWD_CODE" >&2; cat "$WORK/forward.headers" >&2; exit 1; }
check dashboard 200 "Bench Me" -H "Cookie: gh_access=$ACCESS" -H 'Accept: text/html' "$BASE/dashboard"
check "sessions (1)" 200 '"next_cursor":null' -H "Authorization: Bearer $ACCESS" "$BASE/api/v1/sessions"
check "sessions (cap)" 200 '"next_cursor":null' -H "Authorization: Bearer $CAP_ACCESS" "$BASE/api/v1/sessions"
[ "$(jq '.sessions | length' "$WORK/check.out")" = "$MAX_SESSIONS" ] || { echo "bench.sh: the cap account lists $(jq '.sessions | length' "$WORK/check.out") sessions" >&2; exit 1; }
check "sessions (2,000)" 200 '"next_cursor":"' -H "Authorization: Bearer $MANY_ACCESS" "$BASE/api/v1/sessions"

IDLE_RSS_KB="$(rss_kb VmRSS)"
IDLE_HWM_KB="$(rss_kb VmHWM)"
# The hashing threads give their argon2 memory back after a moment without work: also
# sample once the server has really been idle for a few seconds.
sleep 3
IDLE_SETTLED_KB="$(rss_kb VmRSS)"
IDLE_ANON_KB="$(rss_kb RssAnon)"
IDLE_FILE_KB="$(rss_kb RssFile)"
say "idle: VmRSS ${IDLE_RSS_KB} kB (${IDLE_SETTLED_KB} kB 3 s later), VmHWM ${IDLE_HWM_KB} kB"

# --- runs -------------------------------------------------------------------------------
export BENCH_LUA_DIR="$ROOT/bench/wrk"
RUNS="$WORK/runs.jsonl"
: >"$RUNS"
: >"$WORK/argon2.jsonl"
# run_wrk <row> <rep> <threads> <connections> <script> <path> [VAR=value...]: one bounded wrk
# run in its own process; appends {"row","rep",...,"start_ms","end_ms"} to runs.jsonl.
run_wrk() {
  local row="$1" rep="$2" t="$3" c="$4" script="$5" path="$6"; shift 6
  wanted "$row" || return 0
  local sessions; sessions="$(session_count)"
  local url="$BASE$path"
  case "$path" in http://*) url="$path" ;; esac # the bare-axum row is another server
  local start; start="$(now_ms)"
  local out
  out="$(env "$@" BENCH_THREADS="$t" wrk -t"$t" -c"$c" -d"$DURATION" --timeout 5s \
    -s "$BENCH_LUA_DIR/$script" "$url" 2>&1)" || { echo "$out" >&2; exit 1; }
  local line; line="$(grep '^BENCH ' <<<"$out" | sed 's/^BENCH //')"
  [ -n "$line" ] || { echo "$out" >&2; exit 1; }
  jq -c --arg row "$row" --argjson rep "$rep" --argjson t "$t" --argjson c "$c" --argjson s "$sessions" \
    --argjson start "$start" --argjson stop "$(now_ms)" \
    '. + {row: $row, rep: $rep, threads: $t, connections: $c, sessions: $s, start_ms: $start, end_ms: $stop}' \
    <<<"$line" >>"$RUNS"
  printf '   %-28s rep %s: %8.1f req/s  p50 %7.2f ms  p99 %7.2f ms\n' "$row" "$rep" \
    "$(jq -r .rps <<<"$line")" "$(jq -r .p50_ms <<<"$line")" "$(jq -r .p99_ms <<<"$line")" >&2
}
# BENCH_ONLY="bare livez me_bearer ...": run only those rows (for quick comparisons while
# working; the report then leaves out the targets whose rows are missing).
wanted() {
  local r="${1%_scaled}"
  [ "$r" = login_flood ] && r=me_c4_during_flood # the flood is part of that row
  [ "$r" = me_twin ] && r=me_metrics # the two twins' rows go together
  [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" $r "* ]]
}
# 32 fresh refresh tokens, each from its own sign-in (not timed).
fresh_refresh_tokens() {
  wanted refresh || return 0
  : >"$WORK/refresh.tokens"
  for _ in $(seq 1 32); do login_json login@bench.example | jq -r .refresh_token >>"$WORK/refresh.tokens"; done
}
argon2_limit() { # rep
  wanted login || return 0
  "$ARGON2_LIMIT" "$ARGON2_MEMORY_KIB" "$ARGON2_ITERATIONS" 20 "$CORES" |
    jq -c --argjson rep "$1" --argjson cores "$CORES" '. + {rep: $rep, cores: $cores, limit_per_sec: ($cores * 1000 / .single_ms_median)}' \
    >>"$WORK/argon2.jsonl"
}
AUTH_ME=(BENCH_AUTH=bearer "BENCH_TOKEN=$ACCESS")
suite() { # rep [suffix]: the rows that the scale stage repeats
  local rep="$1" sfx="${2:-}"
  run_wrk "bare$sfx" "$rep" 2 32 get.lua "$BARE/livez"
  run_wrk "livez$sfx" "$rep" 2 32 get.lua /livez
  run_wrk "me_bearer$sfx" "$rep" 2 32 get.lua /api/v1/me "${AUTH_ME[@]}"
  if [ -z "$sfx" ] && [ $((rep % 2)) = 1 ]; then # off then on, on then off: drift cancels
    run_wrk me_twin "$rep" 2 32 get.lua "$TWIN_OFF/api/v1/me" "${AUTH_ME[@]}"
    run_wrk me_metrics "$rep" 2 32 get.lua "$TWIN/api/v1/me" "${AUTH_ME[@]}"
  elif [ -z "$sfx" ]; then
    run_wrk me_metrics "$rep" 2 32 get.lua "$TWIN/api/v1/me" "${AUTH_ME[@]}"
    run_wrk me_twin "$rep" 2 32 get.lua "$TWIN_OFF/api/v1/me" "${AUTH_ME[@]}"
  fi
  fresh_refresh_tokens
  run_wrk "refresh$sfx" "$rep" 2 32 refresh.lua /api/v1/auth/refresh "BENCH_TOKENS_FILE=$WORK/refresh.tokens"
}

say "benchmarks: $REPEATS × each row, $DURATION per run, rows interleaved"
LOAD_START_MS="$(now_ms)"
for rep in $(seq 1 "$REPEATS"); do
  suite "$rep"
  run_wrk me_cookie "$rep" 2 32 get.lua /api/v1/me BENCH_AUTH=cookie "BENCH_TOKEN=$ACCESS"
  run_wrk forward "$rep" 2 32 get.lua /auth/forward BENCH_AUTH=cookie "BENCH_TOKEN=$ACCESS" BENCH_FORWARDED_HOST=app.bench.example
  run_wrk dashboard "$rep" 2 32 get.lua /dashboard BENCH_AUTH=cookie "BENCH_TOKEN=$ACCESS" BENCH_ACCEPT=text/html
  run_wrk sessions_1 "$rep" 2 32 get.lua /api/v1/sessions "${AUTH_ME[@]}"
  run_wrk sessions_cap "$rep" 2 32 get.lua /api/v1/sessions BENCH_AUTH=bearer "BENCH_TOKEN=$CAP_ACCESS"
  run_wrk sessions_2000 "$rep" 2 32 get.lua /api/v1/sessions BENCH_AUTH=bearer "BENCH_TOKEN=$MANY_ACCESS"
  argon2_limit "$rep"
  run_wrk login "$rep" 1 8 login.lua /api/v1/auth/login BENCH_EMAIL=login@bench.example "BENCH_PASSWORD=$PASSWORD"
  run_wrk me_c4 "$rep" 1 4 get.lua /api/v1/me "${AUTH_ME[@]}"
  # The sign-in flood starts first and ends last, so the whole /me run is inside it.
  wanted me_c4_during_flood || continue
  FLOOD_DURATION="$(( ${DURATION%s} + 3 ))s"
  ( DURATION="$FLOOD_DURATION" run_wrk login_flood "$rep" 1 8 login.lua /api/v1/auth/login \
      BENCH_EMAIL=login@bench.example "BENCH_PASSWORD=$PASSWORD" ) &
  FLOOD_PID=$!
  sleep 1.5
  run_wrk me_c4_during_flood "$rep" 1 4 get.lua /api/v1/me "${AUTH_ME[@]}"
  wait "$FLOOD_PID"; FLOOD_PID=""
done
LOAD_END_MS="$(now_ms)"
LOAD_HWM_KB="$(rss_kb VmHWM)"

if [ "$SESSIONS" -gt "$(session_count)" ]; then
  ADD=$(( SESSIONS - $(session_count) ))
  say "scale: adding $ADD sessions ($(( ADD / 10 )) accounts) in one transaction"
  t0="$(now_ms)"
  generate bench-b "$(( ADD / 10 > 100 ? ADD / 10 : 100 ))" "$ADD"
  SCALE_INSERT_MS=$(( $(now_ms) - t0 ))
  say "inserted in ${SCALE_INSERT_MS} ms; now $(session_count) sessions"
  for rep in $(seq 1 "$REPEATS"); do suite "$rep" _scaled; done
else
  SCALE_INSERT_MS=0
fi
END_HWM_KB="$(rss_kb VmHWM)"
END_RSS_KB="$(rss_kb VmRSS)"
sleep 3
END_SETTLED_KB="$(rss_kb VmRSS)"
# Of that, how much is anonymous memory and how much mapped files (SQLite's mmap of the
# database file: page cache the kernel can drop, not heap).
END_ANON_KB="$(rss_kb RssAnon)"
END_FILE_KB="$(rss_kb RssFile)"

# --- sizes, machine, report -------------------------------------------------------------
WASM="$SITE_ROOT/pkg/gatehouse.wasm"
jq -n \
  --arg when "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --arg commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  --arg built "$(date -u -r "$BIN" +%Y-%m-%dT%H:%M:%SZ)" --arg binary "${BENCH_BIN:+$BENCH_BIN}" \
  --arg dirty "$(git status --porcelain 2>/dev/null | grep -qv '^??' && echo yes || echo no)" \
  --arg cpu "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" \
  --argjson cores "$CORES" \
  --argjson mem_mb "$(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo)" \
  --arg database "$DB_KIND" --arg kernel "$(uname -sr)" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
  --arg wrk "$(wrk -v 2>&1 | head -1)" --arg duration "$DURATION" --argjson repeats "$REPEATS" \
  --argjson base_sessions "$BASE_SESSIONS" --argjson sessions "$SESSIONS" --argjson insert_ms "$SCALE_INSERT_MS" \
  --argjson start_rss "$START_RSS_KB" --argjson idle_rss "$IDLE_RSS_KB" --argjson idle_settled "$IDLE_SETTLED_KB" --argjson idle_hwm "$IDLE_HWM_KB" --argjson load_hwm "$LOAD_HWM_KB" \
  --argjson end_hwm "$END_HWM_KB" --argjson end_rss "$END_RSS_KB" --argjson end_settled "$END_SETTLED_KB" \
  --argjson end_anon "$END_ANON_KB" --argjson end_file "$END_FILE_KB" \
  --argjson idle_anon "$IDLE_ANON_KB" --argjson idle_file "$IDLE_FILE_KB" \
  --argjson load_start "$LOAD_START_MS" --argjson load_end "$LOAD_END_MS" \
  --argjson wasm_raw "$(wc -c <"$WASM")" --argjson wasm_gzip "$(gzip -9 -c "$WASM" | wc -c)" \
  --argjson wasm_br "$(brotli -c -q 11 "$WASM" | wc -c)" \
  '{when: $when, commit: $commit, dirty_tree: $dirty, binary_built: $built, binary: $binary,
    database: $database,
    machine: {cpu: $cpu, cores: $cores, mem_mb: $mem_mb, kernel: $kernel, loadavg_at_end: $load, wrk: $wrk},
    settings: {duration: $duration, repeats: $repeats, base_sessions: $base_sessions, scale_sessions: $sessions,
               scale_insert_ms: $insert_ms, rate_limits: "off (GATEHOUSE_{LOGIN,REGISTER,REFRESH}_RATE_PER_MINUTE=0)",
               argon2: "argon2id m=19456 KiB t=2 p=1 (server defaults)"},
    rss_kb: {fresh_start: $start_rss, idle: $idle_rss, idle_settled: $idle_settled, idle_settled_anon: $idle_anon, idle_settled_file: $idle_file, idle_peak: $idle_hwm, peak_after_main_load: $load_hwm, peak_at_end: $end_hwm, at_end: $end_rss, at_end_settled: $end_settled, at_end_anon: $end_anon, at_end_file: $end_file},
    load_window_ms: [$load_start, $load_end],
    wasm_bytes: {raw: $wasm_raw, gzip9: $wasm_gzip, brotli11: $wasm_br}}' >"$WORK/meta.json"

mkdir -p bench/results
OUT="bench/results/$(date -u +%Y%m%dT%H%M%SZ)-$DB_KIND.json"
python3 bench/report.py "$WORK/meta.json" "$RUNS" "$WORK/argon2.jsonl" "$WORK/rss.log" "$OUT"
echo "JSON: $OUT" >&2
"$ROOT/scripts/bundle-size.sh" --site "$SITE_ROOT" # the browser bundle against the framework's floor
