#!/usr/bin/env bash
# One command: install what is missing, build (release), create/migrate the SQLite database,
# and serve Gatehouse at http://localhost:3000 — listening on 127.0.0.1:3000 (LEPTOS_SITE_ADDR to
# change); `localhost`, not the IP address, because passkeys (WebAuthn) refuse IP addresses.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/tools.sh" release
export PATH="$HOME/.cargo/bin:$PATH"
cargo leptos build --release
# The database file and the signing key are created and migrated on first start.
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"
if [ -z "${GATEHOUSE_SMTP_URL:-}" ]; then
  echo "Mail (password changes, …) is written as .eml files to ${GATEHOUSE_DATA_DIR:-data}/outbox/ — set GATEHOUSE_SMTP_URL to send it."
else
  echo "Mail is sent through GATEHOUSE_SMTP_URL."
fi
ADDR="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
echo "Gatehouse: ${GATEHOUSE_PUBLIC_URL:-http://localhost:${ADDR##*:}} (listening on $ADDR)"
exec ./target/release/gatehouse serve "$@"
