/**
 * rnnkit's own rows: the native addon (1 thread and every core) and the WebAssembly SIMD module,
 * driven through the same `Backend` interface the facade uses (model handle + flat typed arrays),
 * with the workload's PyTorch-layout weights loaded by parameter name.
 */

import { availableParallelism } from 'node:os';
import { loadNativeBackend } from '../../ts/backend/native.js';
import { loadWasmBackend } from '../../ts/backend/wasm.js';
import type { Backend, ModelHandle } from '../../ts/backend/types.js';
import { isLong, longSpec, type LongData } from '../long.js';
import { isStack, stackSpec, type StackData } from '../stacks.js';
import { LEARNING_RATE, type Workload, type WorkloadData } from '../workloads.js';
import type { BenchData, Peer, Prepare } from './types.js';

const CELL_NAME = { lstm: 'lstm', gru: 'gru', rnn: 'rnn_tanh' } as const;

function specOf(w: Workload, threads: number | undefined): Record<string, unknown> {
  const spec: Record<string, unknown> = {
    batch_first: true,
    seed: 1,
    blocks: [{ cell: CELL_NAME[w.cell], input_size: w.inputSize, hidden_size: w.hiddenSize }],
  };
  if (w.kind === 'train') spec.head = { units: w.units, return_sequences: true };
  if (threads !== undefined) spec.threads = threads;
  return spec;
}

/**
 * Whether this build's spec accepts `threads` (issue 3's option). Until it does, native rows run at
 * the core's default and the report says so.
 */
let threadsSupport: boolean | undefined;
function supportsThreads(backend: Backend): boolean {
  if (threadsSupport === undefined) {
    try {
      const w = { cell: 'rnn', inputSize: 1, hiddenSize: 1, kind: 'inference' } as Workload;
      backend.createModel(JSON.stringify(specOf(w, 1))).dispose();
      threadsSupport = true;
    } catch {
      threadsSupport = false;
    }
  }
  return threadsSupport;
}

function loadWeights(model: ModelHandle, data: WorkloadData): void {
  const w = data.weights;
  const byName: Record<string, Float32Array | undefined> = {
    weight_ih_l0: w.weightIh,
    weight_hh_l0: w.weightHh,
    bias_ih_l0: w.biasIh,
    bias_hh_l0: w.biasHh,
  };
  const flat = model.getParams();
  for (const p of model.paramInfo()) {
    // Names may carry a Sequential block prefix ("0.weight_ih_l0", "1.weight"); the head's are
    // plain "weight"/"bias".
    const bare = p.name.replace(/^\d+\./, '');
    const src = byName[bare] ?? (bare === 'weight' ? w.headWeight : bare === 'bias' ? w.headBias : undefined);
    const size = p.shape.reduce((a, b) => a * b, 1);
    if (!src || src.length !== size) throw new Error(`rnnkit parameter ${p.name} [${p.shape}] has no matching bench weight`);
    flat.set(src, p.offset);
  }
  model.setParams(flat);
}

/** A layer stack (CR1, AT1): the `{type, config}` spec with the core's own seeded init, one cross-entropy training step per call. */
function prepareStack(backend: Backend, data: StackData, threads: number | undefined): Prepare {
  const w = data.workload;
  const model = backend.createModel(JSON.stringify(stackSpec(w, threads)));
  model.compile(JSON.stringify({ loss: 'cross_entropy', optimizer: { type: 'adam', lr: LEARNING_RATE } }));
  const batch = { x: data.x, xDims: [w.batch, w.seqLen, w.family === 'crnn' ? w.features : 1] as [number, number, number], y: data.y };
  return { call: () => model.trainStep(batch), dispose: () => model.dispose() };
}

/** A long-sequence workload (bench/long.ts): the layer (+ Dense head for training) with the core's own seeded init. */
function prepareLong(backend: Backend, data: LongData, threads: number | undefined): Prepare {
  const w = data.workload;
  const model = backend.createModel(JSON.stringify(longSpec(w, threads)));
  const xDims: [number, number, number] = [w.batch, w.seqLen, w.inputSize];
  if (w.kind === 'train') {
    model.compile(JSON.stringify({ loss: 'mse', optimizer: { type: 'adam', lr: LEARNING_RATE } }));
    const batch = { x: data.x, xDims, y: data.y! };
    return { call: () => model.trainStep(batch), dispose: () => model.dispose() };
  }
  return { call: () => model.forward(data.x, xDims), dispose: () => model.dispose() };
}

function prepareOn(backend: Backend, data: BenchData, threads: number | undefined): Prepare {
  if (isStack(data)) return prepareStack(backend, data, threads);
  if (isLong(data)) return prepareLong(backend, data, threads);
  const w = data.workload;
  const model = backend.createModel(JSON.stringify(specOf(w, threads)));
  loadWeights(model, data);
  const xDims: [number, number, number] = [w.batch, w.seqLen, w.inputSize];
  if (w.kind === 'train') {
    model.compile(JSON.stringify({ loss: 'mse', optimizer: { type: 'adam', lr: LEARNING_RATE } }));
    const batch = { x: data.x, xDims, y: data.y! };
    return { call: () => model.trainStep(batch), dispose: () => model.dispose() };
  }
  return {
    call: () => model.forward(data.x, xDims),
    output: () => model.forward(data.x, xDims).output,
    dispose: () => model.dispose(),
  };
}

/** rnnkit-native with `threads` threads (0 = every core). */
export function nativePeer(threads: number): Peer {
  const all = availableParallelism();
  const n = threads === 0 ? all : threads;
  let backend: Backend | undefined;
  let unavailable: string | undefined;
  try {
    backend = loadNativeBackend();
  } catch (e) {
    unavailable = `native addon did not load: ${(e as Error).message}`;
  }
  const threadsOk = backend ? supportsThreads(backend) : false;
  return {
    name: `rnnkit-native ×${threads === 0 ? `${n} (all)` : n}`,
    threads: n,
    unavailable,
    note: threadsOk ? undefined : 'this build has no `threads` option yet: runs at the core\'s default thread count',
    async prepare(data) {
      return prepareOn(backend!, data, threadsOk ? n : undefined);
    },
  };
}

/**
 * rnnkit-wasm's SIMD module with `threads` threads in all: 1 is the single-threaded module, more
 * the threaded one (`rnnkit-simd-threads.wasm`, worker_threads on a shared memory), 0 every core.
 */
export async function wasmPeer(threads: number): Promise<Peer> {
  const n = threads === 0 ? availableParallelism() : threads;
  let backend: Backend | undefined;
  let unavailable: string | undefined;
  try {
    backend = await loadWasmBackend({ simd: true, threads: n });
  } catch (e) {
    unavailable = `wasm SIMD module (${n} thread${n === 1 ? '' : 's'}) did not load: ${(e as Error).message}`;
  }
  return {
    name: `rnnkit-wasm ×${threads === 0 ? `${n} (all)` : n} (SIMD)`,
    threads: n,
    unavailable,
    async prepare(data) {
      // Native runs the same core code; at T = 4096 a wasm GRU step takes seconds.
      if (isLong(data)) return { skip: 'the long-sequence rows compare rnnkit-native with PyTorch' };
      return prepareOn(backend!, data, n);
    },
  };
}
