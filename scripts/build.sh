#!/usr/bin/env bash
# Builds the browser bundle into target/site and the server binary.
#
#   scripts/build.sh            development build (fast to compile)
#   scripts/build.sh --release  release build: size-optimised wasm (own profile + wasm-opt -Oz)
#
# The wasm is compiled by cargo, bound by the wasm-bindgen CLI pinned to Cargo.lock's version,
# and laid out as Leptos's HydrationScripts expects: /pkg/<version>/baedal.js and baedal_bg.wasm,
# each with brotli and gzip siblings.
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
# Cargo's output honours CARGO_TARGET_DIR (a separate one per worktree); the site stays here.
cargo_target=${CARGO_TARGET_DIR:-target}
say "wasm ($wasm_profile)"
cargo build --locked -p frontend --lib --target wasm32-unknown-unknown --profile "$wasm_profile"
rm -rf "$site.tmp" && mkdir -p "$site.tmp/pkg"
wasm-bindgen --target web --no-typescript --out-dir "$site.tmp/pkg" --out-name baedal \
  "$cargo_target/wasm32-unknown-unknown/$wasm_profile/frontend.wasm"
if $release; then
  say "wasm-opt -Oz"
  scripts/node_modules/.bin/wasm-opt -Oz \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    -o "$site.tmp/pkg/baedal_bg.wasm" "$site.tmp/pkg/baedal_bg.wasm"
fi
cp style/main.css "$site.tmp/pkg/baedal.css"

# Content-addressed assets: /pkg/<version>/… where the version is a hash of the files, so
# browsers may keep them for a year (`immutable`) and a new build is a new URL. The server reads
# `asset-version` at start-up; the rider's service worker is stamped with the same paths.
version=$(cat "$site.tmp/pkg/baedal.js" "$site.tmp/pkg/baedal_bg.wasm" "$site.tmp/pkg/baedal.css" |
  sha256sum | cut -c1-16)
mkdir "$site.tmp/pkg/$version"
mv "$site.tmp/pkg/baedal.js" "$site.tmp/pkg/baedal_bg.wasm" "$site.tmp/pkg/baedal.css" "$site.tmp/pkg/$version/"
echo "$version" >"$site.tmp/asset-version"
cp -r public/. "$site.tmp/"
sed -i "s|__PKG__|/pkg/$version|g" "$site.tmp/rider-sw.js"

# Compressed siblings, served as they are to browsers that accept them (Content-Encoding).
# Release: the smallest files; development: quick to make.
if $release; then brotli_level=11 gzip_level=9; else brotli_level=4 gzip_level=6; fi
for file in "$site.tmp/pkg/$version"/* "$site.tmp/rider-sw.js" "$site.tmp/manifest.webmanifest" "$site.tmp/favicon.svg"; do
  brotli -f -k -q "$brotli_level" "$file"
  gzip -f -k "-$gzip_level" "$file"
done
rm -rf "$site" && mv "$site.tmp" "$site"

say "server (${server_flags[*]:-debug})"
cargo build --locked -p server --bins "${server_flags[@]}"

wasm="$site/pkg/$version/baedal_bg.wasm"
say "wasm size: $(stat -c %s "$wasm") bytes raw, $(stat -c %s "$wasm.gz") gzip, $(stat -c %s "$wasm.br") brotli (as served)"
