#!/usr/bin/env bash
# Runs the core tests and the PyTorch parity suite once per instruction-set tier this CPU supports,
# forcing each with RNNKIT_ISA (tests/kernels.rs fails if the forced tier was not really selected).
# The default run (best tier) is `npm run test:rust` / `npm run test:js`; this covers the others.
set -euo pipefail
cd "$(dirname "$0")/.."

tiers=(scalar)
if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then tiers+=(avx2); fi
if grep -qw avx512f /proc/cpuinfo && [ ${#tiers[@]} -eq 2 ]; then tiers+=(avx512); fi

for isa in "${tiers[@]}"; do
  echo "=== RNNKIT_ISA=$isa"
  RNNKIT_ISA=$isa cargo test -q -p rnnkit-core --test kernels --test parity --test model --test gradcheck_layers
  RNNKIT_ISA=$isa npx vitest run test/parity.test.ts
done
