#!/usr/bin/env bash
# Installs, when missing, what building and testing Baedal needs. Idempotent and quick when
# everything is already there. Everything comes from package registries (crates.io, npm,
# Debian): no GitHub release downloads, which are unreachable on our build machines.
#
#   scripts/ensure-tools.sh build    wasm target + wasm-bindgen CLI (exact Cargo.lock version)
#   scripts/ensure-tools.sh release  build + wasm-opt (npm binaryen)
#   scripts/ensure-tools.sh test     release + Chromium, CJK fonts, Playwright (npm)
set -euo pipefail
cd "$(dirname "$0")/.."
level=${1:-build}
say() { printf '\033[1;34m[tools]\033[0m %s\n' "$*" >&2; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding Rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

want=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$want" != "$have" ]; then
  say "installing wasm-bindgen-cli $want (have: ${have:-none}); a few minutes, once"
  # Not --locked: one of its locked dependencies is missing from the registry mirror.
  cargo install wasm-bindgen-cli --version "$want" --force
fi

if [ "$level" = release ] || [ "$level" = test ]; then
  if [ ! -x scripts/node_modules/.bin/wasm-opt ]; then
    say "installing wasm-opt (npm binaryen)"
    npm ci --prefix scripts --no-audit --no-fund --loglevel=error
  fi
fi

if [ "$level" = test ]; then
  if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi 'Noto Sans CJK'; then
    say "installing Chromium and Korean fonts (apt)"
    export DEBIAN_FRONTEND=noninteractive
    sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd=sudo
    $sudo_cmd apt-get update -qq
    $sudo_cmd apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  fi
  if [ ! -d end2end/node_modules/@playwright/test ]; then
    say "installing Playwright test runner (npm; uses the system Chromium)"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix end2end --no-audit --no-fund --loglevel=error
  fi
fi
