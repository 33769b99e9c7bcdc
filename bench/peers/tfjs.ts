/**
 * TensorFlow.js rows: the pure-JS `cpu` backend and `@tensorflow/tfjs-backend-wasm` (SIMD; its
 * threaded build needs cross-origin isolation, so it is single-threaded under Node). Keras-style
 * layers API, `recurrentActivation: 'sigmoid'` to match PyTorch (tfjs defaults to hardSigmoid), and
 * the workload's weights converted to Keras layout (kernels transposed, biases b_ih + b_hh summed).
 * tfjs's GRU only implements the "reset before" variant, so G1/TG1 compute a slightly different GRU
 * with the same FLOPs; its outputs are not compared.
 */

import type * as TF from '@tensorflow/tfjs';
import { LEARNING_RATE, reorderGates, transpose, type WorkloadData } from '../workloads.js';
import { isLong } from '../long.js';
import { isStack } from '../stacks.js';
import type { Peer, Prepare } from './types.js';
import { buildStack } from './tfjs_stacks.js';

type Tf = typeof TF;

let tfModule: Promise<Tf> | undefined;
async function loadTf(): Promise<Tf> {
  tfModule ??= (async () => {
    const tf = await import('@tensorflow/tfjs');
    await import('@tensorflow/tfjs-backend-wasm');
    return tf as unknown as Tf;
  })();
  return tfModule;
}

function sum(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((v, i) => v + b[i]);
}

/** Keras weights [kernel [I, G·H], recurrentKernel [H, G·H], bias [G·H]] from PyTorch's layout. */
export function kerasWeights(tf: Tf, data: WorkloadData): TF.Tensor[] {
  const w = data.workload;
  const { weightIh, weightHh, biasIh, biasHh } = data.weights;
  // Keras gate orders: LSTM i,f,c,o (= PyTorch i,f,g,o); GRU z,r,h (PyTorch r,z,n → [1, 0, 2]).
  const order = w.cell === 'gru' ? [1, 0, 2] : w.cell === 'lstm' ? [0, 1, 2, 3] : [0];
  const gh = order.length * w.hiddenSize;
  const ih = reorderGates(weightIh, w.hiddenSize, w.inputSize, order);
  const hh = reorderGates(weightHh, w.hiddenSize, w.hiddenSize, order);
  const bias = reorderGates(sum(biasIh, biasHh), w.hiddenSize, 1, order);
  return [
    tf.tensor2d(transpose(ih, gh, w.inputSize), [w.inputSize, gh]),
    tf.tensor2d(transpose(hh, gh, w.hiddenSize), [w.hiddenSize, gh]),
    tf.tensor1d(bias),
  ];
}

function tfPeer(backend: 'cpu' | 'wasm'): Peer {
  return {
    name: backend === 'cpu' ? 'tfjs (cpu)' : 'tfjs-wasm (SIMD)',
    threads: 1,
    async prepare(data): Promise<Prepare> {
      if (isLong(data)) return { skip: 'no minGRU/minLSTM in tfjs; the long-sequence rows compare rnnkit with PyTorch' };
      const tf = await loadTf();
      if (!(await tf.setBackend(backend))) return { skip: `tfjs backend "${backend}" did not initialise` };
      await tf.ready();
      if (backend === 'wasm' && !(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))) {
        return { skip: 'tfjs-backend-wasm reports no SIMD support in this engine' };
      }
      const activate = async () => {
        if (tf.getBackend() !== backend) await tf.setBackend(backend);
      };
      if (isStack(data)) {
        const { model, x, y, tfOps } = buildStack(tf, data, LEARNING_RATE);
        return {
          call: () => model.trainOnBatch(x, y),
          activate,
          note: `written in tf ops: ${tfOps.join(', ')}`,
          dispose: () => {
            tf.dispose([x, y]);
            model.dispose();
          },
        };
      }
      const w = data.workload;
      // Initialisers are overwritten by setWeights; 'zeros' skips tfjs's slow orthogonal default.
      const common = {
        units: w.hiddenSize,
        returnSequences: true,
        inputShape: [w.seqLen, w.inputSize],
        kernelInitializer: 'zeros' as const,
        recurrentInitializer: 'zeros' as const,
      };
      const rnn =
        w.cell === 'lstm'
          ? tf.layers.lstm({ ...common, recurrentActivation: 'sigmoid' })
          : w.cell === 'gru'
            ? tf.layers.gru({ ...common, recurrentActivation: 'sigmoid' })
            : tf.layers.simpleRNN({ ...common, activation: 'tanh' });
      const layers: TF.layers.Layer[] = [rnn];
      if (w.kind === 'train') layers.push(tf.layers.dense({ units: w.units! }));
      const model = tf.sequential({ layers });
      const weights = kerasWeights(tf, data);
      rnn.setWeights(weights);
      weights.forEach((t) => t.dispose());
      const x = tf.tensor3d(data.x, [w.batch, w.seqLen, w.inputSize]);
      if (w.kind === 'train') {
        const head = layers[1];
        const hw = tf.tensor2d(transpose(data.weights.headWeight!, w.units!, w.hiddenSize), [w.hiddenSize, w.units!]);
        const hb = tf.tensor1d(data.weights.headBias!);
        head.setWeights([hw, hb]);
        hw.dispose();
        hb.dispose();
        model.compile({ optimizer: tf.train.adam(LEARNING_RATE), loss: 'meanSquaredError' });
        const y = tf.tensor3d(data.y!, [w.batch, w.seqLen, w.units!]);
        return {
          call: () => model.trainOnBatch(x, y),
          activate,
          dispose: () => {
            tf.dispose([x, y]);
            model.dispose();
          },
        };
      }
      const run = (): Float32Array => {
        const out = model.predict(x) as TF.Tensor;
        const values = out.dataSync() as Float32Array; // forces the computation and the read-back
        out.dispose();
        return values;
      };
      return {
        call: run,
        activate,
        output: w.cell === 'gru' ? undefined : run,
        dispose: () => {
          x.dispose();
          model.dispose();
        },
      };
    },
  };
}

export const tfjsCpuPeer = (): Peer => tfPeer('cpu');
export const tfjsWasmPeer = (): Peer => tfPeer('wasm');
