/**
 * A model spec as the native core builds it: its layer types and the parameter counts of the layers
 * that have parameters (the bench tests compare these with the PyTorch modules of the same workloads).
 */

import { loadNativeBackend } from '../../ts/backend/native.js';

export function specLayerCounts(spec: Record<string, unknown>): { types: string[]; params: number[] } {
  const model = loadNativeBackend().createModel(JSON.stringify(spec));
  try {
    const layers = model.layers();
    return { types: layers.map((l) => l.type), params: layers.map((l) => l.params).filter((p) => p > 0) };
  } finally {
    model.dispose();
  }
}
