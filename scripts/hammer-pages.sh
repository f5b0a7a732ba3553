#!/usr/bin/env bash
# Loads one server-rendered page many times at once, to reproduce a known problem: under
# concurrent page loads Leptos 0.8's multi-threaded server rendering can deadlock (two
# reactive-graph locks taken in opposite orders by a <Suspense>'s effect and a resource created
# under it; cf. leptos-rs/leptos#4851 and #4866) and wedge the whole server.
#
#   scripts/hammer-pages.sh [page] [account] [requests] [concurrency]
#   scripts/hammer-pages.sh /store owner 400 16     # wedged within ~200 requests (2026-11-25)
#   scripts/hammer-pages.sh / customer 400 16       # passed
#
# Needs a debug build (scripts/build.sh). Starts its own server on a fresh SQLite database.
set -uo pipefail
cd "$(dirname "$0")/.."
page=${1:-/store} who=${2:-owner} n=${3:-400} p=${4:-16}
work=$(mktemp -d)
BAEDAL_ADDR=127.0.0.1:0 BAEDAL_DATA_DIR="$work/data" target/debug/baedal >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
url=""
for _ in $(seq 1 100); do
  url=$(grep -o 'running at http://[0-9.:]*' "$work/server.log" | awk '{print $NF}')
  [ -n "$url" ] && curl -fs "$url/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -s -c "$work/cookies" -X POST -H 'Accept: application/json' \
  --data "email=$who@baedal.kr&password=baedal1234" "$url/api/sign_in" >/dev/null
echo "$n loads of $page as $who, $p at a time (status: count; T = no answer in 30 s):"
seq 1 "$n" | xargs -P "$p" -I{} sh -c \
  "timeout 30 curl -s -b '$work/cookies' -o /dev/null -w '%{http_code}\n' -H 'Accept: text/html' '$url$page' || echo T" |
  sort | uniq -c
echo "healthz afterwards: $(timeout 5 curl -s "$url/healthz" || echo 'NO ANSWER (wedged)')"
