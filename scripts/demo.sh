#!/usr/bin/env bash
# Quick start, first command: set up, build, and run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
cmake --preset default >/dev/null
cmake --build --preset default --target referkit-cli
build/bin/referkit demo "$@"
