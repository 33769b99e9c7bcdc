/**
 * Which backends a test run can use. Suites that run once per backend skip the backends whose build
 * files are missing (with a warning saying which command builds them) instead of failing on a load
 * error, so `npx vitest run` works on a checkout where only one side has been built.
 */
import { existsSync } from 'node:fs';

import type { BackendName } from '../../ts/backend/types.js';

/** What `npm run build:<name>` writes under build/ (either wasm module is enough). */
export const BUILD_FILES: Record<BackendName, readonly string[]> = {
  native: ['rnnkit.node'],
  wasm: ['rnnkit-simd.wasm', 'rnnkit.wasm'],
};

/** True when the backend can load: its build file exists (or RNNKIT_NATIVE_PATH names the addon). */
export function isBuilt(name: BackendName): boolean {
  if (name === 'native' && process.env.RNNKIT_NATIVE_PATH?.trim()) return true;
  return BUILD_FILES[name].some((f) => existsSync(new URL(`../../build/${f}`, import.meta.url)));
}

/** Why the backend's tests skip (for a suite title), or undefined when it is built. */
export function skipReason(name: BackendName): string | undefined {
  if (isBuilt(name)) return undefined;
  return `SKIPPED: ${BUILD_FILES[name].map((f) => `build/${f}`).join(' / ')} missing, run \`npm run build:${name}\``;
}

export interface BuiltBackend {
  name: BackendName;
  built: boolean;
}

/**
 * Both backends with whether each is built, for `describe.each(...)('... on $name', ({ name, built }) => ...)`.
 * Warns once per missing backend, naming the test file (`label`).
 */
export function backendsFor(label: string): readonly BuiltBackend[] {
  const backends = (['native', 'wasm'] as const).map((name) => ({ name, built: isBuilt(name) }));
  for (const b of backends) if (!b.built) console.warn(`[${label}] ${skipReason(b.name)}`);
  return backends;
}
