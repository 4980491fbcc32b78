#!/usr/bin/env bash
# Installs what building and testing Gatehouse needs, each step only when it is missing.
# Sourced by run.sh and test.sh. Needs: rustup/cargo, node/npm, and apt (for Chromium).
# Usage: tools.sh [build|release|e2e|fuzz|mail|forward] ...
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
CARGO_LEPTOS_VERSION="0.3.10"
# The wasm-bindgen CLI must match the crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION="$(grep -A1 '^name = "wasm-bindgen"$' "$ROOT/Cargo.lock" | sed -n 's/^version = "\(.*\)"/\1/p')"
BINARYEN_VERSION="132.0.0"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need_build_tools() {
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION (no downloads at build time; ~15 min once)"
    cargo install "cargo-leptos@$CARGO_LEPTOS_VERSION" --locked --no-default-features --features no_downloads
  fi
  if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
    # Not --locked: its lockfile names a crate version the registry index may lack.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  fi
}

need_release_tools() {
  # Release builds run wasm-opt. Debian's binaryen (108) breaks hydration: use npm's.
  if ! wasm-opt --version 2>/dev/null | grep -q "version 132"; then
    say "installing wasm-opt (npm binaryen@$BINARYEN_VERSION)"
    npm install -g "binaryen@$BINARYEN_VERSION" --no-audit --no-fund
  fi
}

need_e2e_tools() {
  if ! command -v chromium >/dev/null 2>&1; then
    say "installing Debian's chromium"
    as_root apt-get update -q
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q chromium
  fi
  if [ ! -x "$ROOT/end2end/node_modules/.bin/playwright" ]; then
    say "installing Playwright (npm; it downloads no browser)"
    (cd "$ROOT/end2end" && npm ci --no-audit --no-fund)
  fi
}

need_mail_tools() {
  # A real SMTP server for the integration tests (tests/api/smtp_sink.rs spawns it).
  if ! python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
    say "installing aiosmtpd (PyPI), the tests' SMTP server"
    python3 -m pip install --quiet aiosmtpd
  fi
}

need_forward_tools() {
  # A real nginx for the forward-auth journey (scripts/forward-nginx.sh runs it in the
  # foreground from a generated configuration). The package must not start a system nginx on
  # port 80: where nothing else prevents that (a policy-rc.d, as in containers), one is put in
  # place for the installation only.
  if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    say "installing Debian's nginx-light (forward-auth tests; never started as a service)"
    local policy=/usr/sbin/policy-rc.d added="" status=0
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null && as_root chmod 755 "$policy" && added=1
    fi
    { DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q nginx-light ||
      { as_root apt-get update -q && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q nginx-light; }; } || status=$?
    [ -z "$added" ] || as_root rm -f "$policy"
    [ "$status" = 0 ] || return "$status"
  fi
}

need_fuzz_tools() {
  if ! command -v st >/dev/null 2>&1; then
    say "installing schemathesis (PyPI)"
    python3 -m pip install --quiet schemathesis
  fi
  if ! command -v curl >/dev/null 2>&1; then
    as_root apt-get update -q && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q curl
  fi
}

for what in "$@"; do
  case "$what" in
    build) need_build_tools ;;
    release) need_build_tools; need_release_tools ;;
    e2e) need_e2e_tools ;;
    fuzz) need_fuzz_tools ;;
    mail) need_mail_tools ;;
    forward) need_forward_tools ;;
    *) echo "tools.sh: unknown set '$what'" >&2; exit 2 ;;
  esac
done
