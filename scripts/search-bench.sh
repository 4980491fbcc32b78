#!/usr/bin/env bash
# The operators' account search at scale (not part of the test command):
#
#   ./scripts/search-bench.sh                     # 100,000 accounts on SQLite
#   ./scripts/search-bench.sh --db postgres       # the same on PostgreSQL (scripts/pg.sh)
#   ./scripts/search-bench.sh --accounts 1000000  # another size
#
# Starts the release binary (BENCH_BIN, default target/release/gatehouse; build it with
# `cargo build --release --features ssr`) on a fresh database, signs an operator in (granted
# with `gatehouse admin grant`), seeds the accounts straight into the users table with one
# SQL statement, then times GET /api/v1/admin/users?q=… over HTTP (one keep-alive
# connection, REQUESTS per query, default 200) and prints median, p95 and p99 per query.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ACCOUNTS=100000
DB_KIND=sqlite
PORT="${BENCH_PORT:-3927}"
REQUESTS="${REQUESTS:-200}"
while [ $# -gt 0 ]; do
  case "$1" in
    --accounts) ACCOUNTS="$2"; shift 2 ;;
    --db) DB_KIND="$2"; shift 2 ;;
    --port) PORT="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "search-bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="${BENCH_BIN:-$TARGET/release/gatehouse}"
[ -x "$BIN" ] || { echo "search-bench.sh: no $BIN (cargo build --release --features ssr)" >&2; exit 1; }
for tool in sqlite3 python3 curl; do
  command -v "$tool" >/dev/null || { echo "search-bench.sh: needs $tool (apt-get install $tool)" >&2; exit 1; }
done
BASE="http://127.0.0.1:$PORT"
PASSWORD="correct horse battery staple 42"
WORK="$(mktemp -d /tmp/gatehouse-search.XXXXXX)"
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  [ "$DB_KIND" = postgres ] && "$ROOT/scripts/pg.sh" stop "$WORK/pg" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

ENV=(GATEHOUSE_DATA_DIR="$WORK" LEPTOS_SITE_ADDR="127.0.0.1:$PORT" GATEHOUSE_LOGIN_RATE_PER_MINUTE=0
     GATEHOUSE_REGISTER_RATE_PER_MINUTE=0 RUST_LOG=warn)
case "$DB_KIND" in
  sqlite) ENV+=(DATABASE_URL="sqlite://$WORK/gatehouse.db") ;;
  postgres)
    chmod 755 "$WORK"
    PG_ADMIN="$("$ROOT/scripts/pg.sh" start "$WORK/pg")"
    psql "$PG_ADMIN" -qc "create database gatehouse_search"
    ENV+=(DATABASE_URL="${PG_ADMIN%/*}/gatehouse_search" GATEHOUSE_REFRESH_SECRET="$(head -c 32 /dev/urandom | base64)")
    ;;
  *) echo "search-bench.sh: --db sqlite or postgres" >&2; exit 2 ;;
esac
env "${ENV[@]}" "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -fsS -o /dev/null "$BASE/livez" 2>/dev/null && break; sleep 0.2; done

curl -fsS -o /dev/null -H 'content-type: application/json' \
  -d "{\"email\":\"operator@example.com\",\"password\":\"$PASSWORD\",\"display_name\":\"Operator\"}" "$BASE/api/v1/auth/register"
env "${ENV[@]}" "$BIN" admin grant operator@example.com >/dev/null
TOKEN="$(curl -fsS -H 'content-type: application/json' -d "{\"email\":\"operator@example.com\",\"password\":\"$PASSWORD\"}" \
  "$BASE/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"

# Addresses: a random 12-hex-digit local part (so one letter matches about 1 in 16); names:
# "First Last" from 20 × 25 words.
echo "seeding $ACCOUNTS accounts ($DB_KIND)…" >&2
HASH_SQL="(select password_hash from users where email = 'operator@example.com')"
NAMES="'Ada  Ben  Cleo Dan  Eve  Finn Gus  Hana Ivo  Jo   Kai  Lea  Max  Nia  Oto  Pia  QuinnRui  Sam  Tea  '"
FIRST_NAME="trim(substr($NAMES, 1 + (i % 20) * 5, 5))"
case "$DB_KIND" in
  sqlite)
    sqlite3 "$WORK/gatehouse.db" <<SQL
.timeout 10000
with recursive n(i) as (select 1 union all select i + 1 from n where i < $ACCOUNTS)
insert into users (id, email, display_name, password_hash, created_at, first_sign_in_at)
select printf('seed-%08d', i), lower(hex(randomblob(6))) || '.' || i || '@example.com',
       $FIRST_NAME || ' ' || printf('Last%02d', (i / 20) % 25),
       $HASH_SQL, 1790000000 + i, 1790000000 + i
from n;
analyze;
SQL
    ;;
  postgres)
    psql "${PG_ADMIN%/*}/gatehouse_search" -q <<SQL
insert into users (id, email, display_name, password_hash, created_at, first_sign_in_at)
select 'seed-' || lpad(i::text, 8, '0'), substr(md5(random()::text), 1, 12) || '.' || i || '@example.com',
       $FIRST_NAME || ' ' || 'Last' || lpad(((i / 20) % 25)::text, 2, '0'),
       $HASH_SQL, 1790000000 + i, 1790000000 + i
from generate_series(1, $ACCOUNTS) as i;
analyze users;
SQL
    ;;
esac

python3 - "$BASE" "$TOKEN" "$REQUESTS" <<'PY'
import http.client, json, statistics, sys, time, urllib.parse
base, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
host = base.split("//")[1]
conn = http.client.HTTPConnection(host)
queries = [("(empty: first page of all)", ""), ("one letter: a", "a"), ("three hex digits: 4f2", "4f2"),
           ("name: ada", "ada"), ("name: tea last1", "tea last1"), ("no match: zzz", "zzz")]
print(f"| query | matches on page | median ms | p95 ms | p99 ms |")
print(f"|---|---|---|---|---|")
for label, q in queries:
    times, count = [], 0
    for i in range(n + 10):
        started = time.perf_counter()
        conn.request("GET", "/api/v1/admin/users?q=" + urllib.parse.quote(q), headers={"authorization": "Bearer " + token})
        response = conn.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status == 200, body
        count = len(json.loads(body)["users"])
        if i >= 10:
            times.append(elapsed)
    times.sort()
    pick = lambda p: times[min(len(times) - 1, int(len(times) * p))]
    print(f"| {label} | {count} | {statistics.median(times):.2f} | {pick(0.95):.2f} | {pick(0.99):.2f} |")
PY
