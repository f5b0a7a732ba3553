#!/usr/bin/env bash
# Page throughput: every page of every role under wrk, against the release server run as in
# production (its own process, tokio's multi-threaded runtime with one worker per core, the
# outbox worker inside), on SQLite and on PostgreSQL when it is reachable.
#
#   ./baedal bench-pages [seconds] [concurrency]     # defaults: 10 s, 16 connections
#
# Each page is first loaded once with curl (it must answer 200 with its data), then wrk holds
# `concurrency` connections for `seconds` with the signed-in person's cookie. Prints one
# Markdown table row per page: pages/s, p50/p99 latency, non-200 answers and socket errors
# (a load unanswered after 30 s counts as a timeout there: slow is not hung).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10} connections=${2:-16}
say() { printf '\033[1;34m[bench-pages]\033[0m %s\n' "$*" >&2; }

postgres_admin=${BAEDAL_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
. scripts/services.sh

session_of() { # cookie jar → session token
  awk '$6 == "baedal_session" {print $7}' "$1"
}

sign_in() { # url email jar
  curl -fsS -c "$3" -H 'Accept: application/json' \
    --data-urlencode "email=$2" --data-urlencode "password=baedal1234" "$1/api/sign_in" >/dev/null
}

bench_engine() { # engine database_url
  local engine=$1 database_url=$2
  SANDBOX_PAY_ADDR=127.0.0.1:0 start_service "$work/sandbox-$engine.log" "listening at" target/release/sandbox-pay
  local sandbox=$service_url
  BAEDAL_ADDR=127.0.0.1:0 DATABASE_URL="$database_url" BAEDAL_DATA_DIR="$work/data-$engine" \
    BAEDAL_SANDBOX_PAY_URL="$sandbox" RUST_LOG=warn \
    start_service "$work/server-$engine.log" "running at" target/release/baedal
  local url=$service_url
  for _ in $(seq 1 100); do curl -fsS "$url/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

  local customer="$work/customer.jar" owner="$work/owner.jar" single="$work/single.jar" rider="$work/rider.jar"
  sign_in "$url" customer@baedal.kr "$customer"
  sign_in "$url" owner@baedal.kr "$owner"
  sign_in "$url" rider@baedal.kr "$rider"
  curl -fsS -c "$single" -H 'Accept: application/json' --data "role=owner&email=one-store-$engine@example.com&password=correct+horse&display_name=bench&store_name=bench&store_district=%EC%84%B1%EB%8F%99%EA%B5%AC&store_address=bench+1" \
    "$url/api/sign_up" >/dev/null
  # One order, for the order page.
  local store food order
  store=$(curl -fsS -b "$customer" -H 'Accept: application/json' -X POST "$url/api/nearby_stores" |
    grep -o '"id":[0-9]*,"name":"마포 즉석떡볶이"' | grep -o '[0-9]*' | head -1)
  food=$(curl -fsS -b "$customer" -H 'Accept: application/json' --data "store_id=$store" "$url/api/get_store_menu" |
    grep -o '"menu":\[{"id":[0-9]*' | grep -o '[0-9]*$')
  order=$(curl -fsS -b "$customer" -H 'Accept: application/json' -H 'Content-Type: application/json' \
    --data "{\"store_id\":$store,\"lines\":[{\"food_id\":$food,\"quantity\":1}],\"idempotency_key\":\"bench-pages-$engine\",\"card_number\":\"4242424242424242\"}" \
    "$url/api/place_order" | grep -o '"id":[0-9]*' | head -1 | grep -o '[0-9]*')

  local pages=(
    "/|customer|$customer"
    "/stores/$store|customer|$customer"
    "/checkout|customer|$customer"
    "/orders|customer|$customer"
    "/orders/$order|customer|$customer"
    "/notifications|customer|$customer"
    "/store|owner of 3 stores|$owner"
    "/store|owner of 1 store|$single"
    "/rider|rider|$rider"
    "/signin|signed out|"
  )
  for entry in "${pages[@]}"; do
    IFS='|' read -r page who jar <<<"$entry"
    local cookie=()
    [ -n "$jar" ] && cookie=(-H "Cookie: baedal_session=$(session_of "$jar")")
    local status bytes
    read -r status bytes < <(curl -s -o /dev/null -w '%{http_code} %{size_download}\n' "${cookie[@]}" -H 'Accept: text/html' "$url$page")
    [ "$status" = 200 ] || { echo "$page as $who answered $status" >&2; exit 1; }
    local out
    out=$(wrk -t1 -c"$connections" -d"${seconds}s" --timeout 30s --latency "${cookie[@]}" -H 'Accept: text/html' "$url$page")
    local rate p50 p99 non200 errors
    rate=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    non200=$(awk '/Non-2xx or 3xx/ {print $NF}' <<<"$out"); non200=${non200:-0}
    errors=$(awk -F'[ ,]+' '/Socket errors/ {print $4+$6+$8+$10}' <<<"$out"); errors=${errors:-0}
    echo "| $engine | \`$page\` | $who | $bytes | $rate | $p50 | $p99 | $non200 | $errors |"
  done
  echo "healthz afterwards: $(curl -s -m 5 "$url/healthz" || echo 'NO ANSWER')" >&2
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  pids=()
}

scripts/ensure-tools.sh bench
say "building the release server"
cargo build --locked --release -p server --bin baedal --bin sandbox-pay
say "$(nproc) cores; wrk: 1 thread, $connections connections, ${seconds}s per page"
echo "| engine | page | as | bytes | pages/s | p50 | p99 | non-200 | socket errors |"
echo "|---|---|---|---|---|---|---|---|---|"
bench_engine sqlite "sqlite://$work/bench.db?mode=rwc"
if timeout 5 bash -c '</dev/tcp/127.0.0.1/5432' 2>/dev/null; then
  db=baedal_bench_pages
  psql "$postgres_admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
  bench_engine postgres "${postgres_admin%/*}/$db"
  psql "$postgres_admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
else
  say "PostgreSQL not reachable at 127.0.0.1:5432: SQLite only"
fi
