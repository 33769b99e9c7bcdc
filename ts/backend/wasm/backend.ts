/**
 * The wasm `Backend`: owns the current instance (replaced after a trap), creates models and
 * datasets on it and frees them on dispose() or by the GC.
 */

import { describe, isRnnkitError, rnnkitError, typeError } from '../../errors.js';
import { string } from '../../validate.js';
import type { Backend, BatchData, DatasetHandle, ModelHandle } from '../types.js';
import { ThreadTeam, type ThreadExports } from '../wasm-threads.js';
import { CallScope, compileError, importsFor, ISA_NAMES, Runtime, type Instantiated } from './runtime.js';
import { batchPtr, checkBatch } from './batch.js';
import { WasmDataset } from './dataset.js';
import { WasmModel } from './model.js';

export interface Held {
  runtimeId: number;
  handle: number;
}

export class WasmBackend implements Backend {
  readonly name = 'wasm' as const;
  readonly isa: string;
  private rt: Runtime | undefined;
  private instances = 0;
  /** Frees models that were garbage-collected without dispose(), if their instance still lives. */
  private readonly registry = new FinalizationRegistry<Held>((held) => this.release(held));
  private readonly datasetRegistry = new FinalizationRegistry<Held>((held) => this.releaseDataset(held));

  /** `teamSize` > 1: the threaded module, whose instances each get that many threads in all. */
  constructor(
    private readonly module: WebAssembly.Module,
    first: Instantiated,
    readonly source: string,
    private readonly teamSize: number,
  ) {
    this.rt = this.runtimeOf(first);
    const isaIndex = this.rt.ex.rnnkit_isa();
    this.isa = ISA_NAMES[isaIndex] ?? `unknown(${isaIndex})`;
  }

  private runtimeOf(inst: Instantiated): Runtime {
    const { instance, memory } = inst;
    const team = memory && new ThreadTeam(this.module, memory, instance.exports as unknown as ThreadExports, this.teamSize - 1);
    return new Runtime(inst, ++this.instances, this.source, team);
  }

  /** The live instance, instantiating a fresh one after a trap (same compiled module). */
  runtime(): Runtime {
    if (!this.rt) {
      let fresh: Instantiated;
      try {
        const { imports, memory } = importsFor(this.teamSize);
        fresh = { instance: new WebAssembly.Instance(this.module, imports), memory };
      } catch (e) {
        throw compileError(this.source, e, true);
      }
      this.rt = this.runtimeOf(fresh);
    }
    return this.rt;
  }

  /** Forgets a trapped instance and stops its worker threads. */
  private drop(rt: Runtime): void {
    if (this.rt === rt) this.rt = undefined;
    rt.team?.terminate();
  }

  /** Resolves once the live instance's worker threads have joined its pool. */
  async threadsReady(): Promise<void> {
    await this.rt?.team?.ready();
  }

  /** 1 + the workers that have joined the live instance's pool. */
  threads(): number {
    return this.runtime().ex.rnnkit_threads() >>> 0;
  }

  /** The instance `id` if it is still the live one. */
  runtimeIfAlive(id: number): Runtime | undefined {
    return this.rt?.id === id ? this.rt : undefined;
  }

  liveHandles(): number {
    return this.rt ? this.rt.ex.rnnkit_live_handles() >>> 0 : 0;
  }

  /**
   * Runs `body` against `rt`. RnnkitErrors pass through. Anything else thrown from inside the module
   * (a trap: RuntimeError, or a RangeError for stack exhaustion) means its Rust state can no longer
   * be trusted: the instance is dropped and the error becomes ERR_RNNKIT_INTERNAL with the panic
   * message the hook recorded. Allocations are freed afterwards, on a healthy instance only.
   */
  call<T>(rt: Runtime, op: string, body: (scope: CallScope) => T, handle?: number): T {
    const scope = new CallScope(rt);
    let healthy = true;
    try {
      return body(scope);
    } catch (e) {
      if (isRnnkitError(e)) throw e;
      healthy = false;
      this.drop(rt);
      let recorded = '';
      try {
        recorded = rt.lastError().message;
      } catch {
        // The memory is unreadable: report the trap alone.
      }
      const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      const detail = recorded === '' ? what : `${recorded} (${what})`;
      throw rnnkitError(
        'ERR_RNNKIT_INTERNAL',
        `${op}: the wasm module trapped, a bug in rnnkit: ${detail}; models of that instance are lost, new ones work`,
        undefined,
        e,
      );
    } finally {
      if (healthy) {
        if (handle !== undefined) rt.ex.rnnkit_result_clear(handle);
        for (const ptr of scope.blocks) rt.ex.rnnkit_free(ptr);
      }
    }
  }

  createModel(specJson: string): ModelHandle {
    const spec = string('spec', specJson);
    const rt = this.runtime();
    const handle = this.call(rt, 'createModel', (s) => {
      const [ptr, len] = s.text('spec', spec);
      const out = s.alloc(4, 4, 'spec');
      rt.check(rt.ex.rnnkit_model_create(ptr, len, out));
      return new Uint32Array(rt.ex.memory.buffer, out, 1)[0];
    });
    const model = new WasmModel(this, rt.id, handle);
    this.registry.register(model, { runtimeId: rt.id, handle }, model);
    return model;
  }

  createDataset(data: BatchData): DatasetHandle {
    const b = checkBatch('data', data);
    const rt = this.runtime();
    const handle = this.call(rt, 'createDataset', (s) => {
      const out = s.alloc(4, 4, 'data');
      const first = s.blocks.length;
      const descriptor = batchPtr(s, b);
      // The module takes over the data blocks whatever the outcome (one copy of the set in memory).
      const status = rt.ex.rnnkit_dataset_create(descriptor, out);
      s.forget(s.blocks.slice(first).filter((p) => p !== descriptor));
      rt.check(status);
      return new Uint32Array(rt.ex.memory.buffer, out, 1)[0];
    });
    const bytes = b.x.byteLength + b.y.byteLength + (b.mask?.byteLength ?? 0) + (b.lengths?.byteLength ?? 0);
    const dataset = new WasmDataset(this, rt.id, handle, bytes);
    this.datasetRegistry.register(dataset, { runtimeId: rt.id, handle }, dataset);
    return dataset;
  }

  /** A dataset's handle, checked to live in instance `runtimeId` (the model's). */
  datasetHandle(data: DatasetHandle, runtimeId: number): number {
    if (!(data instanceof WasmDataset) || data.backend !== this) {
      throw typeError('dataset', 'a dataset made by this wasm backend (dataset())', describe(data));
    }
    if (data.disposed || data.runtimeId !== runtimeId) {
      throw rnnkitError('ERR_RNNKIT_DISPOSED', 'dataset has been disposed (or its wasm instance trapped and was replaced)');
    }
    return data.handle;
  }

  disposeDataset(dataset: WasmDataset): void {
    this.datasetRegistry.unregister(dataset);
    const rt = this.runtimeIfAlive(dataset.runtimeId);
    if (rt) this.call(rt, 'dispose', () => rt.check(rt.ex.rnnkit_dataset_free(dataset.handle)));
  }

  private releaseDataset({ runtimeId, handle }: Held): void {
    const rt = this.runtimeIfAlive(runtimeId);
    if (!rt) return;
    try {
      rt.ex.rnnkit_dataset_free(handle);
    } catch {
      this.drop(rt);
    }
  }

  /** dispose(): frees now and forgets the finalizer. */
  dispose(model: WasmModel, runtimeId: number, handle: number): void {
    this.registry.unregister(model);
    const rt = this.runtimeIfAlive(runtimeId);
    if (rt) this.call(rt, 'dispose', () => rt.check(rt.ex.rnnkit_model_free(handle)));
  }

  private release({ runtimeId, handle }: Held): void {
    const rt = this.runtimeIfAlive(runtimeId);
    if (!rt) return; // its instance trapped and was dropped, and the model with it
    try {
      rt.ex.rnnkit_model_free(handle);
    } catch {
      this.drop(rt); // a trap in a finalizer: drop the instance quietly
    }
  }
}
