/**
 * Every backend build a parity test can compare — native and each wasm module (threaded SIMD128,
 * SIMD128, scalar) — each loaded into its own fresh copy of rnnkit's public API, so a `Sequential`
 * made through that copy lives on exactly that module (the wasm backend picks its module once per
 * process, from RNNKIT_WASM_SIMD / RNNKIT_WASM_THREADS at load time).
 */
import { existsSync } from 'node:fs';
import { vi } from 'vitest';

import { isBuilt } from './backends.js';

export type Api = typeof import('../../ts/index.js');

export interface Variant {
  label: string;
  backend: 'native' | 'wasm';
  /** What the wasm loader reads when it chooses its module. */
  env: { RNNKIT_WASM_SIMD?: string; RNNKIT_WASM_THREADS?: string };
  /** build/ file it needs (native: see isBuilt). */
  file?: string;
}

export const VARIANTS: readonly Variant[] = [
  { label: 'native', backend: 'native', env: {} },
  { label: 'wasm simd128 threaded', backend: 'wasm', env: { RNNKIT_WASM_THREADS: '2' }, file: 'rnnkit-simd-threads.wasm' },
  { label: 'wasm simd128', backend: 'wasm', env: { RNNKIT_WASM_THREADS: '1' }, file: 'rnnkit-simd.wasm' },
  { label: 'wasm scalar', backend: 'wasm', env: { RNNKIT_WASM_SIMD: '0', RNNKIT_WASM_THREADS: '1' }, file: 'rnnkit.wasm' },
];

/** True when the variant's build file exists; warns (naming `label`) when it does not. */
export function variantBuilt(v: Variant, label: string): boolean {
  const ok = v.file === undefined ? isBuilt('native') : existsSync(new URL(`../../build/${v.file}`, import.meta.url));
  if (!ok) console.warn(`[${label}] SKIPPED ${v.label}: its build file is missing, run \`npm run build:${v.backend}\``);
  return ok;
}

/** A fresh copy of the public API whose current backend is `v` (its isa checked by the caller). */
export async function loadVariant(v: Variant): Promise<Api> {
  const keys = ['RNNKIT_WASM_SIMD', 'RNNKIT_WASM_THREADS', 'RNNKIT_BACKEND'] as const;
  const saved = keys.map((k) => process.env[k]);
  vi.resetModules();
  try {
    for (const k of keys) delete process.env[k];
    Object.assign(process.env, v.env);
    const api = (await import('../../ts/index.js')) as Api;
    await api.setBackend(v.backend);
    return api;
  } finally {
    keys.forEach((k, i) => {
      if (saved[i] === undefined) delete process.env[k];
      else process.env[k] = saved[i];
    });
  }
}
