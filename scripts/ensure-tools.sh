#!/usr/bin/env bash
# Installs, when missing, what building and testing Baedal needs. Idempotent and quick when
# everything is already there. Everything comes from package registries (crates.io, npm,
# Debian): no GitHub release downloads, which are unreachable on our build machines.
#
#   scripts/ensure-tools.sh build    wasm target + wasm-bindgen CLI (exact Cargo.lock version) +
#                                    the wasm splitter (tools/wasm-split) + Node.js (apt)
#   scripts/ensure-tools.sh release  build + wasm-opt (npm binaryen), terser (npm) and rust-src
#                                    (rustup)
#   scripts/ensure-tools.sh browser  Chromium, CJK fonts, curl (apt) and Playwright (npm), for
#                                    `./baedal bench-load`
#   scripts/ensure-tools.sh test     release + browser + gateway
#   scripts/ensure-tools.sh gateway  nginx with its brotli_static module (apt), for `./baedal
#                                    cluster` and the gateway test; kubernetes-validate (PyPI, in
#                                    scripts/.venv) for the Kubernetes manifests
#   scripts/ensure-tools.sh bench    wrk, curl and nginx (apt), for the benchmarks
set -euo pipefail
cd "$(dirname "$0")/.."
level=${1:-build}
say() { printf '\033[1;34m[tools]\033[0m %s\n' "$*" >&2; }

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  local sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd=sudo
  if [ -z "${apt_updated:-}" ]; then $sudo_cmd apt-get update -qq; apt_updated=1; fi
  $sudo_cmd apt-get install -y -qq "$@" >/dev/null
}

if ! command -v brotli >/dev/null; then
  say "installing brotli (apt), for the compressed browser assets"
  apt_install brotli
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  # scripts/build.sh reads the wasm split manifest with Node; wasm-opt and Playwright are npm
  # packages.
  say "installing Node.js and npm (apt)"
  apt_install nodejs npm
fi

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

# The wasm splitter (tools/wasm-split, crates.io's wasm_split_cli_support behind a small main),
# built from its own lockfile; quick when it is up to date.
cargo build --quiet --locked --release --manifest-path tools/wasm-split/Cargo.toml \
  --target-dir "${CARGO_TARGET_DIR:-target}/tools"

# npm packages are (re)installed when missing or when their lockfile changed.
npm_install() {
  local dir=$1 stamp="$1/node_modules/.baedal-lock-hash" hash
  hash=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$hash" ]; then
    say "installing npm packages in $dir"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
    echo "$hash" >"$stamp"
  fi
}

if [ "$level" = release ] || [ "$level" = test ]; then
  npm_install scripts # wasm-opt (binaryen), terser
  # The release wasm rebuilds the standard library (scripts/build.sh: panics abort at once).
  if ! rustup component list --installed | grep -q '^rust-src'; then
    say "adding the Rust component rust-src, for the release wasm's own standard library"
    rustup component add rust-src
  fi
fi

# nginx, the gateway: run by `./baedal cluster` and the gateway test as the current user with a
# generated configuration, never as a system service. Debian's package would start one on port
# 80 at install time; a policy-rc.d that refuses (the usual way in containers) prevents it.
ensure_nginx() {
  if command -v nginx >/dev/null && [ -e /usr/lib/nginx/modules/ngx_http_brotli_static_module.so ]; then
    return
  fi
  say "installing nginx and its brotli_static module (apt), for the gateway"
  local sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd=sudo
  local policy=/usr/sbin/policy-rc.d placed=false
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo_cmd tee "$policy" >/dev/null
    $sudo_cmd chmod +x "$policy"
    placed=true
  fi
  apt_install nginx libnginx-mod-http-brotli-static || { $placed && $sudo_cmd rm -f "$policy"; exit 1; }
  if $placed; then $sudo_cmd rm -f "$policy"; fi
}

# kubernetes-validate (PyPI; it carries the Kubernetes schemas, so validating needs no network),
# in a virtual environment of the project's own, at the version scripts/requirements-tools.txt
# pins.
ensure_kubernetes_validate() {
  local venv=scripts/.venv stamp hash
  stamp="$venv/.baedal-requirements-hash"
  hash=$(sha256sum scripts/requirements-tools.txt | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$hash" ] || [ ! -x "$venv/bin/kubernetes-validate" ]; then
    say "installing kubernetes-validate (PyPI) in $venv"
    # --clear: an install cut short earlier can leave a venv without pip.
    python3 -m venv --clear "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-tools.txt
    echo "$hash" >"$stamp"
  fi
}

if [ "$level" = gateway ]; then
  ensure_nginx
  ensure_kubernetes_validate
  exit 0
fi

if [ "$level" = bench ]; then
  if ! command -v wrk >/dev/null || ! command -v curl >/dev/null; then
    say "installing wrk and curl (apt)"
    apt_install wrk curl
  fi
  ensure_nginx
  exit 0
fi

ensure_browser() {
  if ! command -v chromium >/dev/null || ! command -v curl >/dev/null \
    || ! fc-list 2>/dev/null | grep -qi 'Noto Sans CJK'; then
    say "installing Chromium, Korean fonts and curl (apt)"
    apt_install chromium fonts-noto-cjk curl
  fi
  npm_install end2end # Playwright's test runner; it drives the system Chromium
}

if [ "$level" = browser ]; then
  ensure_browser
  exit 0
fi

if [ "$level" = test ]; then
  ensure_browser
  ensure_nginx
  ensure_kubernetes_validate
fi
