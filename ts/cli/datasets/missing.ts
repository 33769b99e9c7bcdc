/**
 * Missing values of a CSV series (empty cells, NA/NaN/null/?, and rows missing from the date grid) under
 * the user's explicit `--missing` policy: `interpolate` (linear between neighbours; the target's leading
 * and trailing gaps are trimmed, another column's are filled with its nearest value), `drop` (rows with a
 * missing value in any used column), or `error` (fail at the first one). Every action is counted in one
 * notice line, and the result is checked finite, so no NaN reaches training silently.
 */

import { CliError } from '../args.js';

export const MISSING_POLICIES = ['interpolate', 'drop', 'error'] as const;
export type MissingPolicy = (typeof MISSING_POLICIES)[number];

/** A table of used columns with NaN for each missing value, and where each row came from. */
export interface GappyTable {
  path: string;
  columns: string[];
  /** Column-major [column][row]; NaN = missing. */
  values: number[][];
  /** Per row: its 1-based line in the file, or a description such as "no row for 2012-01-05 (after line 6)" when the date grid created it. */
  origin: Array<number | string>;
  /** Per row, when the file has dates. */
  dates?: number[];
  /** Index into `columns` of the forecast target. */
  targetIndex: number;
  /** Rows the date grid inserted (each counts as missing in every column). */
  insertedRows: number;
}

/** Row indices kept, by a predicate on the row. */
function keepRows(t: GappyTable, keep: (row: number) => boolean): GappyTable {
  const idx = t.origin.map((_, r) => r).filter(keep);
  return {
    ...t,
    values: t.values.map((col) => idx.map((r) => col[r])),
    origin: idx.map((r) => t.origin[r]),
    ...(t.dates ? { dates: idx.map((r) => t.dates![r]) } : {}),
  };
}

/** Linear interpolation of interior gaps; leading/trailing gaps take the nearest value. Returns the number of edge values filled. */
function fillColumn(col: number[]): number {
  const known = col.map((v, i) => (Number.isNaN(v) ? -1 : i)).filter((i) => i >= 0);
  let edge = 0;
  for (let i = 0; i < known[0]; i++, edge++) col[i] = col[known[0]];
  const last = known[known.length - 1];
  for (let i = last + 1; i < col.length; i++, edge++) col[i] = col[last];
  for (let k = 1; k < known.length; k++) {
    const [a, b] = [known[k - 1], known[k]];
    for (let i = a + 1; i < b; i++) col[i] = col[a] + ((col[b] - col[a]) * (i - a)) / (b - a);
  }
  return edge;
}

function where(origin: number | string): string {
  return typeof origin === 'number' ? `line ${origin}` : origin;
}

/**
 * Applies `policy` to the table (in place for `interpolate`), appending one notice per action to
 * `notices`. Throws a CliError for `error` at the first missing value, for a used column with no value
 * at all, or when nothing is left.
 */
export function applyMissingPolicy(t: GappyTable, policy: MissingPolicy, notices: string[]): GappyTable {
  const counts = t.values.map((col) => col.reduce((n, v) => n + (Number.isNaN(v) ? 1 : 0), 0));
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return t;
  const empty = t.columns.filter((_, c) => counts[c] === t.origin.length);
  if (empty.length > 0) throw new CliError(`${t.path}: column ${empty.map((c) => `"${c}"`).join(', ')} has no values at all (every cell is empty or NA); drop it with --exclude`);
  if (policy === 'error') {
    for (let r = 0; r < t.origin.length; r++) {
      const c = t.values.findIndex((col) => Number.isNaN(col[r]));
      if (c >= 0) {
        throw new CliError(
          `${t.path}: ${where(t.origin[r])}, column "${t.columns[c]}": missing value (--missing error; ` +
            'use --missing interpolate to fill gaps linearly or --missing drop to drop such rows)',
        );
      }
    }
  }
  const grid = t.insertedRows > 0 ? `, incl. ${t.insertedRows} row${t.insertedRows === 1 ? '' : 's'} missing from the date grid` : '';
  const perColumn = t.columns.map((c, i) => `${c} ${counts[i]}`).filter((_, i) => counts[i] > 0).join(', ');
  if (policy === 'drop') {
    const out = keepRows(t, (r) => t.values.every((col) => !Number.isNaN(col[r])));
    const dropped = t.origin.length - out.origin.length;
    notices.push(`missing values: ${perColumn}${grid}; dropped ${dropped} row${dropped === 1 ? '' : 's'} (--missing drop)`);
    if (out.origin.length === 0) throw new CliError(`${t.path}: every row has a missing value, so --missing drop leaves nothing; try --missing interpolate`);
    return out;
  }
  // interpolate: the target's edges are trimmed (a forecast must not learn from made-up values at the ends).
  const target = t.values[t.targetIndex];
  let lo = 0;
  while (Number.isNaN(target[lo])) lo++;
  let hi = target.length - 1;
  while (Number.isNaN(target[hi])) hi--;
  const out = lo > 0 || hi < target.length - 1 ? keepRows(t, (r) => r >= lo && r <= hi) : t;
  const trimmed = [lo > 0 ? `${lo} leading` : '', hi < target.length - 1 ? `${target.length - 1 - hi} trailing` : ''].filter(Boolean).join(' and ');
  const edges = out.values.map((col) => fillColumn(col));
  const edgeText = out.columns.map((c, i) => (edges[i] > 0 ? `${c} ${edges[i]}` : '')).filter(Boolean).join(', ');
  notices.push(
    `missing values: ${perColumn}${grid}; filled by linear interpolation (--missing interpolate)` +
      (trimmed ? `; trimmed ${trimmed} row(s) where the target "${t.columns[t.targetIndex]}" is missing` : '') +
      (edgeText ? `; edge values copied from the nearest row: ${edgeText}` : ''),
  );
  return out;
}

/** Throws unless every value is finite (the last guard against a silent NaN). */
export function assertFinite(t: Pick<GappyTable, 'path' | 'columns' | 'values' | 'origin'>): void {
  t.values.forEach((col, c) => {
    const r = col.findIndex((v) => !Number.isFinite(v));
    if (r >= 0) throw new CliError(`${t.path}: ${where(t.origin[r])}, column "${t.columns[c]}": value ${col[r]} is not finite`);
  });
}
