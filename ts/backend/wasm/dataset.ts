/**
 * A wasm training set: copied into the module's memory once, freed by dispose() or the GC.
 */

import type { DatasetHandle } from '../types.js';
import type { WasmBackend } from './backend.js';

/** A training set in the module's memory (copied in once), freed by dispose() or the GC. */
export class WasmDataset implements DatasetHandle {
  #disposed = false;

  constructor(
    readonly backend: WasmBackend,
    readonly runtimeId: number,
    readonly handle: number,
    readonly byteLength: number,
  ) {}

  get disposed(): boolean {
    return this.#disposed || this.backend.runtimeIfAlive(this.runtimeId) === undefined;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.backend.disposeDataset(this);
  }
}
