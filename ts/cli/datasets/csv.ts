/**
 * CSV time series: a header row of column names, then one row per time step of numeric cells. Strict on
 * purpose: a non-numeric cell is an error naming its line and column (a silently skipped row would shift
 * the series in time). Quoted fields are accepted for names; values must be plain numbers.
 */

import { CliError, closest, readUserFile } from '../args.js';

export interface CsvSeries {
  path: string;
  columns: string[];
  /** Column-major [column][row]. */
  values: number[][];
}

function splitLine(line: string, delimiter: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"' && cur.trim() === '') {
      quoted = true;
      cur = '';
    } else if (ch === delimiter) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

/** Reads and validates a numeric CSV file. */
export function readCsv(path: string): CsvSeries {
  const text = readUserFile(path, 'CSV file', 'utf8');
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const headerLine = lines.findIndex((l) => l.trim() !== '');
  if (headerLine < 0) throw new CliError(`CSV file ${path} is empty (expected a header row of column names, then numeric rows)`);
  const delimiter = lines[headerLine].includes(',') ? ',' : lines[headerLine].includes(';') ? ';' : lines[headerLine].includes('\t') ? '\t' : ',';
  const columns = splitLine(lines[headerLine], delimiter).map((c, i) => c || `column${i + 1}`);
  const values: number[][] = columns.map(() => []);
  for (let i = headerLine + 1; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const cells = splitLine(lines[i], delimiter);
    if (cells.length !== columns.length) {
      throw new CliError(`${path}:${i + 1}: expected ${columns.length} cells (${columns.join(', ')}), got ${cells.length}`);
    }
    cells.forEach((cell, c) => {
      const v = cell === '' ? NaN : Number(cell);
      if (!Number.isFinite(v)) {
        throw new CliError(
          `${path}:${i + 1}: column ${c + 1} ("${columns[c]}") is not a number: ${JSON.stringify(cell)} ` +
            '(every cell after the header must be numeric; drop or convert text columns such as dates)',
        );
      }
      values[c].push(v);
    });
  }
  if (values[0].length === 0) throw new CliError(`CSV file ${path} has a header but no data rows`);
  return { path, columns, values };
}

/** Index of `target` (a column name or 1-based number); default the last column. */
export function targetColumn(csv: CsvSeries, target: string | undefined): number {
  if (target === undefined) return csv.columns.length - 1;
  const byName = csv.columns.indexOf(target);
  if (byName >= 0) return byName;
  const n = Number(target);
  if (Number.isInteger(n) && n >= 1 && n <= csv.columns.length) return n - 1;
  const hint = closest(target, csv.columns);
  throw new CliError(
    `--target "${target}" is not a column of ${csv.path}; its columns are ${csv.columns.join(', ')}` + (hint ? ` (did you mean ${hint}?)` : ''),
  );
}
