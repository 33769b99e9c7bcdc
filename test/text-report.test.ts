/**
 * The report of a character model (ts/cli/report.ts, ts/cli/report/client.ts): the input characters
 * label the time axis of every heatmap (one per step, readable: ␣ for space, ⏎ for newline, control
 * characters as control pictures), the sampled texts have their own panel, and the per-character table
 * puts the model next to its baselines with a warning when it loses to the bigram. Rendered in headless
 * Chromium from file://, checked pixel by pixel under every heatmap, and saved as
 * test/artifacts/report-charlm.png for a person to look at.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';

import { charScore, SMOOTHING } from '../ts/cli/datasets/char-baselines.js';
import { renderReport, visibleChar, type ReportData } from '../ts/cli/report.js';
import { haveChromium, launchChromium, ROOT } from './helpers/browser.js';
import { mobyDick } from './helpers/moby-dick.js';

const INPUT = 'Call me Ishmael.\nSome years ago\t— never <b>mind</b> how long\u0007 precisely';
const chars = Array.from(INPUT);
const T = chars.length;

function field(units: number, squash: (v: number) => number): number[][] {
  return Array.from({ length: T }, (_, t) => Array.from({ length: units }, (_, u) => squash(Math.sin(t / 3 + u) * 1.5)));
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

const data: ReportData = {
  title: 'rnnkit train — lstm on moby-dick.txt',
  createdAt: '2026-12-07T12:00:00.000Z',
  command: 'rnnkit train --text moby-dick.txt --hidden 24',
  config: { cell: 'lstm', hidden: 24, task: 'charlm' },
  backend: { name: 'native', isa: 'avx2' },
  history: { loss: [3.1, 2.6, 2.3], valLoss: [2.9, 2.5, 2.4], gradNorm: [0.4, 0.3, 0.25] },
  metrics: { cross_entropy: 2.4, bits_per_char: 2.4 / Math.LN2, perplexity: Math.exp(2.4) },
  charScores: {
    split: 'validation',
    characters: 41536,
    model: charScore(2.4),
    unigram: charScore(3.11),
    bigram: charScore(2.37),
    smoothing: SMOOTHING,
    warning: 'the model (3.462 bits/char) does not beat the bigram baseline (3.419 bits/char) on the held-out text',
  },
  samples: [
    { prompt: 'CHAPTER 1. ', temperature: 0.5, text: 'the whale and the sea and the ship' },
    { prompt: 'CHAPTER 1. ', temperature: 0.5, text: 'the ship of the sea <script>alert(1)</script>' },
    { prompt: 'CHAPTER 1. ', temperature: 1, text: 'Queequeg wondered, a fog upon the deck' },
  ],
  activations: {
    steps: T,
    inputChars: chars,
    inputLabel: 'input text (the first validation window)',
    panels: [
      { name: 'layer 0 hidden state h', kind: 'hidden', units: 24, values: field(24, Math.tanh), range: [-1, 1] },
      { name: 'layer 0 gate f (forget)', kind: 'gate', units: 24, values: field(24, sigmoid), range: [0, 1] },
    ],
  },
};

const html = renderReport(data);
const payload = JSON.parse(html.match(/<script type="application\/json" id="report-data">([^]*?)<\/script>/)![1].replace(/\\u003c/g, '<'));

describe('character model report (static HTML)', () => {
  it('labels every time step with its character, made visible', () => {
    expect(visibleChar(' ')).toBe('␣');
    expect(visibleChar('\n')).toBe('⏎');
    expect(visibleChar('\t')).toBe('⇥');
    expect(visibleChar('\u0007')).toBe('^G');
    expect(visibleChar('\r')).toBe('\\r');
    expect(visibleChar('\u00a0')).toBe('\\u{a0}');
    expect(visibleChar('é')).toBe('é');
    expect(payload.activations.labels).toEqual(chars.map(visibleChar));
    expect(payload.activations.labels.slice(0, 5)).toEqual(['C', 'a', 'l', 'l', '␣']);
    // The window also reads as text above the heatmaps, escaped.
    expect(html).toContain('Call me Ishmael.⏎Some years ago⇥— never &#60;b&#62;mind&#60;/b&#62; how long^G precisely');
  });

  it('shows every sample with its prompt and temperature in its own panel', () => {
    expect(html).toContain('<h2>Sampled text</h2>');
    expect(html.match(/class="sample-item"/g)).toHaveLength(3);
    expect(html).toContain('<span class="prompt">CHAPTER 1. </span>the whale and the sea and the ship');
    expect(html).toContain('sample 3 · temperature 1 · 38 characters generated');
    expect(html).not.toContain('<script>alert(1)');
  });

  it('tables the model against both baselines on the same characters, with the warning', () => {
    expect(html).toContain('on the same 41536 validation characters');
    expect(html).toMatch(/<tr><th>model<\/th><td>2\.4<\/td><td>3\.462<\/td><td>11\.02<\/td>/);
    expect(html).toMatch(/<tr><th>unigram baseline<\/th><td>3\.11<\/td>.*add-one/);
    expect(html).toMatch(/<tr><th>bigram baseline<\/th><td>2\.37<\/td>.*interpolated Kneser-Ney/);
    expect(html).toContain('<span class="warn">the model (3.462 bits/char) does not beat the bigram baseline');
  });

  it('rejects characters that do not match the steps', () => {
    const bad = structuredClone(data);
    bad.activations!.inputChars = chars.slice(1);
    expect(() => renderReport(bad)).toThrow(/data\.activations\.inputChars.*length 70/);
  });
});

/** Ink (dark or blue text) pixels in each step's column of the label band under each heatmap of the page. */
function labelInk(page: Page): Promise<number[][]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLCanvasElement>('[id^="act-panel-"]')).map((cv) => {
      const h = (cv as unknown as { _hit: { T: number; x0: number; top: number; pw: number; ph: number } })._hit;
      const r = window.devicePixelRatio || 1;
      const d = cv.getContext('2d')!.getImageData(0, Math.round((h.top + h.ph + 1) * r), cv.width, Math.round(16 * r)).data;
      return Array.from({ length: h.T }, (_, t) => {
        let ink = 0;
        for (let x = Math.ceil((h.x0 + (t * h.pw) / h.T) * r); x < Math.floor((h.x0 + ((t + 1) * h.pw) / h.T) * r); x++) {
          for (let y = 0; y < Math.round(16 * r); y++) {
            const k = (y * cv.width + x) * 4;
            if (d[k + 3] > 0 && d[k] + d[k + 1] + d[k + 2] < 3 * 150) ink++; // text, not the band's #eef2f6
          }
        }
        return ink;
      });
    }),
  );
}

describe.skipIf(!haveChromium)('character model report in Chromium', () => {
  it('draws a character under every column of every heatmap, also for a long window (scrolling sideways)', async () => {
    const dir = join(ROOT, 'test/artifacts');
    mkdirSync(dir, { recursive: true });
    // A 200-step window: at 1280 px its columns would be ~5 px, too narrow for a glyph.
    const long = Array.from(mobyDick(1).slice(0, 200));
    const longData = structuredClone(data);
    longData.activations = { ...data.activations!, steps: 200, inputChars: long, panels: data.activations!.panels.map((p) => ({ ...p, values: Array.from({ length: 200 }, (_, t) => p.values[t % T]) })) };
    const browser = await launchChromium();
    try {
      for (const [name, page_html, steps] of [['charlm', html, chars], ['charlm-long', renderReport(longData), long]] as const) {
        const file = join(dir, `report-${name}.html`);
        writeFileSync(file, page_html);
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const errors: string[] = [];
        page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
        page.on('pageerror', (e) => errors.push(String(e)));
        await page.goto(pathToFileURL(file).href);
        await page.waitForSelector('#plot-activations[data-rendered]');
        const inked = await labelInk(page);
        expect(inked).toHaveLength(2);
        for (const columns of inked) {
          expect(columns).toHaveLength(steps.length);
          columns.forEach((ink, t) => expect(ink, `${name}: step ${t} (${JSON.stringify(steps[t])}) has a label`).toBeGreaterThan(3));
        }
        // Hovering names the character of the step.
        await page.locator('#act-panel-0').scrollIntoViewIfNeeded();
        const box = (await page.locator('#act-panel-0').boundingBox())!;
        const h = await page.evaluate(() => (document.getElementById('act-panel-0') as unknown as { _hit: { x0: number; pw: number; top: number } })._hit);
        await page.mouse.move(box.x + h.x0 + (4.5 * h.pw) / steps.length, box.y + h.top + 10);
        await expect.poll(() => page.locator('.tip').textContent()).toMatch(new RegExp(`t 4 \\(${visibleChar(steps[4])}\\) · unit \\d+`));
        await page.mouse.move(0, 0);
        await page.screenshot({ path: join(dir, `report-${name}.png`), fullPage: true });
        await page.close();
        expect(errors, name).toEqual([]);
      }
    } finally {
      await browser.close();
    }
  });
});
