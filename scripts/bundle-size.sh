#!/usr/bin/env bash
# The browser bundle against the framework's floor. One line:
#
#   ./scripts/bundle-size.sh                # builds both front ends (release), prints sizes and ratios
#   ./scripts/bundle-size.sh --site DIR     # ours from a release site already built (bench.sh: target/bench-site)
#   ./scripts/bundle-size.sh --twiggy       # also where ours goes: twiggy on a copy with function names kept
#
# Both bundles come out of the same pipeline: `cargo leptos build --release --frontend-only`,
# i.e. the `wasm-release` profile (opt-level z, fat LTO, one codegen unit, panic=abort), then
# wasm-bindgen, then wasm-opt -Oz. The floor is bench/leptos-floor: the smallest app of the kind
# the start-axum template makes (a router, one page, one signal), on the Leptos versions of our
# Cargo.lock. Sizes are of the .wasm as
# served: raw, brotli -q 11 and gzip -9 (the JavaScript glue, ~10 kB brotli, is left out of both).
#
# --twiggy: the names the release wasm lacks come from the very same compiler output (the
# cargo build's .wasm before wasm-bindgen), run through wasm-bindgen --keep-debug and the same
# wasm-opt flags with -g; the script checks that this copy, names stripped, is the size of the
# real one before it prints twiggy's table. twiggy is installed (cargo install) if missing.
#
# Options (or env): --site DIR (BUNDLE_SITE: skip building ours, read DIR/pkg/gatehouse.wasm),
# --no-build (BUNDLE_NO_BUILD=1: build neither, read what the last run left), --twiggy
# (BUNDLE_TWIGGY=1), --target-kb N (BUNDLE_TARGET_KB, default 200: the brotli budget).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

SITE="${BUNDLE_SITE:-}"
NO_BUILD="${BUNDLE_NO_BUILD:-0}"
TWIGGY="${BUNDLE_TWIGGY:-0}"
TARGET_KB="${BUNDLE_TARGET_KB:-200}"
while [ $# -gt 0 ]; do
  case "$1" in
    --site) SITE="$2"; shift 2 ;;
    --no-build) NO_BUILD=1; shift ;;
    --twiggy) TWIGGY=1; shift ;;
    --target-kb) TARGET_KB="$2"; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "bundle-size.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
FLOOR_DIR="$ROOT/bench/leptos-floor"
FLOOR_TARGET="$TARGET_DIR/bench-floor"
FLOOR_SITE="$FLOOR_TARGET/site"
OURS_SITE="${SITE:-$ROOT/target/bundle-site}"
OURS_WASM="$OURS_SITE/pkg/gatehouse.wasm"
FLOOR_WASM="$FLOOR_SITE/pkg/leptos-floor.wasm"

"$ROOT/scripts/tools.sh" release
for tool in brotli gzip python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bundle-size.sh: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done

if [ "$NO_BUILD" != 1 ]; then
  if [ -z "$SITE" ]; then
    say "building Gatehouse's front end into $OURS_SITE"
    LEPTOS_SITE_ROOT="$OURS_SITE" cargo leptos build --release --frontend-only >&2
  fi
  # Its Cargo.lock is a subset of ours: every crate it needs is already fetched.
  say "building the floor (bench/leptos-floor) into $FLOOR_SITE"
  (cd "$FLOOR_DIR" && CARGO_TARGET_DIR="$FLOOR_TARGET" LEPTOS_SITE_ROOT="$FLOOR_SITE" \
    cargo leptos build --release --frontend-only --cargo-locked >&2)
fi
for wasm in "$FLOOR_WASM" "$OURS_WASM"; do
  [ -f "$wasm" ] || { echo "bundle-size.sh: $wasm is missing (run without --no-build)" >&2; exit 1; }
done

python3 - "$FLOOR_WASM" "$OURS_WASM" "$TARGET_KB" <<'EOF'
import subprocess, sys
floor, ours, target_kb = sys.argv[1], sys.argv[2], float(sys.argv[3])
def sizes(path):
    raw = open(path, "rb").read()
    br = len(subprocess.run(["brotli", "-c", "-q", "11", path], capture_output=True, check=True).stdout)
    gz = len(subprocess.run(["gzip", "-9", "-c", path], capture_output=True, check=True).stdout)
    return len(raw), br, gz
f, o = sizes(floor), sizes(ours)
print(f"{'browser bundle (.wasm)':<28}{'raw B':>12}{'brotli -q 11 B':>17}{'gzip -9 B':>12}")
print(f"{'floor (bench/leptos-floor)':<28}{f[0]:>12,}{f[1]:>17,}{f[2]:>12,}")
print(f"{'Gatehouse':<28}{o[0]:>12,}{o[1]:>17,}{o[2]:>12,}")
print(f"{'Gatehouse ÷ floor':<28}{o[0] / f[0]:>11.2f}×{o[1] / f[1]:>16.2f}×{o[2] / f[2]:>11.2f}×")
print(f"{'Gatehouse − floor':<28}{o[0] - f[0]:>12,}{o[1] - f[1]:>17,}{o[2] - f[2]:>12,}")
met = o[1] <= target_kb * 1000
print(f"target ≤ {target_kb:.0f} kB brotli: {'met' if met else 'not met'} "
      f"({o[1] / 1000:.0f} kB, {o[1] / f[1]:.2f}× the floor's {f[1] / 1000:.0f} kB)")
EOF

[ "$TWIGGY" = 1 ] || exit 0

# --- where the bytes go -----------------------------------------------------------------
if ! command -v twiggy >/dev/null 2>&1; then
  say "installing twiggy (cargo install, a few minutes)"
  cargo install twiggy --locked >&2
fi
LIB_WASM="$TARGET_DIR/front/wasm32-unknown-unknown/wasm-release/gatehouse.wasm"
[ -f "$LIB_WASM" ] || { echo "bundle-size.sh: $LIB_WASM is missing (build first)" >&2; exit 1; }
NAMED="$(mktemp -d /tmp/gatehouse-bundle.XXXXXX)"
trap 'rm -rf "$NAMED"' EXIT
wasm-bindgen --target=web --keep-debug --out-name=gatehouse --out-dir="$NAMED" "$LIB_WASM"
wasm-opt -Oz -g --enable-bulk-memory --enable-nontrapping-float-to-int "$NAMED/gatehouse_bg.wasm" -o "$NAMED/opt.wasm"
wasm-opt -g --strip-dwarf "$NAMED/opt.wasm" -o "$NAMED/named.wasm"
wasm-opt --strip-debug "$NAMED/opt.wasm" -o "$NAMED/stripped.wasm"
python3 - "$NAMED/stripped.wasm" "$OURS_WASM" <<'EOF'
import os, sys
copy, real = os.path.getsize(sys.argv[1]), os.path.getsize(sys.argv[2])
print(f"\ntwiggy reads a copy with names kept: {copy:,} B without its names, the served wasm {real:,} B")
if abs(copy - real) > real * 0.01:
    sys.exit("bundle-size.sh: the copy differs from the served wasm by more than 1 %: "
             "the site and the cargo output come from different builds (rebuild without --site)")
EOF
twiggy top --format json -n 1000000 "$NAMED/named.wasm" >"$NAMED/top.json"
python3 "$ROOT/bench/twiggy-summary.py" "$NAMED/top.json"
