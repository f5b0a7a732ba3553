#!/usr/bin/env bash
# Builds the browser bundle into target/site and the server binary.
#
#   scripts/build.sh            development build (fast to compile)
#   scripts/build.sh --release  release build: size-optimised wasm (own profile + wasm-opt -Oz)
#
# The wasm is compiled by cargo, bound by the wasm-bindgen CLI pinned to Cargo.lock's version,
# and laid out as Leptos's HydrationScripts expects: /pkg/baedal.js and /pkg/baedal_bg.wasm.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1;34m[build]\033[0m %s\n' "$*" >&2; }

release=false
[ "${1:-}" = "--release" ] && release=true

if $release; then
  scripts/ensure-tools.sh release
  wasm_profile=wasm-release server_flags=(--release)
else
  scripts/ensure-tools.sh build
  wasm_profile=wasm-dev server_flags=()
fi

site=target/site
say "wasm ($wasm_profile)"
cargo build --locked -p frontend --lib --target wasm32-unknown-unknown --profile "$wasm_profile"
rm -rf "$site.tmp" && mkdir -p "$site.tmp/pkg"
wasm-bindgen --target web --no-typescript --out-dir "$site.tmp/pkg" --out-name baedal \
  "target/wasm32-unknown-unknown/$wasm_profile/frontend.wasm"
if $release; then
  say "wasm-opt -Oz"
  scripts/node_modules/.bin/wasm-opt -Oz \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    -o "$site.tmp/pkg/baedal_bg.wasm" "$site.tmp/pkg/baedal_bg.wasm"
fi
cp style/main.css "$site.tmp/pkg/baedal.css"
cp -r public/. "$site.tmp/"
rm -rf "$site" && mv "$site.tmp" "$site"

say "server (${server_flags[*]:-debug})"
cargo build --locked -p server --bins "${server_flags[@]}"

wasm="$site/pkg/baedal_bg.wasm"
say "wasm size: $(stat -c %s "$wasm") bytes raw, $(gzip -9c "$wasm" | wc -c) bytes gzip"
