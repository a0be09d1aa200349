#!/usr/bin/env bash
# Segment's official Node SDK (@segment/analytics-node, from npm) sends COUNT events through
# `referkit serve` to referkit-ingest; every event the agent acknowledged must be stored, exactly
# once (the ingest deduplicates by messageId, so "once" means: its row is there, and the store
# holds nothing the SDK did not send).
#
# MODE plain: the agent runs throughout; every event must be acknowledged and stored.
# MODE kill:  the agent is SIGKILLed at KILLS (>= 5) random instants while the SDK sends, and
#             restarted on the same spool and port; what was acknowledged must still arrive.
#
# Skipped (exit 77) when node/npm are absent or npm cannot install the SDK; never passes then.
# Usage: sidecar_node_test.sh REFERKIT_BINARY INGEST_BINARY WORK_DIR MODE [COUNT] [KILLS]
set -euo pipefail
referkit=$1
ingest=$2
work=$3
mode=$4
count=${5:-20000}
kills=${6:-6}
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIPPED: node and npm are needed for the Segment Node SDK sidecar test"
  exit 77
fi
mkdir -p "$work"
cd "$work"
if [[ ! -d node_modules/@segment/analytics-node ]]; then
  [[ -f package.json ]] || echo '{"name":"referkit-sidecar-interop","private":true,"type":"module"}' > package.json
  if ! timeout 180 npm install --no-audit --no-fund --loglevel=error @segment/analytics-node@2 >npm.log 2>&1; then
    echo "SKIPPED: npm could not install @segment/analytics-node:"
    tail -5 npm.log
    exit 77
  fi
fi
cp "$here/sidecar_node_send.mjs" .

run="$work/run-$mode"
rm -rf "$run"
mkdir -p "$run"
db="$run/ingest.db"
spool="$run/spool"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# The first stdout line of a child ("listening on URL"), within 10 s.
first_line() {
  local fifo=$1 line
  read -r -t 10 line <"$fifo" || { echo "no 'listening on' line from $fifo" >&2; return 1; }
  echo "${line#listening on }"
}

mkfifo "$run/ingest.out"
"$ingest" --listen 127.0.0.1:0 --db "$db" --write-key upstream-key >"$run/ingest.out" 2>"$run/ingest.err" &
pids+=($!)
ingest_url=$(first_line "$run/ingest.out")
echo "referkit-ingest at $ingest_url"

agent_pid=0
# Starts the agent on $1 (an address), sets agent_pid and agent_url.
start_agent() {
  rm -f "$run/agent.out"
  mkfifo "$run/agent.out"
  "$referkit" serve --listen "$1" --spool "$spool" --endpoint "$ingest_url" --write-key upstream-key \
    --accept-key node-key --max-backoff 1s --shutdown-timeout 20s >"$run/agent.out" 2>>"$run/agent.err" &
  agent_pid=$!
  pids+=("$agent_pid")
  agent_url=$(first_line "$run/agent.out")
}
start_agent 127.0.0.1:0
port=${agent_url##*:}
echo "agent at $agent_url"

rate=0
[[ $mode == kill ]] && rate=800  # 25 s for 20,000: room for 6 kills while events flow, even on a loaded machine
timeout 300 node sidecar_node_send.mjs "$agent_url" node-key "$count" "$run/acked.txt" "$rate" >"$run/node.out" 2>"$run/node.err" &
node_pid=$!
pids+=("$node_pid")

if [[ $mode == kill ]]; then
  for ((k = 1; k <= kills; k++)); do
    # A random instant while events flow: once this agent has accepted a random 100-1,600
    # events (its /metrics says so), plus 0-20 ms. Bounded: 60 s at most.
    target=$((100 + RANDOM % 1500))
    got=0
    for ((tries = 0; tries < 6000; tries++)); do
      got=$(curl -s --max-time 1 "$agent_url/metrics" | awk '/^referkit_intake_events_accepted_total /{print $2}')
      [[ -n $got && $got -ge $target ]] && break
      kill -0 "$node_pid" 2>/dev/null || break
      sleep 0.01
    done
    sleep "$(printf '0.%03d' $((RANDOM % 20)))"
    kill -0 "$node_pid" 2>/dev/null || { echo "the SDK finished before kill $k; use more events"; exit 1; }
    kill -KILL "$agent_pid"
    wait "$agent_pid" 2>/dev/null || true
    echo "kill $k: agent SIGKILLed after it accepted ${got:-0} events"
    # The same spool and port: the SDK keeps its host, and the new agent delivers what the
    # killed one acknowledged but had not yet forwarded.
    start_agent "127.0.0.1:$port"
  done
fi

if ! wait "$node_pid"; then
  echo "the Node SDK run failed:"; cat "$run/node.out" "$run/node.err"; exit 1
fi
cat "$run/node.out"
acked=$(grep -c . "$run/acked.txt" || true)
if [[ $mode == plain && $acked -ne $count ]]; then
  echo "FAIL: $acked of $count events acknowledged with the agent up throughout"; exit 1
fi
[[ $acked -gt 0 ]] || { echo "FAIL: nothing acknowledged"; exit 1; }

# SIGTERM: the agent delivers what it holds within its shutdown timeout and exits 0.
kill -TERM "$agent_pid"
if ! wait "$agent_pid"; then echo "FAIL: the agent did not exit 0 on SIGTERM"; tail -5 "$run/agent.err"; exit 1; fi
# The ingest then stops too, so its database can be read whole.
kill -TERM "${pids[0]}"
wait "${pids[0]}" || true

python3 - "$db" "$run/acked.txt" "$count" <<'PY'
import sqlite3, sys
db, acked_file, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
con = sqlite3.connect(db)
cols = [r[1] for r in con.execute("PRAGMA table_info(events)")]
idcol = 'message_id' if 'message_id' in cols else cols[0]
rows = [r[0] for r in con.execute(f"SELECT {idcol} FROM events")]
stored = set(rows)
acked = [l.strip() for l in open(acked_file) if l.strip()]
missing = [m for m in acked if m not in stored]
print(f"stored {len(rows)} rows ({len(stored)} distinct), acknowledged {len(acked)}, missing {len(missing)}")
if len(rows) != len(stored): sys.exit("FAIL: a messageId is stored twice")
if missing: sys.exit(f"FAIL: acknowledged but not stored, e.g. {missing[:3]}")
if len(stored) > count: sys.exit("FAIL: more events stored than were sent")
if len(acked) == count and stored != set(acked): sys.exit("FAIL: the store holds events the SDK never had acknowledged")
PY
echo "PASS"
