#!/usr/bin/env bash
# Runs the Playwright suite against a freshly started server with its own new SQLite database.
# Expects scripts/build.sh to have built target/site and the server binary.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1;34m[e2e]\033[0m %s\n' "$*" >&2; }

binary=${BAEDAL_BINARY:-target/debug/baedal}
work=$(mktemp -d)
log="$work/server.log"
BAEDAL_ADDR=127.0.0.1:0 BAEDAL_DATA_DIR="$work/data" "$binary" >"$log" 2>&1 &
server_pid=$!
cleanup() { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# The server prints its URL once it listens; then wait until it is ready for traffic.
url=""
for _ in $(seq 1 200); do
  url=$(grep -o 'running at http://[0-9.:]*' "$log" | awk '{print $3}' || true)
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$log"; echo "server exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { cat "$log"; echo "server did not start" >&2; exit 1; }
for _ in $(seq 1 100); do
  curl -fsS "$url/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
say "server ready at $url"

cd end2end
BAEDAL_URL="$url" ./node_modules/.bin/playwright test "$@"
