#!/usr/bin/env bash
# Checks for Go >= 1.24, which the Go example plugins (plugins-examples/go)
# need: GOOS=wasip1 reactors (-buildmode=c-shared) with //go:wasmexport.
# Go is not installed from here (Debian bookworm's golang is 1.19, too old);
# without it the Go parity tests skip, and fail under WASMGATE_REQUIRE_ALL=1.
# Always exits 0.
set -uo pipefail

need_major=1
need_minor=24

if ! command -v go >/dev/null 2>&1; then
  for candidate in /usr/local/go/bin/go "$HOME/go/bin/go" /usr/lib/go/bin/go; do
    if [ -x "$candidate" ]; then
      echo "check-go: WARNING: go is not on PATH, but $candidate exists; add $(dirname "$candidate") to PATH" >&2
      exit 0
    fi
  done
  echo "check-go: WARNING: Go not found. The Go example plugins need Go >= ${need_major}.${need_minor}:" >&2
  echo "  https://go.dev/dl/ (e.g. tar -C /usr/local -xzf go1.24.x.linux-amd64.tar.gz; export PATH=/usr/local/go/bin:\$PATH)" >&2
  exit 0
fi

version=$(go env GOVERSION 2>/dev/null || go version | awk '{print $3}')
if [[ "$version" =~ ^go([0-9]+)\.([0-9]+) ]]; then
  major=${BASH_REMATCH[1]}
  minor=${BASH_REMATCH[2]}
  if [ "$major" -gt "$need_major" ] || { [ "$major" -eq "$need_major" ] && [ "$minor" -ge "$need_minor" ]; }; then
    echo "check-go: $version (>= ${need_major}.${need_minor}) at $(command -v go)"
    exit 0
  fi
fi
echo "check-go: WARNING: $version at $(command -v go) is too old; the Go example plugins need Go >= ${need_major}.${need_minor}" >&2
echo "  (GOOS=wasip1 -buildmode=c-shared with //go:wasmexport). Install a newer Go from https://go.dev/dl/" >&2
exit 0
