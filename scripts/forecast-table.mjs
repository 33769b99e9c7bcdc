// Trains `rnnkit train --csv` with default flags on real public series from vega-datasets, read as the
// files come (date column, text columns, gaps: the CSV reader handles them), and prints the README's
// "Forecasting real series" table: held-out RMSE of the model next to persistence and seasonal naive on
// the same points, and the season used with where it came from (calendar or acf).
// Usage: npm run build:ts && node scripts/forecast-table.mjs
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const data = join(root, 'node_modules/vega-datasets/data');
const main = join(root, 'dist/cli/main.js');

const SERIES = [
  { file: 'co2-concentration.csv', column: 'CO2', kind: 'monthly, trend + season' },
  { file: 'seattle-weather.csv', column: 'temp_max', kind: 'daily weather' },
  { file: 'us-employment.csv', column: 'nonfarm', kind: 'monthly, recession and recovery' },
  { file: 'sp500.csv', column: 'price', kind: 'monthly stock index (near random walk)' },
];

const dir = mkdtempSync(join(tmpdir(), 'rnnkit-forecast-table-'));
const fmt = (x) => (x === undefined ? '—' : Number(x.toPrecision(4)).toString());
const lines = [
  '| series | kind | rows | held-out points | model RMSE | persistence RMSE | seasonal-naive RMSE | skill (model / better baseline) | season (from) | transform | train time |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
];
try {
  for (const s of SERIES) {
    const args = ['train', '--csv', join(data, s.file), '--target', s.column, '--json', '--out', join(dir, 'm.safetensors'), '--report', join(dir, 'r.html')];
    const out = execFileSync(process.execPath, [main, ...args], { encoding: 'utf8' });
    const events = out.trim().split('\n').map((l) => JSON.parse(l));
    const start = events.find((e) => e.event === 'start');
    const done = events.find((e) => e.event === 'done');
    const f = done.forecast;
    const transform = start.notes.find((n) => n.startsWith('transform ')).split(' ')[1];
    const seasonNote = start.notes.find((n) => /^(season|no season)/.test(n));
    const season = /^season (\d+) rows \((calendar|acf)/.exec(seasonNote);
    const rows = Number(/: (\d+) rows/.exec(start.data)[1]);
    const verdict = f.beatsBaselines ? '' : ' **loses**';
    lines.push(
      `| ${s.file} \`${s.column}\` | ${s.kind} | ${rows} | ${f.points} | ${fmt(f.model.rmse)} | ${fmt(f.persistence.rmse)} | ` +
        `${fmt(f.seasonalNaive?.rmse)} | ${f.skillRmseRatio.toFixed(2)}${verdict} | ${season ? `${season[1]} (${season[2]})` : 'none'} | ${transform} | ${done.seconds.toFixed(1)} s |`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(lines.join('\n'));
