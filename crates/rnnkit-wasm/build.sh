#!/usr/bin/env bash
# Builds the three WebAssembly modules the facade chooses between (wasm-features.ts probes SIMD
# and threads):
#   build/rnnkit-simd-threads.wasm  +simd128 +atomics on an imported shared memory, for workers
#                                   started by ts/backend/wasm-threads.ts (std rebuilt with atomics)
#   build/rnnkit-simd.wasm          -C target-feature=+simd128 (std included, via build-std)
#   build/rnnkit.wasm               scalar, for engines without SIMD128
# Prefers a rustup wasm32 target; otherwise uses Debian's rustc-web with -Zbuild-std (see
# TOOLCHAIN.md "WebAssembly"). Each variant has its own CARGO_TARGET_DIR, so the two feature sets,
# the two compilers and the native build never invalidate each other's artifacts. Idempotent.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
TARGET=wasm32-unknown-unknown
OUT="$ROOT/build"
mkdir -p "$OUT"

# Flags meant for the native build (e.g. -C target-cpu=native) must not leak into wasm builds.
unset CARGO_ENCODED_RUSTFLAGS RUSTFLAGS CARGO_BUILD_RUSTFLAGS

have_rustup_target() {
  command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -qx "$TARGET"
}

if have_rustup_target; then
  MODE=rustup
  echo "rnnkit-wasm: using rustup's $TARGET target"
elif [[ -x /usr/bin/rustc && -x /usr/bin/cargo ]] && command -v wasm-ld >/dev/null 2>&1 &&
     [[ -d "$(/usr/bin/rustc --print sysroot)/lib/rustlib/src/rust/library/vendor" ]]; then
  MODE=debian
  SYSROOT="$(/usr/bin/rustc --print sysroot)"
  VENDOR="$SYSROOT/lib/rustlib/src/rust/library/vendor"
  echo "rnnkit-wasm: using $(/usr/bin/rustc --version) with -Zbuild-std (no rustup $TARGET target installed)"
else
  cat >&2 <<EOF
rnnkit-wasm: no toolchain can build $TARGET here.
  Either:  rustup target add $TARGET            (machines with internet access)
  Or:      apt-get install -y rustc-web cargo-web rust-web-src lld   (Debian; scripts/setup.sh does this)
EOF
  exit 1
fi

# build_variant <target-dir name> <rustflags> <output file>
build_variant() {
  local dir="$ROOT/target/$1" flags="$2" out="$OUT/$3"
  if [[ $MODE == rustup ]]; then
    CARGO_TARGET_DIR="$dir" RUSTFLAGS="$flags" \
      cargo build --release --target "$TARGET" -p rnnkit-wasm
  else
    # RUSTC_BOOTSTRAP only unlocks -Zbuild-std on this stable compiler; crates-io is pointed at the
    # std sources' vendored dependencies (the project itself has no external crates).
    RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$dir" RUSTFLAGS="$flags" \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld \
      /usr/bin/cargo build --release --target "$TARGET" -p rnnkit-wasm \
        -Zbuild-std=std,panic_abort \
        --config "source.crates-io.replace-with='vendored-std'" \
        --config "source.vendored-std.directory='$VENDOR'"
  fi
  cp "$dir/$TARGET/release/rnnkit_wasm.wasm" "$out.tmp"
  mv "$out.tmp" "$out" # atomic: a test reading the file never sees half of it
}

# The threaded module imports its memory (env.memory, shared, created by JS with the initial size
# below, which wasm-threads.ts mirrors as THREADED_INITIAL_PAGES) and exports what a worker needs to
# set up its own stack and TLS block.
THREADED_INITIAL_BYTES=$((64 * 65536))
THREADED_FLAGS="-C target-feature=+simd128,+atomics,+bulk-memory,+mutable-globals \
  -C link-arg=--shared-memory -C link-arg=--import-memory \
  -C link-arg=--initial-memory=$THREADED_INITIAL_BYTES -C link-arg=--max-memory=4294967296 \
  -C link-arg=--export=__stack_pointer -C link-arg=--export=__wasm_init_tls \
  -C link-arg=--export=__tls_size -C link-arg=--export=__tls_align"

# strip=symbols drops the debug-name section (~6 KB gzipped); traps still carry the panic message.
build_variant wasm-simd-threads "$THREADED_FLAGS -C strip=symbols" rnnkit-simd-threads.wasm
build_variant wasm-simd "-C target-feature=+simd128 -C strip=symbols" rnnkit-simd.wasm
build_variant wasm-scalar "-C strip=symbols" rnnkit.wasm

for f in rnnkit-simd-threads.wasm rnnkit-simd.wasm rnnkit.wasm; do
  printf 'rnnkit-wasm: %-32s %8d bytes\n' "build/$f" "$(stat -c %s "$OUT/$f")"
done
