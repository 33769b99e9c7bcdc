/**
 * Runs every script in examples/ as a user would (a child `node` process importing the built package
 * by name), once per backend, and checks it succeeds and reports what it learned.
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

describe.skipIf(!built)('examples (run `npm run build` first)', () => {
  for (const backend of backends) {
    for (const [file, expected] of examples) {
      it(`${file} on ${backend}`, async () => {
        const { stdout } = await run(process.execPath, [file], {
          cwd: root,
          env: { ...process.env, RNNKIT_BACKEND: backend },
          timeout: 110_000,
        });
        expect(stdout).toMatch(expected);
        expect(stdout).toContain(backend);
      });
    }
  }
});
