# Sourced by the scripts that run the app's binaries for a while (e2e, bench-pages, bench-load):
# a scratch directory `$work`, and `start_service`, which starts a binary in the background and
# waits until it says where it listens. Everything started is stopped, and `$work` removed, on
# exit.

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# start_service LOG MARKER COMMAND...: runs COMMAND in the background (output to LOG) until it
# prints "<MARKER> http://host:port", and sets service_url to that URL. A service that exits or
# is not listening within 30 s ends the script with its log.
start_service() {
  local log=$1 marker=$2; shift 2
  "$@" >"$log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  service_url=""
  for _ in $(seq 1 300); do
    service_url=$(grep -o "$marker http://[0-9.:]*" "$log" | awk '{print $NF}' || true)
    [ -n "$service_url" ] && return
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "$1 exited" >&2; exit 1; }
    sleep 0.1
  done
  cat "$log" >&2; echo "$1 did not start" >&2; exit 1
}
