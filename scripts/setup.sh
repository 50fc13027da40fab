#!/usr/bin/env bash
# Installs the system packages the full test suite needs (Debian/Ubuntu, as
# root or with sudo): redis-server for the Redis store tests, the Rust wasm
# toolchain from Debian's packages for the Rust examples, and checks Go.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")"
for script in install-system-deps.sh install-rust-wasm.sh check-go.sh; do
  if [ -f "$script" ]; then
    echo "== scripts/$script"
    bash "$script"
  fi
done
