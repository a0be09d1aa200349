#!/usr/bin/env bash
# Interop: Segment's official Node SDK (@segment/analytics-node, from npm) feeds referkit-ingest.
# Skipped (exit 77, reported by CTest as skipped) when node/npm are absent or npm cannot install.
# Usage: segment_node_test.sh INGEST_BINARY WORK_DIR
set -euo pipefail
ingest=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIPPED: node and npm are needed for the Segment Node SDK interop test"
  exit 77
fi
mkdir -p "$work"
cd "$work"
if [[ ! -d node_modules/@segment/analytics-node ]]; then
  [[ -f package.json ]] || echo '{"name":"referkit-segment-interop","private":true,"type":"module"}' > package.json
  if ! timeout 180 npm install --no-audit --no-fund --loglevel=error @segment/analytics-node@2 >npm.log 2>&1; then
    echo "SKIPPED: npm could not install @segment/analytics-node:"
    tail -5 npm.log
    exit 77
  fi
fi
cp "$here/segment_node_send.mjs" .

db="$work/interop.db"
rm -f "$db" "$db-wal" "$db-shm"
coproc server { exec "$ingest" --listen 127.0.0.1:0 --db "$db" --write-key interop-key; }
trap 'kill "${server_PID}" 2>/dev/null || true; wait "${server_PID}" 2>/dev/null || true' EXIT
read -r -t 10 line <&"${server[0]}" || { echo "referkit-ingest did not start"; exit 1; }
url=${line#listening on }
echo "referkit-ingest at $url"
timeout 120 node segment_node_send.mjs "$url" interop-key 1000
