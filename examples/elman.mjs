// The classic Elman network (Elman, 1990): a 10-unit sigmoid recurrent layer with a sigmoid output layer,
//   h_t = σ(W_hh h_{t-1} + W_xh x_t + b),   y_t = σ(W_hy h_t + b_y),
// trained with plain SGD and mean squared error to predict the next value of a sequence.
// Run: node examples/elman.mjs   (after `npm run build`)
import { RNN, Dense, Sequential, tensor, ready, backendInfo } from 'rnnkit';

await ready();
const seqLen = 16;
const samples = 128;
// A periodic signal in (0, 1), where a sigmoid output can reach it; each window starts at a random phase.
const signal = (t) => 0.5 + 0.35 * Math.sin(0.6 * t) + 0.1 * Math.sin(1.7 * t);
const x = new Float32Array(samples * seqLen);
const y = new Float32Array(samples * seqLen);
for (let n = 0; n < samples; n++) {
  const start = (n * 7.3) % 50;
  for (let t = 0; t < seqLen; t++) {
    x[n * seqLen + t] = signal(start + t);
    y[n * seqLen + t] = signal(start + t + 1);
  }
}
const xs = tensor(x, [samples, seqLen, 1]);
const ys = tensor(y, [samples, seqLen, 1]);

const model = new Sequential(
  [new RNN({ inputSize: 1, hiddenSize: 10, nonlinearity: 'sigmoid' }), new Dense({ units: 1, activation: 'sigmoid' })],
  { seed: 1 },
);
model.compile({ loss: 'mse', optimizer: { type: 'sgd', lr: 0.5, momentum: 0.9 } });

// Baseline: predicting that the next value equals the current one.
let naive = 0;
for (let i = 0; i < x.length; i++) naive += (x[i] - y[i]) ** 2;
naive /= x.length;

const { loss } = await model.fit(xs, ys, { epochs: 150, batchSize: 16, seed: 1 });
const mse = model.evaluate(xs, ys);
console.log(`Elman network on ${backendInfo().name} (${backendInfo().isa})`);
console.log(`loss: epoch 1 ${loss[0].toFixed(5)} -> epoch ${loss.length} ${loss.at(-1).toFixed(5)}`);
console.log(`next-value MSE ${mse.toFixed(5)} vs ${naive.toFixed(5)} for "same as now"`);
model.dispose();
if (!(mse < naive / 2)) {
  console.error('the Elman network did not beat the naive forecast');
  process.exit(1);
}
