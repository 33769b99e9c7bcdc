/**
 * Renders a training report (`ReportData`, see ./report-data.ts) as ONE self-contained HTML file: all CSS
 * and JS inline, no network needed to open it, and a Content-Security-Policy that forbids any fetch anyway.
 *
 * Charting choice: line charts (loss, gradient norm, forecast) use uPlot — 50 KB minified, canvas-based,
 * MIT, with real log-scale axes, hover legends and drag-to-zoom, which a hand-written SVG writer would
 * have to re-implement. Its IIFE bundle is read from node_modules at render time and inlined. Heatmaps
 * (activations, units × time) are drawn on <canvas> by the report's own script (./report/client.ts) with
 * viridis / diverging colour maps (./report/colormap.ts): charting libraries do heatmaps poorly. The
 * confusion matrix is an HTML table with shaded cells, so its counts stay readable and selectable.
 *
 * Safety: every string from the data (title, config, dataset text, class names, panel names) is escaped
 * here or written with textContent/fillText in the page; the JSON payload escapes `<` so nothing in it can
 * close its <script> element.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, shapeError, typeError, valueError } from '../errors.js';
import type { ReportData } from './report-data.js';
import { CLIENT_JS } from './report/client.js';
import { DIVERGING, VIRIDIS, cssRgb, luminance, sampleColour } from './report/colormap.js';
import { REPORT_CSS } from './report/style.js';

export type { ReportData } from './report-data.js';

interface UplotAssets { js: string; css: string; version: string }
let uplotAssets: UplotAssets | undefined;

/** uPlot's browser bundle and stylesheet, read once from the installed package. */
function loadUplot(): UplotAssets {
  if (uplotAssets) return uplotAssets;
  const require = createRequire(import.meta.url);
  const read = (spec: string): string => readFileSync(require.resolve(spec), 'utf8');
  // `</script` cannot occur in the bundle's code, only in its strings or comments, where `<\/` reads the same.
  const js = read('uplot/dist/uPlot.iife.min.js').replace(/<\/(script)/gi, '<\\/$1');
  const css = read('uplot/dist/uPlot.min.css').replace(/<\/(style)/gi, '<\\/$1');
  const version = String((JSON.parse(read('uplot/package.json')) as { version?: unknown }).version ?? '?');
  uplotAssets = { js, css, version };
  return uplotAssets;
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A number as people read it in a table: integers whole, others to 4 significant digits. */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3).replace('e+', 'e');
  return String(Number(v.toPrecision(4)));
}

// ------------------------------------------------------------------------------------------ validation

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkNumbers(arg: string, v: unknown): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) {
    throw typeError(arg, 'an array of numbers', describe(v));
  }
  return v as number[];
}

function checkString(arg: string, v: unknown): string {
  if (typeof v !== 'string') throw typeError(arg, 'a string', describe(v));
  return v;
}

/**
 * Checks the parts the page script indexes into (shapes must agree), so a malformed report fails here
 * with the argument named instead of drawing garbage or throwing inside the browser.
 */
function validate(data: ReportData): void {
  if (!isObject(data)) throw typeError('data', 'a ReportData object', describe(data));
  checkString('data.title', data.title);
  checkString('data.createdAt', data.createdAt);
  checkString('data.command', data.command);
  if (!isObject(data.config)) throw typeError('data.config', 'an object of string | number | boolean', describe(data.config));
  for (const [k, v] of Object.entries(data.config)) {
    if (!['string', 'number', 'boolean'].includes(typeof v)) {
      throw typeError(`data.config.${k}`, 'a string, number or boolean', describe(v));
    }
  }
  if (!isObject(data.backend)) throw typeError('data.backend', '{ name, isa }', describe(data.backend));
  checkString('data.backend.name', data.backend.name);
  checkString('data.backend.isa', data.backend.isa);
  if (data.modelPath !== undefined) checkString('data.modelPath', data.modelPath);
  if (!isObject(data.history)) throw typeError('data.history', '{ loss, valLoss?, gradNorm? }', describe(data.history));
  checkNumbers('data.history.loss', data.history.loss);
  if (data.history.valLoss !== undefined) checkNumbers('data.history.valLoss', data.history.valLoss);
  if (data.history.gradNorm !== undefined) checkNumbers('data.history.gradNorm', data.history.gradNorm);

  const f = data.forecast;
  if (f !== undefined) {
    checkNumbers('data.forecast.truth', f.truth);
    checkNumbers('data.forecast.predicted', f.predicted);
    if (typeof f.startIndex !== 'number' || !Number.isFinite(f.startIndex)) {
      throw typeError('data.forecast.startIndex', 'a finite number', describe(f.startIndex));
    }
    checkString('data.forecast.label', f.label);
    for (const [k, b] of (f.baselines ?? []).entries()) {
      checkString(`data.forecast.baselines[${k}].name`, b.name);
      checkNumbers(`data.forecast.baselines[${k}].values`, b.values);
    }
    if (f.band !== undefined) {
      checkNumbers('data.forecast.band.lower', f.band.lower);
      checkNumbers('data.forecast.band.upper', f.band.upper);
    }
    if (f.dates !== undefined) {
      checkNumbers('data.forecast.dates', f.dates);
      if (f.dates.length !== f.truth.length) throw typeError('data.forecast.dates', `one date per truth value (${f.truth.length})`, `${f.dates.length} dates`);
    }
  }
  if (data.samples !== undefined) {
    if (!Array.isArray(data.samples)) throw typeError('data.samples', 'an array of { prompt, text, temperature }', describe(data.samples));
    data.samples.forEach((s, i) => {
      checkString(`data.samples[${i}].prompt`, s.prompt);
      checkString(`data.samples[${i}].text`, s.text);
      if (typeof s.temperature !== 'number') throw typeError(`data.samples[${i}].temperature`, 'a number', describe(s.temperature));
    });
  }
  const cs = data.charScores;
  if (cs !== undefined) {
    checkString('data.charScores.split', cs.split);
    for (const k of ['model', 'unigram', 'bigram'] as const) {
      const row = cs[k];
      if (row === undefined && k === 'model') throw typeError('data.charScores.model', '{ natsPerChar, bitsPerChar, perplexity }', 'undefined');
      if (row !== undefined) checkNumbers(`data.charScores.${k}`, [row.natsPerChar, row.bitsPerChar, row.perplexity]);
    }
  }
  const c = data.classification;
  if (c !== undefined) {
    if (!Array.isArray(c.classes) || !c.classes.every((x) => typeof x === 'string')) {
      throw typeError('data.classification.classes', 'an array of strings', describe(c.classes));
    }
    const k = c.classes.length;
    if (!Array.isArray(c.confusion) || c.confusion.length !== k) {
      throw shapeError('data.classification.confusion', `${k} rows (one per class)`, describe(c.confusion));
    }
    c.confusion.forEach((row, i) => {
      const r = checkNumbers(`data.classification.confusion[${i}]`, row);
      if (r.length !== k) throw shapeError(`data.classification.confusion[${i}]`, `${k} columns`, `${r.length}`);
      if (!r.every((x) => Number.isFinite(x) && x >= 0)) {
        throw valueError(`data.classification.confusion[${i}]`, 'counts must be finite and non-negative');
      }
    });
    if (typeof c.accuracy !== 'number') throw typeError('data.classification.accuracy', 'a number', describe(c.accuracy));
  }
  const a = data.activations;
  if (a !== undefined) {
    const T = a.steps;
    if (!Number.isInteger(T) || T < 1) throw valueError('data.activations.steps', `must be a positive integer, got ${describe(T)}`);
    if (a.inputLabel !== undefined) checkString('data.activations.inputLabel', a.inputLabel);
    if (a.input !== undefined && checkNumbers('data.activations.input', a.input).length !== T) {
      throw shapeError('data.activations.input', `length ${T} (steps)`, `length ${a.input.length}`);
    }
    if (a.inputChars !== undefined) {
      if (!Array.isArray(a.inputChars) || !a.inputChars.every((c) => typeof c === 'string')) {
        throw typeError('data.activations.inputChars', 'an array of strings', describe(a.inputChars));
      }
      if (a.inputChars.length !== T) throw shapeError('data.activations.inputChars', `length ${T} (steps)`, `length ${a.inputChars.length}`);
    }
    if (!Array.isArray(a.panels)) throw typeError('data.activations.panels', 'an array', describe(a.panels));
    a.panels.forEach((p, i) => {
      const arg = `data.activations.panels[${i}]`;
      checkString(`${arg}.name`, p.name);
      if (!['hidden', 'cell', 'gate'].includes(p.kind)) {
        throw valueError(`${arg}.kind`, `must be 'hidden', 'cell' or 'gate', got ${describe(p.kind)}`);
      }
      if (!Number.isInteger(p.units) || p.units < 1) throw valueError(`${arg}.units`, `must be a positive integer, got ${describe(p.units)}`);
      if (!Array.isArray(p.values) || p.values.length !== T) {
        throw shapeError(`${arg}.values`, `[${T}][${p.units}] (steps × units)`, Array.isArray(p.values) ? `${p.values.length} rows` : describe(p.values));
      }
      p.values.forEach((row, t) => {
        if (checkNumbers(`${arg}.values[${t}]`, row).length !== p.units) {
          throw shapeError(`${arg}.values[${t}]`, `${p.units} units`, `${row.length}`);
        }
      });
      const r = p.range;
      if (!Array.isArray(r) || r.length !== 2 || !r.every(Number.isFinite) || !(r[0] < r[1])) {
        throw valueError(`${arg}.range`, `must be [lo, hi] with finite lo < hi, got ${describe(r)}`);
      }
    });
  }
  if (data.metrics !== undefined) {
    if (!isObject(data.metrics)) throw typeError('data.metrics', 'an object of numbers', describe(data.metrics));
    for (const [k, v] of Object.entries(data.metrics)) {
      if (typeof v !== 'number') throw typeError(`data.metrics.${k}`, 'a number', describe(v));
    }
  }
}

// ------------------------------------------------------------------------------------------ sections

/** JSON has no NaN/Infinity: non-finite values become null, which the charts draw as gaps. */
function finiteOrNull(xs: readonly number[]): Array<number | null> {
  return xs.map((x) => (Number.isFinite(x) ? x : null));
}

/** Heatmap cells only need colour precision: 4 decimals keep big activation payloads about half the size. */
function rounded(xs: readonly number[]): Array<number | null> {
  return xs.map((x) => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null));
}

function finite(xs: readonly number[]): number[] {
  return xs.filter(Number.isFinite);
}

/** Log axis by default when the curve spans more than a decade (it usually does for a loss). */
function spansDecade(xs: readonly number[]): boolean {
  const f = finite(xs);
  return f.length > 1 && f.every((x) => x > 0) && Math.max(...f) / Math.min(...f) > 10;
}

function firstNonFinite(xs: readonly number[]): number {
  return xs.findIndex((x) => !Number.isFinite(x));
}

/** The clipping threshold, if the config has one (any positive numeric key mentioning "clip"). */
function clipThreshold(config: ReportData['config']): number | undefined {
  for (const [k, v] of Object.entries(config)) {
    if (/clip/i.test(k) && typeof v === 'number' && Number.isFinite(v) && v > 0) return v;
  }
  return undefined;
}

function checkbox(id: string, checked: boolean): string {
  return `<label><input type="checkbox" id="${id}"${checked ? ' checked' : ''}> log scale</label>`;
}

function lossSection(h: ReportData['history']): string {
  const notes: string[] = [];
  const n = h.loss.length;
  if (n === 0) {
    return `<section class="card"><h2>Loss</h2><p class="note">No epochs were recorded.</p></section>`;
  }
  notes.push(`final train loss ${escapeHtml(formatNumber(h.loss[n - 1]))}`);
  if (h.valLoss && finite(h.valLoss).length > 0) {
    let best = -1;
    h.valLoss.forEach((v, i) => { if (Number.isFinite(v) && (best < 0 || v < h.valLoss![best])) best = i; });
    notes.push(`best validation loss ${escapeHtml(formatNumber(h.valLoss[best]))} at epoch ${best + 1}`);
  }
  const bad = firstNonFinite(h.loss);
  if (bad >= 0) notes.push(`<span class="warn">loss became non-finite at epoch ${bad + 1}</span>`);
  return `<section class="card"><h2>Loss per epoch ${checkbox('log-loss', spansDecade([...h.loss, ...(h.valLoss ?? [])]))}</h2>
<p class="note">${notes.join(' · ')}</p><div class="chart plot" id="plot-loss"></div></section>`;
}

function gradSection(g: number[], clip: number | undefined): string {
  const f = finite(g);
  const notes: string[] = [];
  if (f.length > 0) {
    const lo = Math.min(...f);
    const hi = Math.max(...f);
    notes.push(`first ${formatNumber(g[0])}, last ${formatNumber(g[g.length - 1])}, range ${formatNumber(lo)} – ${formatNumber(hi)}`);
    if (lo > 0 && hi / lo >= 1e3) notes.push(`<span class="warn">spans ${Math.floor(Math.log10(hi / lo))} orders of magnitude</span>`);
    if (hi > 0 && f[f.length - 1] < 1e-4 * hi) notes.push('<span class="warn">norm collapsed (vanishing gradients?)</span>');
  }
  const bad = firstNonFinite(g);
  if (bad >= 0) notes.push(`<span class="warn">non-finite at epoch ${bad + 1} (exploding gradients)</span>`);
  if (clip !== undefined) notes.push(`clipped at ${escapeHtml(formatNumber(clip))} (dashed)`);
  return `<section class="card"><h2>Gradient global norm ${checkbox('log-grad', true)}</h2>
<p class="note">Mean L2 norm of all gradients per epoch, before clipping. ${notes.join(' · ')}</p>
<div class="chart plot" id="plot-grad"></div></section>`;
}

function forecastSection(f: NonNullable<ReportData['forecast']>): string {
  const n = Math.min(f.truth.length, f.predicted.length);
  let se = 0;
  let ae = 0;
  let m = 0;
  for (let i = 0; i < n; i++) {
    const d = f.predicted[i] - f.truth[i];
    if (Number.isFinite(d)) { se += d * d; ae += Math.abs(d); m++; }
  }
  // With a score table (rnnkit train), the numbers come from it; the RMSE of the drawn line is then the h = 1 row.
  const err = f.table ? '' : m > 0 ? ` · RMSE ${formatNumber(Math.sqrt(se / m))} · MAE ${formatNumber(ae / m)} over ${m} steps shown` : ' · no overlapping steps';
  const table = f.table
    ? `<table class="scores plot" id="forecast-table"><tr><th>held-out RMSE</th>${f.table.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>` +
      f.table.rows.map((r) => `<tr><td>${escapeHtml(r.label)}</td>${r.values.map((v) => `<td>${escapeHtml(formatNumber(v))}</td>`).join('')}</tr>`).join('') +
      '</table>'
    : '';
  const verdict = f.verdict ? `<p class="note${f.verdict.warn ? ' warn' : ''}">${escapeHtml(f.verdict.text)}</p>` : '';
  const definition = f.definition ? `<p class="note">${escapeHtml(f.definition)}</p>` : '';
  return `<section class="card wide"><h2>Forecast vs truth</h2>
<p class="note">${escapeHtml(f.label)}${escapeHtml(err)}</p><div class="chart plot" id="plot-forecast"></div>
${verdict}${table}${definition}</section>`;
}

function samplesSection(samples: NonNullable<ReportData['samples']>): string {
  const items = samples.map((s, i) => `<div class="sample-item"><div class="sample-head">sample ${i + 1} · temperature ${escapeHtml(formatNumber(s.temperature))} · ${Array.from(s.text).length} characters generated</div>
<pre class="sample"><span class="prompt">${escapeHtml(s.prompt)}</span>${escapeHtml(s.text)}</pre></div>`);
  return `<section class="card wide"><h2>Sampled text</h2>
<p class="note">Continuations of the prompt (highlighted), sampled from the trained model: lower temperature keeps to likelier characters.</p>
<div class="plot samples" id="plot-sample">${items.join('\n')}</div></section>`;
}

function charScoresSection(c: NonNullable<ReportData['charScores']>): string {
  const rows: Array<[string, string, NonNullable<typeof c.unigram>]> = [['model', 'the trained network', c.model]];
  if (c.unigram) rows.push(['unigram baseline', c.smoothing.unigram, c.unigram]);
  if (c.bigram) rows.push(['bigram baseline', c.smoothing.bigram, c.bigram]);
  const body = rows
    .map(([name, how, r]) => `<tr><th>${escapeHtml(name)}</th>${[r.natsPerChar, r.bitsPerChar, r.perplexity].map((v) => `<td>${escapeHtml(formatNumber(v))}</td>`).join('')}<td class="how">${escapeHtml(how)}</td></tr>`)
    .join('\n');
  const notes = [`on the same ${c.characters} ${escapeHtml(c.split)} characters; baselines fitted on the training text`];
  if (!c.unigram) notes.push('no baselines: the model file stores no training counts');
  if (c.warning) notes.push(`<span class="warn">${escapeHtml(c.warning)}</span>`);
  return `<section class="card wide"><h2>Loss per character</h2>
<p class="note">${notes.join(' · ')}</p>
<table class="scores char-scores plot" id="plot-char-scores"><tr><th></th><th>nats/char</th><th>bits/char</th><th>perplexity</th><th class="how">smoothing</th></tr>
${body}</table></section>`;
}

/**
 * A character as a readable axis label: space ␣, newline ⏎, tab ⇥, carriage return \r, other control
 * characters in caret notation (^G; control-picture glyphs are missing from common monospace fonts),
 * other invisible characters as \u{…}.
 */
export function visibleChar(c: string): string {
  const named: Record<string, string> = { ' ': '␣', '\n': '⏎', '\t': '⇥', '\r': '\\r' };
  if (named[c] !== undefined) return named[c];
  const code = c.codePointAt(0) ?? 0;
  if (code < 0x20 || code === 0x7f) return `^${String.fromCharCode(code ^ 0x40)}`;
  if (/^[\p{Cc}\p{Cf}\p{M}\p{Z}\p{Co}\p{Cn}]$/u.test(c)) return `\\u{${code.toString(16)}}`;
  return c;
}

function confusionSection(c: NonNullable<ReportData['classification']>): string {
  // Rows are true classes, columns predictions; shade by the row-normalised share (per-class recall).
  const head = c.classes.map((name) => `<th>${escapeHtml(name)}</th>`).join('');
  const rows = c.confusion.map((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    const cells = row.map((count) => {
      const share = total > 0 ? count / total : 0;
      const bg = sampleColour(VIRIDIS, share);
      const fg = luminance(bg) > 0.5 ? '#111' : '#fff';
      const pct = total > 0 ? ` (${Math.round(share * 100)}%)` : '';
      return `<td style="background:${cssRgb(bg)};color:${fg}" title="${escapeHtml(`${count}${pct}`)}">${escapeHtml(formatNumber(count))}</td>`;
    }).join('');
    return `<tr><th>${escapeHtml(c.classes[i])}</th>${cells}</tr>`;
  }).join('\n');
  return `<section class="card wide"><h2>Confusion matrix</h2>
<p class="note">accuracy ${escapeHtml(formatNumber(c.accuracy * 100))}% · rows: true class, columns: predicted · shade: share of the row</p>
<table class="confusion plot" id="plot-confusion"><tr><th class="axis">true \\ predicted</th>${head}</tr>
${rows}</table></section>`;
}

function activationSection(a: NonNullable<ReportData['activations']>): string {
  const kinds = { hidden: 'hidden state', cell: 'cell state', gate: 'gate', output: 'layer output', attention: 'attention weights' } as const;
  const input = a.input
    ? `<div class="act-block"><h3>input <span class="kind">${escapeHtml(a.inputLabel ?? 'first feature')}</span></h3><canvas id="act-input"></canvas></div>`
    : '';
  // Read as text here (spaces as spaces); under the heatmaps each character labels its own column.
  const chars = a.inputChars
    ? `<div class="act-block"><h3>${escapeHtml(a.inputLabel ?? 'input')} <span class="kind">${a.steps} characters, each labelling its column under every heatmap${a.steps > 100 ? ' (at 10 px a column: scroll the heatmaps sideways)' : ''}</span></h3><pre class="input-text">${escapeHtml(a.inputChars.map((c) => (c === ' ' ? c : visibleChar(c))).join(''))}</pre></div>`
    : '';
  const panels = a.panels.map((p, i) => `<div class="act-block"><h3>${escapeHtml(p.name)} <span class="kind">${kinds[p.kind]} · ${p.units} units · colour scale ${escapeHtml(formatNumber(p.range[0]))} … ${escapeHtml(formatNumber(p.range[1]))}</span></h3><canvas id="act-panel-${i}"></canvas></div>`).join('\n');
  return `<section class="card wide"><h2>Activations over time</h2>
<p class="note">One input sequence of ${a.steps} steps through the trained network: each row is a unit, each column a time step (aligned with the input above). Hover for values.</p>
<div class="plot" id="plot-activations">${input}${chars}\n${panels}</div></section>`;
}

function kvTable(entries: Array<[string, string]>): string {
  return `<table class="kv">${entries.map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(v)}</td></tr>`).join('')}</table>`;
}

/** Safe inside <script type="application/json">: `<` never appears raw, so `</script>` cannot either. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

// ------------------------------------------------------------------------------------------ document

/** A complete, self-contained HTML document for one training run. Throws (naming the field) on malformed data. */
export function renderReport(data: ReportData): string {
  validate(data);
  const uplot = loadUplot();
  const h = data.history;
  const clip = clipThreshold(data.config);

  const payload = {
    colormaps: { viridis: VIRIDIS, diverging: DIVERGING },
    clip: clip ?? null,
    history: {
      loss: finiteOrNull(h.loss),
      valLoss: h.valLoss ? finiteOrNull(h.valLoss) : undefined,
      gradNorm: h.gradNorm ? finiteOrNull(h.gradNorm) : undefined,
    },
    forecast: data.forecast
      ? {
          truth: finiteOrNull(data.forecast.truth),
          predicted: finiteOrNull(data.forecast.predicted),
          startIndex: data.forecast.startIndex,
          baselines: data.forecast.baselines?.map((b) => ({ name: b.name, values: finiteOrNull(b.values) })),
          band: data.forecast.band
            ? { lower: finiteOrNull(data.forecast.band.lower), upper: finiteOrNull(data.forecast.band.upper), label: `${Math.round(data.forecast.band.level * 100)}% interval` }
            : undefined,
          // uPlot's time scale counts seconds.
          ...(data.forecast.dates ? { dates: data.forecast.dates.map((ms) => ms / 1000) } : {}),
        }
      : undefined,
    activations: data.activations
      ? {
          steps: data.activations.steps,
          input: data.activations.input ? finiteOrNull(data.activations.input) : undefined,
          labels: data.activations.inputChars?.map(visibleChar),
          panels: data.activations.panels.map((p) => ({
            name: p.name, units: p.units, range: p.range, values: p.values.map(rounded),
          })),
        }
      : undefined,
  };

  const metrics = Object.entries(data.metrics ?? {});
  const metricCards = metrics.length
    ? `<div class="metrics">${metrics.map(([k, v]) => `<div class="metric"><div class="k">${escapeHtml(k)}</div><div class="v">${escapeHtml(formatNumber(v))}</div></div>`).join('')}</div>`
    : '';

  const runInfo: Array<[string, string]> = [
    ['backend', `${data.backend.name} (${data.backend.isa})`],
    ['created', data.createdAt],
    ['epochs', String(h.loss.length)],
  ];
  if (data.modelPath !== undefined) runInfo.push(['model', data.modelPath]);
  const config = Object.entries(data.config).map(([k, v]): [string, string] => [k, typeof v === 'number' ? formatNumber(v) : String(v)]);

  const sections = [
    lossSection(h),
    h.gradNorm ? gradSection(h.gradNorm, clip) : '',
    data.forecast ? forecastSection(data.forecast) : '',
    data.charScores ? charScoresSection(data.charScores) : '',
    data.samples?.length ? samplesSection(data.samples) : '',
    data.classification ? confusionSection(data.classification) : '',
    data.activations ? activationSection(data.activations) : '',
    `<section class="card wide"><h2>Configuration</h2><div class="kv-cols">${kvTable(runInfo)}${config.length ? kvTable(config) : ''}</div></section>`,
  ].filter(Boolean);
  // A lone half-width chart (no gradient norms) would leave a hole beside it: let it span the row.
  if (!h.gradNorm) sections[0] = sections[0].replace('<section class="card">', '<section class="card wide">');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(data.title)}</title>
<style>${uplot.css}</style>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
<header>
<h1>${escapeHtml(data.title)}</h1>
<div class="meta"><span><time datetime="${escapeHtml(data.createdAt)}">${escapeHtml(data.createdAt)}</time></span><span>backend ${escapeHtml(data.backend.name)} (${escapeHtml(data.backend.isa)})</span>${data.modelPath !== undefined ? `<span>model ${escapeHtml(data.modelPath)}</span>` : ''}</div>
<pre class="cmd">$ ${escapeHtml(data.command)}</pre>
</header>
${metricCards}
<div class="grid">
${sections.join('\n')}
</div>
<footer>Generated by rnnkit · charts by uPlot ${escapeHtml(uplot.version)} (MIT) · this file is self-contained and works offline.</footer>
</main>
<script type="application/json" id="report-data">${jsonForScript(payload)}</script>
<script>${uplot.js}</script>
<script>${CLIENT_JS}</script>
</body>
</html>
`;
}
