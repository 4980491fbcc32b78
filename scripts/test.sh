#!/usr/bin/env bash
# One command: install what is missing, then run every test — unit, HTTP integration
# (real server on port 0) on SQLite and again on PostgreSQL (a throwaway cluster started
# here, with the two-instance tests), and Playwright end-to-end in Debian's Chromium against
# two real servers (default access-token lifetime, and a 3-second one), and forward-auth
# through a real nginx (a third server behind it, and a stand-in app).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/tools.sh" build e2e fuzz mail forward
export PATH="$HOME/.cargo/bin:$PATH"
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

OUT="$ROOT/test-output"
rm -rf "$OUT" && mkdir -p "$OUT"
PIDS=()
PGDIR=""
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$PGDIR" ]; then "$ROOT/scripts/pg.sh" stop "$PGDIR" || true; rm -rf "$PGDIR"; fi
}
trap cleanup EXIT

# A suite that hangs fails here, named, instead of running into CI's time limit: the tests run
# under a time limit (each suite takes minutes; compiling happens first, without one). timeout
# signals its whole process group, so the test binary goes too.
bounded() { # minutes what command...
  local minutes="$1" what="$2"; shift 2
  timeout --kill-after=30s "${minutes}m" "$@" || {
    local rc=$?
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then echo "test.sh: $what ran past $minutes minutes: a test hangs" >&2; fi
    return "$rc"
  }
}

say "unit and HTTP integration tests (SQLite)"
cargo test --features ssr --no-run
bounded 20 "the unit and SQLite tests" cargo test --features ssr

say "HTTP integration tests on PostgreSQL, with the two-instance tests (throwaway cluster)"
PGDIR="$(mktemp -d /tmp/gatehouse-pg.XXXXXX)"
chmod 755 "$PGDIR"
PG_ADMIN_URL="$("$ROOT/scripts/pg.sh" start "$PGDIR")"
echo "cluster: $PG_ADMIN_URL (data in $PGDIR)"
GATEHOUSE_TEST_POSTGRES="$PG_ADMIN_URL" bounded 20 "the PostgreSQL tests" cargo test --features ssr --test api

say "gatehouse migrate: two instances migrating one empty PostgreSQL database at once"
psql "$PG_ADMIN_URL" -qc "create database gh_migrate_check"
MIGRATE_URL="${PG_ADMIN_URL%/*}/gh_migrate_check"
DATABASE_URL="$MIGRATE_URL" ./target/debug/gatehouse migrate >"$OUT/migrate-1.log" 2>&1 & M1=$!
DATABASE_URL="$MIGRATE_URL" ./target/debug/gatehouse migrate >"$OUT/migrate-2.log" 2>&1 & M2=$!
wait "$M1" && wait "$M2" || { cat "$OUT"/migrate-*.log >&2; exit 1; }
[ "$(psql "$MIGRATE_URL" -Atc 'select count(*) from _sqlx_migrations where success')" = "$(ls migrations/postgres/*.sql | wc -l)" ] ||
  { echo "migrations not applied exactly once" >&2; exit 1; }
"$ROOT/scripts/pg.sh" stop "$PGDIR"; rm -rf "$PGDIR"; PGDIR=""

say "building the site for the browser tests"
cargo leptos build

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_server() { # name port extra-env...
  local name="$1" port="$2"; shift 2
  mkdir -p "$OUT/$name"
  env GATEHOUSE_DATA_DIR="$OUT/$name" LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT=target/site \
      RUST_LOG=info "$@" ./target/debug/gatehouse serve >"$OUT/$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/livez" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "server $name did not start; its log:" >&2; cat "$OUT/$name.log" >&2; return 1
}

P1="$(free_port)"; P2="$(free_port)"; SMTP_PORT="$(free_port)"
# A real SMTP server for the default server's mail; the journeys read its Maildir.
MAILDIR="$OUT/maildir"
python3 -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Mailbox "$MAILDIR" >"$OUT/smtp.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT") 2>/dev/null && break; sleep 0.1; done
RATES=(GATEHOUSE_LOGIN_RATE_PER_MINUTE=1000 GATEHOUSE_REGISTER_RATE_PER_MINUTE=1000 GATEHOUSE_REFRESH_RATE_PER_MINUTE=1000)
# Browsers reach these two at `localhost` (their default public URL): passkeys refuse IP addresses.
start_server default "$P1" GATEHOUSE_PUBLIC_URL="http://localhost:$P1" GATEHOUSE_REFRESH_GRACE=1s GATEHOUSE_SMTP_URL="smtp://127.0.0.1:$SMTP_PORT" "${RATES[@]}"
start_server short-ttl "$P2" GATEHOUSE_PUBLIC_URL="http://localhost:$P2" GATEHOUSE_ACCESS_TTL=3s GATEHOUSE_STEP_UP_MAX_AGE=4s "${RATES[@]}"

say "forward-auth: nginx (deploy/forward-auth/nginx.conf.template) in front of a stand-in app"
# Chromium maps *.gatehouse.example.com to 127.0.0.1 (end2end/tests/forward.spec.ts); the hosts
# share a registrable domain, so the cookie domain works as on a real one.
NGINX_PORT="$(free_port)"; FWD_PORT="$(free_port)"; UPSTREAM_PORT="$(free_port)"
FWD_DOMAIN="gatehouse.example.com"
python3 "$ROOT/deploy/forward-auth/upstream.py" "$UPSTREAM_PORT" >"$OUT/upstream.log" 2>&1 &
PIDS+=($!)
start_server forward "$FWD_PORT" GATEHOUSE_PUBLIC_URL="http://auth.$FWD_DOMAIN:$NGINX_PORT" \
  GATEHOUSE_COOKIE_DOMAIN="$FWD_DOMAIN" GATEHOUSE_FORWARD_ALLOWED_HOSTS=".$FWD_DOMAIN" \
  GATEHOUSE_FORWARD_RULES="admin.$FWD_DOMAIN=verified" GATEHOUSE_TRUSTED_PROXIES=127.0.0.1 \
  GATEHOUSE_ACCESS_TTL=6s "${RATES[@]}"
"$ROOT/scripts/forward-nginx.sh" "$OUT/nginx" "127.0.0.1:$NGINX_PORT" "auth.$FWD_DOMAIN" "app.$FWD_DOMAIN admin.$FWD_DOMAIN" \
  "127.0.0.1:$FWD_PORT" "127.0.0.1:$UPSTREAM_PORT" >"$OUT/nginx.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null -H "Host: auth.$FWD_DOMAIN" "http://127.0.0.1:$NGINX_PORT/livez" 2>/dev/null && break
  sleep 0.1
done
curl -fsS -o /dev/null -H "Host: auth.$FWD_DOMAIN" "http://127.0.0.1:$NGINX_PORT/livez" ||
  { echo "nginx did not start:" >&2; cat "$OUT/nginx.log" "$OUT/nginx/error.log" >&2; exit 1; }

say "Playwright end-to-end tests (Chromium: $(command -v chromium))"
# Screenshots go under the test output; docs/screenshots changes only by scripts/screenshots.sh.
# GATEHOUSE_BIN, DEFAULT_DATA_DIR and SHORT_TTL_DATA_DIR: admin.spec.ts grants operators with
# `gatehouse admin grant`.
(cd "$ROOT/end2end" && BASE_URL="http://localhost:$P1" SHORT_TTL_URL="http://localhost:$P2" \
  GATEHOUSE_BIN="$ROOT/target/debug/gatehouse" DEFAULT_DATA_DIR="$OUT/default" SHORT_TTL_DATA_DIR="$OUT/short-ttl" \
  FORWARD_URL="http://app.$FWD_DOMAIN:$NGINX_PORT" FORWARD_AUTH_URL="http://auth.$FWD_DOMAIN:$NGINX_PORT" \
  FORWARD_ADMIN_URL="http://admin.$FWD_DOMAIN:$NGINX_PORT" FORWARD_DIRECT_URL="http://127.0.0.1:$FWD_PORT" \
  SCREENSHOT_DIR="$OUT/screenshots" MAILDIR="$MAILDIR" npx playwright test "$@")

say "no token, hash or key in the browser-test servers' logs"
# Refresh tokens start with ghr_, JWTs with eyJ; neither may ever be logged.
if grep -nE 'ghr_[A-Za-z0-9_-]{20,}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}|\$argon2id\$' "$OUT"/*.log; then
  echo "a secret appeared in a server log (above)" >&2
  exit 1
fi

say "schema-based API fuzzing (schemathesis)"
"$ROOT/scripts/fuzz-api.sh" "${FUZZ_SECONDS:-90}"
