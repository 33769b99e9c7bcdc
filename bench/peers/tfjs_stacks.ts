/**
 * The layer-stack workloads (bench/stacks.ts: CR1 CRNN, AT1 attention text classifier) as tfjs-layers
 * models, for bench/peers/tfjs.ts. tfjs has no attention pooling layer, so it is written here with tf
 * ops (a custom Layer). tfjs-backend-wasm registers no Conv2DBackpropFilter (conv1d's weight gradient):
 * there the convolution runs as im2col + matMul in tf ops (same FLOPs); where the kernel exists the
 * built-in conv1d is used. The embedding is always a gather whose gradient is a scatterND (which sums
 * repeated ids): tf.layers.embedding's gradient, UnsortedSegmentSum, is missing on wasm and on the cpu
 * backend loops over the 5,000 ids (an AT1 step did not finish in 9 minutes). The Dense head ends in
 * softmax with sparse categorical cross-entropy (the same function as logits + cross-entropy;
 * tfjs-layers' compile has no from-logits option).
 */

import type * as TF from '@tensorflow/tfjs';
import { type StackData, type StackWorkload } from '../stacks.js';

type Tf = typeof TF;

/** The layers written in tf ops. */
export interface StackLayers {
  /** Additive attention pooling with a projection of `size`. */
  AttentionPooling: new (size: number) => TF.layers.Layer;
  /** Conv1D 'same' + relu; weights: kernel [k·C, filters] (row j·C + c = tap j, channel c), bias. */
  Im2colConv1D: new (filters: number, k: number, inputShape: number[]) => TF.layers.Layer;
  /** Embedding with a scatterND gradient; weight: table [vocab, dim]. */
  ScatterEmbedding: new (vocab: number, dim: number, inputShape: number[]) => TF.layers.Layer;
}

/** Custom layers need the tf namespace to subclass; made once per tf module. */
function customLayers(tf: Tf): StackLayers {
  const glorot = () => tf.initializers.glorotUniform({});
  const one = (inputs: TF.Tensor | TF.Tensor[]): TF.Tensor => (Array.isArray(inputs) ? inputs[0] : inputs);

  /** Additive (Bahdanau) attention pooling: [B, T, F] → [B, F], softmax_t(vᵀ tanh(W h_t + b)). */
  class AttentionPooling extends tf.layers.Layer {
    static className = 'BenchAttentionPooling';
    private kernel!: TF.LayerVariable;
    private bias!: TF.LayerVariable;
    private v!: TF.LayerVariable;
    constructor(private readonly size: number) {
      super({});
    }
    build(shape: TF.Shape | TF.Shape[]): void {
      const f = (shape as TF.Shape)[2]!;
      this.kernel = this.addWeight('kernel', [f, this.size], 'float32', glorot());
      this.bias = this.addWeight('bias', [this.size], 'float32', tf.initializers.zeros());
      this.v = this.addWeight('v', [this.size, 1], 'float32', glorot());
      this.built = true;
    }
    computeOutputShape(shape: TF.Shape | TF.Shape[]): TF.Shape {
      const s = shape as TF.Shape;
      return [s[0], s[2]];
    }
    call(inputs: TF.Tensor | TF.Tensor[]): TF.Tensor {
      return tf.tidy(() => {
        const h = one(inputs) as TF.Tensor3D;
        const [b, t, f] = h.shape;
        const e = tf.tanh(tf.add(tf.matMul(h.reshape([b * t, f]), this.kernel.read() as TF.Tensor2D), this.bias.read()));
        const weights = tf.softmax(tf.matMul(e, this.v.read() as TF.Tensor2D).reshape([b, t]));
        return tf.matMul(weights.reshape([b, 1, t]), h).reshape([b, f]);
      });
    }
  }

  /** Conv1D 'same' (odd kernel, stride 1) + relu as im2col (k shifted slices concatenated) + one matMul. */
  class Im2colConv1D extends tf.layers.Layer {
    static className = 'BenchIm2colConv1D';
    private kernel!: TF.LayerVariable;
    private bias!: TF.LayerVariable;
    constructor(
      private readonly filters: number,
      private readonly k: number,
      inputShape: number[],
    ) {
      super({ inputShape });
    }
    build(shape: TF.Shape | TF.Shape[]): void {
      const c = (shape as TF.Shape)[2]!;
      this.kernel = this.addWeight('kernel', [this.k * c, this.filters], 'float32', glorot());
      this.bias = this.addWeight('bias', [this.filters], 'float32', tf.initializers.zeros());
      this.built = true;
    }
    computeOutputShape(shape: TF.Shape | TF.Shape[]): TF.Shape {
      const s = shape as TF.Shape;
      return [s[0], s[1], this.filters];
    }
    call(inputs: TF.Tensor | TF.Tensor[]): TF.Tensor {
      return tf.tidy(() => {
        const x = one(inputs) as TF.Tensor3D;
        const [b, t, c] = x.shape;
        const half = (this.k - 1) / 2;
        const padded = tf.pad(x, [
          [0, 0],
          [half, half],
          [0, 0],
        ]);
        const cols = tf.concat(Array.from({ length: this.k }, (_, j) => padded.slice([0, j, 0], [b, t, c])), 2);
        const y = tf.add(tf.matMul(cols.reshape([b * t, this.k * c]), this.kernel.read() as TF.Tensor2D), this.bias.read());
        return tf.relu(y).reshape([b, t, this.filters]);
      });
    }
  }

  /** Embedding whose gradient is a scatterND of the output gradient rows (repeated ids add up). */
  class ScatterEmbedding extends tf.layers.Layer {
    static className = 'BenchScatterEmbedding';
    private table!: TF.LayerVariable;
    constructor(
      private readonly vocab: number,
      private readonly dim: number,
      inputShape: number[],
    ) {
      super({ inputShape, dtype: 'int32' });
    }
    build(): void {
      this.table = this.addWeight('table', [this.vocab, this.dim], 'float32', tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05 }));
      this.built = true;
    }
    computeOutputShape(shape: TF.Shape | TF.Shape[]): TF.Shape {
      const s = shape as TF.Shape;
      return [s[0], s[1], this.dim];
    }
    call(inputs: TF.Tensor | TF.Tensor[]): TF.Tensor {
      return tf.tidy(() => {
        const ids = one(inputs);
        const [b, t] = ids.shape;
        const flat = ids.reshape([b * t]).toInt();
        const gather = tf.customGrad(((table: TF.Tensor2D, idx: TF.Tensor1D, save: TF.GradSaveFunc) => {
          save([idx]);
          return {
            value: tf.gather(table, idx),
            gradFunc: (dy: TF.Tensor, saved: TF.Tensor[]) => [tf.scatterND(saved[0].reshape([-1, 1]), dy, table.shape), tf.zerosLike(saved[0])],
          };
        }) as unknown as Parameters<Tf['customGrad']>[0]) as (table: TF.Tensor, idx: TF.Tensor) => TF.Tensor;
        return gather(this.table.read(), flat).reshape([b, t, this.dim]);
      });
    }
  }

  for (const c of [AttentionPooling, Im2colConv1D, ScatterEmbedding]) tf.serialization.registerClass(c);
  return { AttentionPooling, Im2colConv1D, ScatterEmbedding };
}

let made: { tf: Tf; layers: StackLayers } | undefined;

/** The custom layers, registered once per tf module (exported for test/bench-stacks.test.ts). */
export function stackLayers(tf: Tf): StackLayers {
  if (made?.tf !== tf) made = { tf, layers: customLayers(tf) };
  return made.layers;
}

/** Whether the current backend registers a kernel (and so its built-in layer can train). */
function hasKernel(tf: Tf, name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** The stack's model (compiled with Adam at `lr`) and its input and label tensors; `tfOps` lists the parts written in tf ops. */
export function buildStack(tf: Tf, data: StackData, lr: number): { model: TF.LayersModel; x: TF.Tensor; y: TF.Tensor; tfOps: string[] } {
  const { AttentionPooling, Im2colConv1D, ScatterEmbedding } = stackLayers(tf);
  const w: StackWorkload = data.workload;
  const tfOps = ['attention pooling'];
  const layers: TF.layers.Layer[] = [];
  if (w.family === 'crnn') {
    const inputShape = [w.seqLen, w.features];
    if (hasKernel(tf, 'Conv2DBackpropFilter')) {
      layers.push(tf.layers.conv1d({ filters: w.convChannels!, kernelSize: w.kernel!, padding: 'same', activation: 'relu', inputShape }));
    } else {
      layers.push(new Im2colConv1D(w.convChannels!, w.kernel!, inputShape));
      tfOps.push('conv1d (im2col + matMul)');
    }
    layers.push(tf.layers.maxPooling1d({ poolSize: w.pool! }));
  } else {
    // Always: tf.layers.embedding's gradient is UnsortedSegmentSum, which tfjs-backend-wasm lacks and the
    // cpu backend computes segment by segment (5,000 masked passes: minutes per step).
    layers.push(new ScatterEmbedding(w.vocab!, w.features, [w.seqLen]));
    tfOps.push('embedding gradient (scatterND)');
  }
  const rnnOptions = { units: w.hiddenSize, returnSequences: true, recurrentActivation: 'sigmoid', recurrentInitializer: 'glorotUniform' } as const;
  const rnn = w.cell === 'gru' ? tf.layers.gru(rnnOptions) : tf.layers.lstm(rnnOptions);
  layers.push(tf.layers.bidirectional({ layer: rnn as TF.RNN, mergeMode: 'concat' }));
  layers.push(new AttentionPooling(2 * w.hiddenSize));
  layers.push(tf.layers.dense({ units: w.classes, activation: 'softmax' }));
  const model = tf.sequential({ layers });
  model.compile({ optimizer: tf.train.adam(lr), loss: 'sparseCategoricalCrossentropy' });
  const x =
    w.family === 'crnn' ? tf.tensor3d(data.x as Float32Array, [w.batch, w.seqLen, w.features]) : tf.tensor2d(data.x as Int32Array, [w.batch, w.seqLen], 'int32');
  const y = tf.tensor2d(Float32Array.from(data.y), [w.batch, 1]);
  return { model, x, y, tfOps };
}
