// LSTM forecaster: learns next-step prediction of a noisy two-season series, then forecasts ahead by
// feeding its own predictions back one step at a time (streaming `step()`).
// Run: node examples/lstm-forecaster.mjs   (this is `npm run demo`)
import { LSTM, Dense, Sequential, tensor, ready, backendInfo } from 'rnnkit';

await ready();
const { name, isa } = backendInfo();
console.log(`rnnkit demo: LSTM forecaster on the ${name} backend (${isa})`);

// Built-in data: two seasonalities plus seeded noise, 1200 points.
let seed = 42;
const noise = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 0.1;
const series = Array.from({ length: 1200 }, (_, t) => Math.sin((2 * Math.PI * t) / 24) + 0.5 * Math.sin((2 * Math.PI * t) / 168) + noise());

const window = 48;
const split = 1000;
function windows(from, to) {
  const starts = [];
  for (let s = from; s + window + 1 <= to; s += 4) starts.push(s);
  const x = new Float32Array(starts.length * window);
  const y = new Float32Array(starts.length * window);
  starts.forEach((s, n) => {
    for (let t = 0; t < window; t++) {
      x[n * window + t] = series[s + t];
      y[n * window + t] = series[s + t + 1];
    }
  });
  return [tensor(x, [starts.length, window, 1]), tensor(y, [starts.length, window, 1])];
}
const [xTrain, yTrain] = windows(0, split);
const [xVal, yVal] = windows(split - window, series.length);

const model = new Sequential([new LSTM({ inputSize: 1, hiddenSize: 32 }), new Dense({ units: 1 })], { seed: 7 });
model.compile({ loss: 'mse', optimizer: { type: 'adam', lr: 0.01 }, clipNorm: 1 });
console.log(model.summary());

const epochs = 30;
const started = performance.now();
const history = await model.fit(xTrain, yTrain, {
  epochs,
  batchSize: 32,
  seed: 1,
  validationData: [xVal, yVal],
  callbacks: {
    onEpochEnd(epoch, logs) {
      if (epoch % 5 === 4 || epoch === 0) {
        console.log(`epoch ${String(epoch + 1).padStart(2)}/${epochs}  loss ${logs.loss.toFixed(5)}  val_loss ${logs.valLoss.toFixed(5)}`);
      }
    },
  },
});
const seconds = (performance.now() - started) / 1000;
console.log(`trained ${epochs} epochs in ${seconds.toFixed(1)} s`);

// Forecast 24 steps past the training data: warm the state up on the last window, then feed back.
model.resetState();
let last;
for (let t = split - window; t < split; t++) last = model.step(tensor(new Float32Array([series[t]]), [1, 1]));
const forecast = [];
for (let k = 0; k < 24; k++) {
  const value = last.data[0];
  forecast.push(value);
  last = model.step(tensor(new Float32Array([value]), [1, 1]));
}
const truth = series.slice(split, split + 24);
const rmse = Math.sqrt(forecast.reduce((s, v, k) => s + (v - truth[k]) ** 2, 0) / forecast.length);
console.log('forecast vs truth (first 8 steps):');
for (let k = 0; k < 8; k++) console.log(`  t+${k + 1}: ${forecast[k].toFixed(3)}  (truth ${truth[k].toFixed(3)})`);
console.log(`24-step forecast RMSE ${rmse.toFixed(4)}; final validation MSE ${history.valLoss.at(-1).toFixed(5)}`);
model.dispose();
