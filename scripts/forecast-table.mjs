// Trains `rnnkit train --csv` with default flags on real public series from vega-datasets and prints the
// README's "Forecasting real series" table: held-out RMSE of the model next to persistence and seasonal
// naive on the same points. Usage: npm run build:ts && node scripts/forecast-table.mjs
// Until the CSV reader takes date and text columns, each series is first copied to a numeric CSV (its
// target column only) in a temp dir; the table says which column of which file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  '| series | kind | rows | held-out points | model RMSE | persistence RMSE | seasonal-naive RMSE | skill (model / better baseline) | transform | train time |',
  '|---|---|---|---|---|---|---|---|---|---|',
];
try {
  for (const s of SERIES) {
    const [head, ...rows] = readFileSync(join(data, s.file), 'utf8').trim().split('\n');
    const c = head.split(',').indexOf(s.column);
    const values = rows.map((r) => r.split(',')[c]); // these files have no quoted fields
    const csv = join(dir, `${s.column}.csv`);
    writeFileSync(csv, `${s.column}\n${values.join('\n')}\n`);
    const out = execFileSync(process.execPath, [main, 'train', '--csv', csv, '--json', '--out', join(dir, 'm.safetensors'), '--report', join(dir, 'r.html')], { encoding: 'utf8' });
    const events = out.trim().split('\n').map((l) => JSON.parse(l));
    const start = events.find((e) => e.event === 'start');
    const done = events.find((e) => e.event === 'done');
    const f = done.forecast;
    const transform = start.notes.find((n) => n.startsWith('transform ')).split(' ')[1];
    const season = f.seasonalNaive ? ` (${f.seasonalNaive.period})` : ' (no season found)';
    const verdict = f.beatsBaselines ? '' : ' **loses**';
    lines.push(
      `| ${s.file} \`${s.column}\` | ${s.kind} | ${values.length} | ${f.points} | ${fmt(f.model.rmse)} | ${fmt(f.persistence.rmse)} | ` +
        `${fmt(f.seasonalNaive?.rmse)}${season} | ${f.skillRmseRatio.toFixed(2)}${verdict} | ${transform} | ${done.seconds.toFixed(1)} s |`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(lines.join('\n'));
