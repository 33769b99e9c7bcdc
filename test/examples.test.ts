/**
 * Runs every script in examples/ as a user would (a child `node` process importing the built package
 * by name), once per backend, and checks it succeeds and reports what it learned. The classifiers on
 * real data must also reach their stated test accuracy and beat their strongest baseline by a real
 * margin (the examples are seeded, so a rerun prints the same numbers on a backend).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const backends = ['native', 'wasm'] as const;
const built = existsSync(`${root}/dist/index.js`);

const examples: Array<[file: string, expected: RegExp]> = [
  ['examples/elman.mjs', /next-value MSE/],
  ['examples/lstm-forecaster.mjs', /24-step forecast RMSE/],
  ['examples/gru-classifier.mjs', /test accuracy/],
];

/**
 * The classifiers on real labelled data. Floors sit below what both backends measure (text 97.2% /
 * 97.3%, keyword rule 94.1%; CRNN 96.3% on both, nearest centroid 85.4%) and below every model seed
 * tried (text 97.2-97.9%, CRNN 93-96%).
 */
const classifiers: Array<{ file: string; floor: number; baseline: RegExp; margin: number }> = [
  { file: 'examples/text-classifier.mjs', floor: 0.95, baseline: /keyword rule ([\d.]+)%/, margin: 0.02 },
  { file: 'examples/crnn-classifier.mjs', floor: 0.92, baseline: /nearest centroid of 9 window statistics ([\d.]+)%/, margin: 0.05 },
];

/** The example's stdout, run on `backend`. */
async function runExample(file: string, backend: string): Promise<string> {
  const { stdout } = await run(process.execPath, [file], {
    cwd: root,
    env: { ...process.env, RNNKIT_BACKEND: backend },
    timeout: 110_000,
  });
  expect(stdout).toContain(backend);
  return stdout;
}

/** The percentage `pattern` captures in `text`, as a fraction. */
function percent(text: string, pattern: RegExp): number {
  const m = pattern.exec(text);
  expect(m, `${pattern} in:\n${text}`).not.toBeNull();
  return Number(m![1]) / 100;
}

describe.skipIf(!built)('examples (run `npm run build` first)', () => {
  for (const backend of backends) {
    for (const [file, expected] of examples) {
      it(`${file} on ${backend}`, async () => {
        expect(await runExample(file, backend)).toMatch(expected);
      });
    }
    for (const { file, floor, baseline, margin } of classifiers) {
      it(`${file} on ${backend} reaches ${floor * 100}% and beats its baseline by ${margin * 100} points`, async () => {
        const stdout = await runExample(file, backend);
        const accuracy = percent(stdout, /test accuracy ([\d.]+)%/);
        expect(accuracy).toBeGreaterThanOrEqual(floor);
        expect(accuracy).toBeGreaterThanOrEqual(percent(stdout, /majority class ([\d.]+)%/) + margin);
        expect(accuracy).toBeGreaterThanOrEqual(percent(stdout, baseline) + margin);
        // The attention weights of one test example are printed.
        expect(stdout).toMatch(/top-weighted[^\n]* 0\.\d{3}/);
      });
    }
  }
});
