#!/usr/bin/env bash
# Peer comparison, not a test (never in CTest): the same JSON Lines file of "Order Completed" events
# (same count, same content, same messageIds) goes through `referkit track` and through Segment's
# official Node SDK (@segment/analytics-node@2, installed from npm into the work directory) to a
# fresh server on 127.0.0.1 per run; prints both throughputs and peak RSS side by side with the
# ratio, as medians over several rounds, then one JSON object.
#
#   tests/bench/compare_segment_node.sh [--server discard|ingest] [--events N] [--rounds R] [--bin DIR] [--work DIR]
#
# The server: `discard` (the default) is `referkit-bench --serve-discard`, which answers every
# request 200 once read and keeps the body, and counts the events in each batch only when it is
# stopped after the run, so the senders alone are measured (as the end-to-end budgets are) and the
# server takes no core from them; `ingest` is referkit-ingest, which validates and stores every event
# in SQLite, so the server's speed bounds the faster sender's figure.
#
# Defaults: N=100000, R=3, DIR=build/bin, WORK=build/compare (relative to the repository). Throughput
# is N / wall time of the sender process (start to exit, after the final flush was acknowledged); peak
# RSS is the sender's VmHWM from /proc, polled every 50 ms. Each run must leave exactly N events at
# the server (the discard server's count, with no unreadable body; referkit-ingest's GET /v1/stats),
# or the script fails. Exit: 0 measured, 1 failure, 2 usage, 77 skipped (node or npm missing, or
# npm could not install the SDK).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

server=discard
events=100000
rounds=3
bin=$root/build/bin
work=$root/build/compare
sender_timeout=600 # seconds, for each sender run
write_key=bench-key

usage() {
  echo "usage: $0 [--server discard|ingest] [--events N] [--rounds R] [--bin DIR] [--work DIR]" >&2
  exit 2
}
while (($#)); do
  case $1 in
    --server) [[ $# -ge 2 ]] || usage; server=$2; shift 2 ;;
    --events) [[ $# -ge 2 ]] || usage; events=$2; shift 2 ;;
    --rounds) [[ $# -ge 2 ]] || usage; rounds=$2; shift 2 ;;
    --bin) [[ $# -ge 2 ]] || usage; bin=$2; shift 2 ;;
    --work) [[ $# -ge 2 ]] || usage; work=$2; shift 2 ;;
    -h | --help) usage ;;
    *) echo "unknown argument: $1" >&2; usage ;;
  esac
done
[[ $server == discard || $server == ingest ]] || { echo "--server must be discard or ingest" >&2; exit 2; }
[[ $events =~ ^[1-9][0-9]*$ ]] || { echo "--events must be a positive integer" >&2; exit 2; }
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "--rounds must be a positive integer" >&2; exit 2; }
bin=$(cd "$bin" && pwd) || { echo "no directory $bin" >&2; exit 2; }
server_exe=referkit-ingest
[[ $server == ingest ]] || server_exe=referkit-bench
for exe in referkit "$server_exe"; do
  [[ -x $bin/$exe ]] || { echo "missing $bin/$exe (build the default preset first)" >&2; exit 2; }
done

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIPPED: node and npm are needed for the Segment Node SDK comparison"
  exit 77
fi
mkdir -p "$work"
work=$(cd "$work" && pwd)
cd "$work"
if [[ ! -d node_modules/@segment/analytics-node ]]; then
  [[ -f package.json ]] || echo '{"name":"referkit-segment-compare","private":true,"type":"module"}' >package.json
  if ! timeout 180 npm install --no-audit --no-fund --loglevel=error @segment/analytics-node@2 >npm.log 2>&1; then
    echo "SKIPPED: npm could not install @segment/analytics-node:"
    tail -5 npm.log
    exit 77
  fi
fi
cp "$here/segment_node_bench.mjs" .
node_version=$(node --version)
sdk_version=$(node -p 'require("./node_modules/@segment/analytics-node/package.json").version')

# Everything started here is stopped on the way out, whatever the way out is.
server_pid=""
sender_pid=""
poller_pid=""
cleanup() {
  local pid
  for pid in "$sender_pid" "$poller_pid" "$server_pid"; do
    if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; fi
  done
  for pid in "$sender_pid" "$poller_pid" "$server_pid"; do
    if [[ -n $pid ]]; then wait "$pid" 2>/dev/null || true; fi
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A FIFO held open read-write: `read -t` on it is a sleep without forking a process.
rm -f tick
mkfifo tick
exec {tick}<>tick

nap() { read -r -t "$1" -u "$tick" _ || true; }

fail() {
  echo "FAILED: $*" >&2
  exit 1
}

# One file, generated once, read by both senders: Segment track events with everything a shop sends
# for an order that came through a referral. Deterministic (no rand()), so every awk makes the same.
data=$work/events-$events.jsonl
if [[ ! -s $data ]]; then
  awk -v n="$events" 'BEGIN {
    split("JANE SAM ALEX MIA NOAH LEA OMAR ZOE", who, " ")
    split("EUR USD GBP EUR", cur, " ")
    split("BF2026 WELCOME10 FRIEND15", coupons, " ")
    split("Merino Wool Sweater|Trail Running Shoes|Ceramic Pour-Over Set|Linen Duvet Cover|Espresso Beans 1kg|Bamboo Cutting Board", names, "|")
    split("Apparel|Footwear|Kitchen|Home|Grocery|Kitchen", cats, "|")
    for (i = 1; i <= n; i++) {
      t = (i * 7) % 86400
      ts = sprintf("2026-11-27T%02d:%02d:%02d.%03dZ", int(t / 3600), int(t % 3600 / 60), t % 60, (i * 37) % 1000)
      items = ""
      sub_total = 0
      count = 1 + i % 3
      for (k = 0; k < count; k++) {
        p = 1 + (i + k * 5) % 6
        price = 9.99 + ((i * 13 + k * 31) % 120)
        qty = 1 + (i + k) % 2
        sub_total += price * qty
        items = items (k ? "," : "") sprintf("{\"product_id\":\"prod-%04d\",\"sku\":\"SKU-%d-%03d\",\"name\":\"%s\",\"category\":\"%s\",\"price\":%.2f,\"quantity\":%d}", p * 37, p, (i + k) % 997, names[p], cats[p], price, qty)
      }
      coupon = ""
      discount = 0
      if (i % 4 != 0) {
        coupon = coupons[1 + i % 3]
        discount = sub_total * 0.1
      }
      shipping = (sub_total > 50) ? 0 : 4.99
      tax = (sub_total - discount) * 0.19
      total = sub_total - discount + shipping + tax
      printf "{\"type\":\"track\",\"event\":\"Order Completed\",\"userId\":\"cust-%06d\",\"messageId\":\"bench-%08d-%04x\",\"timestamp\":\"%s\",", (i * 7919) % 50000, i, (i * 40503) % 65536, ts
      printf "\"properties\":{\"order_id\":\"ORD-%08d\",\"checkout_id\":\"chk-%08x\",\"affiliation\":\"web-shop\",", 10000000 + i, (i * 69069) % 268435456
      printf "\"total\":%.2f,\"subtotal\":%.2f,\"revenue\":%.2f,\"shipping\":%.2f,\"tax\":%.2f,\"discount\":%.2f,", total, sub_total, sub_total - discount, shipping, tax, discount
      printf "\"coupon\":\"%s\",\"currency\":\"%s\",\"referral_code\":\"%s-%04X-%05X\",\"campaign\":\"bf-2026\",", coupon, cur[1 + i % 4], who[1 + i % 8], (i * 40503) % 65536, (i * 69069) % 1048576
      printf "\"referrer_id\":\"cust-%06d\",\"products\":[%s]}}\n", (i * 104729) % 50000, items
    }
  }' >"$data.tmp"
  mv "$data.tmp" "$data"
fi
lines=$(wc -l <"$data")
[[ $lines -eq $events ]] || fail "generated $lines lines, expected $events"
echo "events: $events in $data ($(($(wc -c <"$data") / events)) bytes each on average); rounds: $rounds"
echo "node $node_version, @segment/analytics-node $sdk_version, referkit from $bin"

# start_server NAME: a fresh server (referkit-ingest on a new database, or the discard server) on
# 127.0.0.1, a free port. Sets server_pid and server_url.
start_server() {
  local db=$work/$1.db line="" i
  rm -f "$db" "$db-wal" "$db-shm"
  : >"$work/$1.server.log"
  if [[ $server == ingest ]]; then
    REFERKIT_INGEST_WRITE_KEY=$write_key "$bin/referkit-ingest" --listen 127.0.0.1:0 --db "$db" >"$work/$1.server.log" 2>&1 &
  else
    "$bin/referkit-bench" --serve-discard >"$work/$1.server.log" 2>&1 &
  fi
  server_pid=$!
  for ((i = 0; i < 200; i++)); do # 10 s
    read -r line <"$work/$1.server.log" || true
    [[ $line == "listening on "* ]] && break
    kill -0 "$server_pid" 2>/dev/null || fail "$server_exe exited: $(cat "$work/$1.server.log")"
    nap 0.05
  done
  [[ $line == "listening on http://127.0.0.1:"* ]] || fail "$server_exe did not start within 10 s"
  server_url=${line#listening on }
}

stop_server() {
  local i
  kill -TERM "$server_pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do # 15 s
    kill -0 "$server_pid" 2>/dev/null || break
    nap 0.05
  done
  kill -KILL "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# poll_rss PID: PID is timeout(1); prints the largest VmHWM (kB) its child (the sender) reached.
poll_rss() {
  local parent=$1 child="" max=0 key value
  while kill -0 "$parent" 2>/dev/null; do
    if [[ -z $child ]]; then
      read -r child _ 2>/dev/null <"/proc/$parent/task/$parent/children" || true
    fi
    if [[ -n $child ]]; then
      while read -r key value _; do
        if [[ $key == VmHWM: ]]; then
          if ((value > max)); then max=$value; fi
          break
        fi
      done 2>/dev/null <"/proc/$child/status" || true
    fi
    nap 0.05
  done
  echo "$max"
}

# stats_get URL: the body of GET URL/v1/stats.
stats_get() {
  node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(10000) })
    .then((r) => r.text()).then((t) => process.stdout.write(t))
    .catch((e) => { console.error(e.message); process.exit(1); })' "$1/v1/stats"
}

json_number() { # json_number KEY JSON: the first "KEY":number in JSON
  if [[ $2 =~ \"$1\":([0-9.]+) ]]; then echo "${BASH_REMATCH[1]}"; fi
}

declare -a rk_rate rk_rss node_rate node_rss
rows=()

# run_sender NAME ROUND: one measured run of one sender against a fresh server.
run_sender() {
  local name=$1 round=$2 tag="$1-r$2" start end rc=0 rss_kb stats stored seconds rate rss_mb
  start_server "$tag"
  local -a cmd
  if [[ $name == referkit ]]; then
    cmd=("$bin/referkit" track --input "$data" --endpoint "$server_url" --write-key "$write_key" --progress none)
  else
    cmd=(node "$work/segment_node_bench.mjs" "$server_url" "$write_key" "$data")
  fi
  start=$EPOCHREALTIME
  timeout "$sender_timeout" "${cmd[@]}" >"$work/$tag.out" 2>"$work/$tag.err" &
  sender_pid=$!
  poll_rss "$sender_pid" >"$work/$tag.rss" &
  poller_pid=$!
  wait "$sender_pid" || rc=$?
  end=$EPOCHREALTIME
  sender_pid=""
  wait "$poller_pid" || true
  poller_pid=""
  ((rc != 124)) || fail "$name (round $round) did not finish within $sender_timeout s"
  ((rc == 0)) || fail "$name (round $round) exited $rc: $(tail -c 600 "$work/$tag.err") $(cat "$work/$tag.out")"
  if [[ $server == ingest ]]; then
    stats=$(stats_get "$server_url") || fail "GET /v1/stats failed after $name (round $round)"
    stop_server
    stored=$(json_number events_stored "$stats")
  else
    stop_server # the discard server prints its counts as it exits
    stats=$(tail -n 1 "$work/$tag.server.log")
    stored=$(json_number events "$stats")
    [[ $(json_number unreadable "$stats") == 0 ]] || fail "$name (round $round): unreadable batches: $stats"
  fi
  [[ $stored == "$events" ]] ||
    fail "$name (round $round): the server counted ${stored:-?} events, not $events: $stats"
  read -r rss_kb <"$work/$tag.rss" || true
  [[ ${rss_kb:-0} -gt 0 ]] || fail "$name (round $round): no peak RSS measured"
  read -r seconds rate rss_mb < <(awk -v s="$start" -v e="$end" -v n="$events" -v k="$rss_kb" \
    'BEGIN { printf "%.3f %.0f %.1f\n", e - s, n / (e - s), k / 1024 }')
  if [[ $name == referkit ]]; then
    rk_rate+=("$rate"); rk_rss+=("$rss_mb")
  else
    node_rate+=("$rate"); node_rss+=("$rss_mb")
  fi
  rows+=("$(printf '%-5s  %-12s  %9s  %10s  %11s  %8s  %9s  %s' "$round" "$name" "$seconds" "$rate" "$rss_mb" \
    "$stored" "$(json_number requests "$stats")" "$(json_number duplicates "$stats")")")
  echo "round $round $name: ${seconds} s, $rate events/s, peak RSS $rss_mb MB; sender said $(cat "$work/$tag.out")"
}

median() { # median VALUE...
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.10g\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

for ((r = 1; r <= rounds; r++)); do
  # Alternate who goes first, so neither always runs on a warmer (or more tired) machine.
  if ((r % 2)); then order=(referkit segment-node); else order=(segment-node referkit); fi
  for who in "${order[@]}"; do run_sender "$who" "$r"; done
done

rk_rate_m=$(median "${rk_rate[@]}")
rk_rss_m=$(median "${rk_rss[@]}")
node_rate_m=$(median "${node_rate[@]}")
node_rss_m=$(median "${node_rss[@]}")
read -r ratio_rate ratio_rss < <(awk -v a="$rk_rate_m" -v b="$node_rate_m" -v c="$rk_rss_m" -v d="$node_rss_m" \
  'BEGIN { printf "%.3f %.3f\n", a / b, c / d }')

echo
echo "server: $server_exe"
printf '%-5s  %-12s  %9s  %10s  %11s  %8s  %9s  %s\n' round sender seconds events/s "peak RSS MB" events requests duplicates
printf '%s\n' "${rows[@]}"
echo
printf '%-22s  %12s  %12s  %s\n' "median of $rounds" referkit segment-node "ratio (referkit / segment-node)"
printf '%-22s  %12s  %12s  %s\n' "events/s" "$rk_rate_m" "$node_rate_m" "$ratio_rate"
printf '%-22s  %12s  %12s  %s\n' "peak RSS MB" "$rk_rss_m" "$node_rss_m" "$ratio_rss"
echo "($events events each; node $node_version, @segment/analytics-node $sdk_version; $(nproc) CPUs)"
echo
printf '{"server":"%s","events":%d,"rounds":%d,"referkit":{"events_per_s":%s,"peak_rss_mb":%s},"segment_node":{"events_per_s":%s,"peak_rss_mb":%s},"ratio_events_per_s":%s,"ratio_peak_rss":%s}\n' \
  "$server" "$events" "$rounds" "$rk_rate_m" "$rk_rss_m" "$node_rate_m" "$node_rss_m" "$ratio_rate" "$ratio_rss"
