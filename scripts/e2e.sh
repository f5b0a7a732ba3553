#!/usr/bin/env bash
# Runs the Playwright suite against a freshly started server with its own new SQLite database.
# Expects scripts/build.sh to have built target/site and the server binary (in
# $CARGO_TARGET_DIR when set, else target/).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1;34m[e2e]\033[0m %s\n' "$*" >&2; }

profile_dir=$(dirname "${BAEDAL_BINARY:-${CARGO_TARGET_DIR:-target}/debug/baedal}")
. scripts/services.sh

SANDBOX_PAY_ADDR=127.0.0.1:0 start_service "$work/sandbox.log" "listening at" "$profile_dir/sandbox-pay"
sandbox=$service_url
BAEDAL_ADDR=127.0.0.1:0 BAEDAL_DATA_DIR="$work/data" BAEDAL_SANDBOX_PAY_URL="$sandbox" \
  start_service "$work/server.log" "running at" "$profile_dir/baedal"
url=$service_url
for _ in $(seq 1 100); do
  curl -fsS "$url/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
say "server ready at $url"

cd end2end
BAEDAL_URL="$url" ./node_modules/.bin/playwright test "$@"
