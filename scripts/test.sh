#!/usr/bin/env bash
# Quick start, second command: set up, then build and run every test suite:
#   default     unit, integration and package tests (RelWithDebInfo, warnings as errors)
#   asan-ubsan  the same tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan        the same tests under ThreadSanitizer
#   fuzz        each libFuzzer target for a bounded time (clang)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
if ! command -v clang++ >/dev/null 2>&1; then export PATH="/usr/lib/llvm-14/bin:$PATH"; fi
export CTEST_PARALLEL_LEVEL="${CTEST_PARALLEL_LEVEL:-2}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"

summary=()
for preset in default asan-ubsan tsan fuzz; do
  echo "=== workflow ${preset} ==="
  start=$SECONDS
  cmake --workflow --preset "${preset}"
  summary+=("${preset}: passed in $((SECONDS - start)) s")
done
printf '%s\n' "${summary[@]}"
