#!/usr/bin/env bash
# Per-call cost of track() from Python and PHP through libreferkit_c, next to the C++ figure
# (referkit-bench --only track). A benchmark, not a test: run it on an otherwise idle machine.
#
#   tests/bench/bindings_bench.sh [build dir (build/default)] [calls per round (10000)]
# Prints one JSON object {"python":{...},"php":{...},"cpp":{...}}.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="${1:-$repo/build/default}"
calls="${2:-10000}"
export REFERKIT_LIBRARY="${REFERKIT_LIBRARY:-$(ls "$build"/src/libreferkit_c.so | head -1)}"

python=$(PYTHONPATH="$repo/bindings/python" /usr/bin/python3 "$here/bindings_bench.py" "$calls")
php=$(php -d ffi.enable=true "$here/bindings_bench.php" "$calls")
cpp_bench="$repo/build/bin/referkit-bench"
if [[ -x "$cpp_bench" ]]; then
  cpp=$("$cpp_bench" --json --only track)
else
  cpp='null'
fi
printf '{"python":%s,"php":%s,"cpp":%s}\n' "$python" "$php" "$cpp"
