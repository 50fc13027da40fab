#!/usr/bin/env bash
# The Rust toolchain for the Rust example plugins (plugins-examples/rust):
# cargo with the wasm32-unknown-unknown standard library. Debian/Ubuntu route
# (offline-friendly, what CI uses): rustc, cargo, libstd-rust-dev-wasm32 and
# the lld that Debian's /usr/bin/rust-lld links to (lld-14 on bookworm; only
# "recommended" by libstd-rust-dev-wasm32, so installed explicitly) from apt.
# A rustup toolchain with `rustup target add wasm32-unknown-unknown` works as
# well and is left alone. Installs only what is missing.
set -euo pipefail

has_wasm_std() { # $1 = rustc: the wasm32 standard library and a rust-lld to link with
  local sysroot lld
  sysroot=$("$1" --print sysroot 2>/dev/null) || return 1
  [ -d "$sysroot/lib/rustlib/wasm32-unknown-unknown/lib" ] || return 1
  for lld in "$sysroot"/lib/rustlib/*/bin/rust-lld; do [ -e "$lld" ] && return 0; done
  lld=$(command -v rust-lld 2>/dev/null) && [ -e "$lld" ]
}

if command -v cargo >/dev/null 2>&1 && command -v rustc >/dev/null 2>&1 && has_wasm_std rustc; then
  echo "install-rust-wasm: $(rustc --version) with wasm32-unknown-unknown present ($(command -v cargo))"
  exit 0
fi

# Debian's rustc links wasm with /usr/bin/rust-lld, a symlink into the lld-N package.
debian_ready() { [ -x /usr/bin/cargo ] && [ -x /usr/bin/rustc ] && has_wasm_std /usr/bin/rustc && [ -e /usr/bin/rust-lld ]; }

if debian_ready; then
  echo "install-rust-wasm: Debian's $(/usr/bin/rustc --version) with wasm32-unknown-unknown present"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-rust-wasm: no apt-get here; install Rust with rustup and run: rustup target add wasm32-unknown-unknown" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-rust-wasm: not root and no sudo; install rustc cargo libstd-rust-dev-wasm32 yourself" >&2
    exit 1
  fi
fi

# The kit has no crate dependencies, so these (and lld below) are all it needs. (For a
# plugin of your own that uses serde or rmp-serde, add librust-serde-dev,
# librust-serde-derive-dev, librust-rmp-serde-dev: plugins-examples/rust/.cargo/config.toml
# already points cargo at /usr/share/cargo/registry.)
missing=()
for pkg in rustc cargo libstd-rust-dev-wasm32; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

export DEBIAN_FRONTEND=noninteractive
updated=0
apt_install() {
  if [ "$updated" -eq 0 ]; then
    $SUDO apt-get update -qq
    updated=1
  fi
  $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-rust-wasm: installing ${missing[*]}"
  apt_install "${missing[@]}"
fi
if [ ! -e /usr/bin/rust-lld ]; then
  # rustc ships the rust-lld symlink; the package that owns its target is named like it (lld-14).
  lld_pkg=$(basename "$(readlink /usr/bin/rust-lld 2>/dev/null || echo lld)")
  echo "install-rust-wasm: installing $lld_pkg (the linker behind /usr/bin/rust-lld)"
  apt_install "$lld_pkg"
fi

if debian_ready; then
  echo "install-rust-wasm: $(/usr/bin/rustc --version), $(/usr/bin/cargo --version), wasm32-unknown-unknown ready"
  echo "  build: cd plugins-examples/rust && PATH=/usr/bin:\$PATH cargo build --release --target wasm32-unknown-unknown --offline"
else
  echo "install-rust-wasm: the wasm32-unknown-unknown toolchain is still incomplete after installing" >&2
  exit 1
fi
