#!/usr/bin/env bash
# One command: install what is missing, build (release), create/migrate the SQLite database,
# and serve Gatehouse at http://127.0.0.1:3000 (LEPTOS_SITE_ADDR to change).
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
exec ./target/release/gatehouse serve "$@"
