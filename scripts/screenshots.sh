#!/usr/bin/env bash
# Refreshes the README's pictures in docs/screenshots — a deliberate step, never part of a test
# run. Builds the site, starts a server of its own (a free port, an empty database in a temporary
# folder), runs only the screenshot spec against it with fixed data (one fixed person, a frozen
# browser clock, fixed times and ids in place of the server's), then stops the server. A picture
# changes only when its page did: `git status docs/screenshots` afterwards shows which.
# Usage: scripts/screenshots.sh [extra playwright arguments]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/tools.sh" build e2e
export PATH="$HOME/.cargo/bin:$PATH"
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

SHOTS="$ROOT/docs/screenshots"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/gatehouse"
TMP="$(mktemp -d /tmp/gatehouse-screenshots.XXXXXX)"
PID=""
cleanup() {
  local status=$?
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  if [ "$status" != 0 ] && [ -f "$TMP/server.log" ]; then
    echo "the screenshot server's log (last lines):" >&2; tail -n 40 "$TMP/server.log" >&2
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

say "building the site"
cargo leptos build

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
say "starting a server with an empty database on port $PORT"
mkdir -p "$TMP/data"
env GATEHOUSE_DATA_DIR="$TMP/data" LEPTOS_SITE_ADDR="127.0.0.1:$PORT" LEPTOS_SITE_ROOT=target/site \
    RUST_LOG=info "$BIN" serve >"$TMP/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$PORT/livez" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$PORT/livez" >/dev/null || { echo "the server did not start" >&2; exit 1; }

say "taking the pictures into docs/screenshots"
mkdir -p "$SHOTS"
# The public URL by default (`localhost`: passkeys refuse IP addresses).
(cd "$ROOT/end2end" && BASE_URL="http://localhost:$PORT" SCREENSHOT_DIR="$SHOTS" SCREENSHOT_FRESH_SERVER=1 \
  npx playwright test tests/screenshots.spec.ts "$@")

say "pictures that changed (none listed: no page changed)"
git -C "$ROOT" status --short -- docs/screenshots
