#!/usr/bin/env bash
# Installs what referkit needs to build, test and fuzz on Debian 12, as root (or with sudo).
# Idempotent and quick when everything is already there: apt runs only for missing packages.
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config git ca-certificates
  libssl-dev libcurl4-openssl-dev libsimdjson-dev libfmt-dev libdeflate-dev
  doctest-dev libcli11-dev libsqlite3-dev
  clang-14 libclang-rt-14-dev
  libcpp-httplib-dev
  # The shop's browser test (tests/browser): headless chromium driven over the DevTools protocol.
  chromium python3-websocket
  # The bindings' tests (tests/capi): PHP 8.2 with FFI (in php8.2-common) and pcntl; Python is
  # Debian's python3 (3.11), standard library only. The sidecar's Node SDK test
  # (tests/interop/sidecar_node_test.sh): curl polls the agent's /metrics, python3 reads the
  # ingest database. Node.js itself is the machine's (skipped without).
  php8.2-cli python3 curl
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The fuzz preset asks for clang++; Debian's clang-14 package installs it versioned only.
if ! command -v clang++ >/dev/null 2>&1; then
  export PATH="/usr/lib/llvm-14/bin:$PATH"
fi
echo "setup: all build dependencies present"
