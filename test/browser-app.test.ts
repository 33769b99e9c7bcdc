/**
 * The browser examples, end to end in headless Chromium (Debian's, driven by playwright-core):
 * - examples/browser: built with Vite (`npm run build:web`), served from 127.0.0.1. Train is clicked, the
 *   model trains in a Web Worker on the SIMD wasm backend, and the test checks the loss, both charts,
 *   that the main thread kept drawing frames, that Save downloads a model file which (a) Node's rnnkit
 *   scores exactly as the page did and (b) the page loads back through its file input, that a wrong file
 *   gives a readable error, and that nothing reached the console as an error. Screenshot:
 *   test/artifacts/browser-app.png.
 * - examples/browser-plain: the package files imported by a plain <script type="module">, no bundler.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalise, persistenceMse, seasonalSeries, SERIES, windows } from '../examples/browser/src/data.js';
import { haveChromium, launchChromium, ROOT as root, serveStatic, type StaticServer } from './helpers/browser.js';

const canRun =
  haveChromium &&
  existsSync(join(root, 'dist/index.browser.js')) &&
  existsSync(join(root, 'dist/worker.js')) &&
  existsSync(join(root, 'build/rnnkit-simd.wasm'));
const artifacts = join(root, 'test/artifacts');
/** Threads the worker's threaded wasm module gets: one per core (Chromium's hardwareConcurrency), at most 16. */
const CORES = Math.min(availableParallelism(), 16);

/** What examples/browser/src/main.ts exposes as window.rnnkitDemo (the fields the test reads). */
interface DemoState {
  phase: string;
  backend?: { name: string; isa: string; threads: number };
  losses: number[];
  valLosses: number[];
  baselineMse: number;
  finalValLoss?: number;
  loadedValLoss?: number;
  loadedFile?: string;
  loadError?: string;
  oneStepRmse?: number;
  freeRunRmse?: number;
  framesDuringTraining: number;
  maxFrameGapMs: number;
  error?: string;
}

/** Pixels of a chart's canvas within `tol` of an RGB stroke colour: proof the series was drawn. */
async function strokePixels(page: Page, chart: string, rgb: [number, number, number], tol = 40): Promise<number> {
  return page.evaluate(
    ({ chart, rgb, tol }) => {
      const canvas = document.querySelector<HTMLCanvasElement>(`#${chart} canvas`);
      if (!canvas) return -1;
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] > 200 && Math.abs(data[i] - rgb[0]) + Math.abs(data[i + 1] - rgb[1]) + Math.abs(data[i + 2] - rgb[2]) < tol) n++;
      }
      return n;
    },
    { chart, rgb, tol },
  );
}

/** RMSE of the constant forecast "the held-out part's own mean" (its standard deviation), raw units. */
function heldOutStd(): number {
  const held = seasonalSeries().subarray(SERIES.trainEnd);
  const mean = held.reduce((a, b) => a + b, 0) / held.length;
  return Math.sqrt(held.reduce((a, b) => a + (b - mean) ** 2, 0) / held.length);
}

const demoState = (page: Page) => page.evaluate(() => (window as unknown as { rnnkitDemo: DemoState }).rnnkitDemo);

describe.skipIf(!canRun)('browser examples (Chromium)', () => {
  let server: StaticServer | undefined;
  let browser: Browser;
  let base = '';

  beforeAll(async () => {
    // Type-checks the app against the package's types and bundles it, exactly as `npm run build:web`.
    await promisify(execFile)('npm', ['run', '--silent', 'build:web'], { cwd: root, timeout: 90_000 });
    mkdirSync(artifacts, { recursive: true });
    server = await serveStatic(root);
    base = server.base;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** A fresh page that records console errors, uncaught exceptions and failed requests. */
  async function open(url: string): Promise<{ page: Page; errors: string[]; requests: string[] }> {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1240, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
    page.on('pageerror', (e) => errors.push(`pageerror: ${String(e)}`));
    page.on('requestfailed', (r) => errors.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
    page.on('response', (r) => r.status() >= 400 && errors.push(`HTTP ${r.status()}: ${r.url()}`));
    const requests: string[] = [];
    page.on('request', (r) => requests.push(new URL(r.url()).pathname));
    await page.goto(`${base}${url}`);
    return { page, errors, requests };
  }

  it('Vite app: trains in a worker on wasm+simd128, charts, stays responsive, saves and loads the model', async () => {
    const { page, errors, requests } = await open('/examples/browser/dist/index.html');
    try {
      await page.waitForFunction(() => ['ready', 'error'].includes((window as unknown as { rnnkitDemo: DemoState }).rnnkitDemo?.phase), undefined, {
        timeout: 20_000,
      });
      const before = await demoState(page);
      expect(before.error).toBeUndefined();
      // The worker reports the backend its model runs on. Chromium validates SIMD128, and the page is
      // cross-origin isolated, so the worker runs the threaded module with a thread per core.
      expect(before.backend).toEqual({ name: 'wasm', isa: 'simd128', threads: CORES });
      await expect.poll(() => page.textContent('#backend')).toBe(`wasm · simd128 · ${CORES} thread${CORES === 1 ? '' : 's'}`);
      // The worker fetched the module that Vite emitted (hashed name), never the scalar fallback.
      const wasmFetched = requests.filter((p) => p.endsWith('.wasm'));
      expect(wasmFetched).toHaveLength(1);
      expect(wasmFetched[0]).toMatch(CORES > 1 ? /\/assets\/rnnkit-simd-threads-[\w-]+\.wasm$/ : /\/assets\/rnnkit-simd-[\w]+\.wasm$/);

      const epochs = 60; // the page's default
      expect(await page.inputValue('#epochs')).toBe(String(epochs));
      await page.click('#train');
      await page.waitForFunction(() => ['done', 'error'].includes((window as unknown as { rnnkitDemo: DemoState }).rnnkitDemo.phase), undefined, {
        timeout: 45_000,
      });
      const s = await demoState(page);
      expect(s.error).toBeUndefined();
      expect(s.losses).toHaveLength(epochs);
      expect(s.valLosses).toHaveLength(epochs);
      // Normalised data: predicting the mean scores MSE ≈ 1 and persistence (next = current) scores
      // s.baselineMse ≈ 0.087. The noise alone (σ = 0.1 raw ≈ 0.12 normalised) costs ≈ 0.016, and each
      // validation window's first steps lack context, so a trained network lands near 0.03. Below 0.05,
      // and below 2/3 of persistence, means it learned the seasons, not just "repeat the last value".
      expect(s.baselineMse).toBeGreaterThan(0.05);
      expect(s.finalValLoss!).toBeLessThan(0.05);
      expect(s.finalValLoss!).toBeLessThan((2 / 3) * s.baselineMse);
      expect(s.losses.at(-1)!).toBeLessThan(s.losses[0] / 4);
      // The last epoch's validation loss is the same quantity evaluate() measures afterwards.
      expect(s.valLosses.at(-1)!).toBeCloseTo(s.finalValLoss!, 5);
      // One-step forecasts on the held-out part come close to the noise floor (σ = 0.1, raw units).
      expect(s.oneStepRmse!).toBeLessThan(0.2);
      // Free-running (fed its own outputs for all 240 held-out steps) it must still track the seasons:
      // well under the RMSE of forecasting the held-out mean (≈ 0.8), which a drifting network reaches.
      expect(s.freeRunRmse!).toBeLessThan(0.6 * heldOutStd());

      // Off the main thread: the page's one worker fetched the wasm module (seen above), and started
      // the module's pool threads (blob: workers); the main thread itself never fetched it, so no
      // model can have run there.
      const workerUrls = page.workers().map((w) => w.url());
      expect(workerUrls.filter((u) => !u.startsWith('blob:')).map((u) => new URL(u).pathname)).toEqual([
        expect.stringMatching(/\/assets\/worker-[\w-]+\.js$/),
      ]);
      expect(workerUrls.filter((u) => u.startsWith('blob:'))).toHaveLength(CORES - 1);
      const mainThreadWasm = await page.evaluate(() =>
        performance.getEntriesByType('resource').filter((e) => e.name.endsWith('.wasm')).map((e) => e.name),
      );
      expect(mainThreadWasm).toEqual([]);
      // Responsive: the main thread kept drawing animation frames while the worker trained (at 60 fps
      // that is ~300 frames here). Bounds are loose on purpose: the machine is shared and timing noisy.
      expect(s.framesDuringTraining).toBeGreaterThan(20);
      expect(s.maxFrameGapMs).toBeLessThan(1500);
      const framesNow = Number(await page.textContent('#frames'));
      await page.waitForTimeout(200);
      expect(Number(await page.textContent('#frames'))).toBeGreaterThan(framesNow);

      // Both charts drew their series (uPlot renders to a canvas): loss in blue/orange, forecast too.
      const blue: [number, number, number] = [0x24, 0x63, 0xeb];
      const orange: [number, number, number] = [0xe8, 0x59, 0x0c];
      expect(await strokePixels(page, 'loss-chart', blue)).toBeGreaterThan(100);
      expect(await strokePixels(page, 'loss-chart', orange)).toBeGreaterThan(100);
      expect(await strokePixels(page, 'forecast-chart', blue)).toBeGreaterThan(100);
      expect(await strokePixels(page, 'forecast-chart', orange)).toBeGreaterThan(50);
      expect(await page.textContent('#status')).toMatch(/^Trained after 60 epochs/);

      // Save → a download of a safetensors file written by rnnkit.
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
      expect(download.suggestedFilename()).toBe('rnnkit-lstm-forecaster.safetensors');
      const file = join(artifacts, download.suggestedFilename());
      await download.saveAs(file);
      const bytes = new Uint8Array(readFileSync(file));
      const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
      const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen))) as Record<string, unknown>;
      expect((header.__metadata__ as Record<string, string>).format).toBe('rnnkit');
      expect(Object.keys(header).some((k) => k.endsWith('weight_ih_l0'))).toBe(true);

      // The same file in Node's rnnkit scores the page's validation data exactly as the page did.
      const rnnkit = await import('../ts/index.js');
      await rnnkit.setBackend('wasm');
      const { z } = normalise(seasonalSeries(), SERIES.trainEnd);
      const val = windows(z, SERIES.trainEnd, SERIES.length, SERIES.valWindow, SERIES.valWindow / 2);
      expect(persistenceMse(val)).toBeCloseTo(s.baselineMse, 10);
      const inNode = rnnkit.Sequential.fromBytes(bytes);
      inNode.compile({ loss: 'mse', optimizer: 'adam' });
      const nodeLoss = inNode.evaluate(rnnkit.tensor(val.x, [val.count, val.window, 1]), rnnkit.tensor(val.y, [val.count, val.window, 1]));
      inNode.dispose();
      expect(nodeLoss).toBeCloseTo(s.finalValLoss!, 6);

      // Load it back through the file input: the page scores it identically.
      await page.setInputFiles('#load', file);
      await page.waitForFunction(() => (window as unknown as { rnnkitDemo: DemoState }).rnnkitDemo.loadedValLoss !== undefined, undefined, {
        timeout: 15_000,
      });
      await page.waitForFunction(() => !(document.getElementById('train') as HTMLButtonElement).disabled);
      const loaded = await demoState(page);
      expect(loaded.loadError).toBeUndefined();
      expect(loaded.loadedValLoss!).toBeCloseTo(s.finalValLoss!, 6);
      expect(loaded.backend).toEqual({ name: 'wasm', isa: 'simd128', threads: CORES });
      expect(await page.textContent('#status')).toMatch(/^Loaded .*safetensors: validation MSE/);
      await page.screenshot({ path: join(artifacts, 'browser-app.png'), fullPage: true });

      // A file that is not a model: a readable error on the page, and the page stays usable.
      await page.setInputFiles('#load', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a model') });
      await page.waitForFunction(() => (window as unknown as { rnnkitDemo: DemoState }).rnnkitDemo.loadError !== undefined, undefined, {
        timeout: 15_000,
      });
      const bad = await demoState(page);
      expect(bad.loadError).toMatch(/safetensors/);
      expect(await page.getAttribute('#status', 'class')).toBe('error');
      expect(await page.isEnabled('#train')).toBe(true);
      expect(bad.phase).toBe('done');

      // A real rnnkit model of another shape (2 inputs): it loads, but cannot score the page's data.
      const other = new rnnkit.Sequential([new rnnkit.GRU({ inputSize: 2, hiddenSize: 4 }), new rnnkit.Dense({ units: 1 })]);
      const otherBytes = Buffer.from(other.toBytes());
      other.dispose();
      await page.setInputFiles('#load', { name: 'two-inputs.safetensors', mimeType: 'application/octet-stream', buffer: otherBytes });
      await page.waitForFunction(() => /^Could not load two-inputs/.test(document.getElementById('status')!.textContent ?? ''), undefined, {
        timeout: 15_000,
      });
      const wrongShape = await demoState(page);
      // The core's message (the facade no longer checks x's shape a second time).
      expect(wrongShape.loadError).toMatch(/^x: expected \[batch, seq_len, input_size\].*input_size = 2/);
      expect(await page.isEnabled('#save')).toBe(false);
      expect(await page.isEnabled('#train')).toBe(true);

      // Stop: aborts between epochs, keeps the weights trained so far and still draws the forecast.
      await page.fill('#epochs', '500');
      await page.click('#train');
      await page.waitForFunction(() => (window as unknown as { rnnkitDemo: DemoState }).rnnkitDemo.losses.length >= 2, undefined, { timeout: 15_000 });
      await page.click('#stop');
      await page.waitForFunction(() => ['done', 'error'].includes((window as unknown as { rnnkitDemo: DemoState }).rnnkitDemo.phase), undefined, {
        timeout: 15_000,
      });
      const stopped = await demoState(page);
      expect(stopped.error).toBeUndefined();
      expect(stopped.losses.length).toBeGreaterThanOrEqual(2);
      expect(stopped.losses.length).toBeLessThan(500);
      expect(await page.textContent('#status')).toMatch(new RegExp(`^Stopped after ${stopped.losses.length} epochs`));

      expect(errors).toEqual([]);
    } finally {
      await page.context().close();
    }
  });

  it('plain page without a bundler: imports dist/index.browser.js, trains, round-trips the model file', async () => {
    const { page, errors } = await open('/examples/browser-plain/index.html');
    try {
      await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 30_000 });
      const r = await page.evaluate(() => (window as unknown as { result: Record<string, unknown> }).result);
      expect(r.error).toBeUndefined();
      expect(r.backend).toEqual({ name: 'wasm', isa: 'simd128', threads: 1 }); // a page's main thread: single-threaded
      expect(r.epochs).toBe(30);
      expect(r.lastLoss as number).toBeLessThan((r.firstLoss as number) / 4);
      expect(r.roundTripMaxDiff).toBe(0);
      expect(r.modelBytes as number).toBeGreaterThan(1000);
      expect(await page.textContent('#out')).toMatch(/backend: wasm \(simd128\)[\s\S]*epoch 30: loss/);
      await page.screenshot({ path: join(artifacts, 'browser-plain.png') });
      expect(errors).toEqual([]);
    } finally {
      await page.context().close();
    }
  });
});
