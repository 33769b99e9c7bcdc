/**
 * Dates of a time-series CSV: parsing date cells (ISO, m/d/y, "Jan 1 2000", quarters, plain years) into
 * UTC epoch milliseconds, inferring the sampling frequency from the gaps between rows, the calendar grid
 * that frequency implies (so missing timestamps become missing rows, and `predict` can label future
 * steps by calendar month rather than by 30-day blocks), and the season length of a series (calendar
 * candidates from the frequency, confirmed or overruled by the data's autocorrelation).
 * Everything is UTC: a timestamp without an offset is read as UTC, so no machine's time zone or daylight
 * saving shifts a row.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
/** The mean Gregorian year, for "how many steps is a year" of fixed-length steps. */
const YEAR = 365.2425 * DAY;

const MONTH_NAMES = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

/** Date cell layouts, one per column (a column mixing layouts is not a date column). */
export type DateLayout = 'iso' | 'm/d/y' | 'd/m/y' | 'd.m.y' | 'month-name' | 'quarter' | 'year';

/** Column names under which a plain 4-digit integer column is read as years. */
const YEAR_NAMES = new Set(['year', 'yr', 'date', 'time']);

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days in month m (1-based) of year y, Gregorian. */
function daysInMonth(y: number, m: number): number {
  return m === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : MONTH_DAYS[m - 1];
}

/** Epoch ms of a calendar date, or NaN when a field is out of range (month 13, Feb 30, hour 24, ...). */
function utc(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0, offsetMin = 0): number {
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 60) return NaN;
  let t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  if (y < 100) {
    // Date.UTC maps years 0-99 to 1900-1999; set the year explicitly so "0099" stays year 99.
    const date = new Date(t);
    date.setUTCFullYear(y);
    t = date.getTime();
  }
  return t - offsetMin * MINUTE;
}

/** 1-based month of "Jan", "Jan.", "January", "Sept"; -1 for anything else. */
function monthIndex(name: string): number {
  const lower = name.toLowerCase();
  const i = MONTH_NAMES.findIndex((full) => full.startsWith(lower) && lower.length >= 3);
  return i < 0 ? (lower === 'sept' ? 9 : -1) : i + 1;
}

function twoDigitYear(y: string): number {
  const n = Number(y);
  return y.length === 2 ? (n < 69 ? 2000 + n : 1900 + n) : n; // POSIX strptime %y pivot
}

const ISO = /^(\d{4})[-/](\d{1,2})(?:[-/](\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;
const SLASH = /^(\d{1,2})([/.])(\d{1,2})\2(\d{4}|\d{2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;
const NAME_FIRST = /^([A-Za-z]{3,9})\.?[\s-]+(?:(\d{1,2})(?:st|nd|rd|th)?,?[\s-]+)?(\d{4})$/;
const DAY_FIRST = /^(\d{1,2})[\s-]+([A-Za-z]{3,9})\.?,?[\s-]+(\d{4})$/;
const QUARTER = /^(\d{4})[\s-]?Q([1-4])$/i;

/**
 * One cell in a given layout → epoch ms (UTC), or NaN. `2012-01-01`, `2012-01-01T10:00`, `2012-01-01 10:00:00Z`,
 * `1958-03` (the 1st), `2012/01/31`; `01/1/1980` (m/d/y) or `31/1/1980` (d/m/y); `31.1.1980`; `Jan 1 2000`,
 * `January 1, 2000`, `1 Jan 2000`, `Jan 2000`; `2001Q3` / `2001-Q3` (the quarter's first day); `1880` (Jan 1).
 */
export function parseDateAs(cell: string, layout: DateLayout): number {
  let m: RegExpExecArray | null;
  switch (layout) {
    case 'iso': {
      if (!(m = ISO.exec(cell))) return NaN;
      let offset = 0;
      if (m[8] && m[8].toUpperCase() !== 'Z') {
        const sign = m[8][0] === '-' ? -1 : 1;
        const digits = m[8].slice(1).replace(':', '');
        offset = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
      }
      const ms = m[7] ? Math.round(Number(`0.${m[7]}`) * 1000) : 0;
      return utc(+m[1], +m[2], m[3] ? +m[3] : 1, m[4] ? +m[4] : 0, m[5] ? +m[5] : 0, m[6] ? +m[6] : 0, ms, offset);
    }
    case 'm/d/y':
    case 'd/m/y':
    case 'd.m.y': {
      if (!(m = SLASH.exec(cell)) || (m[2] === '.') !== (layout === 'd.m.y')) return NaN;
      const [a, b] = [+m[1], +m[3]];
      const [mo, d] = layout === 'm/d/y' ? [a, b] : [b, a];
      return utc(twoDigitYear(m[4]), mo, d, m[5] ? +m[5] : 0, m[6] ? +m[6] : 0, m[7] ? +m[7] : 0);
    }
    case 'month-name': {
      if ((m = NAME_FIRST.exec(cell))) {
        const mo = monthIndex(m[1]);
        return mo < 0 ? NaN : utc(+m[3], mo, m[2] ? +m[2] : 1);
      }
      if ((m = DAY_FIRST.exec(cell))) {
        const mo = monthIndex(m[2]);
        return mo < 0 ? NaN : utc(+m[3], mo, +m[1]);
      }
      return NaN;
    }
    case 'quarter':
      return (m = QUARTER.exec(cell)) ? utc(+m[1], (+m[2] - 1) * 3 + 1, 1) : NaN;
    case 'year':
      return /^\d{4}$/.test(cell) ? utc(+cell, 1, 1) : NaN;
  }
}

/** A parsed date column: epoch ms per cell (NaN for an empty cell) and the layout that read it. */
export interface DateColumn {
  ms: number[];
  layout: DateLayout;
}

/**
 * Reads `cells` as one date column in the layout of its first non-empty cell, or says which cell is the
 * first that is not a date in that layout (`firstBad`, an index into `cells`). Slash dates are m/d/y (the
 * US order of files like vega's) unless a first field above 12 proves d/m/y. Plain 4-digit integers count
 * as years only when `yearsAllowed` (a column named year/yr/date/time, or one the user named with --date):
 * otherwise a numeric column like "1200" units sold would become dates.
 */
export function parseDateColumn(cells: readonly string[], yearsAllowed: boolean): DateColumn | { firstBad: number } {
  const start = cells.findIndex((c) => c !== '');
  if (start < 0) return { firstBad: 0 };
  const first = cells[start];
  let layout: DateLayout | undefined;
  if (/^\d{4}$/.test(first)) layout = yearsAllowed ? 'year' : undefined;
  else if (ISO.test(first)) layout = 'iso';
  else if (SLASH.test(first)) {
    const dayFirst = cells.some((c) => { const s = SLASH.exec(c); return s !== null && +s[1] > 12; });
    layout = first.includes('.') ? 'd.m.y' : dayFirst ? 'd/m/y' : 'm/d/y';
  } else if (QUARTER.test(first)) layout = 'quarter';
  else if (NAME_FIRST.test(first) || DAY_FIRST.test(first)) layout = 'month-name';
  if (layout === undefined) return { firstBad: start };
  const ms = cells.map((c) => (c === '' ? NaN : parseDateAs(c, layout)));
  const firstBad = ms.findIndex((v, i) => cells[i] !== '' && !Number.isFinite(v));
  return firstBad >= 0 ? { firstBad } : { ms, layout };
}

/** Whether a column name invites reading plain years as dates. */
export function isYearName(name: string): boolean {
  return YEAR_NAMES.has(name.trim().toLowerCase());
}

// ---------------------------------------------------------------------------------------------- frequency

/** Calendar unit of a sampling step: month-based steps follow the calendar, weekdays skip Saturdays and Sundays, the others are fixed lengths. */
export type FrequencyUnit = 'second' | 'minute' | 'hour' | 'day' | 'weekday' | 'week' | 'month';

/**
 * How often a series is sampled. `regular`: every gap between rows is a whole number of steps (gaps of
 * more than one step are missing rows); otherwise `label` is "irregular (...)" and there is no grid.
 */
export interface Frequency {
  /** "monthly", "daily", "every 2 days", "irregular (median gap 3.2 days)". */
  label: string;
  unit: FrequencyUnit;
  /** Units per step: 3 months = quarterly, 12 months = yearly. */
  step: number;
  regular: boolean;
}

const FIXED: Array<[FrequencyUnit, number]> = [['week', WEEK], ['day', DAY], ['hour', HOUR], ['minute', MINUTE], ['second', 1000]];
const FIXED_MS: Record<string, number> = Object.fromEntries(FIXED);
const NAMED: Record<string, string> = { 'month 1': 'monthly', 'month 3': 'quarterly', 'month 12': 'yearly', 'week 1': 'weekly', 'day 1': 'daily', 'hour 1': 'hourly', 'minute 1': 'every minute', 'second 1': 'every second' };

/** The mean Gregorian month. */
const MONTH = YEAR / 12;

/**
 * Calendar months from a to b, or NaN when b is not about a whole number of months after a. "About":
 * within 6 days, so month ends (Jan 31 → Feb 29) and business-day dates (the last trading day of each
 * month, Mar 31 → Apr 28) count as one month.
 */
function wholeMonths(a: number, b: number): number {
  const k = Math.round((b - a) / MONTH);
  return Math.abs(b - a - k * MONTH) <= 6 * DAY ? k : NaN;
}

/** The lower median: always one of the gaps itself (the mean of two gaps, 1.5 days, would fit no grid). */
function lowerMedian(xs: number[]): number {
  return [...xs].sort((p, q) => p - q)[(xs.length - 1) >> 1];
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

function gapText(ms: number): string {
  for (const [unit, len] of FIXED) if (ms >= len) return plural(Number((ms / len).toPrecision(3)), unit);
  return plural(Number((ms / 1000).toPrecision(3)), 'second');
}

/**
 * The sampling frequency of strictly increasing timestamps (at least two), from the median gap: about a
 * month (27-32 days), a quarter or a year in calendar months, else the largest fixed unit (week, day,
 * hour, minute, second) that divides the median gap. Regular when every gap is a whole number of steps.
 */
export function inferFrequency(dates: readonly number[]): Frequency {
  const gaps = dates.slice(1).map((d, i) => d - dates[i]);
  const g = lowerMedian(gaps);
  const days = g / DAY;
  const monthsPerStep = days >= 27 && days <= 32 ? 1 : days >= 88 && days <= 93 ? 3 : days >= 180 && days <= 185 ? 6 : days >= 364 && days <= 367 ? 12 : 0;
  let unit: FrequencyUnit | undefined;
  let step = 0;
  let regular = false;
  if (monthsPerStep > 0) {
    unit = 'month';
    step = monthsPerStep;
    regular = dates.slice(1).every((d, i) => { const k = wholeMonths(dates[i], d); return k > 0 && k % step === 0; });
  } else {
    for (const [u, len] of FIXED) {
      if (g >= len && g % len === 0) {
        [unit, step] = [u, g / len];
        break;
      }
    }
    regular = unit !== undefined && gaps.every((d) => d % g === 0);
    // Trading days: daily, never on a weekend, with weekends skipped. Weekends are then not missing rows.
    if (unit === 'day' && step === 1 && regular && !dates.some(isWeekend) && gaps.some((d) => d > DAY)) {
      return { label: 'business days (Mon-Fri)', unit: 'weekday', step: 1, regular: true };
    }
  }
  if (!unit || !regular) return { label: `irregular (median gap ${gapText(g)})`, unit: unit ?? 'second', step: step || g / 1000, regular: false };
  const label = NAMED[`${unit} ${step}`] ?? `every ${plural(step, unit)}`;
  return { label, unit, step, regular: true };
}

/** `ms` moved by `steps` sampling steps: calendar months for month units (Jan 31 + 1 month = Feb 28/29), fixed lengths otherwise. */
export function addSteps(ms: number, f: Pick<Frequency, 'unit' | 'step'>, steps: number): number {
  if (f.unit === 'weekday') {
    let t = ms;
    for (let left = Math.abs(steps * f.step); left > 0; ) {
      t += Math.sign(steps) * DAY;
      if (!isWeekend(t)) left--;
    }
    return t;
  }
  if (f.unit !== 'month') return ms + steps * f.step * FIXED_MS[f.unit];
  const d = new Date(ms);
  const day = d.getUTCDate();
  const monthEnd = day === daysInMonth(d.getUTCFullYear(), d.getUTCMonth() + 1);
  const total = d.getUTCMonth() + steps * f.step;
  const y = d.getUTCFullYear() + Math.floor(total / 12);
  const mo = ((total % 12) + 12) % 12 + 1;
  const dd = monthEnd ? daysInMonth(y, mo) : Math.min(day, daysInMonth(y, mo));
  return utc(y, mo, dd) + (ms % DAY);
}

/** Whole steps from a to b on a regular frequency's grid (NaN when b is off the grid). */
export function stepsBetween(a: number, b: number, f: Pick<Frequency, 'unit' | 'step'>): number {
  const k = f.unit === 'month' ? wholeMonths(a, b) / f.step : f.unit === 'weekday' ? weekdaysBetween(a, b) / f.step : (b - a) / (f.step * FIXED_MS[f.unit]);
  return Number.isInteger(k) ? k : NaN;
}

function isWeekend(ms: number): boolean {
  const day = new Date(ms).getUTCDay();
  return day === 0 || day === 6;
}

/** Weekdays in (a, b], for b a whole number of days after a and not on a weekend; else NaN. */
function weekdaysBetween(a: number, b: number): number {
  if (isWeekend(b) || (b - a) % DAY !== 0 || b < a) return NaN;
  let n = 0;
  for (let t = a + DAY; t <= b; t += DAY) if (!isWeekend(t)) n++;
  return n;
}

/**
 * A formatter for dates like `dates`: "1880" when every date is Jan 1 of a yearly series, "2012-01-01"
 * when every date is midnight, "2012-01-01T10:00Z" when seconds are all zero, else full ISO.
 */
export function dateFormatter(dates: readonly number[], f?: Pick<Frequency, 'unit' | 'step'>): (ms: number) => string {
  const midnight = dates.every((d) => d % DAY === 0);
  if (midnight && f?.unit === 'month' && f.step === 12 && dates.every((d) => new Date(d).getUTCMonth() === 0 && new Date(d).getUTCDate() === 1)) {
    return (ms) => String(new Date(ms).getUTCFullYear());
  }
  if (midnight) return (ms) => new Date(ms).toISOString().slice(0, 10);
  if (dates.every((d) => d % MINUTE === 0)) return (ms) => new Date(ms).toISOString().slice(0, 16) + 'Z';
  return (ms) => new Date(ms).toISOString();
}

// ------------------------------------------------------------------------------------------------ seasons

/**
 * Season lengths a frequency suggests, in steps, shortest first: monthly → 12, quarterly → 4, weekly → 52,
 * daily → 7 and 365, business days → 5 and 261, hourly → 24 and 168 (a year of hours, 8766, is left out: too long for an ACF
 * scan); sub-hourly steps → an hour and a day. Only whole numbers of steps ≥ 2 count, so "every 5 months"
 * or an irregular series proposes none.
 */
export function calendarSeasons(f: Pick<Frequency, 'unit' | 'step' | 'regular'>): number[] {
  if (!f.regular) return [];
  const out: number[] = [];
  if (f.unit === 'month') {
    if (12 % f.step === 0 && 12 / f.step >= 2) out.push(12 / f.step);
    return out;
  }
  if (f.unit === 'weekday') return f.step === 1 ? [5, Math.round((YEAR / WEEK) * 5)] : []; // a week, a year (261) of weekdays
  const stepMs = f.step * FIXED_MS[f.unit];
  const cycles = stepMs < HOUR ? [HOUR, DAY] : stepMs < DAY ? [DAY, WEEK] : [WEEK, YEAR];
  for (const c of cycles) {
    const k = c === YEAR ? Math.round(c / stepMs) : c / stepMs; // 365.24 days → 365, 52.18 weeks → 52
    if (Number.isInteger(k) && k >= 2) out.push(k);
  }
  return out;
}

/** Autocorrelation of xs at lags 0..maxLag (r[0] = 1; all 0 for a constant series). */
export function autocorrelation(xs: readonly number[], maxLag: number): number[] {
  const n = xs.length;
  let mean = 0;
  for (const v of xs) mean += v;
  mean /= n;
  const d = xs.map((v) => v - mean);
  let c0 = 0;
  for (const v of d) c0 += v * v;
  const r = [1];
  for (let k = 1; k <= maxLag; k++) {
    let c = 0;
    for (let i = k; i < n; i++) c += d[i] * d[i - k];
    r.push(c0 > 0 ? c / c0 : 0);
  }
  return r;
}

/** The result of {@link detectSeason}. */
export interface Season {
  /** Season length in steps; 1 when none was found (seasonal naive with period 1 is persistence). */
  period: number;
  /** 'calendar': a candidate from the frequency, confirmed by the ACF; 'acf': the data's own strongest cycle; 'none'. */
  source: 'calendar' | 'acf' | 'none';
  /** Autocorrelation at `period` (of the series `basis` names; 0 when none). */
  acf: number;
  /** Where the season showed: in the first differences, or (calendar candidates only) in the detrended levels. */
  basis?: 'differences' | 'levels';
}

/** The longest lag scanned: the ACF costs N × lags, and a longer season needs several times as many rows anyway. */
const MAX_LAG = 2000;

/** How close (absolute ACF) a calendar candidate must come to the strongest peak to win. */
const CALENDAR_SLACK = 0.1;

/** Least-squares line removed: what is left of a trending series is its cycles and noise. */
function detrended(values: readonly number[]): number[] {
  const n = values.length;
  const tMean = (n - 1) / 2;
  let vMean = 0;
  for (const v of values) vMean += v;
  vMean /= n;
  let num = 0;
  let den = 0;
  values.forEach((v, t) => { num += (t - tMean) * (v - vMean); den += (t - tMean) ** 2; });
  const slope = den > 0 ? num / den : 0;
  return values.map((v, t) => v - vMean - slope * (t - tMean));
}

/**
 * The season length of a series, for seasonal naive baselines and seasonal differencing.
 *
 * Pass the TRAINING part of the target only (values the model may see), in time order, and the CSV's
 * frequency (undefined for a series without dates: then only the data speaks). Returns
 * `{ period, source, acf, basis }`; `period` is 1 with source 'none' when no season is found, and
 * series of fewer than 8 values never have one.
 *
 * 1. First differences (a trend would make every lag look alike). Their autocorrelation r(k) over lags
 *    2..floor(N/3), capped at 1.5 × the longest calendar candidate (400 lags without one, 2000 at most)
 *    so the scan stays linear in N. A peak is a local maximum of r above the noise level max(0.1, 2/√N) (≈ the 95 %
 *    band of white noise). The highest peak is the answer (source 'acf'), except that a calendar
 *    candidate (monthly 12, quarterly 4, weekly 52, daily 7 and 365, hourly 24 and 168: see
 *    {@link calendarSeasons}) whose r is above the noise level and within 0.1 of that peak wins (source
 *    'calendar'): monthly CO2 peaks at 12, 24, 36, ... almost equally, and 12 is the season.
 * 2. When the differences show no peak: a slow cycle, such as the year in daily weather, changes little
 *    from one step to the next and drowns in day-to-day noise once differenced. Then a calendar candidate
 *    c is accepted on the linearly detrended levels if r(c) > 0.2 and r(c) exceeds r(c/2) by 0.2 (half a
 *    season apart is less alike than a whole season apart, which a random walk or a smooth
 *    autocorrelated series does not show). Source 'calendar', basis 'levels'.
 */
export function detectSeason(values: readonly number[], frequency: Pick<Frequency, 'unit' | 'step' | 'regular'> | undefined): Season {
  const none: Season = { period: 1, source: 'none', acf: 0 };
  if (values.length < 8) return none;
  const diff = values.slice(1).map((v, i) => v - values[i]);
  const candidates = frequency ? calendarSeasons(frequency) : [];
  const cap = Math.min(MAX_LAG, candidates.length > 0 ? Math.ceil(1.5 * Math.max(...candidates)) : 400);
  const maxLag = Math.min(Math.floor(values.length / 3), cap);
  if (maxLag < 2) return none;
  const r = autocorrelation(diff, maxLag + 1);
  const noise = Math.max(0.1, 2 / Math.sqrt(diff.length));
  let best = -1;
  for (let k = 2; k <= maxLag; k++) {
    const peak = r[k] >= r[k - 1] && r[k] >= r[k + 1] && r[k] > noise;
    if (peak && (best < 0 || r[k] > r[best])) best = k;
  }
  if (best > 0) {
    let cal = -1;
    for (const c of candidates) {
      if (c <= maxLag && r[c] > noise && r[c] >= r[best] - CALENDAR_SLACK && (cal < 0 || r[c] > r[cal])) cal = c;
    }
    return cal > 0
      ? { period: cal, source: 'calendar', acf: r[cal], basis: 'differences' }
      : { period: best, source: 'acf', acf: r[best], basis: 'differences' };
  }
  const fit = candidates.filter((c) => c <= maxLag);
  if (fit.length === 0) return none;
  const level = autocorrelation(detrended(values), Math.max(...fit));
  let cal = -1;
  for (const c of fit) {
    if (level[c] > 0.2 && level[c] - level[Math.round(c / 2)] > 0.2 && (cal < 0 || level[c] > level[cal])) cal = c;
  }
  return cal > 0 ? { period: cal, source: 'calendar', acf: level[cal], basis: 'levels' } : none;
}
