#!/usr/bin/env bash
# Pages/s and orders/s through the nginx gateway with 1, 2 and 3 web instances (and one
# `baedal worker`), beside the same load sent straight to one instance (no gateway), on
# PostgreSQL. Each cell is a fresh `baedal cluster` (release build) on a fresh database.
#
#   ./baedal bench-gateway [seconds] [connections] [instances]   # defaults: 10 s, 16, "1 2 3"
#
# Pages: wrk holds `connections` connections on the customer's home page `/` (a server render
# with its data) with the customer's cookie. Orders: wrk posts `place_order` (one food, a new
# idempotency key each request, the approve card) as one customer, every food stocked without
# limit. Prints one Markdown table row per cell.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10} connections=${2:-16} instances=${3:-"1 2 3"}
say() { printf '\033[1;34m[bench-gateway]\033[0m %s\n' "$*" >&2; }

postgres_admin=${BAEDAL_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
db=baedal_bench_gateway
work=$(mktemp -d)
cluster_pid=""
stop_cluster() {
  if [ -n "$cluster_pid" ]; then
    kill -INT "$cluster_pid" 2>/dev/null || true
    wait "$cluster_pid" 2>/dev/null || true
    cluster_pid=""
  fi
}
cleanup() {
  stop_cluster
  psql "$postgres_admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

timeout 5 bash -c '</dev/tcp/127.0.0.1/5432' 2>/dev/null || { echo "PostgreSQL is not reachable at 127.0.0.1:5432" >&2; exit 1; }
scripts/ensure-tools.sh bench
scripts/ensure-tools.sh gateway
if [ ! -s target/site/asset-version ]; then scripts/build.sh --release; fi
say "building the release server"
cargo build --locked --release -p server --bin baedal --bin sandbox-pay

cat >"$work/order.lua" <<'LUA'
-- One checkout per request, each with its own idempotency key.
local counter = 0
local run = tostring(os.time())
request = function()
  counter = counter + 1
  local body = string.format(
    '{"store_id":%s,"lines":[{"food_id":%s,"quantity":1}],"idempotency_key":"bench-%s-%d","card_number":"4242424242424242"}',
    os.getenv("STORE"), os.getenv("FOOD"), run, counter)
  return wrk.format("POST", "/api/place_order", nil, body)
end
LUA

measure() { # label url kind cookie → table row
  local label=$1 url=$2 kind=$3 cookie=$4 out
  if [ "$kind" = pages ]; then
    out=$(wrk -t1 -c"$connections" -d"${seconds}s" --latency -H "Cookie: baedal_session=$cookie" \
      -H 'Accept: text/html' "$url/")
  else
    out=$(STORE=$store FOOD=$food wrk -t1 -c"$connections" -d"${seconds}s" --latency -s "$work/order.lua" \
      -H "Cookie: baedal_session=$cookie" -H 'Accept: application/json' \
      -H 'Content-Type: application/json' "$url")
  fi
  local rate p50 p99 non200 errors
  rate=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non200=$(awk '/Non-2xx or 3xx/ {print $NF}' <<<"$out"); non200=${non200:-0}
  errors=$(awk -F'[ ,]+' '/Socket errors/ {print $4+$6+$8+$10}' <<<"$out"); errors=${errors:-0}
  echo "| $label | $kind | $rate | $p50 | $p99 | $non200 | $errors |"
}

say "$(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg); wrk: 1 thread, $connections connections, ${seconds}s a cell"
echo "| path | load | per second | p50 | p99 | non-200 | socket errors |"
echo "|---|---|---|---|---|---|---|"
for n in $instances; do
  psql "$postgres_admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
  DATABASE_URL="${postgres_admin%/*}/$db" BAEDAL_RUN_DIR="$work/run-$n" BAEDAL_GATEWAY_ADDR=127.0.0.1:0 \
    BAEDAL_LIMIT_SIGNIN_ADDRESS=off BAEDAL_LIMIT_SIGNUP_ADDRESS=off BAEDAL_LIMIT_CHECKOUT_ADDRESS=off \
    BAEDAL_GATEWAY_CHECKOUT_PER_MIN=60000000 BAEDAL_GATEWAY_CHECKOUT_BURST=100000 \
    RUST_LOG=warn target/release/baedal cluster --web "$n" --workers 1 >"$work/cluster-$n.log" 2>&1 &
  cluster_pid=$!
  url=""
  for _ in $(seq 1 600); do
    url=$(grep -o 'running at http://[0-9.:]*' "$work/cluster-$n.log" | awk '{print $NF}' || true)
    [ -n "$url" ] && break
    kill -0 "$cluster_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$url" ] || { cat "$work/cluster-$n.log" >&2; echo "the cluster did not start" >&2; exit 1; }
  direct=$(grep -o 'web-1 at http://[0-9.:]*' "$work/cluster-$n.log" | awk '{print $NF}')
  psql "${postgres_admin%/*}/$db" -qc "UPDATE foods SET stock = 1000000000" >/dev/null
  jar="$work/customer-$n.jar"
  curl -fsS -c "$jar" -H 'Accept: application/json' \
    --data-urlencode "email=customer@baedal.kr" --data-urlencode "password=baedal1234" "$url/api/sign_in" >/dev/null
  cookie=$(awk '$6 == "baedal_session" {print $7}' "$jar")
  store=$(curl -fsS -b "$jar" -H 'Accept: application/json' -X POST "$url/api/nearby_stores" |
    grep -o '"id":[0-9]*,"name":"마포 즉석떡볶이"' | grep -o '[0-9]*' | head -1)
  food=$(curl -fsS -b "$jar" -H 'Accept: application/json' --data "store_id=$store" "$url/api/get_store_menu" |
    grep -o '"menu":\[{"id":[0-9]*' | grep -o '[0-9]*$')
  if [ "$n" = 1 ]; then
    measure "direct to 1 instance (no gateway)" "$direct" pages "$cookie"
  fi
  measure "gateway → $n instance(s)" "$url" pages "$cookie"
  if [ "$n" = 1 ]; then
    measure "direct to 1 instance (no gateway)" "$direct" orders "$cookie"
  fi
  measure "gateway → $n instance(s)" "$url" orders "$cookie"
  stop_cluster
done
say "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
