/**
 * The in-browser trainer: builds a recurrent forecaster in a Web Worker (rnnkit's WorkerModel over the
 * WebAssembly backend), trains it on a generated seasonal series while the loss curve updates live,
 * then draws the forecast against the truth and lets the user save the model file or load one back.
 * The main thread only draws; every heavy call is a message to the worker, so the page stays
 * responsive (the heartbeat counts animation frames, and `window.rnnkitDemo` exposes what happened for
 * the Chromium test in test/browser-app.test.ts).
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { tensor, type EpochLogs, type Tensor3D } from 'rnnkit';
import { WorkerModel, type WorkerLayerSpec } from 'rnnkit/worker-client';
import { normalise, persistenceMse, seasonalSeries, SERIES, windows } from './data';
import './style.css';

/** Everything the page did, for people poking in devtools and for the browser test. */
interface DemoState {
  phase: 'starting' | 'ready' | 'training' | 'done' | 'error';
  backend?: { name: string; isa: string; threads: number };
  losses: number[];
  valLosses: number[];
  /** Persistence-forecast MSE on the validation windows: the bar any forecaster must beat. */
  baselineMse: number;
  /** evaluate() on the validation windows after training, and after loading a model file. */
  finalValLoss?: number;
  loadedValLoss?: number;
  loadedFile?: string;
  loadError?: string;
  oneStepRmse?: number;
  freeRunRmse?: number;
  trainMs?: number;
  /** Animation frames drawn while the worker trained, and the longest gap between two of them. */
  framesDuringTraining: number;
  maxFrameGapMs: number;
  error?: string;
}

declare global {
  interface Window {
    rnnkitDemo: DemoState;
  }
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html lacks #${id}`);
  return el as T;
};

const ui = {
  cell: $<HTMLSelectElement>('cell'),
  hidden: $<HTMLSelectElement>('hidden'),
  epochs: $<HTMLInputElement>('epochs'),
  lr: $<HTMLInputElement>('lr'),
  train: $<HTMLButtonElement>('train'),
  stop: $<HTMLButtonElement>('stop'),
  save: $<HTMLButtonElement>('save'),
  load: $<HTMLInputElement>('load'),
  backend: $('backend'),
  epoch: $('epoch'),
  loss: $('loss'),
  baseline: $('baseline'),
  time: $('time'),
  frames: $('frames'),
  spinner: $('spinner'),
  status: $('status'),
  summary: $('summary'),
  note: $('forecast-note'),
};

const state: DemoState = { phase: 'starting', losses: [], valLosses: [], baselineMse: NaN, framesDuringTraining: 0, maxFrameGapMs: 0 };
window.rnnkitDemo = state;

// ---- data -------------------------------------------------------------------------------------
const raw = seasonalSeries();
const { z, mean, std } = normalise(raw, SERIES.trainEnd);
const trainSet = windows(z, 0, SERIES.trainEnd, SERIES.window, SERIES.stride);
// Validation windows tile the held-out part (half-overlapping), never touching training values.
const val = windows(z, SERIES.trainEnd, SERIES.length, SERIES.valWindow, SERIES.valWindow / 2);
const shape3 = (n: number, t: number) => [n, t, 1] as const;
const xTrain: Tensor3D = tensor(trainSet.x, shape3(trainSet.count, trainSet.window));
const yTrain = tensor(trainSet.y, shape3(trainSet.count, trainSet.window));
const xVal: Tensor3D = tensor(val.x, shape3(val.count, val.window));
const yVal = tensor(val.y, shape3(val.count, val.window));
state.baselineMse = persistenceMse(val);
ui.baseline.textContent = `${state.baselineMse.toFixed(4)} MSE`;

/** The forecast starts from a warm state: the network first reads this many values before trainEnd. */
const CONTEXT = 96;

// ---- charts -----------------------------------------------------------------------------------
const chartWidth = (el: HTMLElement) => Math.max(320, el.clientWidth);
const lossEl = $('loss-chart');
const forecastEl = $('forecast-chart');
const lossChart = new uPlot(
  {
    width: chartWidth(lossEl),
    height: 240,
    scales: { x: { time: false }, y: { distr: 3 } },
    legend: { live: false },
    axes: [{ label: 'epoch' }, { label: 'MSE', size: 60 }],
    series: [
      { label: 'epoch' },
      { label: 'train loss', stroke: '#2463eb', width: 2, points: { show: false } },
      { label: 'validation loss', stroke: '#e8590c', width: 2, points: { show: false } },
      { label: 'persistence baseline', stroke: '#8a94a6', width: 1, dash: [6, 4], points: { show: false } },
    ],
  },
  [[], [], [], []],
  lossEl,
);
const forecastChart = new uPlot(
  {
    width: chartWidth(forecastEl),
    height: 280,
    scales: { x: { time: false } },
    legend: { live: false },
    axes: [{ label: 't' }, { label: 'value', size: 50 }],
    series: [
      { label: 't' },
      { label: 'truth', stroke: '#8a94a6', width: 1 },
      { label: 'one-step forecast', stroke: '#2463eb', width: 2 },
      { label: 'free-running forecast', stroke: '#e8590c', width: 2, dash: [5, 3] },
    ],
  },
  [[], [], [], []],
  forecastEl,
);
window.addEventListener('resize', () => {
  lossChart.setSize({ width: chartWidth(lossEl), height: 240 });
  forecastChart.setSize({ width: chartWidth(forecastEl), height: 280 });
});

function drawLoss(): void {
  const epochs = state.losses.map((_, i) => i + 1);
  lossChart.setData([epochs, state.losses, state.valLosses, epochs.map(() => state.baselineMse)]);
}

// ---- heartbeat: proves the main thread keeps drawing while the worker trains --------------------
let frames = 0;
let lastFrame = performance.now();
const tick = (now: number) => {
  frames++;
  if (state.phase === 'training') {
    state.framesDuringTraining++;
    state.maxFrameGapMs = Math.max(state.maxFrameGapMs, now - lastFrame);
  }
  lastFrame = now;
  ui.frames.textContent = String(frames);
  ui.spinner.style.transform = `scale(${0.6 + 0.4 * Math.abs(Math.sin(now / 300))})`;
  requestAnimationFrame(tick);
};
requestAnimationFrame(tick);

// ---- status -----------------------------------------------------------------------------------
function say(text: string, isError = false): void {
  ui.status.textContent = text;
  ui.status.classList.toggle('error', isError);
}

/** An unexpected failure: shown on the page and in the console (the test fails on console errors). */
function fail(e: unknown): void {
  state.phase = 'error';
  state.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  say(state.error, true);
  console.error(e);
  setBusy(false);
}

function setBusy(busy: boolean): void {
  ui.train.disabled = busy;
  ui.stop.disabled = !busy;
  ui.save.disabled = busy || model === undefined;
  ui.load.disabled = busy;
  for (const el of [ui.cell, ui.hidden, ui.epochs, ui.lr]) el.disabled = busy;
}

function showModel(m: WorkerModel): void {
  state.backend = m.backendInfo();
  const { name, isa, threads } = state.backend;
  ui.backend.textContent = `${name} · ${isa} · ${threads} thread${threads === 1 ? '' : 's'}`;
  ui.summary.textContent = m.summary();
}

// ---- the model --------------------------------------------------------------------------------
let model: WorkerModel | undefined;
let abort: AbortController | undefined;
const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
worker.addEventListener('error', (e) => fail(new Error(`the worker failed: ${e.message}`)));

function layers(): WorkerLayerSpec[] {
  const hiddenSize = Number(ui.hidden.value);
  const cell = ui.cell.value;
  // The serialised layer format {type, config} (the core's snake_case keys) crosses to the worker.
  const type = cell === 'GRU' || cell === 'RNN' ? cell : 'LSTM';
  return [{ type, config: { input_size: 1, hidden_size: hiddenSize } }, { type: 'Dense', config: { units: 1 } }];
}

function compileOptions() {
  const lr = Number(ui.lr.value);
  return { loss: 'mse', optimizer: { type: 'adam', lr: Number.isFinite(lr) && lr > 0 ? lr : 0.01 }, clipNorm: 1 } as const;
}

async function train(): Promise<void> {
  const epochs = Math.max(1, Math.min(500, Math.round(Number(ui.epochs.value)) || 60));
  setBusy(true);
  // Created first: Stop is clickable from now on, even before fit() starts.
  abort = new AbortController();
  const { signal } = abort;
  state.phase = 'training';
  state.losses = [];
  state.valLosses = [];
  state.framesDuringTraining = 0;
  state.maxFrameGapMs = 0;
  lastFrame = performance.now();
  drawLoss();
  say(`Training ${ui.cell.value} for ${epochs} epochs on ${trainSet.count} windows of ${trainSet.window} steps…`);
  // A fresh model from the controls each run (create replaces the worker's previous model).
  model = await WorkerModel.create(worker, layers(), { seed: 1 });
  showModel(model);
  await model.compile(compileOptions());
  const t0 = performance.now();
  const onEpochEnd = (epoch: number, logs: EpochLogs) => {
    state.losses.push(logs.loss);
    state.valLosses.push(logs.valLoss ?? NaN);
    ui.epoch.textContent = `${epoch + 1} / ${epochs}`;
    ui.loss.textContent = `${logs.loss.toFixed(4)} (${(logs.valLoss ?? NaN).toFixed(4)})`;
    ui.time.textContent = `${((performance.now() - t0) / 1000).toFixed(1)} s`;
    drawLoss();
  };
  let stopped = false;
  try {
    await model.fit(xTrain, yTrain, {
      epochs,
      batchSize: 16,
      shuffle: true,
      seed: 1,
      validationData: [xVal, yVal],
      signal,
      callbacks: { onEpochEnd },
    });
  } catch (e) {
    // Stop keeps the weights trained so far; anything else is a real failure.
    if (!(e instanceof Error && e.name === 'AbortError')) throw e;
    stopped = true;
  } finally {
    abort = undefined;
  }
  state.trainMs = performance.now() - t0;
  state.phase = 'ready';
  state.finalValLoss = await model.evaluate(xVal, yVal);
  await drawForecast(model);
  state.phase = 'done';
  setBusy(false);
  say(
    `${stopped ? 'Stopped' : 'Trained'} after ${state.losses.length} epochs in ${(state.trainMs / 1000).toFixed(1)} s: ` +
      `validation MSE ${state.finalValLoss.toFixed(4)} vs ${state.baselineMse.toFixed(4)} for persistence.`,
  );
}

/** One-step forecasts over the held-out part, then a free-running forecast fed its own outputs. */
async function drawForecast(m: WorkerModel): Promise<void> {
  const from = SERIES.trainEnd - CONTEXT;
  const n = SERIES.length;
  // One-step: a single long sequence from the context start, so the state is warm at trainEnd.
  const seq = z.slice(from, n - 1);
  const oneStep = (await m.predict(tensor(seq, shape3(1, seq.length)))).data;
  // Free-running: read the context with step(), then feed each prediction back as the next input.
  await m.resetState();
  let next = 0;
  for (let t = from; t < SERIES.trainEnd; t++) next = (await m.step(tensor(z.subarray(t, t + 1), [1, 1]))).data[0];
  const free = new Float32Array(n - SERIES.trainEnd);
  for (let k = 0; k < free.length; k++) {
    free[k] = next;
    if (k + 1 < free.length) next = (await m.step(tensor(new Float32Array([next]), [1, 1]))).data[0];
  }
  await m.resetState();

  const xs: number[] = [];
  const truth: number[] = [];
  const one: (number | null)[] = [];
  const freeRun: (number | null)[] = [];
  let se1 = 0;
  let seF = 0;
  for (let t = from; t < n; t++) {
    const held = t >= SERIES.trainEnd;
    xs.push(t);
    truth.push(raw[t]);
    // oneStep[i] predicts z[from + i + 1].
    const p1 = oneStep[t - from - 1] * std + mean;
    const pf = free[t - SERIES.trainEnd] * std + mean;
    one.push(held ? p1 : null);
    freeRun.push(held ? pf : null);
    if (held) {
      se1 += (p1 - raw[t]) ** 2;
      seF += (pf - raw[t]) ** 2;
    }
  }
  const count = n - SERIES.trainEnd;
  state.oneStepRmse = Math.sqrt(se1 / count);
  state.freeRunRmse = Math.sqrt(seF / count);
  forecastChart.setData([xs, truth, one, freeRun]);
  ui.note.textContent =
    `Held-out t ≥ ${SERIES.trainEnd} (after ${CONTEXT} steps of context). RMSE: one-step ${state.oneStepRmse.toFixed(3)} ` +
    `(the noise alone is σ = ${SERIES.noise}); free-running ${count} steps ${state.freeRunRmse.toFixed(3)}.`;
}

async function save(): Promise<void> {
  if (!model) return;
  const bytes = await model.toBytes();
  const url = URL.createObjectURL(new Blob([new Uint8Array(bytes)], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = `rnnkit-${ui.cell.value.toLowerCase()}-forecaster.safetensors`;
  document.body.append(a);
  a.click();
  a.remove();
  // The download has started by now; keep the URL briefly in case the browser reads it lazily.
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
  say(`Saved ${bytes.length.toLocaleString('en-US')} bytes (safetensors: weights by PyTorch name + the model spec).`);
}

async function load(file: File): Promise<void> {
  setBusy(true);
  say(`Loading ${file.name}…`);
  let loaded: WorkerModel | undefined;
  try {
    loaded = await WorkerModel.fromBytes(worker, new Uint8Array(await file.arrayBuffer()));
    await loaded.compile(compileOptions());
    // Score it on the page's own data first: a model of another shape fails here, not half-drawn.
    const valLoss = await loaded.evaluate(xVal, yVal);
    model = loaded;
    showModel(model);
    state.loadedFile = file.name;
    state.loadedValLoss = valLoss;
    state.loadError = undefined;
    await drawForecast(model);
    say(`Loaded ${file.name}: validation MSE ${valLoss.toFixed(4)}.`);
  } catch (e) {
    // A wrong file is the user's mistake, not the page's: explain it, keep the page usable.
    state.loadError = e instanceof Error ? e.message : String(e);
    // A valid model file of another shape already replaced the worker's model: nothing left to save.
    if (loaded) model = undefined;
    say(`Could not load ${file.name}: ${state.loadError}`, true);
    console.warn(e);
  } finally {
    setBusy(false);
  }
}

ui.train.addEventListener('click', () => void train().catch(fail));
ui.stop.addEventListener('click', () => abort?.abort(new Error('stopped from the page')));
ui.save.addEventListener('click', () => void save().catch(fail));
ui.load.addEventListener('change', () => {
  const file = ui.load.files?.[0];
  ui.load.value = ''; // choosing the same file again fires 'change' again
  if (file) void load(file).catch(fail);
});

// Build a first model so the page shows which backend and instruction set the worker runs.
WorkerModel.create(worker, layers(), { seed: 1 })
  .then((m) => {
    model = m;
    showModel(m);
    state.phase = 'ready';
    setBusy(false);
    ui.save.disabled = true; // nothing trained yet
    say(`Ready: ${trainSet.count} training windows, ${val.count} validation windows. Press Train.`);
  })
  .catch(fail);
