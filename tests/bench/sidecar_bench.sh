#!/usr/bin/env bash
# The sidecar's figures (docs/sidecar.md): events/s through `referkit serve` into referkit-ingest
# from a raw HTTP load loop and from Segment's Node SDK, the agent's peak RSS, and the latency a
# client waits per acknowledged request, with and without --durable-ack (and, for reference,
# straight to referkit-ingest, which stores in SQLite before it answers).
#
# Usage: tests/bench/sidecar_bench.sh [BIN_DIR] [EVENTS]   (default build/bin, 200000)
# Needs node; the Segment SDK part needs @segment/analytics-node (installed into a work dir with
# npm, as tests/interop does) and is skipped when npm cannot install it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-build/bin}
events=${2:-200000}
bin=$(cd "$bin" && pwd)
work=$(mktemp -d /tmp/referkit-sidecar-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

first_line() { local line; read -r -t 10 line <"$1"; echo "${line#listening on }"; }
stat_stored() { curl -s "$1/v1/stats" | sed -n 's/.*"events_stored":\([0-9]*\).*/\1/p'; }
# Waits (bounded, 120 s) until the ingest has stored $2 events; prints the seconds it took from $3.
wait_stored() {
  local url=$1 want=$2 t0=$3
  for ((i = 0; i < 12000; i++)); do
    [[ $(stat_stored "$url") -ge $want ]] && break
    sleep 0.01
  done
  awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.3f", a - b }' 
}

start_ingest() {  # $1: name
  mkfifo "$work/$1.out"
  "$bin/referkit-ingest" --listen 127.0.0.1:0 --db "$work/$1.db" --write-key wk >"$work/$1.out" 2>/dev/null &
  pids+=($!)
  ingest_url=$(first_line "$work/$1.out")
}
start_agent() {  # $1: name, then extra flags
  local name=$1
  shift
  mkfifo "$work/$name.agent.out"
  "$bin/referkit" serve --listen 127.0.0.1:0 --spool "$work/$name.spool" --endpoint "$ingest_url" --write-key wk \
    --accept-key ak "$@" >"$work/$name.agent.out" 2>/dev/null &
  agent_pid=$!
  pids+=("$agent_pid")
  agent_url=$(first_line "$work/$name.agent.out")
}
peak_rss_kib() { awk '/VmHWM/{print $2}' "/proc/$1/status"; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"

[[ ${SKIP_RAW:-0} == 1 ]] || {
# 1. Throughput: the raw load loop, 8 connections, batches of 100, into the agent; the clock
#    stops when referkit-ingest has stored every event (delivered, not only acknowledged).
for mode in plain durable; do
  start_ingest "tp-$mode"
  flags=()
  [[ $mode == durable ]] && flags=(--durable-ack)
  start_agent "tp-$mode" "${flags[@]}"
  t0=$(date +%s.%N)
  load=$(node "$here/sidecar_load.mjs" "$agent_url" ak "$events" 100 8 "tp-$mode")
  delivered=$(wait_stored "$ingest_url" "$events" "$t0")
  echo "throughput ($mode ack): intake $load"
  echo "throughput ($mode ack): $events events stored by referkit-ingest in ${delivered}s = $(awk -v n="$events" -v s="$delivered" 'BEGIN { printf "%d", n / s }') events/s end to end; agent peak RSS $(peak_rss_kib "$agent_pid") KiB"
  kill -TERM "$agent_pid"; wait "$agent_pid" || true
done

# 2. Latency a client waits per acknowledged request: one connection, batches of 20, sequential.
start_ingest lat
echo "latency, 1 connection, batches of 20 events, 5000 events:"
echo "  straight to referkit-ingest: $(node "$here/sidecar_load.mjs" "$ingest_url" wk 5000 20 1 lat-direct)"
start_agent lat-plain
echo "  through the agent:           $(node "$here/sidecar_load.mjs" "$agent_url" ak 5000 20 1 lat-plain)"
kill -TERM "$agent_pid"; wait "$agent_pid" || true
start_agent lat-durable --durable-ack
echo "  through the agent, --durable-ack: $(node "$here/sidecar_load.mjs" "$agent_url" ak 5000 20 1 lat-durable)"
kill -TERM "$agent_pid"; wait "$agent_pid" || true

}
# 3. Segment's Node SDK into the agent (as an application would send), if it can be installed.
sdk="$here/../../build/default/tests/sidecar-node"
if [[ -d $sdk/node_modules/@segment/analytics-node ]] || (mkdir -p "$work/sdk" && cd "$work/sdk" &&
    echo '{"name":"b","private":true,"type":"module"}' >package.json &&
    timeout 180 npm install --no-audit --no-fund --loglevel=error @segment/analytics-node@2 >/dev/null 2>&1 && sdk="$work/sdk"); then
  [[ -d $sdk/node_modules ]] || sdk="$work/sdk"
  cp "$here/../interop/sidecar_node_send.mjs" "$sdk/"
  n=20000  # the SDK part: a fixed size, as tests/interop sends
  start_ingest sdk
  start_agent sdk
  t0=$(date +%s.%N)
  (cd "$sdk" && node sidecar_node_send.mjs "$agent_url" ak "$n" "$work/acked.txt" >/dev/null)
  delivered=$(wait_stored "$ingest_url" "$n" "$t0")
  echo "Segment Node SDK: $n events stored in ${delivered}s = $(awk -v n="$n" -v s="$delivered" 'BEGIN { printf "%d", n / s }') events/s; agent peak RSS $(peak_rss_kib "$agent_pid") KiB"
  # For reference: the same SDK straight into referkit-ingest (what the SDK itself manages here).
  start_ingest sdk-direct
  t0=$(date +%s.%N)
  (cd "$sdk" && node sidecar_node_send.mjs "$ingest_url" wk "$n" "$work/acked-direct.txt" >/dev/null)
  delivered=$(wait_stored "$ingest_url" "$n" "$t0")
  echo "Segment Node SDK straight to referkit-ingest: $n events stored in ${delivered}s = $(awk -v n="$n" -v s="$delivered" 'BEGIN { printf "%d", n / s }') events/s"
else
  echo "Segment Node SDK: skipped (npm could not install @segment/analytics-node)"
fi
