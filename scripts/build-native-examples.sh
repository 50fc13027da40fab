#!/usr/bin/env bash
# Builds the Rust and Go example plugins into
# plugins-examples/<rust|go>/<example>/build/plugin.wasm with whatever
# toolchains are present (docs/kits-rust-go.md). A missing toolchain is
# reported and skipped; a failing build exits 1.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
status=0

# Rust: the cargo on PATH if its rustc has wasm32-unknown-unknown, else Debian's.
rust_ok() { local s; s=$("$1" --print sysroot 2>/dev/null) && [ -d "$s/lib/rustlib/wasm32-unknown-unknown/lib" ]; }
cargo_cmd=() target_dir=target
if command -v cargo >/dev/null 2>&1 && rust_ok rustc; then
  cargo_cmd=(cargo)
elif [ -x /usr/bin/cargo ] && rust_ok /usr/bin/rustc && [ -e /usr/bin/rust-lld ]; then
  cargo_cmd=(env PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc /usr/bin/cargo) target_dir=target/debian
fi
if [ ${#cargo_cmd[@]} -gt 0 ]; then
  (cd "$root/plugins-examples/rust" &&
    "${cargo_cmd[@]}" build --release --target wasm32-unknown-unknown --offline --target-dir "$target_dir") || status=1
  for ex in auth-token response-rewrite analytics-mask aggregate route-by-header; do
    src="$root/plugins-examples/rust/$target_dir/wasm32-unknown-unknown/release/${ex//-/_}.wasm"
    [ -f "$src" ] || continue
    mkdir -p "$root/plugins-examples/rust/$ex/build"
    cp "$src" "$root/plugins-examples/rust/$ex/build/plugin.wasm"
    echo "rust/$ex: $(wc -c <"$src") bytes"
  done
else
  echo "build-native-examples: no cargo with wasm32-unknown-unknown (bash scripts/install-rust-wasm.sh); Rust skipped" >&2
fi

# Go >= 1.24: wasip1 reactors (upload them with wasi enabled).
go_cmd=""
for g in go /usr/local/go/bin/go; do
  if command -v "$g" >/dev/null 2>&1 && [[ "$("$g" env GOVERSION 2>/dev/null)" =~ ^go1\.([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 24 ]; then
    go_cmd="$g"
    break
  fi
done
if [ -n "$go_cmd" ]; then
  for ex in auth-token response-rewrite analytics-mask endpoint-hello aggregate; do
    out="$root/plugins-examples/go/$ex/build/plugin.wasm"
    mkdir -p "$(dirname "$out")"
    if (cd "$root/plugins-examples/go" && GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 \
      "$go_cmd" build -buildmode=c-shared -trimpath -ldflags='-s -w' -o "$out" "./$ex"); then
      echo "go/$ex: $(wc -c <"$out") bytes (wasi)"
    else
      status=1
    fi
  done
else
  echo "build-native-examples: no Go >= 1.24 (bash scripts/check-go.sh); Go skipped" >&2
fi
exit $status
