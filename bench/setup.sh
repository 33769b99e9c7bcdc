#!/usr/bin/env bash
# Idempotent extras for `npm run bench`: PyTorch's peer rows need Debian's python3-torch, and a fair
# PyTorch needs OpenBLAS — python3-torch alone leaves libblas.so.3 pointing at the reference BLAS,
# which is ~10× slower. Installs only what is missing, only where apt and root are available; the
# bench itself skips PyTorch with a printed reason when it still cannot import torch.
set -u
have_torch() { /usr/bin/python3 -c 'import torch' >/dev/null 2>&1; }
need=()
have_torch || need+=(python3-torch)
dpkg -s libopenblas0-pthread >/dev/null 2>&1 || need+=(libopenblas0-pthread)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bench/setup.sh: installing ${need[*]}"
    apt-get install -y "${need[@]}" >/dev/null 2>&1 ||
      { apt-get update >/dev/null 2>&1 && apt-get install -y "${need[@]}" >/dev/null 2>&1; } ||
      echo "bench/setup.sh: could not install ${need[*]}; the PyTorch rows may be skipped or slow" >&2
  else
    echo "bench/setup.sh: missing ${need[*]} (needs root + apt); the PyTorch rows may be skipped or slow" >&2
  fi
fi
exit 0
