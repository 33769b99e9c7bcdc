/**
 * CSV time series as real files come: parsed by `csv-parse` (quoted fields, BOM, CRLF; `,` `;` or tab,
 * detected from the header or a spreadsheet's `sep=` line), a date/time column found automatically or named with --date, text columns
 * ignored with a notice, numeric columns chosen with --columns / --exclude, and missing values (empty or
 * NA cells, rows missing from the date grid) handled by an explicit --missing policy (missing.ts). Every
 * automatic choice becomes a line in `notices`, which the commands print and put in their JSON output.
 * Strict where guessing would shift the series in time: a ragged row, a stray word in a numeric column,
 * or dates out of order are errors naming the line.
 */

import { parse } from 'csv-parse/sync';

import { CliError, closest, readUserFile } from '../args.js';
import { addSteps, dateFormatter, inferFrequency, isYearName, parseDateColumn, stepsBetween, type DateColumn, type Frequency } from './calendar.js';
import { applyMissingPolicy, assertFinite, type GappyTable, type MissingPolicy } from './missing.js';

export interface CsvOptions {
  /** Column to forecast: a name or a 1-based column number of the file; default the last numeric column used. */
  target?: string;
  /** The date/time column by name (default: detected). */
  date?: string;
  /** No date column, even if one is detected. */
  noDate?: boolean;
  /** Keep only these numeric columns (the target is added if missing). */
  columns?: readonly string[];
  /** Drop these numeric columns. */
  exclude?: readonly string[];
  /**
   * The model's inputs besides the target (--covariates; [] = the target's own history): only these and
   * the target are read, so other columns' gaps never drop or trim rows. Undefined: every used column.
   */
  covariates?: readonly string[];
  missing?: MissingPolicy;
  /** Who named `columns` and `target`, for error messages: the user's flags (default) or a saved model. */
  namedBy?: 'flags' | 'model';
  /** The date column a saved model was trained with: used when `date` is not given and `noDate` is not set. */
  modelDate?: string;
}

export interface CsvSeries {
  path: string;
  /** The numeric columns used, in file order. */
  columns: string[];
  /** Column-major [column][row], every value finite. */
  values: number[][];
  /** Index into `columns` of the target. */
  targetIndex: number;
  /** Epoch ms (UTC) per row, when the file has a date column. */
  dates?: number[];
  dateColumn?: string;
  frequency?: Frequency;
  /** One line per automatic choice (date column, ignored columns, missing values, ...). */
  notices: string[];
}

/** Cells that mean "no value". */
const MISSING = new Set(['', 'na', 'n/a', 'nan', 'null', '?']);
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const DECIMAL_COMMA = /^[+-]?\d+,\d+$/;
/** A date grid may at most add this many rows per row of the file (a 1-second series with a day-long gap would add 86 400). */
const MAX_GRID_FILL = 10;

/**
 * The delimiter: the one a spreadsheet's `sep=;` first line names (that line is then skipped), else the
 * one with the most occurrences outside quotes in the header line (comma on a tie or none).
 */
function detectDelimiter(text: string): { delimiter: string; fromLine: number } {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const sep = /^sep=(.)$/.exec(lines[0] ?? '');
  if (sep) return { delimiter: sep[1], fromLine: 2 };
  const line = lines.find((l) => l.trim() !== '') ?? '';
  const counts: Record<string, number> = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch in counts) counts[ch]++;
  }
  return { delimiter: [',', ';', '\t'].reduce((best, d) => (counts[d] > counts[best] ? d : best), ','), fromLine: 1 };
}

/** Rows of cells with the file line where each ends; csv-parse's errors become CliErrors naming the file. */
function records(path: string, text: string, { delimiter, fromLine }: { delimiter: string; fromLine: number }): Array<{ cells: string[]; line: number }> {
  const lines: number[] = [];
  let cells: string[][];
  try {
    // Line numbers through on_record, not `info: true`: the latter copies an info object per record (3.5× slower on 200k rows).
    const onRecord = (record: string[], context: { lines: number }) => {
      lines.push(context.lines);
      return record;
    };
    cells = parse(text, { delimiter, from_line: fromLine, bom: true, relax_column_count: true, skip_empty_lines: true, trim: true, on_record: onRecord });
  } catch (e) {
    throw new CliError(`${path}: not a readable CSV file: ${(e as Error).message}`);
  }
  return cells.map((c, i) => ({ cells: c, line: lines[i] }));
}

/** A column the user named (`flag` says which flag): exact, then case-insensitive, then a 1-based number; else an error with the closest name. */
function columnByName(path: string, header: string[], name: string, flag: string, allowNumber: boolean): number {
  let i = header.indexOf(name);
  if (i < 0) i = header.findIndex((h) => h.toLowerCase() === name.toLowerCase());
  const n = Number(name);
  if (i < 0 && allowNumber && Number.isInteger(n) && n >= 1 && n <= header.length) i = n - 1;
  if (i >= 0) return i;
  const hint = closest(name, header);
  throw new CliError(`${flag} "${name}" is not a column of ${path}; its columns are ${header.join(', ')}` + (hint ? ` (did you mean ${hint}?)` : ''));
}

type Kind = { kind: 'numeric'; values: number[] } | { kind: 'text'; example: string } | { kind: 'empty' };

/**
 * What a column holds: numeric (every present cell a number), text (mostly words: ignored), or empty.
 * A column of numbers with a few words in it is an error naming the first word's line: a typo there
 * would otherwise drop a whole column or shift values.
 */
function classify(path: string, name: string, c: number, cells: string[], lines: number[], decimalComma: boolean): Kind {
  const values: number[] = [];
  let firstWord = -1;
  let words = 0;
  let numbers = 0;
  cells.forEach((cell, r) => {
    if (MISSING.has(cell.toLowerCase())) return void values.push(NaN);
    const s = decimalComma && DECIMAL_COMMA.test(cell) ? cell.replace(',', '.') : cell;
    if (NUMBER.test(s)) {
      numbers++;
      values.push(Number(s));
    } else {
      words++;
      if (firstWord < 0) firstWord = r;
      values.push(NaN);
    }
  });
  if (words === 0) return numbers > 0 ? { kind: 'numeric', values } : { kind: 'empty' };
  if (words > numbers) return { kind: 'text', example: cells[firstWord] };
  throw new CliError(
    `${path}:${lines[firstWord]}: column ${c + 1} ("${name}") is not a number: ${JSON.stringify(cells[firstWord])} ` +
      `(the column's other cells are numbers; fix the cell, or leave it empty or NA to mark it missing)`,
  );
}

/** The date column: the one named by --date, else the first column whose cells all read as dates; undefined with --no-date or none. */
function findDateColumn(path: string, header: string[], columns: string[][], lines: number[], o: CsvOptions, notices: string[]): { index: number; col: DateColumn } | undefined {
  if (o.noDate && o.date !== undefined) throw new CliError('--date and --no-date contradict each other; give one');
  if (o.noDate) return undefined;
  const named = o.date ?? o.modelDate;
  if (named !== undefined) {
    const who = o.date !== undefined ? '--date' : "the model's date column";
    let index: number;
    try {
      index = columnByName(path, header, named, who, false);
    } catch (e) {
      throw o.date !== undefined ? e : new CliError(`${(e as Error).message}; give --date <column> to name this file's date column, or --no-date`);
    }
    const col = parseDateColumn(columns[index], true);
    if ('firstBad' in col) {
      const cells = columns[index];
      throw new CliError(
        `${who} ${header[index]}: ${path}:${lines[col.firstBad]}: ${JSON.stringify(cells[col.firstBad] ?? '')} is not a date in this column's format ` +
          '(expected one layout throughout, e.g. 2012-01-31, 2012-01-31T10:00, 1958-03, 01/31/2012, Jan 31 2012, 2012Q1, or a year like 1880)',
      );
    }
    return { index, col };
  }
  for (let index = 0; index < header.length; index++) {
    const col = parseDateColumn(columns[index], isYearName(header[index]));
    if (!('firstBad' in col)) {
      notices.push(`date column "${header[index]}" detected (${col.layout === 'year' ? 'years' : `${col.layout} dates`}; --date <column> names another, --no-date turns this off)`);
      return { index, col };
    }
  }
  return undefined;
}

/**
 * Rows in time order: dates strictly increasing, or strictly decreasing throughout (then reversed with a
 * notice). Returns the row order; a repeated or backward date is an error naming its line.
 */
function timeOrder(path: string, name: string, ms: number[], lines: number[], notices: string[], groups: (r: number) => string): number[] {
  const order = ms.map((_, r) => r);
  const empty = ms.findIndex((v) => Number.isNaN(v));
  if (empty >= 0) throw new CliError(`${path}:${lines[empty]}: the date column "${name}" is empty; every row needs its date (or pass --no-date)`);
  const fmt = dateFormatter(ms);
  const bad = ms.findIndex((v, r) => r > 0 && v <= ms[r - 1]);
  if (bad < 0) return order;
  const dup = ms.findIndex((v, r) => r > 0 && v === ms[r - 1]);
  if (dup >= 0) {
    const stacked = groups(dup);
    // A repeated clock time in a file without groups is typically local time where daylight saving ends.
    const dst = stacked === NO_GROUP && ms[dup] % 86_400_000 !== 0 ? ' (local clock times repeating where daylight saving time ends? give times in UTC or with an offset such as +01:00)' : stacked;
    throw new CliError(`${path}:${lines[dup]}: date ${fmt(ms[dup])} repeats the date on line ${lines[dup - 1]} (column "${name}"); each row must be one time step` + dst);
  }
  if (ms.every((v, r) => r === 0 || v < ms[r - 1])) {
    notices.push(`dates in "${name}" are sorted descending; rows reversed to oldest first`);
    return order.reverse();
  }
  throw new CliError(
    `${path}:${lines[bad]}: date ${fmt(ms[bad])} comes before the previous row's ${fmt(ms[bad - 1])} (column "${name}"); ` +
      'sort the file by date' + groups(bad),
  );
}

const NO_GROUP = ' (a file with several series stacked, one per group, must be split first)';

/** For an out-of-order row r: the text column that changes value there, as a hint that the file stacks several series. */
function stackHint(header: string[], cells: string[][], textColumns: number[]): (r: number) => string {
  return (r) => {
    const c = textColumns.find((k) => cells[k][r] !== cells[k][r - 1]);
    return c === undefined
      ? NO_GROUP
      : `; the file looks like several series stacked: column "${header[c]}" changes from ${JSON.stringify(cells[c][r - 1])} to ${JSON.stringify(cells[c][r])} here (split it, one file per series)`;
  };
}

type Kinds = Array<Kind | undefined>;

/**
 * Which numeric columns are used (file order) and which is the target: --columns / --exclude, then the
 * target (added to --columns when left out; default the last used column). Text and empty columns are
 * ignored with a notice unless the user listed the columns.
 */
function chooseColumns(path: string, header: string[], kinds: Kinds, dateIndex: number | undefined, o: CsvOptions, notices: string[]): { used: string[]; target: string } {
  const pick = (name: string, flag: string): string => {
    const c = columnByName(path, header, name, flag, false);
    const k = kinds[c];
    if (c === dateIndex) throw new CliError(`${flag} "${header[c]}" is the date column of ${path}, not a value to forecast from`);
    if (k?.kind === 'text') throw new CliError(`${flag} "${header[c]}": column ${header[c]} of ${path} is text (e.g. ${JSON.stringify(k.example)}), not numeric`);
    if (k?.kind === 'empty') throw new CliError(`${flag} "${header[c]}": column ${header[c]} of ${path} has no values`);
    return header[c];
  };
  const byModel = o.namedBy === 'model';
  let used = o.columns ? o.columns.map((n) => pick(n, byModel ? "the model's column" : '--columns')) : header.filter((_, c) => kinds[c]?.kind === 'numeric');
  const excluded = (o.exclude ?? []).map((n) => pick(n, '--exclude'));
  used = used.filter((n) => !excluded.includes(n));
  let target: string;
  if (o.target !== undefined) {
    const flag = byModel ? "the model's target" : '--target';
    target = pick(header[columnByName(path, header, o.target, flag, !byModel)], flag);
    if (excluded.includes(target)) throw new CliError(`--exclude "${target}" removes the --target column`);
    if (!used.includes(target)) {
      if (o.columns && !byModel) notices.push(`target "${target}" added to the --columns list`);
      used = [...used, target];
    }
  } else {
    if (used.length === 0) throw new CliError(`${path} has no numeric column to forecast (columns: ${header.join(', ')})`);
    target = used[used.length - 1];
  }
  if (o.covariates) {
    const inputs = o.covariates.map((n) => pick(n, '--covariates'));
    const dropped = inputs.find((n) => excluded.includes(n) || (o.columns !== undefined && !used.includes(n)));
    if (dropped !== undefined) throw new CliError(`--covariates "${dropped}" is left out by ${excluded.includes(dropped) ? '--exclude' : '--columns'}`);
    if (inputs.includes(target)) throw new CliError(`--covariates "${target}" is the target; covariates are the other columns fed as inputs`);
    const unread = used.filter((n) => n !== target && !inputs.includes(n));
    const names = unread.length > 4 ? `${unread.slice(0, 3).join(', ')} and ${unread.length - 3} more` : unread.join(', ');
    if (unread.length > 0) notices.push(`not reading numeric column(s) ${names}: the model forecasts ${target} from ${inputs.length > 0 ? `it and ${inputs.join(', ')}` : 'its own history'} (add inputs with --covariates)`);
    used = [target, ...inputs];
  }
  if (!o.columns) {
    header.forEach((name, c) => {
      if (kinds[c]?.kind === 'text') notices.push(`ignoring non-numeric column ${name} (text)`);
      if (kinds[c]?.kind === 'empty') notices.push(`ignoring column ${name} (no values)`);
    });
  }
  return { used: header.filter((h) => used.includes(h)), target };
}

/** Reads a CSV time series: the used numeric columns, the target, dates and frequency, and the notices. */
export function readCsv(path: string, o: CsvOptions = {}): CsvSeries {
  const text = readUserFile(path, 'CSV file', 'utf8');
  const format = detectDelimiter(text);
  const all = records(path, text, format);
  if (all.length === 0) throw new CliError(`CSV file ${path} is empty (expected a header row of column names, then one row per time step)`);
  const header = all[0].cells.map((c, i) => c || `column${i + 1}`);
  const dupName = header.find((h, i) => header.indexOf(h) !== i);
  if (dupName !== undefined) throw new CliError(`${path}:${all[0].line}: column name "${dupName}" appears twice in the header`);
  const notices: string[] = [];
  const rows = all.slice(1).filter((r) => r.cells.some((c) => c !== ''));
  if (rows.length < all.length - 1) notices.push(`skipped ${all.length - 1 - rows.length} row(s) with every cell empty`);
  for (const r of rows) {
    if (r.cells.length !== header.length) {
      throw new CliError(`${path}:${r.line}: expected ${header.length} cells (${header.join(', ')}), got ${r.cells.length}`);
    }
  }
  if (rows.length === 0) throw new CliError(`CSV file ${path} has a header but no data rows`);
  const lines = rows.map((r) => r.line);
  const cellsByColumn = header.map((_, c) => rows.map((r) => r.cells[c]));

  const date = findDateColumn(path, header, cellsByColumn, lines, o, notices);
  const decimalComma = format.delimiter === ';';
  const kinds: Kinds = header.map((name, c) => (c === date?.index ? undefined : classify(path, name, c, cellsByColumn[c], lines, decimalComma)));

  const { used, target } = chooseColumns(path, header, kinds, date?.index, o, notices);
  let table: GappyTable = {
    path,
    columns: used,
    values: used.map((n) => (kinds[header.indexOf(n)] as { values: number[] }).values),
    origin: lines,
    targetIndex: used.indexOf(target),
    insertedRows: 0,
  };
  let frequency: Frequency | undefined;
  if (date) {
    const textColumns = header.map((_, c) => c).filter((c) => kinds[c]?.kind === 'text');
    const order = timeOrder(path, header[date.index], date.col.ms, lines, notices, stackHint(header, cellsByColumn, textColumns));
    table = { ...table, values: table.values.map((col) => order.map((r) => col[r])), origin: order.map((r) => lines[r]), dates: order.map((r) => date.col.ms[r]) };
    if (table.dates!.length >= 2) {
      frequency = inferFrequency(table.dates!);
      table = frequency.regular ? fillGrid(table, frequency) : table;
    }
  }
  const datesNotice = notices.length;
  table = applyMissingPolicy(table, o.missing ?? 'interpolate', notices);
  assertFinite(table);
  if (frequency) {
    // Stated after the policy, so the range is the one used (trimmed or dropped rows excluded).
    const [d, fmt] = [table.dates!, dateFormatter(table.dates!, frequency)];
    const grid = frequency.regular ? '' : ' (no calendar grid: rows are steps, gaps are not filled)';
    notices.splice(datesNotice, 0, `dates: ${fmt(d[0])} to ${fmt(d[d.length - 1])}, ${frequency.label}${grid}`);
  }
  return {
    path,
    columns: table.columns,
    values: table.values,
    targetIndex: table.targetIndex,
    ...(date ? { dates: table.dates, dateColumn: header[date.index] } : {}),
    ...(frequency ? { frequency } : {}),
    notices,
  };
}

/** Rows for the steps a regular date grid lacks (all values missing), so a gap is a gap, not a shorter series. */
function fillGrid(t: GappyTable, f: Frequency): GappyTable {
  const dates = t.dates!;
  const gaps = dates.slice(1).map((d, i) => stepsBetween(dates[i], d, f) - 1);
  const inserted = gaps.reduce((a, b) => a + b, 0);
  if (inserted === 0) return t;
  if (inserted > MAX_GRID_FILL * dates.length) {
    throw new CliError(
      `${t.path}: the dates are ${f.label} but leave ${inserted} steps of the grid empty (more than ${MAX_GRID_FILL}× the ${dates.length} rows); ` +
        'check the date column, or pass --no-date to treat rows as steps',
    );
  }
  const fmt = dateFormatter(dates, f);
  const out: GappyTable = { ...t, values: t.values.map(() => []), origin: [], dates: [], insertedRows: inserted };
  dates.forEach((d, r) => {
    if (r > 0) {
      for (let k = 1; k <= gaps[r - 1]; k++) {
        const at = addSteps(dates[r - 1], f, k);
        out.dates!.push(at);
        out.origin.push(`no row for ${fmt(at)} (between lines ${t.origin[r - 1]} and ${t.origin[r]})`);
        out.values.forEach((col) => col.push(NaN));
      }
    }
    out.dates!.push(d);
    out.origin.push(t.origin[r]);
    out.values.forEach((col, c) => col.push(t.values[c][r]));
  });
  return out;
}
