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
exec ./target/release/gatehouse serve "$@"
