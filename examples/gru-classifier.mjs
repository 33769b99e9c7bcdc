// GRU sequence classifier: decides which of three shapes a noisy sequence follows (rising, falling,
// or a bump), from variable-length sequences, with softmax cross-entropy on the last valid step.
// Run: node examples/gru-classifier.mjs   (after `npm run build`)
import { GRU, Dense, Sequential, tensor, ready, backendInfo } from 'rnnkit';

await ready();
let seed = 3;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const maxLen = 20;
function dataset(n) {
  const x = new Float32Array(n * maxLen);
  const y = new Int32Array(n);
  const lengths = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const cls = i % 3;
    const len = 8 + Math.floor(rand() * (maxLen - 8 + 1));
    y[i] = cls;
    lengths[i] = len;
    for (let t = 0; t < len; t++) {
      const u = t / (len - 1);
      const clean = cls === 0 ? u : cls === 1 ? 1 - u : Math.sin(Math.PI * u);
      x[i * maxLen + t] = clean + (rand() - 0.5) * 0.4;
    }
  }
  return { x: tensor(x, [n, maxLen, 1]), y: tensor(y, [n]), lengths };
}
const train = dataset(600);
const test = dataset(300);

const model = new Sequential([new GRU({ inputSize: 1, hiddenSize: 16 }), new Dense({ units: 3, activation: 'softmax', returnSequences: false })], { seed: 5 });
model.compile({ loss: 'cross_entropy', optimizer: { type: 'adam', lr: 0.02 } });
const { loss } = await model.fit(train.x, train.y, { epochs: 25, batchSize: 32, lengths: train.lengths, seed: 2 });

const probs = model.predict(test.x, { lengths: test.lengths });
let correct = 0;
for (let i = 0; i < test.y.size; i++) {
  const p = probs.data.subarray(i * 3, i * 3 + 3);
  const guess = p.indexOf(Math.max(...p));
  if (guess === test.y.data[i]) correct++;
}
const accuracy = correct / test.y.size;
console.log(`GRU classifier on ${backendInfo().name}: loss ${loss[0].toFixed(3)} -> ${loss.at(-1).toFixed(3)}, test accuracy ${(accuracy * 100).toFixed(1)}%`);
model.dispose();
if (accuracy < 0.9) {
  console.error('accuracy below 90%');
  process.exit(1);
}
