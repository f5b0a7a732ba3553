#!/usr/bin/env bash
# First load on a phone (issue 16): each role's home loaded cold in headless Chromium with a
# throttled network and CPU, against the release server run as in production. Prints a
# Markdown table: bytes as sent by type (HTML, JS, wasm, CSS) and the time to hydrated.
#
#   ./baedal bench-load [runs]      # builds the release first; default 5 loads per page
#   scripts/bench-load.sh [runs]    # the same without building; to measure an earlier build,
#                                   # point BAEDAL_BIN_DIR at its binaries and BAEDAL_SITE_ROOT
#                                   # at its site
#
# The profile and what is counted are described in end2end/bench-load.mjs.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1;34m[bench-load]\033[0m %s\n' "$*" >&2; }

bin=${BAEDAL_BIN_DIR:-${CARGO_TARGET_DIR:-target}/release}
. scripts/services.sh

scripts/ensure-tools.sh browser
SANDBOX_PAY_ADDR=127.0.0.1:0 start_service "$work/sandbox.log" "listening at" "$bin/sandbox-pay"
BAEDAL_ADDR=127.0.0.1:0 DATABASE_URL="sqlite://$work/bench.db?mode=rwc" BAEDAL_DATA_DIR="$work/data" BAEDAL_SANDBOX_PAY_URL="$service_url" RUST_LOG=warn \
  start_service "$work/server.log" "running at" "$bin/baedal"
url=$service_url
for _ in $(seq 1 100); do curl -fsS "$url/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
site=${BAEDAL_SITE_ROOT:-target/site}
say "release server at $url, assets $(cat "$site/asset-version"); $(nproc) cores"
(cd end2end && BAEDAL_URL="$url" node bench-load.mjs "$@")
