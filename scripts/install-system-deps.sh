#!/usr/bin/env bash
# System packages the full test suite and the benchmarks use (Debian/Ubuntu):
# redis-server and redis-cli (the Redis store tests start their own servers)
# and nginx-light (a benchmark peer). Installs only what is missing.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-system-deps: not root and no sudo; install redis-server and nginx-light yourself" >&2
    exit 1
  fi
fi

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-system-deps: redis-server, redis-cli and nginx present"
  exit 0
fi

echo "install-system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packages start system services where an init system exists; the tests
# start their own servers on free ports, so stop those if they run.
$SUDO service redis-server stop >/dev/null 2>&1 || true
$SUDO service nginx stop >/dev/null 2>&1 || true
redis-server --version
