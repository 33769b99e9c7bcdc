/**
 * `rnnkit train`: builds a model from flags (or `--config file.json`), trains it on a CSV series, a text
 * file or a built-in dataset (default: the seasonal forecaster) with live progress, saves it with its
 * data metadata, writes the HTML report and prints the final validation error and both paths.
 * The bar advances after every chunk of mini-batches (fit's `onBatchEnd`, a few times a second). Ctrl-C
 * stops after the running chunk (fit's `signal`), mid-epoch, and still saves and reports; a second
 * Ctrl-C quits.
 */

import { writeFileAtomic } from '../../persist-node.js';
import { resolve } from 'node:path';

import { Dense, Dropout, GATE_ACTIVATIONS, GRU, IndRNN, LSTM, MinGRU, MinLSTM, RNN, Sequential, tensor, type GateActivation, type Loss, type OptimizerType } from '../../index.js';
import { layerFromJSON, withInputSize } from '../../layers/registry.js';
import type { TracePanel } from '../../model.js';
import type { Tensor3D } from '../../tensor.js';
import { CliError, configLayers, helpText, parseArgs, readConfig, type FlagSpec, type FlagValues } from '../args.js';
import { DATASETS, type DatasetName } from '../datasets/builtin.js';
import { charScoreTable } from '../datasets/char-baselines.js';
import { trainingData, sourceOf } from '../datasets/index.js';
import { originsIn, transformOf } from '../datasets/series.js';
import type { ForecastMeta, PreparedData, Split } from '../datasets/types.js';
import { BestEpoch } from '../forecast/best-epoch.js';
import { intervalNote, intervalsFrom } from '../forecast/intervals.js';
import { scoreForecasts, scoreMetrics, trainingMaseScale, type ForecastScore } from '../forecast/metrics.js';
import { forecastPanel } from '../forecast/report-panel.js';
import { scoreJson, scoreText } from '../forecast/summary.js';
import { TRANSFORM_TEXT, TRANSFORMS, type TransformChoice } from '../forecast/transforms.js';
import { encode } from '../datasets/text.js';
import type { CharMeta } from '../datasets/types.js';
import { modelMetadata, type TrainInfo } from '../model-file.js';
import { fmt, outputMode, Progress } from '../progress.js';
import type { ReportData } from '../report-data.js';
import { renderReport } from '../report.js';
import { BACKEND_FLAG, CSV_READ_FLAGS, csvFlags, HELP_FLAG, selectBackend, splitDataset, splitTensors, taskMetrics } from './common.js';
import { sampleText } from './generate.js';

export const TRAIN_FLAGS: FlagSpec[] = [
  { name: 'config', type: 'string', help: 'JSON file of flag values ({"cell": "gru", "batch-size": 16}); flags override it. A "layers" list of {"type", "config"} layers (e.g. [{"type": "GRU", "config": {"hidden_size": 32}}, {"type": "Dense", "config": {"units": 1}}]) replaces the model flags' },
  { name: 'csv', type: 'string', help: 'CSV time series: header row, a date column (optional), numeric columns' },
  { name: 'target', type: 'string', help: 'CSV column to forecast (name or 1-based number)', default: 'the last numeric column' },
  ...CSV_READ_FLAGS,
  { name: 'columns', type: 'string', help: 'CSV numeric columns to use, comma-separated (the target is added)', default: 'all numeric' },
  { name: 'exclude', type: 'string', help: 'CSV numeric columns to leave out, comma-separated' },
  { name: 'covariates', type: 'string', help: 'other CSV columns to feed as inputs, comma-separated (never needs their future values)', default: "none: the target's own history" },
  { name: 'horizon', type: 'int', min: 1, help: 'steps ahead to forecast at once (a direct multi-step head; series data)', default: '1' },
  { name: 'transform', type: 'string', choices: TRANSFORMS, help: 'target encoding: none (levels), diff, seasonal-diff, diff+seasonal, window-norm (minus the window\'s last value)', default: 'auto: chosen on the training rows' },
  { name: 'season', type: 'int', min: 2, help: 'season length in rows (seasonal naive, seasonal differencing)', default: 'from the dates\' calendar, else detected from the training rows' },
  { name: 'text', type: 'string', help: 'plain-text file (UTF-8) for a character-level language model' },
  { name: 'max-vocab', type: 'int', min: 2, max: 65536, help: 'character models: most distinct characters; rarer ones read as one unknown symbol', default: '256' },
  { name: 'dataset', type: 'string', choices: DATASETS, help: 'built-in generated dataset', default: 'seasonal' },
  { name: 'size', type: 'int', min: 1, help: 'generated dataset size (series length, sequences or characters)' },
  { name: 'window', type: 'int', min: 1, help: 'sequence length in steps', default: '48 (text 64, reber 30, adding 50)' },
  { name: 'stride', type: 'int', min: 1, help: 'steps between window starts', default: '1 (text: window/2)' },
  { name: 'val-split', type: 'number', min: 0, max: 0.9, help: 'fraction held out for validation (the end of a series)', default: '0.2' },
  {
    name: 'cell',
    type: 'string',
    choices: ['rnn', 'rnn-relu', 'lstm', 'gru', 'gru-reset-before', 'indrnn', 'indrnn-tanh', 'mingru', 'minlstm'],
    help: 'recurrent cell (gru-reset-before: the Keras/TF.js/ONNX-default GRU form; indrnn: Li et al. 2018, relu; mingru/minlstm: Feng et al. 2024, --layers of them, trained in parallel over time)',
    default: 'lstm',
  },
  { name: 'gate-activation', type: 'string', choices: GATE_ACTIVATIONS, help: 'lstm/gru gate activation (hard_sigmoid: as TF.js and Keras 2)', default: 'sigmoid' },
  { name: 'peephole', type: 'boolean', help: 'lstm: peephole connections (ONNX P); other LSTM options through a config file\'s "layers"' },
  { name: 'hidden', type: 'int', min: 1, help: 'hidden units per layer', default: '32 (text 96)' },
  { name: 'layers', type: 'int', min: 1, max: 16, help: 'stacked recurrent layers', default: '1' },
  { name: 'bidirectional', type: 'boolean', help: 'run each layer both ways (forecasts then use the last step only)' },
  { name: 'dropout', type: 'number', min: 0, max: 0.95, help: 'dropout between stacked layers', default: '0' },
  { name: 'head', type: 'string', choices: ['identity', 'sigmoid', 'tanh', 'softmax'], help: 'dense head activation', default: 'by task' },
  { name: 'loss', type: 'string', choices: ['mse', 'bce_with_logits', 'cross_entropy'], help: 'loss', default: 'by task' },
  { name: 'optimizer', type: 'string', choices: ['sgd', 'adam', 'adamw', 'rmsprop'], help: 'optimizer', default: 'adam' },
  { name: 'lr', type: 'number', min: 0, exclusiveMin: true, help: 'learning rate', default: '0.01 (text 0.005)' },
  { name: 'epochs', type: 'int', min: 1, help: 'passes over the training data', default: 'by dataset (10-20)' },
  { name: 'batch-size', type: 'int', min: 1, help: 'sequences per update', default: '32' },
  { name: 'clip-norm', type: 'number', min: 0, exclusiveMin: true, help: 'clip the global gradient norm', default: '1' },
  { name: 'tbptt', type: 'int', min: 0, help: 'truncated BPTT chunk in steps (0 = whole sequences)', default: '0' },
  { name: 'seed', type: 'int', min: 0, max: 0xffffffff, help: 'seeds data generation, initialisation and shuffling', default: '1' },
  BACKEND_FLAG,
  { name: 'out', type: 'string', help: 'where to save the model', default: 'rnnkit-model.safetensors' },
  { name: 'report', type: 'string', help: 'where to write the HTML report', default: 'rnnkit-report.html' },
  { name: 'quiet', type: 'boolean', help: 'no progress output (results still print)' },
  { name: 'json', type: 'boolean', help: 'JSON-lines events on stdout instead of human output' },
  HELP_FLAG,
];

export const TRAIN_HELP = helpText(
  'rnnkit train [--csv file --target col | --text file.txt | --dataset name] [options]',
  'Trains a recurrent model, saves it, and writes an HTML report. Without a data flag: the seasonal forecaster.',
  TRAIN_FLAGS,
);

const DEFAULT_EPOCHS: Record<string, number> = { csv: 20, text: 10, seasonal: 20, 'mackey-glass': 20, reber: 20, 'reber-next': 10, adding: 20 };

interface Resolved {
  cell: string;
  /** LSTM/GRU only; undefined = the cell's default (sigmoid). */
  gateActivation: GateActivation | undefined;
  peephole: boolean;
  hidden: number;
  layers: number;
  bidirectional: boolean;
  dropout: number;
  head: string;
  loss: Loss;
  optimizer: OptimizerType;
  lr: number;
  epochs: number;
  batchSize: number;
  clipNorm: number;
  tbptt: number;
  seed: number;
  out: string;
  report: string;
}

/** Flags that describe the model, which a config file's "layers" list replaces. */
const MODEL_FLAGS = ['cell', 'gate-activation', 'peephole', 'hidden', 'layers', 'bidirectional', 'dropout', 'head'];

/**
 * The model of a config file's "layers" list: layers from the registry (unknown types or keys are
 * errors naming them), the first one's input size from the data when not given, the core's checks.
 */
function modelFromLayers(list: unknown[], data: PreparedData, seed: number): Sequential {
  let model: Sequential;
  try {
    const json = list.map((l, k) => layerFromJSON(l, `layers[${k}]`).toJSON());
    json[0] = withInputSize(json[0], data.inputSize);
    model = new Sequential(json.map((l, k) => layerFromJSON(l, `layers[${k}]`)), { seed });
  } catch (e) {
    throw new CliError(`config file "layers": ${(e as Error).message}`);
  }
  const out = model.io.output;
  const want = data.returnSequences ? 'sequence' : 'vector';
  if (out.kind !== want || out.features !== data.outputUnits) {
    model.dispose();
    throw new CliError(
      `config file "layers": ${data.meta.name} needs the model to return a ${want} of ${data.outputUnits} features per ${want === 'sequence' ? 'step' : 'sequence'}, ` +
        `but it returns a ${out.kind} of ${out.kind === 'ids' ? '?' : out.features} (end with a Dense of ${data.outputUnits} units${want === 'vector' ? ' after a LastStep, a pool or AttentionPooling' : ''})`,
    );
  }
  return model;
}

/** `layers` MinGRU / MinLSTM layers (one recurrence each: they have no num_layers), with `dropout` between them. */
function minLayers(r: Resolved, inputSize: number): (MinGRU | MinLSTM | Dropout)[] {
  const Kind = r.cell === 'mingru' ? MinGRU : MinLSTM;
  return Array.from({ length: r.layers }, (_, k) => {
    const layer = new Kind({ hiddenSize: r.hidden, ...(k === 0 ? { inputSize } : {}) });
    return k > 0 && r.dropout > 0 ? [new Dropout({ p: r.dropout }), layer] : [layer];
  }).flat();
}

function buildModel(r: Resolved, data: PreparedData): Sequential {
  const head = new Dense({ units: data.outputUnits, activation: r.head as 'identity', returnSequences: data.returnSequences });
  if (r.cell === 'mingru' || r.cell === 'minlstm') return new Sequential([...minLayers(r, data.inputSize), head] as never, { seed: r.seed });
  const common = { hiddenSize: r.hidden, numLayers: r.layers, bidirectional: r.bidirectional, dropout: r.dropout };
  const first = { ...common, inputSize: data.inputSize };
  const gated = { ...first, ...(r.gateActivation ? { gateActivation: r.gateActivation } : {}) };
  const rec =
    r.cell === 'lstm' ? new LSTM({ ...gated, ...(r.peephole ? { peephole: true } : {}) })
    : r.cell === 'gru' || r.cell === 'gru-reset-before' ? new GRU({ ...gated, resetAfter: r.cell === 'gru' })
    : r.cell === 'indrnn' || r.cell === 'indrnn-tanh' ? new IndRNN({ ...first, nonlinearity: r.cell === 'indrnn' ? 'relu' : 'tanh' })
    : new RNN({ ...first, nonlinearity: r.cell === 'rnn-relu' ? 'relu' : 'tanh' });
  return new Sequential([rec, head], { seed: r.seed });
}

/** Colour scale of a trace panel from what produced it. */
function panelRange(p: TracePanel): [number, number] {
  if (p.activation === 'sigmoid') return [0, 1];
  if (p.activation === 'tanh') return [-1, 1];
  let m = 0;
  for (const v of p.values) m = Math.max(m, Math.abs(v));
  m = m > 0 ? m : 1;
  return p.activation === 'relu' ? [0, m] : [-m, m];
}

/** The first sequence of a split, cut to its valid length: features [steps, f], or token ids [steps]. */
function firstSequence(s: Split): { x: Float32Array | Int32Array; steps: number; f: number } {
  const steps = s.lengths?.[0] ?? s.xDims[1];
  const f = s.x instanceof Int32Array ? 1 : s.xDims[2];
  return { x: s.x.slice(0, steps * f), steps, f };
}

function activations(model: Sequential, data: PreparedData, s: Split): ReportData['activations'] {
  const { x, steps, f } = firstSequence(s);
  const trace = model.trace(x instanceof Int32Array ? tensor(x, [1, steps]) : (tensor(x, [1, steps, f]) as Tensor3D));
  // The report draws panels aligned with the input's steps; pooled or reduced layers' panels are left out.
  const panels = trace.panels.filter((p) => p.steps === trace.steps).map((p) => ({
    name: p.name,
    kind: p.kind,
    units: p.units,
    values: Array.from({ length: trace.steps }, (_, t) => Array.from(p.values.subarray(t * p.units, (t + 1) * p.units))),
    range: panelRange(p),
  }));
  const meta = data.meta;
  const decode = (vocab: string[]) => Array.from({ length: steps }, (_, t) => vocab[x.subarray(t * f, (t + 1) * f).indexOf(1)] ?? '?');
  if (meta.task === 'forecast') {
    return { steps, panels, input: Array.from({ length: steps }, (_, t) => x[t * f]), inputLabel: `input: ${meta.columns[0]} as the network sees it (${TRANSFORM_TEXT[transformOf(meta).name]}), first held-out window` };
  }
  if (meta.task === 'charlm') {
    const chars = Array.from(x, (id) => meta.vocab[id]);
    return { steps, panels, inputChars: chars, inputLabel: `input text (the first ${data.val ? 'validation' : 'training'} window)` };
  }
  if (meta.symbols) return { steps, panels, inputChars: decode(meta.symbols), inputLabel: 'input symbols' };
  return { steps, panels, input: Array.from({ length: steps }, (_, t) => x[t * f]), inputLabel: 'input: values (the two marked steps carry the answer)' };
}

/** Samples for the report: two continuations of the default prompt at each of two temperatures. */
function reportSamples(model: Sequential, meta: CharMeta, seed: number): ReportData['samples'] {
  const prompt = encode(meta.prompt, meta.vocab, 'the default prompt', meta.unknown).ids;
  return [0.5, 1].flatMap((temperature) =>
    [0, 1].map((k) => ({ prompt: meta.prompt, temperature, text: sampleText(model, meta, prompt, 240, temperature, seed + k) })),
  );
}

/**
 * Held-out scores of a forecaster (the one metric: forecast/metrics.ts). Also stores in `meta` the MASE
 * scale and the prediction intervals: error quantiles of forecasts up to 24 steps ahead (recursive beyond
 * the horizon) over the held-out tail, so `predict --steps N` has measured intervals for those steps.
 */
function heldOutScore(model: Sequential, data: PreparedData): ForecastScore | undefined {
  const meta = data.meta;
  if (meta.task !== 'forecast' || !data.series) return undefined;
  const { columns, target, valStart } = data.series;
  const origins = originsIn(meta, valStart, target.length);
  if (origins.length === 0) return undefined;
  (meta as ForecastMeta).maseScale = trainingMaseScale(meta, target);
  const score = scoreForecasts(model, meta, columns, origins, data.returnSequences);
  const steps = Math.max(meta.horizon, Math.min(24, Math.floor((target.length - valStart) / 2)));
  const longer = steps > meta.horizon ? originsIn(meta, valStart, target.length, 1, steps) : [];
  const residuals = longer.length >= 10 ? scoreForecasts(model, meta, columns, longer, data.returnSequences, steps).residuals : score.residuals;
  (meta as ForecastMeta).intervals = intervalsFrom(residuals);
  return score;
}

/** Flags from the command line over the config file. */
function mergedFlags(argv: string[]): FlagValues {
  const { flags } = parseArgs(argv, TRAIN_FLAGS, 'train');
  if (typeof flags.config === 'string') return { ...readConfig(flags.config, TRAIN_FLAGS), ...flags };
  return flags;
}

export async function trainCommand(argv: string[]): Promise<number> {
  const flags = mergedFlags(argv);
  if (flags.help) {
    process.stdout.write(TRAIN_HELP + '\n');
    return 0;
  }
  const mode = outputMode(flags as { quiet?: boolean; json?: boolean });
  const str = (k: string) => flags[k] as string | undefined;
  const num = (k: string) => flags[k] as number | undefined;
  const seed = num('seed') ?? 1;
  const source = sourceOf({ csv: str('csv'), text: str('text'), dataset: str('dataset') as DatasetName | undefined });
  const textTask = source === 'text';
  const layerList = typeof flags.config === 'string' ? configLayers(flags.config) : undefined;
  // A model that looks at later steps (a bidirectional or reverse layer) may forecast from the last step only.
  const seesLater = (c: { bidirectional?: unknown; direction?: unknown } | undefined) => c?.bidirectional === true || c?.direction === 'bidirectional' || c?.direction === 'reverse';
  const bidirectional = flags.bidirectional === true || (layerList ?? []).some((l) => seesLater((l as { config?: { bidirectional?: unknown; direction?: unknown } })?.config));

  // Data first: a bad file should fail before any backend loads.
  const data = trainingData({
    csv: str('csv'),
    target: str('target'),
    text: str('text'),
    dataset: str('dataset') as DatasetName | undefined,
    window: num('window'),
    horizon: num('horizon'),
    transform: str('transform') as TransformChoice | undefined,
    season: num('season'),
    stride: num('stride'),
    valSplit: num('val-split') ?? 0.2,
    seed,
    size: num('size'),
    bidirectional,
    maxVocab: num('max-vocab'),
    ...csvFlags(flags),
  });
  const loss = (str('loss') as Loss | undefined) ?? data.loss;
  const classTargets = data.train.y instanceof Int32Array;
  if ((loss === 'cross_entropy') !== classTargets) {
    throw new CliError(
      `--loss ${loss} does not fit ${data.meta.name}: it has ${classTargets ? 'class targets (use cross_entropy)' : `real-valued targets (use ${data.loss})`}`,
    );
  }
  const r: Resolved = {
    cell: str('cell') ?? 'lstm',
    gateActivation: str('gate-activation') as GateActivation | undefined,
    peephole: flags.peephole === true,
    hidden: num('hidden') ?? (textTask ? 96 : 32),
    layers: num('layers') ?? 1,
    bidirectional: flags.bidirectional === true,
    dropout: num('dropout') ?? 0,
    head: str('head') ?? (loss === data.loss ? data.headActivation : 'identity'),
    loss,
    optimizer: (str('optimizer') as OptimizerType | undefined) ?? 'adam',
    lr: num('lr') ?? (textTask ? 0.005 : 0.01),
    epochs: num('epochs') ?? DEFAULT_EPOCHS[source] ?? 15,
    batchSize: num('batch-size') ?? 32,
    clipNorm: num('clip-norm') ?? 1,
    tbptt: num('tbptt') ?? 0,
    seed,
    out: resolve(str('out') ?? 'rnnkit-model.safetensors'),
    report: resolve(str('report') ?? 'rnnkit-report.html'),
  };
  if (r.gateActivation !== undefined && !['lstm', 'gru', 'gru-reset-before'].includes(r.cell)) throw new CliError(`--gate-activation needs --cell lstm, gru or gru-reset-before (an ${r.cell} cell has no gates)`);
  if (r.bidirectional && (r.cell === 'mingru' || r.cell === 'minlstm')) throw new CliError(`--bidirectional needs a cell with a reverse direction; --cell ${r.cell} runs forward only`);
  if (r.peephole && r.cell !== 'lstm') throw new CliError(`--peephole needs --cell lstm (only an LSTM has peephole connections), got --cell ${r.cell}`);
  if (r.tbptt > 0 && !data.returnSequences) {
    throw new CliError(`--tbptt needs a per-step target; ${data.meta.name} has one target per sequence${r.bidirectional ? ' (and --bidirectional forecasts use the last step only)' : ''}`);
  }

  if (layerList) {
    const clash = MODEL_FLAGS.find((f) => flags[f] !== undefined);
    if (clash !== undefined) throw new CliError(`--${clash} describes the model, which the config file's "layers" list already does; give one or the other`);
    r.cell = layerList.map((l) => String((l as { type?: unknown })?.type)).join(' → ');
  }
  const backend = await selectBackend(str('backend'));
  const model = layerList ? modelFromLayers(layerList, data, r.seed) : buildModel(r, data);
  try {
    model.compile({ loss: r.loss, optimizer: { type: r.optimizer, lr: r.lr }, clipNorm: r.clipNorm });
  } catch (e) {
    model.dispose();
    throw new CliError(`this configuration cannot train: ${(e as Error).message}`);
  }
  const config: Record<string, string | number | boolean> = {
    data: data.meta.name,
    task: data.meta.task,
    cell: r.cell,
    ...(r.gateActivation ? { 'gate-activation': r.gateActivation } : {}),
    ...(r.peephole ? { peephole: true } : {}),
    hidden: r.hidden,
    layers: r.layers,
    bidirectional: r.bidirectional,
    dropout: r.dropout,
    head: r.head,
    loss: r.loss,
    optimizer: r.optimizer,
    lr: r.lr,
    epochs: r.epochs,
    'batch-size': r.batchSize,
    window: data.meta.window,
    ...(data.meta.task === 'forecast'
      ? {
          horizon: data.meta.horizon,
          target: data.meta.target,
          ...(data.meta.columns.length > 1 ? { covariates: data.meta.columns.slice(1).join(', ') } : {}),
          transform: transformOf(data.meta).name,
          season: data.meta.season?.period ?? 0,
        }
      : {}),
    'clip-norm': r.clipNorm,
    tbptt: r.tbptt,
    seed: r.seed,
    parameters: model.numParameters,
  };
  const command = ['rnnkit', 'train', ...argv].join(' ');
  const train = splitTensors(data.train);
  // Copied into the backend once and evaluated a batch at a time after every epoch.
  const valSet = data.val ? splitDataset(data.val) : undefined;
  const nTrain = data.train.xDims[0];
  const stepsPerEpoch = Math.ceil(nTrain / Math.min(r.batchSize, nTrain));
  const progress = new Progress(mode, r.epochs, stepsPerEpoch);
  const notes = data.notes ?? [];
  const notices = data.notices ?? [];
  progress.event('start', { data: data.summary, notices, notes, config, backend, modelPath: r.out, reportPath: r.report });
  progress.info(
    `${notices.map((n) => `note: ${n}\n`).join('')}${data.summary}\n${notes.map((n) => `  ${n}\n`).join('')}${model.summary()}\n` +
      `backend ${backend.name} (${backend.isa}); training ${r.epochs} epochs, ${stepsPerEpoch} steps each`,
  );
  progress.begin();

  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort(new Error('interrupted (SIGINT)'));
    progress.info('stopping after the current step; the model and report are still written (Ctrl-C again to quit now)');
    progress.event('stopping', { reason: 'SIGINT' });
  };
  process.on('SIGINT', onSigint);

  const history = { loss: [] as number[], valLoss: [] as number[], gradNorm: [] as number[] };
  const bestEpoch = data.tune ? new BestEpoch(model, data.tune, data.returnSequences) : undefined;
  const t0 = performance.now();
  let last = t0;
  let stoppedEarly = false;
  /** Mini-batches of the running epoch done so far (what a Ctrl-C mid-epoch leaves trained). */
  let partialBatches = 0;
  try {
    await model.fit(train.x, train.y as never, {
      epochs: r.epochs,
      batchSize: r.batchSize,
      shuffle: true,
      seed: r.seed,
      ...(train.lengths ? { lengths: train.lengths } : {}),
      ...(r.tbptt > 0 ? { tbptt: r.tbptt } : {}),
      signal: controller.signal,
      callbacks: {
        onBatchEnd: (_batch, logs) => {
          const now = performance.now();
          partialBatches = logs.batches < logs.epochBatches ? logs.batches : 0;
          progress.batch({
            epoch: logs.epoch + 1,
            epochs: r.epochs,
            batch: logs.batches,
            batches: logs.epochBatches,
            loss: logs.loss,
            seqPerSec: logs.samples / Math.max(1e-6, (now - last) / 1000),
            elapsedSec: (now - t0) / 1000,
          });
        },
        onEpochEnd: (epoch, logs) => {
          const now = performance.now();
          bestEpoch?.observe(epoch);
          // Validation through evaluate on a Dataset (lengths inside for padded data), not fit's validationData.
          const valLoss = valSet ? model.evaluate(valSet) : undefined;
          history.loss.push(logs.loss);
          history.gradNorm.push(logs.gradNorm);
          if (valLoss !== undefined) history.valLoss.push(valLoss);
          const event = {
            epoch: epoch + 1,
            epochs: r.epochs,
            loss: logs.loss,
            ...(valLoss !== undefined ? { valLoss } : {}),
            gradNorm: logs.gradNorm,
            seqPerSec: nTrain / Math.max(1e-6, (now - last) / 1000),
            elapsedSec: (now - t0) / 1000,
          };
          last = performance.now();
          progress.epoch(event);
        },
      },
    });
  } catch (e) {
    if ((e as Error).name !== 'AbortError') {
      model.dispose();
      throw e;
    }
    stoppedEarly = true;
  } finally {
    process.off('SIGINT', onSigint);
    progress.stop();
    valSet?.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  const kept = bestEpoch?.restore();
  if (kept) {
    progress.info(kept.note);
    config['kept epoch'] = kept.epoch;
  }

  // Results: metrics, saved model, report.
  const evalSplit = data.val ?? data.train;
  const where = data.val ? 'validation' : 'training (no validation split)';
  const score = heldOutScore(model, data);
  const m = score
    ? { metrics: scoreMetrics(score), headline: [`RMSE (${(data.meta as ForecastMeta).target})`, score.model.rmse] as [string, number] }
    : taskMetrics(model, data.meta, evalSplit);
  const info: TrainInfo = {
    command,
    config,
    backend: backend.name,
    isa: backend.isa,
    epochs: history.loss.length,
    trainedAt: new Date().toISOString(),
    seconds,
    metrics: m.metrics,
    stoppedEarly,
  };
  await model.save(r.out, modelMetadata(data.meta, info));
  const report: ReportData = {
    title: `rnnkit train — ${r.cell} on ${data.meta.name}`,
    createdAt: info.trainedAt,
    command,
    config,
    backend,
    modelPath: r.out,
    history: { loss: history.loss, gradNorm: history.gradNorm, ...(history.valLoss.length > 0 ? { valLoss: history.valLoss } : {}) },
    metrics: m.metrics,
  };
  if (score && data.meta.task === 'forecast') report.forecast = forecastPanel(data.meta, score, data.series?.dates);
  if (data.meta.task === 'charlm') report.samples = reportSamples(model, data.meta, r.seed);
  if (m.classification) report.classification = m.classification;
  if (m.charScores) report.charScores = { ...m.charScores, split: where };
  report.activations = activations(model, data, evalSplit);
  await writeFileAtomic(r.report, new TextEncoder().encode(renderReport(report)));
  model.dispose();

  if (mode === 'json') {
    progress.event('done', {
      epochs: info.epochs,
      stoppedEarly,
      ...(stoppedEarly ? { partialBatches } : {}),
      seconds,
      ...(kept ? { keptEpoch: kept.epoch } : {}),
      metrics: m.metrics,
      headline: { name: m.headline[0], value: m.headline[1], split: where },
      ...(score ? { forecast: scoreJson(score), intervals: intervalNote((data.meta as ForecastMeta).intervals) } : {}),
      ...(m.charScores ? { charScores: m.charScores } : {}),
      modelPath: r.out,
      reportPath: r.report,
    });
  } else {
    const extras = Object.entries(m.metrics).map(([k, v]) => `${k} ${fmt(v)}`).join(', ');
    process.stdout.write(
      (stoppedEarly
        ? `stopped early after ${info.epochs} of ${r.epochs} epochs` +
          (partialBatches > 0 ? ` and ${partialBatches} of ${stepsPerEpoch} steps of the next\n` : '\n')
        : '') +
        (score ? scoreText(score, (data.meta as ForecastMeta).target, 'held-out tail') + '\n' + intervalNote((data.meta as ForecastMeta).intervals) + '\n' : '') +
        `final ${where} ${m.headline[0]}: ${fmt(m.headline[1])}  (${extras})\n` +
        (m.charScores ? charScoreTable(m.charScores, data.val ? 'held-out' : 'training') + '\n' : '') +
        `trained ${info.epochs} epochs in ${seconds.toFixed(1)}s on ${backend.name} (${backend.isa})\n` +
        `model:  ${r.out}\nreport: ${r.report}\n`,
    );
  }
  return 0;
}
