/**
 * Browser smoke test: serves the built package on localhost, opens a page in headless Chromium (Debian's,
 * driven by playwright-core) that imports dist/index.browser.js with a plain <script type="module">, and
 * checks that the WASM backend with SIMD loads, an LSTM forward matches the same model in Node, and a
 * short training run lowers the loss. No console errors are allowed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium, launchChromium, ROOT, serveStatic, type StaticServer } from './helpers/browser.js';

const canRun = haveChromium && existsSync(join(ROOT, 'dist/index.browser.js')) && existsSync(join(ROOT, 'build/rnnkit-simd.wasm'));

describe.skipIf(!canRun)('browser (Chromium, wasm backend)', () => {
  let server: StaticServer;

  beforeAll(async () => {
    server = await serveStatic();
  });

  afterAll(() => server.close());

  it('loads the SIMD wasm backend, runs an LSTM and trains', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`${server.base}/test/browser/smoke.html`);
      await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 60_000 });
      const result = await page.evaluate(() => (window as unknown as { result: Record<string, unknown> }).result);
      expect(result.error).toBeUndefined();
      // The page's main thread may not block, so it runs the single-threaded module even when isolated.
      expect(result.backend).toEqual({ name: 'wasm', isa: 'simd128', threads: 1 });
      expect(result.outputShape).toEqual([1, 3, 3]);
      expect(result.cShape).toEqual([1, 1, 3]);
      expect(result.lastLoss as number).toBeLessThan((result.firstLoss as number) / 2);

      // The same seeded LSTM in Node gives the same numbers.
      const rnnkit = await import('../ts/index.js');
      await rnnkit.setBackend('wasm');
      const lstm = new rnnkit.LSTM({ inputSize: 2, hiddenSize: 3, batchFirst: true, seed: 1 });
      const x = rnnkit.tensor(new Float32Array([0.1, -0.2, 0.3, 0.4, -0.5, 0.6]), [1, 3, 2]);
      const node = Array.from(lstm.forward(x).output.data);
      const browserOut = result.output as number[];
      node.forEach((v, i) => expect(browserOut[i]).toBeCloseTo(v, 6));
      lstm.dispose();
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
