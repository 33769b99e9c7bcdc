/**
 * The training report (ts/cli/report.ts): renders synthetic ReportData for every variant the CLI produces
 * (forecast, sampled text, classification; with and without validation loss, gradient norms and
 * activations), checks the HTML is self-contained and escapes dataset text, then opens each file in
 * headless Chromium from file:// with all network requests aborted and checks that every plot actually
 * drew (coloured pixels on its canvases, non-empty boxes), that nothing errored, and saves screenshots to
 * test/artifacts/report-*.png for a person to look at.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderReport, type ReportData } from '../ts/cli/report.js';
import { haveChromium, launchChromium, ROOT } from './helpers/browser.js';

const artifacts = join(ROOT, 'test/artifacts');

/** Deterministic noise so screenshots are comparable between runs. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

function lossCurve(epochs: number, start: number, end: number, noise: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: epochs }, (_, e) => end + (start - end) * Math.exp(-e / (epochs / 5)) * (1 + noise * r()));
}

/** LSTM-like activations: hidden units that follow the input with different phases, gates in (0, 1). */
function activations(T: number, units: number, cell: 'lstm' | 'gru', withInput: boolean): NonNullable<ReportData['activations']> {
  const r = rng(7);
  const input = Array.from({ length: T }, (_, t) => Math.sin((2 * Math.PI * t) / 12) + 0.4 * Math.sin((2 * Math.PI * t) / 5) + 0.1 * r());
  const field = (phase: number, squash: (x: number) => number, gain: number) =>
    Array.from({ length: T }, (_, t) =>
      Array.from({ length: units }, (_, u) => squash(gain * (input[Math.max(0, t - (u % 4))] * Math.cos(u + phase) + 0.3 * r()))));
  const gates = cell === 'lstm' ? ['i (input)', 'f (forget)', 'o (output)'] : ['r (reset)', 'z (update)'];
  const panels: NonNullable<ReportData['activations']>['panels'] = [
    { name: 'layer 0 hidden state h', kind: 'hidden', units, values: field(0, Math.tanh, 1.5), range: [-1, 1] },
  ];
  if (cell === 'lstm') panels.push({ name: 'layer 0 cell state c', kind: 'cell', units, values: field(1, (x) => 2.5 * Math.tanh(x), 1), range: [-3, 3] });
  gates.forEach((g, i) => panels.push({ name: `layer 0 gate ${g}`, kind: 'gate', units, values: field(2 + i, sigmoid, 2), range: [0, 1] }));
  return { steps: T, inputLabel: withInput ? 'seasonal (normalised)' : undefined, input: withInput ? input : undefined, panels };
}

const base = (title: string): Pick<ReportData, 'title' | 'createdAt' | 'command' | 'backend'> => ({
  title,
  createdAt: '2025-01-02T03:04:05.000Z',
  command: 'rnnkit train --data seasonal --cell lstm --hidden 32 --epochs 40 --report out/report.html',
  backend: { name: 'native', isa: 'avx2+fma' },
});

const XSS = '<script>alert("xss")</script><img src=x onerror=alert(1)>';

const variants: Record<string, ReportData> = {
  forecast: {
    ...base('rnnkit train — lstm on seasonal'),
    modelPath: 'out/model.safetensors',
    config: { cell: 'lstm', hidden: 32, layers: 2, bidirectional: false, optimizer: 'adam', lr: 0.003, epochs: 40, batch: 32, window: 48, clip: 1, seed: 42 },
    history: {
      loss: lossCurve(40, 0.9, 0.012, 0.15, 1),
      valLoss: lossCurve(40, 0.8, 0.02, 0.2, 2),
      gradNorm: Array.from({ length: 40 }, (_, e) => 3 * Math.exp(-e / 8) + 0.05 + 0.02 * Math.sin(e)),
    },
    forecast: (() => {
      const truth = Array.from({ length: 120 }, (_, t) => 10 + 3 * Math.sin((2 * Math.PI * t) / 24) + Math.sin((2 * Math.PI * t) / 7));
      const predicted = truth.map((v, t) => v + 0.3 * Math.sin(t / 3));
      return {
        truth,
        predicted,
        startIndex: 880,
        label: 'validation split, column "load", horizon 1',
        baselines: [
          { name: 'persistence', values: truth.map((v, t) => truth[Math.max(0, t - 1)]) },
          { name: 'seasonal naive (24)', values: truth.map((v, t) => (t >= 24 ? truth[t - 24] : v + 0.8)) },
        ],
        band: { lower: predicted.map((v) => v - 0.4), upper: predicted.map((v) => v + 0.45), level: 0.8 },
        table: { columns: ['model', 'persistence', 'seasonal naive (24)'], rows: [{ label: 'h = 1', values: [0.21, 0.93, 0.52] }, { label: 'all (headline)', values: [0.21, 0.93, 0.52] }] },
        verdict: { text: 'model RMSE 0.21 = 0.4× the better baseline (seasonal naive)', warn: false },
        definition: 'Held-out RMSE/MAE: forecasts from full context of rows the model never trained on.',
      };
    })(),
    activations: activations(48, 32, 'lstm', true),
    metrics: { 'val MSE': 0.0213, 'val RMSE': 0.146, 'train time (s)': 12.4, 'sequences/s': 5120 },
  },
  text: {
    ...base(`rnnkit train — gru on corpus ${XSS}`),
    command: `rnnkit train --text "${XSS}"`,
    config: { cell: 'gru', hidden: 64, 'note<b>': `<i>${XSS}</i>`, clipNorm: 5 },
    // Exploding gradients: the norm grows and finally goes non-finite; no validation split.
    history: { loss: [4.2, 3.1, 2.6, 2.4, 2.5, 3.9, NaN], gradNorm: [0.8, 1.5, 4, 20, 150, 3e4, Infinity] },
    samples: [{ prompt: 'The ', text: `cat sat ${XSS} on the mat.\n</script><script>alert(2)</script>\nAnd then…`, temperature: 0.8 }],
    activations: { ...activations(30, 12, 'gru', false), panels: activations(30, 12, 'gru', false).panels.map((p) => ({ ...p, name: `${p.name} </script>` })) },
    metrics: { perplexity: 7.31 },
  },
  classification: {
    ...base('rnnkit train — rnn on reber'),
    config: { cell: 'rnn', hidden: 16, loss: 'cross_entropy' },
    history: { loss: lossCurve(25, 0.69, 0.05, 0.1, 3), valLoss: lossCurve(25, 0.7, 0.09, 0.1, 4) },
    classification: { accuracy: 0.935, classes: ['valid', `invalid ${XSS}`, 'other'], confusion: [[470, 22, 8], [12, 440, 48], [3, 7, 90]] },
    metrics: { accuracy: 0.935 },
  },
  // More time steps than heatmap pixels (the downscaling path) and a long forecast; no validation split.
  long: {
    ...base('rnnkit train — gru on mackey-glass, long sequence'),
    config: { cell: 'gru', hidden: 8, window: 1200 },
    history: { loss: lossCurve(12, 0.3, 0.004, 0.1, 5), gradNorm: lossCurve(12, 2, 0.3, 0.2, 6) },
    forecast: { truth: Array.from({ length: 1000 }, (_, t) => Math.sin(t / 17)), predicted: Array.from({ length: 1000 }, (_, t) => Math.sin(t / 17 + 0.05)), startIndex: 0, label: 'mackey-glass' },
    activations: activations(1200, 8, 'gru', true),
  },
  minimal: {
    ...base('rnnkit train — one epoch'),
    config: {},
    history: { loss: [0.5] },
  },
};

const renders = Object.fromEntries(Object.entries(variants).map(([k, v]) => [k, renderReport(v)]));

describe('renderReport (static HTML)', () => {
  it.each(Object.keys(variants))('%s: a complete document with no external resource', (name) => {
    const html = renders[name];
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('</html>');
    expect(html).not.toMatch(/\b(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/<link\b|<script\s+src|@import/i);
    expect(html).toContain("default-src 'none'"); // CSP: even a missed reference could not fetch
    expect(html).toContain('uPlot'); // the chart library is inlined, not linked
  });

  it('escapes dataset text everywhere (title, command, config, sample, class names, panel names)', () => {
    for (const name of ['text', 'classification']) {
      const html = renders[name];
      // Exactly our three script elements: JSON payload, uPlot, the page script.
      expect(html.match(/<script\b/gi)).toHaveLength(3);
      expect(html).not.toContain('<script>alert');
      expect(html).not.toContain('<img src=x');
      expect(html).toContain('&#60;script&#62;alert(&#34;xss&#34;)&#60;/script&#62;');
    }
    expect(renders.text).toContain('&#60;i&#62;'); // config value
    expect(renders.text).toContain('note&#60;b&#62;'); // config key
    // Panel names travel in the JSON payload too: `<` is escaped there so `</script>` cannot close it.
    const json = renders.text.match(/<script type="application\/json" id="report-data">([^]*?)<\/script>/)![1];
    expect(json).not.toContain('<');
    expect(JSON.parse(json).activations.panels[0].name).toContain('</script>');
  });

  it('turns non-finite history values into gaps and flags them', () => {
    const json = JSON.parse(renders.text.match(/id="report-data">([^]*?)<\/script>/)![1]);
    expect(json.history.loss.at(-1)).toBeNull();
    expect(json.history.gradNorm.at(-1)).toBeNull();
    expect(json.clip).toBe(5);
    expect(renders.text).toContain('loss became non-finite at epoch 7');
    expect(renders.text).toContain('non-finite at epoch 7 (exploding gradients)');
    expect(renders.forecast).toContain('best validation loss');
    expect(renders.forecast).not.toContain('class="warn"');
  });

  it('shows only the sections the data has', () => {
    expect(renders.minimal).toContain('id="plot-loss"');
    for (const id of ['plot-grad', 'plot-forecast', 'plot-sample', 'plot-confusion', 'plot-activations']) {
      expect(renders.minimal).not.toContain(`id="${id}"`);
    }
    expect(renders.forecast).toContain('id="plot-forecast"');
    expect(renders.forecast).toContain('id="forecast-table"');
    expect(renders.forecast).toContain('seasonal naive (24)');
    expect(renders.forecast).toContain('Held-out RMSE/MAE: forecasts from full context');
    const json = JSON.parse(renders.forecast.match(/id="report-data">([^]*?)<\/script>/)![1]);
    expect(json.forecast.baselines.map((b: { name: string }) => b.name)).toEqual(['persistence', 'seasonal naive (24)']);
    expect(json.forecast.band.label).toBe('80% interval');
    expect(renders.forecast).toContain('id="act-input"');
    expect(renders.text).not.toContain('id="act-input"');
    expect(renders.classification).toContain('accuracy 93.5%');
  });

  it('rejects malformed data naming the field', () => {
    const bad = structuredClone(variants.forecast);
    bad.activations!.panels[1].values[3] = [1, 2];
    expect(() => renderReport(bad)).toThrow(/data\.activations\.panels\[1\]\.values\[3\].*32 units/);
    const bad2 = structuredClone(variants.classification);
    bad2.classification!.confusion = [[1, 2], [3, 4]];
    expect(() => renderReport(bad2)).toThrow(/data\.classification\.confusion/);
    const bad3 = structuredClone(variants.minimal) as unknown as { history: { loss: unknown } };
    bad3.history.loss = ['0.5'];
    expect(() => renderReport(bad3 as unknown as ReportData)).toThrow(TypeError);
    const bad4 = structuredClone(variants.forecast);
    bad4.activations!.panels[0].range = [1, -1];
    expect(() => renderReport(bad4)).toThrow(/range/);
    expect(() => renderReport(null as unknown as ReportData)).toThrow(/data/);
  });
});

/** Which plots each variant must draw on canvas (the rest are HTML: sample text, confusion table). */
const CANVAS_PLOTS: Record<string, string[]> = {
  forecast: ['plot-loss', 'plot-grad', 'plot-forecast', 'plot-activations'],
  text: ['plot-loss', 'plot-grad', 'plot-activations'],
  classification: ['plot-loss'],
  long: ['plot-loss', 'plot-grad', 'plot-forecast', 'plot-activations'],
  minimal: ['plot-loss'],
};

describe.skipIf(!haveChromium)('renderReport in Chromium (file://, network blocked)', () => {
  it('renders every plot without errors and saves screenshots', async () => {
    mkdirSync(artifacts, { recursive: true });
    const browser = await launchChromium();
    try {
      for (const [name, html] of Object.entries(renders)) {
        const file = join(artifacts, `report-${name}.html`);
        writeFileSync(file, html);
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const errors: string[] = [];
        const external: string[] = [];
        page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
        page.on('pageerror', (e) => errors.push(String(e)));
        page.on('dialog', (d) => { errors.push(`dialog: ${d.message()}`); void d.dismiss(); }); // an injected alert()
        await page.route('**/*', (route) => {
          const url = route.request().url();
          if (url.startsWith('file:')) return route.continue();
          external.push(url);
          return route.abort();
        });
        await page.goto(pathToFileURL(file).href);
        await page.waitForFunction(
          () => Array.from(document.querySelectorAll('[id^="plot-"]')).every((e) => e.hasAttribute('data-rendered') || e.hasAttribute('data-error') || !e.matches('.chart, #plot-activations')),
          undefined, { timeout: 10_000 },
        );

        const plots = await page.evaluate(() => Array.from(document.querySelectorAll<HTMLElement>('.plot')).map((el) => {
          const r = el.getBoundingClientRect();
          // "Coloured" = clearly saturated: series strokes and heatmap cells, not the grey axes or white background.
          const canvases = Array.from(el.querySelectorAll('canvas')).map((cv) => {
            const ctx = cv.getContext('2d');
            if (!ctx || cv.width === 0 || cv.height === 0) return { w: cv.width, h: cv.height, coloured: 0 };
            const d = ctx.getImageData(0, 0, cv.width, cv.height).data;
            let coloured = 0;
            for (let i = 0; i < d.length; i += 4) {
              if (d[i + 3] > 0 && Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 40) coloured++;
            }
            return { w: cv.width, h: cv.height, coloured };
          });
          return { id: el.id, w: r.width, h: r.height, rendered: el.getAttribute('data-rendered'), error: el.getAttribute('data-error'), canvases };
        }));
        const byId = Object.fromEntries(plots.map((p) => [p.id, p]));
        for (const id of CANVAS_PLOTS[name]) {
          expect(byId[id], `${name}: ${id} present`).toBeDefined();
          expect(byId[id].rendered, `${name}: ${id} rendered`).toBe('true');
          expect(byId[id].canvases.length, `${name}: ${id} has canvases`).toBeGreaterThan(0);
        }
        for (const p of plots) {
          expect(p.error, `${name}: ${p.id} error`).toBeNull();
          expect(p.w, `${name}: ${p.id} width`).toBeGreaterThan(100);
          expect(p.h, `${name}: ${p.id} height`).toBeGreaterThan(20);
          // uPlot stacks a blank cursor/overlay canvas only in some versions; require that some canvas drew.
          if (p.canvases.length) expect(Math.max(...p.canvases.map((c) => c.coloured)), `${name}: ${p.id} drew something`).toBeGreaterThan(50);
        }
        if (byId['plot-activations']) {
          // Every heatmap canvas (and the input strip) is mostly colour: cells, not background.
          for (const c of byId['plot-activations'].canvases) expect(c.coloured / (c.w * c.h), `${name}: heatmap fill`).toBeGreaterThan(0.02);
          const n = variants[name].activations!.panels.length + (variants[name].activations!.input ? 1 : 0);
          expect(byId['plot-activations'].canvases).toHaveLength(n);
          // Hover shows the value under the cursor.
          await page.locator('#act-panel-0').scrollIntoViewIfNeeded();
          const box = (await page.locator('#act-panel-0').boundingBox())!;
          await page.mouse.move(box.x + box.width / 2, box.y + 20);
          await expect.poll(() => page.locator('.tip').textContent()).toMatch(/t \d+ · unit \d+ · /);
          await page.mouse.move(0, 0);
        }
        if (name === 'text') {
          expect(await page.locator('#plot-sample').textContent()).toContain('<script>alert(2)</script>');
          expect(await page.title()).toContain('<script>');
        }
        // The log-scale toggle rebuilds the chart without errors.
        await page.locator('#log-loss').click();
        await page.waitForTimeout(50);

        await page.screenshot({ path: join(artifacts, `report-${name}.png`), fullPage: true });
        await page.close();
        expect(errors, `${name}: console errors`).toEqual([]);
        expect(external, `${name}: network requests`).toEqual([]);
      }
    } finally {
      await browser.close();
    }
  });
});
