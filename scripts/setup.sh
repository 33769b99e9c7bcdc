#!/usr/bin/env bash
# Installs, idempotently, what building and testing rnnkit needs on a fresh Debian machine:
#   - Debian's Rust with std sources and lld, to build the WebAssembly module (see TOOLCHAIN notes in
#     crates/rnnkit-wasm/build.sh; rustup's wasm32 target is used instead where it is installed);
#   - Chromium, for the browser tests (driven by playwright-core);
#   - the npm dev dependencies (npm ci), when node_modules is missing or older than the lockfile.
# Does nothing when all of that is already present, so every npm script can call it.
# `--demo`: only what `npm run demo` needs (the npm packages; the native addon builds with the
# machine's cargo), so a first demo does not wait for the WebAssembly toolchain or a browser.
set -euo pipefail
cd "$(dirname "$0")/.."

demo=false
[ "${1:-}" = "--demo" ] && demo=true

need_apt=()
has_rustup_wasm() { command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown; }
if ! $demo && ! has_rustup_wasm; then
  for pkg in rustc-web cargo-web rust-web-src lld; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
  done
fi
$demo || [ -x /usr/bin/chromium ] || need_apt+=(chromium)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
      echo "setup: need root to run: apt-get install -y ${need_apt[*]}" >&2; exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust (https://rustup.rs) and retry" >&2
  exit 1
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dev dependencies (npm ci)"
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
fi
