#!/usr/bin/env bash
# Builds the browser bundle into target/site and the server binary.
#
#   scripts/build.sh            development build (fast to compile)
#   scripts/build.sh --release  release build: size-optimised wasm (own profile + wasm-opt -Oz)
#
# The wasm is compiled by cargo (linked with --emit-relocs, see .cargo/config.toml), split at
# Leptos's #[lazy] points by tools/wasm-split (the main module, holding the code two pages or
# more share; one file per lazily loaded page or part of a page; one chunk per page group),
# bound by the wasm-bindgen CLI pinned to Cargo.lock's version, and laid out as Leptos's
# HydrationScripts expects: /pkg/<version>/baedal.js, baedal_bg.wasm, the chunks, their loader (__wasm_split.*.js) and __wasm_split_manifest.json
# (which chunks a page needs; the server reads it to preload them), each file with brotli and
# gzip siblings.
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
wasm_build=(cargo build --locked -p frontend --lib --target wasm32-unknown-unknown --profile "$wasm_profile")
if $release; then
  # The release wasm brings its own standard library, built with panic=immediate-abort: a panic
  # stops the module at once (as panic=abort did after printing its message), so no panic
  # message, location or formatting code is shipped: 18 KB brotli off the main module
  # (docs/benchmarks.md, issue 16). -Zbuild-std and that panic strategy are unstable features
  # of this stable compiler, enabled for this one command with RUSTC_BOOTSTRAP=1, as the Leptos
  # book's size advice does with a nightly compiler. -Zlocation-detail=none: nor are the places
  # (file, line) `#[track_caller]` functions record, which nothing prints (2.3 KB off the main
  # module). -Zfmt-debug=none: `{:?}` writes nothing, so no `Debug` code is shipped (4.2 KB);
  # in the browser it only ever wrote diagnostics, into error messages (see `AppError::Network`)
  # and the console. RUSTFLAGS replaces .cargo/config.toml's flags for the target, so the
  # splitter's --emit-relocs is repeated here.
  RUSTC_BOOTSTRAP=1 RUSTFLAGS="-C link-arg=--emit-relocs -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none" \
    "${wasm_build[@]}" -Zbuild-std=std,panic_abort
else
  "${wasm_build[@]}"
fi
rm -rf "$site.tmp" && mkdir -p "$site.tmp/pkg"
pkg="$site.tmp/pkg"
say "wasm split"
split_main="$cargo_target/wasm32-unknown-unknown/$wasm_profile/frontend_split.wasm"
chunk_list=$("$cargo_target/tools/release/baedal-wasm-split" \
  "$cargo_target/wasm32-unknown-unknown/$wasm_profile/frontend.wasm" "$pkg" "$split_main" baedal)
mapfile -t chunks <<<"$chunk_list"
[ -n "${chunks[0]:-}" ] || { echo "the splitter wrote no chunk: no #[lazy] code?" >&2; exit 1; }
# --keep-lld-exports: the chunks import the main module's functions by their linker names.
wasm-bindgen --target web --no-typescript --keep-lld-exports --no-demangle \
  --out-dir "$pkg" --out-name baedal "$split_main"
if $release; then
  # wasm-streams' classes, exported by every module that links server_fn's browser client, kept
  # their code alive although the app streams nothing (scripts/wasm-drop-exports.mjs).
  node scripts/wasm-drop-exports.mjs "$pkg/baedal_bg.wasm" "$pkg/baedal.js" IntoUnderlying
  say "wasm-opt -Oz (main module and ${#chunks[@]} chunks)"
  for wasm in "$pkg/baedal_bg.wasm" "${chunks[@]}"; do
    scripts/node_modules/.bin/wasm-opt -Oz \
      --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals --enable-reference-types --enable-multivalue \
      -o "$wasm" "$wasm"
  done
  # wasm-bindgen's glue and the splitter's loader, minified: 2 KB of brotli less per first load.
  # Property names (the wasm's imports) and the modules' exports keep their names.
  for js in "$pkg"/*.js; do
    scripts/node_modules/.bin/terser "$js" --module --compress --mangle -o "$js"
  done
fi
cp style/main.css "$pkg/baedal.css"

# Content-addressed assets: /pkg/<version>/… where the version is a hash of the files, so
# browsers may keep them for a year (`immutable`) and a new build is a new URL. The server reads
# `asset-version` at start-up; the rider's service worker is stamped with the same paths.
files=("$pkg"/*.js "$pkg"/*.wasm "$pkg"/*.css "$pkg"/*.json)
version=$(cat "${files[@]}" | sha256sum | cut -c1-16)
mkdir "$pkg/$version"
mv "${files[@]}" "$pkg/$version/"
echo "$version" >"$site.tmp/asset-version"
cp -r public/. "$site.tmp/"
# The rider app opens offline: its service worker keeps the files the rider's pages need (the
# manifest's entries for the rider's page and for the notifications, which the bell in every
# page's header opens, and the loader they go through). A page whose file cannot be fetched
# offline would stop the whole app (the loader panics), not just fail to show.
node -e '
  const fs = require("fs");
  const [manifestFile, worker] = process.argv.slice(1);
  const chunks = new Set();
  for (const [split, files] of Object.entries(JSON.parse(fs.readFileSync(manifestFile, "utf8")))) {
    if (/rider|notification/i.test(split)) files.forEach((file) => chunks.add(file));
  }
  if (chunks.size === 0) throw new Error("no rider chunk in " + manifestFile);
  const lines = [...chunks].sort().map((chunk) => `  \x27__PKG__/${chunk}.wasm\x27,\n`).join("");
  const text = fs.readFileSync(worker, "utf8");
  if (!text.includes("  // __RIDER_CHUNKS__\n")) throw new Error("no __RIDER_CHUNKS__ line in " + worker);
  fs.writeFileSync(worker, text.replace("  // __RIDER_CHUNKS__\n", lines));
' "$pkg/$version/__wasm_split_manifest.json" "$site.tmp/rider-sw.js"
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
say "wasm main module: $(stat -c %s "$wasm") bytes raw, $(stat -c %s "$wasm.gz") gzip, $(stat -c %s "$wasm.br") brotli (as served)"
chunk_files=()
for file in "$site/pkg/$version"/*.wasm; do [ "$file" = "$wasm" ] || chunk_files+=("$file"); done
say "wasm chunks: ${#chunk_files[@]}, together $(cat "${chunk_files[@]}" | wc -c) bytes raw, $(cat "${chunk_files[@]/%/.br}" | wc -c) brotli (which a page needs: __wasm_split_manifest.json)"
