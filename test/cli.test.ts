/**
 * The `rnnkit` command line, end to end: every subcommand spawned as a user would (`node
 * dist/cli/main.js ...`, so `npm run build` must have run) on small data in a temp directory, and every
 * user error the CLI promises to explain (message fragment, exit code 1, no stack trace).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { decodeSafetensors, encodeSafetensors } from '../ts/persist.js';
import { CLI_BUILT as built, expectUserError, runCli, type Run } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'rnnkit-cli-'));
const at = (name: string) => join(dir, name);
const cli = (args: string[], onStdout?: Parameters<typeof runCli>[2]): Promise<Run> => runCli(args, dir, onStdout);

/** A small two-column series (temperature drives load with a lag), as a CSV. */
function writeSeriesCsv(name: string, rows: number, columns: 1 | 2): string {
  const lines = [columns === 2 ? 'temp,load' : 'load'];
  for (let t = 0; t < rows; t++) {
    const temp = 20 + 5 * Math.sin(t / 4);
    const load = 100 + 3 * Math.sin((t - 2) / 4) + 0.5 * Math.cos(t / 1.7);
    lines.push(columns === 2 ? `${temp.toFixed(3)},${load.toFixed(3)}` : load.toFixed(3));
  }
  writeFileSync(at(name), lines.join('\n') + '\n');
  return at(name);
}

const SMALL = ['--hidden', '8', '--epochs', '2', '--quiet'];

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!built)('rnnkit CLI (run `npm run build` first)', () => {
  it('train on the built-in seasonal series saves a model and a report and prints the validation error', async () => {
    const r = await cli(['train', '--dataset', 'seasonal', '--size', '300', '--window', '12', ...SMALL, '--out', 'seasonal.safetensors', '--report', 'seasonal.html']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/final validation RMSE \(value\): \d/);
    expect(r.stdout).toContain(`model:  ${at('seasonal.safetensors')}`);
    expect(r.stdout).toContain(`report: ${at('seasonal.html')}`);
    const { metadata } = decodeSafetensors(readFileSync(at('seasonal.safetensors')));
    const data = JSON.parse(metadata['rnnkit.data']);
    expect(data).toMatchObject({ task: 'forecast', name: 'seasonal', window: 12, horizon: 1, columns: ['value'] });
    expect(data.std[0]).toBeGreaterThan(0);
    const html = readFileSync(at('seasonal.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain('layer 0 gate f (forget)'); // the activation heatmaps came from trace()
  });

  it('train --config with a "layers" list: any layer order from the registry; the first input size comes from the data', async () => {
    const layers = [
      { type: 'Conv1D', config: { out_channels: 4, kernel_size: 3, padding: 'causal', activation: 'relu' } },
      { type: 'GRU', config: { hidden_size: 8 } },
      { type: 'LayerNorm', config: {} },
      { type: 'Dense', config: { units: 1 } },
    ];
    writeFileSync(at('layers.json'), JSON.stringify({ layers, epochs: 2 }));
    const r = await cli(['train', '--config', 'layers.json', '--dataset', 'seasonal', '--size', '200', '--window', '12', '--quiet', '--out', 'layers.safetensors', '--report', 'layers.html']);
    expect(r.code, r.stderr).toBe(0);
    const spec = JSON.parse(decodeSafetensors(readFileSync(at('layers.safetensors'))).metadata.spec);
    expect(spec.layers.map((l: { type: string }) => l.type)).toEqual(['Conv1D', 'GRU', 'LayerNorm', 'Dense']);
    expect(spec.layers[0].config).toMatchObject({ in_channels: 1, out_channels: 4, padding: 'causal' });
    const i = await cli(['info', 'layers.safetensors']);
    expect(i.stdout).toMatch(/Conv1D\(in_channels 1, out_channels 4/);

    writeFileSync(at('typo.json'), JSON.stringify({ layers: [layers[1], { type: 'Dense', config: { units: 1, activ8tion: 'tanh' } }] }));
    expectUserError(await cli(['train', '--config', 'typo.json', '--dataset', 'seasonal', '--size', '200', '--quiet']), 'layers[1].config.activ8tion');
    expectUserError(await cli(['train', '--config', 'layers.json', '--hidden', '8', '--dataset', 'seasonal', '--size', '200', '--quiet']), '--hidden', '"layers"');
    writeFileSync(at('wide.json'), JSON.stringify({ layers: [layers[1], { type: 'Dense', config: { units: 3 } }] }));
    expectUserError(await cli(['train', '--config', 'wide.json', '--dataset', 'seasonal', '--size', '200', '--quiet']), 'Dense of 1 units');
  });

  it('--gate-activation and --peephole build an LSTM with TF.js-style gates and peepholes, saved and shown by info', async () => {
    const r = await cli(['train', '--dataset', 'seasonal', '--size', '200', '--window', '12', ...SMALL, '--cell', 'lstm', '--gate-activation', 'hard_sigmoid', '--peephole', '--out', 'peep.safetensors', '--report', 'peep.html']);
    expect(r.code, r.stderr).toBe(0);
    const { metadata } = decodeSafetensors(readFileSync(at('peep.safetensors')));
    const spec = JSON.parse(metadata.spec);
    expect(spec.layers[0]).toMatchObject({ type: 'LSTM', config: { gate_activation: 'hard_sigmoid', peephole: true } });
    const i = await cli(['info', 'peep.safetensors']);
    expect(i.stdout).toContain('hard_sigmoid');
    expectUserError(await cli(['train', '--cell', 'gru', '--peephole', '--quiet']), '--peephole needs --cell lstm');
    expectUserError(await cli(['train', '--cell', 'rnn', '--gate-activation', 'hard_sigmoid', '--quiet']), '--gate-activation needs --cell lstm, gru or gru-reset-before');
  });

  it("--cell gru-reset-before --gate-activation hard_sigmoid builds TF.js's default GRU form", async () => {
    const r = await cli(['train', '--dataset', 'seasonal', '--size', '200', '--window', '12', ...SMALL, '--cell', 'gru-reset-before', '--gate-activation', 'hard_sigmoid', '--out', 'tfgru.safetensors']);
    expect(r.code, r.stderr).toBe(0);
    const spec = JSON.parse(decodeSafetensors(readFileSync(at('tfgru.safetensors'))).metadata.spec);
    expect(spec.layers[0]).toMatchObject({ type: 'GRU', config: { reset_after: false, gate_activation: 'hard_sigmoid' } });
    expectUserError(await cli(['train', '--cell', 'indrnn', '--gate-activation', 'hard_sigmoid', '--quiet']), '--gate-activation needs --cell lstm, gru or gru-reset-before');
  });

  it('--cell mingru / minlstm stack --layers of them with dropout between; info and the report name them', async () => {
    const r = await cli(['train', '--dataset', 'seasonal', '--size', '200', '--window', '12', ...SMALL, '--cell', 'mingru', '--layers', '2', '--dropout', '0.1', '--out', 'mingru.safetensors', '--report', 'mingru.html']);
    expect(r.code, r.stderr).toBe(0);
    const spec = JSON.parse(decodeSafetensors(readFileSync(at('mingru.safetensors'))).metadata.spec);
    expect(spec.layers.map((l: { type: string }) => l.type)).toEqual(['MinGRU', 'Dropout', 'MinGRU', 'Dense']);
    expect((await cli(['info', 'mingru.safetensors'])).stdout).toContain('MinGRU');
    expect(readFileSync(at('mingru.html'), 'utf8')).toContain('MinGRU');
    const l = await cli(['train', '--dataset', 'seasonal', '--size', '200', '--window', '12', ...SMALL, '--cell', 'minlstm', '--out', 'minlstm.safetensors']);
    expect(l.code, l.stderr).toBe(0);
    expect(JSON.parse(decodeSafetensors(readFileSync(at('minlstm.safetensors'))).metadata.spec).layers[0].type).toBe('MinLSTM');
    expectUserError(await cli(['train', '--cell', 'mingru', '--bidirectional', '--quiet']), '--bidirectional needs a cell with a reverse direction; --cell mingru runs forward only');
  });

  it('the report draws attention weights: self-attention heads of a forecaster, pooling weights of a classifier', async () => {
    const mha = [
      { type: 'GRU', config: { hidden_size: 8 } },
      { type: 'MultiHeadAttention', config: { num_heads: 2, causal: true } },
      { type: 'Dense', config: { units: 1 } },
    ];
    writeFileSync(at('mha.json'), JSON.stringify({ layers: mha, epochs: 1 }));
    const f = await cli(['train', '--config', 'mha.json', '--dataset', 'seasonal', '--size', '200', '--window', '12', '--quiet', '--out', 'mha.safetensors', '--report', 'mha.html']);
    expect(f.code, f.stderr).toBe(0);
    const fh = readFileSync(at('mha.html'), 'utf8');
    expect(fh).toContain('head 1 attention');
    expect(fh).toContain('attention weights · 12 units'); // [query step][key step]: one row per key over the 12 query steps
    const pool = [
      { type: 'GRU', config: { hidden_size: 8, bidirectional: true } },
      { type: 'AttentionPooling', config: {} },
      { type: 'Dense', config: { units: 2 } },
    ];
    writeFileSync(at('pool.json'), JSON.stringify({ layers: pool, epochs: 1 }));
    const c = await cli(['train', '--config', 'pool.json', '--dataset', 'reber', '--size', '200', '--quiet', '--out', 'pool.safetensors', '--report', 'pool.html']);
    expect(c.code, c.stderr).toBe(0);
    expect(readFileSync(at('pool.html'), 'utf8')).toMatch(/block 1 attention weights <span class="kind">attention weights · 1 units/);
  });

  it('--json prints one event per line: start, every epoch (with gradient norm), done', async () => {
    const r = await cli(['train', '--dataset', 'adding', '--size', '64', '--window', '10', '--hidden', '8', '--epochs', '3', '--json', '--out', 'adding.safetensors', '--report', 'adding.html']);
    expect(r.code, r.stderr).toBe(0);
    // Throttled mid-epoch `batch` events may appear on a slow machine; the rest is exact.
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event !== 'batch');
    expect(events.map((e) => e.event)).toEqual(['start', 'epoch', 'epoch', 'epoch', 'done']);
    for (const e of events.slice(1, 4)) {
      expect(e.loss).toBeGreaterThan(0);
      expect(e.gradNorm).toBeGreaterThan(0);
      expect(e.valLoss).toBeGreaterThan(0);
      expect(e.seqPerSec).toBeGreaterThan(0);
    }
    expect(events[4]).toMatchObject({ epochs: 3, stoppedEarly: false, modelPath: at('adding.safetensors') });
    expect(events[4].metrics.mse).toBeGreaterThan(0);
  });

  it('a CSV forecaster with a covariate: --config file, predict within and past the horizon, eval and info', async () => {
    const csv = writeSeriesCsv('two.csv', 120, 2);
    writeFileSync(at('config.json'), JSON.stringify({ cell: 'gru', hidden: 8, epochs: 2, window: 10, batchSize: 16 }));
    const t = await cli(['train', '--config', 'config.json', '--csv', csv, '--target', 'load', '--covariates', 'temp', '--horizon', '3', '--quiet', '--out', 'two.safetensors', '--report', 'two.html']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/final validation RMSE \(load\)/);

    const p = await cli(['predict', '--model', 'two.safetensors', '--csv', csv, '--steps', '3']);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stderr).toContain('direct 3-step forecast');
    const lines = p.stdout.trim().split('\n');
    expect(lines[0]).toBe('step,load,lower,upper');
    expect(lines).toHaveLength(4);
    for (const l of lines.slice(1)) {
      const [, v, lo, hi] = l.split(',').map(Number);
      expect(Math.abs(v - 100)).toBeLessThan(30); // in the series' units
      expect(lo).toBeLessThanOrEqual(hi);
    }

    // Past the horizon the covariate is rolled forward by seasonal naive: never refused.
    const far = await cli(['predict', '--model', 'two.safetensors', '--csv', csv, '--steps', '5']);
    expect(far.code, far.stderr).toBe(0);
    expect(far.stderr).toMatch(/rolled 2 times; covariates rolled forward by (seasonal naive \(season \d+\)|persistence \(no season\))/);
    expect(far.stdout.trim().split('\n')).toHaveLength(6);

    const e = await cli(['eval', '--model', 'two.safetensors', '--csv', csv, '--json']);
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout).metrics.rmse).toBeGreaterThan(0);

    const i = await cli(['info', 'two.safetensors']);
    expect(i.code, i.stderr).toBe(0);
    expect(i.stdout).toContain('GRU(input_size 2, hidden_size 8');
    expect(i.stdout).toMatch(/parameters: \d+/);
    expect(i.stdout).toMatch(/trained on backend: (native|wasm)/);
    expect(i.stdout).toContain('normalisation');
    expect(i.stdout).toMatch(/load: mean 1\d\d/);
  });

  it('a univariate forecaster rolls forward past its horizon', async () => {
    const csv = writeSeriesCsv('one.csv', 80, 1);
    const t = await cli(['train', '--csv', csv, '--window', '8', ...SMALL, '--out', 'one.safetensors', '--report', 'one.html']);
    expect(t.code, t.stderr).toBe(0);
    const p = await cli(['predict', '--model', 'one.safetensors', '--csv', csv, '--steps', '6', '--json']);
    expect(p.code, p.stderr).toBe(0);
    const out = JSON.parse(p.stdout);
    expect(out.forecast).toHaveLength(6);
    expect(out.forecast.every(Number.isFinite)).toBe(true);
  });

  it('a character model: train on --text, generate reproducibly, reject unknown prompt characters', async () => {
    writeFileSync(at('tiny.txt'), 'the cat sat on the mat. the dog sat on the log. '.repeat(20));
    const t = await cli(['train', '--text', 'tiny.txt', '--window', '16', '--hidden', '16', '--epochs', '2', '--quiet', '--out', 'char.safetensors', '--report', 'char.html']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/final validation perplexity: \d/);
    const args = ['generate', '--model', 'char.safetensors', '--prompt', 'the ', '--length', '30', '--temperature', '0.7', '--seed', '3'];
    const [a, b] = [await cli(args), await cli(args)];
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    const text = a.stdout.replace(/\n$/, '');
    expect(text.startsWith('the ')).toBe(true);
    expect(Array.from(text)).toHaveLength(34);
    expect([...text].every((c) => 'the catsondgl.m'.includes(c))).toBe(true);
    expectUserError(await cli(['generate', '--model', 'char.safetensors', '--prompt', 'Zebra']), '"Z"', "not in the model's vocabulary");
    const html = readFileSync(at('char.html'), 'utf8');
    expect(html).toContain('perplexity');
  });

  it('eval on the built-in Reber grammar reports accuracy', async () => {
    const t = await cli(['train', '--dataset', 'reber', '--size', '200', ...SMALL, '--out', 'reber.safetensors', '--report', 'reber.html']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/final validation accuracy: (0|1)/);
    const e = await cli(['eval', '--model', 'reber.safetensors']);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/accuracy: (0|1)/);
  });

  it('--json reports progress inside a long epoch: throttled batch events with steps, loss, throughput and ETA', async () => {
    const r = await cli(['train', '--dataset', 'seasonal', '--size', '3000', '--window', '32', '--hidden', '16', '--batch-size', '1', '--epochs', '1', '--json', '--out', 'long.safetensors', '--report', 'long.html']);
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const batches = events.filter((e) => e.event === 'batch');
    // The first chunk (one mini-batch) is always reported, before the epoch ends.
    expect(batches.length).toBeGreaterThanOrEqual(1);
    expect(events.indexOf(batches[0])).toBeLessThan(events.findIndex((e) => e.event === 'epoch'));
    expect(batches[0]).toMatchObject({ epoch: 1, epochs: 1, batch: 1, step: 1 });
    for (const b of batches) {
      expect(b.batch).toBeLessThan(b.batches);
      expect(b.steps).toBe(b.batches);
      expect(b.loss).toBeGreaterThan(0);
      expect(b.seqPerSec).toBeGreaterThan(0);
      expect(b.etaSec).toBeGreaterThanOrEqual(0);
    }
    for (let i = 1; i < batches.length; i++) expect(batches[i].step).toBeGreaterThan(batches[i - 1].step);
  });

  it('Ctrl-C during a long epoch stops after the current step and still saves the model and the report', async () => {
    let sent = false;
    const r = await cli(
      // One epoch of ~12000 steps takes seconds; the first `batch` event comes after one step, and
      // the stop after the chunk running then (~150 ms), long before the epoch could end.
      ['train', '--dataset', 'seasonal', '--size', '30000', '--window', '48', '--hidden', '48', '--batch-size', '2', '--epochs', '3', '--json', '--out', 'int.safetensors', '--report', 'int.html'],
      (text, child) => {
        if (!sent && text.includes('"event":"batch"')) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events.some((e) => e.event === 'stopping')).toBe(true);
    const steps = events.find((e) => e.event === 'batch').batches;
    const done = events[events.length - 1];
    expect(done.event).toBe('done');
    expect(done.stoppedEarly).toBe(true);
    // Stopped inside the first epoch: no epoch finished, and only part of it was trained.
    expect(events.some((e) => e.event === 'epoch')).toBe(false);
    expect(done.epochs).toBe(0);
    expect(done.partialBatches).toBeGreaterThanOrEqual(1);
    expect(done.partialBatches).toBeLessThan(steps);
    expect(existsSync(at('int.safetensors'))).toBe(true);
    expect(existsSync(at('int.html'))).toBe(true);
    const { metadata } = decodeSafetensors(readFileSync(at('int.safetensors')));
    expect(JSON.parse(metadata['rnnkit.train'] ?? '{}')).toMatchObject({ stoppedEarly: true });
  });

  describe('errors a person can act on', () => {
    it('a missing file', async () => {
      expectUserError(await cli(['train', '--csv', 'nope.csv']), 'CSV file not found: nope.csv');
      expectUserError(await cli(['info', 'missing.safetensors']), 'model file not found: missing.safetensors');
    });

    it('a CSV with a non-numeric cell names its line and column', async () => {
      writeFileSync(at('bad.csv'), 'a,b\n1,2\n3,oops\n5,6\n');
      expectUserError(await cli(['train', '--csv', 'bad.csv']), 'bad.csv:3: column 2 ("b") is not a number: "oops"');
    });

    it('a window longer than the series', async () => {
      writeSeriesCsv('short.csv', 20, 1);
      expectUserError(await cli(['train', '--csv', 'short.csv', '--window', '50']), '--window 50 is longer than the series', 'short.csv has 20 rows');
    });

    it('an unknown flag, with the closest valid one', async () => {
      expectUserError(await cli(['train', '--lr8', '0.1']), 'unknown flag --lr8 for rnnkit train, did you mean --lr?');
      expectUserError(await cli(['train', '--hiden', '4']), 'did you mean --hidden?');
      expectUserError(await cli(['trian']), 'unknown command "trian", did you mean train?');
      expectUserError(await cli(['train', '--cell', 'lstn']), 'expects one of rnn, rnn-relu, lstm, gru, gru-reset-before, indrnn, indrnn-tanh, mingru, minlstm, got "lstn", did you mean lstm?');
    });

    it('a model file that is not an rnnkit safetensors file', async () => {
      writeFileSync(at('junk.safetensors'), 'this is not a model at all');
      expectUserError(await cli(['info', 'junk.safetensors']), 'junk.safetensors is not an rnnkit safetensors file');
      const foreign = encodeSafetensors([{ name: 'w', shape: [2], data: new Float32Array([1, 2]) }], { format: 'pt' });
      writeFileSync(at('foreign.safetensors'), foreign);
      expectUserError(await cli(['predict', '--model', 'foreign.safetensors']), 'is a safetensors file but not an rnnkit model', 'format "pt"');
    });
  });
});
