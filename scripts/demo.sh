#!/usr/bin/env bash
# Quick start, first command: set up, build what the demo runs, and run it.
# `referkit demo` starts build/bin/referkit-ingest next to itself, so both targets are built.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
cmake --preset default >/dev/null
cmake --build --preset default --target referkit-cli referkit-ingest
build/bin/referkit demo "$@"
