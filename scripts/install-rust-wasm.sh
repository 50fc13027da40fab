#!/usr/bin/env bash
# The Rust toolchain for the Rust example plugins (plugins-examples/rust):
# cargo with the wasm32-unknown-unknown standard library. Debian/Ubuntu route
# (offline-friendly, what CI uses): rustc, cargo, libstd-rust-dev-wasm32 and
# the lld that Debian's /usr/bin/rust-lld links to (lld-14 on bookworm; only
# "recommended" by libstd-rust-dev-wasm32, so installed explicitly) from apt.
# A rustup toolchain with `rustup target add wasm32-unknown-unknown` works as
# well and is left alone. Also Debian's crate sources for serde, serde_derive
# and rmp-serde (librust-*-dev, in /usr/share/cargo/registry), which
# plugins-examples/rust/kit-crosscheck's native tests resolve offline through
# plugins-examples/rust/.cargo/config.toml, whichever cargo runs them.
# Installs only what is missing.
set -euo pipefail

REGISTRY=/usr/share/cargo/registry
CRATE_PKGS=(librust-serde-dev librust-serde-derive-dev librust-rmp-serde-dev)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
registry_ready() { # the crates kit-crosscheck needs, unpacked in the directory source
  local c
  [ -d "$REGISTRY" ] || return 1
  for c in serde serde_derive rmp-serde; do
    compgen -G "$REGISTRY/$c-[0-9]*/Cargo.toml" >/dev/null || return 1
  done
}

has_wasm_std() { # $1 = rustc: the wasm32 standard library and a rust-lld to link with
  local sysroot lld
  sysroot=$("$1" --print sysroot 2>/dev/null) || return 1
  [ -d "$sysroot/lib/rustlib/wasm32-unknown-unknown/lib" ] || return 1
  for lld in "$sysroot"/lib/rustlib/*/bin/rust-lld; do [ -e "$lld" ] && return 0; done
  lld=$(command -v rust-lld 2>/dev/null) && [ -e "$lld" ]
}

toolchain_ok=0
if command -v cargo >/dev/null 2>&1 && command -v rustc >/dev/null 2>&1 && has_wasm_std rustc; then
  echo "install-rust-wasm: $(rustc --version) with wasm32-unknown-unknown present ($(command -v cargo))"
  toolchain_ok=1
fi

# Debian's rustc links wasm with /usr/bin/rust-lld, a symlink into the lld-N package.
debian_ready() { [ -x /usr/bin/cargo ] && [ -x /usr/bin/rustc ] && has_wasm_std /usr/bin/rustc && [ -e /usr/bin/rust-lld ]; }

if [ "$toolchain_ok" -eq 0 ] && debian_ready; then
  echo "install-rust-wasm: Debian's $(/usr/bin/rustc --version) with wasm32-unknown-unknown present"
  toolchain_ok=1
fi

crates_missing=()
for pkg in "${CRATE_PKGS[@]}"; do installed "$pkg" || crates_missing+=("$pkg"); done
if [ "$toolchain_ok" -eq 1 ] && [ ${#crates_missing[@]} -eq 0 ] && registry_ready; then
  echo "install-rust-wasm: crate sources for serde, serde_derive, rmp-serde present in $REGISTRY"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  if [ "$toolchain_ok" -eq 1 ]; then
    # The wasm examples build without the crates; only kit-crosscheck's tests need them.
    echo "install-rust-wasm: no apt-get here, so no Debian crate sources in $REGISTRY; the kit-crosscheck tests will skip" >&2
    exit 0
  fi
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

# The toolchain only when no usable one is there (a rustup toolchain is left alone);
# the crate sources either way.
missing=()
if [ "$toolchain_ok" -eq 0 ]; then
  for pkg in rustc cargo libstd-rust-dev-wasm32; do installed "$pkg" || missing+=("$pkg"); done
fi
missing+=(${crates_missing[@]+"${crates_missing[@]}"})

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
if [ "$toolchain_ok" -eq 0 ] && [ ! -e /usr/bin/rust-lld ]; then
  # rustc ships the rust-lld symlink; the package that owns its target is named like it (lld-14).
  lld_pkg=$(basename "$(readlink /usr/bin/rust-lld 2>/dev/null || echo lld)")
  echo "install-rust-wasm: installing $lld_pkg (the linker behind /usr/bin/rust-lld)"
  apt_install "$lld_pkg"
fi

if [ "$toolchain_ok" -eq 0 ]; then
  if debian_ready; then
    echo "install-rust-wasm: $(/usr/bin/rustc --version), $(/usr/bin/cargo --version), wasm32-unknown-unknown ready"
    echo "  build: cd plugins-examples/rust && PATH=/usr/bin:\$PATH cargo build --release --target wasm32-unknown-unknown --offline"
  else
    echo "install-rust-wasm: the wasm32-unknown-unknown toolchain is still incomplete after installing" >&2
    exit 1
  fi
fi
if registry_ready; then
  echo "install-rust-wasm: crate sources for serde, serde_derive, rmp-serde in $REGISTRY"
  echo "  test: cd plugins-examples/rust/kit-crosscheck && cargo test --offline"
else
  echo "install-rust-wasm: $REGISTRY lacks serde, serde_derive or rmp-serde after installing ${CRATE_PKGS[*]}" >&2
  exit 1
fi
