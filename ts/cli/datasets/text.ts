/**
 * Character-level language modelling: text → windows of character ids (int32 [n, window]) whose target
 * at every step is the next character's id. The vocabulary (sorted distinct characters of the text,
 * capped by --max-vocab with the rarest mapped to one unknown symbol) is stored with the model, so
 * `rnnkit generate` and `rnnkit eval` encode and decode identically.
 *
 * Input safety: a file that is not text (NUL bytes, mostly invalid UTF-8 or control characters) is
 * refused with what was found and where, and every size (file, vocabulary, prepared windows) is checked
 * before anything that large is allocated.
 */

import { statSync } from 'node:fs';
import { basename } from 'node:path';

import { CliError, fileError, readUserFile } from '../args.js';
import { countChars } from './char-baselines.js';
import type { CharMeta, GeneratorMeta, PreparedData, Split } from './types.js';

export interface CharOptions {
  window: number;
  stride: number;
  valSplit: number;
  /** Most distinct symbols (the unknown symbol included) when the vocabulary is built from this text. */
  maxVocab: number;
}

/** The largest --text file read (64 MiB: its ids alone are up to 256 MB). */
export const MAX_TEXT_BYTES = 64 * 2 ** 20;
/** The largest prepared data (ids and targets of both splits) a --window/--stride choice may make; the backend holds a second copy while training. */
export const MAX_PREPARED_BYTES = 2 ** 29;
/** How much of a file is inspected to tell text from binary data. */
export const SNIFF_BYTES = 64 * 1024;
/** Default --max-vocab: every byte value, every letter of most alphabets. */
export const DEFAULT_MAX_VOCAB = 256;
/** What characters outside a capped vocabulary read as (also what invalid UTF-8 decodes to). */
export const UNKNOWN_SYMBOL = '\uFFFD';

export interface TextFile {
  text: string;
  /** One line per automatic choice made while reading (BOM skipped, invalid sequences replaced). */
  notices: string[];
}

const utf8Length = (s: string) => Buffer.byteLength(s, 'utf8');

/** C0/C1 control characters other than the whitespace that text uses (tab, newline, CR, FF, VT). */
function isControl(code: number): boolean {
  return (code < 0x20 && !(code >= 0x09 && code <= 0x0d)) || (code >= 0x7f && code <= 0x9f);
}

const hex = (code: number) => `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Refuses data that is not UTF-8 text, judged on its first SNIFF_BYTES: any NUL byte, or more than 1%
 * (and at least 3) of the characters invalid UTF-8 or control characters. The error says what was found,
 * how much, and the byte offset of the first.
 */
function refuseBinary(bytes: Uint8Array, path: string): void {
  const head = bytes.subarray(0, SNIFF_BYTES);
  const nul = head.indexOf(0);
  if (nul >= 0) {
    throw new CliError(
      `--text ${path} is not a text file: a NUL byte at byte offset ${nul} (text has none; this is binary data, or UTF-16 text — save it as UTF-8)`,
    );
  }
  // stream: true leaves a multi-byte character cut at the SNIFF_BYTES boundary undecoded instead of invalid.
  const sample = new TextDecoder('utf-8').decode(head, { stream: bytes.length > SNIFF_BYTES });
  let chars = 0;
  let invalid = 0;
  let control = 0;
  let firstInvalid = -1;
  let firstControl = -1;
  let unit = 0;
  for (const c of sample) {
    const code = c.codePointAt(0)!;
    if (code === 0xfffd && ++invalid === 1) firstInvalid = unit;
    if (isControl(code) && ++control === 1) firstControl = unit;
    chars++;
    unit += c.length;
  }
  const bad = invalid + control;
  if (bad >= 3 && bad > 0.01 * chars) {
    const found = [
      invalid > 0 ? `${invalid} invalid UTF-8 sequences (first at byte ${utf8Length(sample.slice(0, firstInvalid))})` : '',
      control > 0
        ? `${control} control characters (first ${hex(sample.codePointAt(firstControl)!)} at byte ${utf8Length(sample.slice(0, firstControl))})`
        : '',
    ].filter(Boolean);
    throw new CliError(
      `--text ${path} does not look like UTF-8 text: its first ${head.length} bytes hold ${found.join(' and ')}, ` +
        `${((100 * bad) / chars).toFixed(1)}% of ${chars} characters (text has under 1%). Give a plain-text file saved as UTF-8.`,
    );
  }
}

/** Reads a UTF-8 text file for a character model, refusing binary data and files over MAX_TEXT_BYTES. */
export function readText(path: string): TextFile {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new CliError(fileError(path, e, 'text file'));
  }
  if (size > MAX_TEXT_BYTES) {
    throw new CliError(
      `--text ${path} is ${(size / 2 ** 20).toFixed(1)} MiB; a character model reads at most ${MAX_TEXT_BYTES / 2 ** 20} MiB of text. Use a shorter excerpt.`,
    );
  }
  const bytes = readUserFile(path, 'text file');
  if (bytes.length === 0) throw new CliError(`text file ${path} is empty`);
  refuseBinary(bytes, path);
  const notices: string[] = [];
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  const text = new TextDecoder('utf-8').decode(bytes); // drops a leading byte-order mark
  if (bom) notices.push(`${path}: skipped the UTF-8 byte-order mark at its start`);
  if (text.length === 0) throw new CliError(`text file ${path} holds only a byte-order mark`);
  const replaced = text.indexOf(UNKNOWN_SYMBOL);
  if (replaced >= 0) {
    let n = 0;
    for (let i = replaced; i >= 0; i = text.indexOf(UNKNOWN_SYMBOL, i + 1)) n++;
    notices.push(
      `${path}: ${n} invalid UTF-8 sequences (or U+FFFD characters) read as the unknown symbol "\uFFFD", the first at byte ${utf8Length(text.slice(0, replaced)) + (bom ? 3 : 0)}`,
    );
  }
  return { text, notices };
}

export interface Vocabulary {
  vocab: string[];
  /** Index of the unknown symbol, when the vocabulary was capped. */
  unknown?: number;
  notice?: string;
}

/**
 * The sorted distinct characters of `text`; when there are more than `maxVocab`, the maxVocab − 1 most
 * frequent (ties by code point) plus the unknown symbol, which every other character then reads as.
 */
export function buildVocab(text: string, maxVocab: number): Vocabulary {
  const freq = new Map<string, number>();
  for (const c of text) freq.set(c, (freq.get(c) ?? 0) + 1);
  const byCodePoint = (a: string, b: string) => a.codePointAt(0)! - b.codePointAt(0)!;
  if (freq.size <= maxVocab) return { vocab: [...freq.keys()].sort(byCodePoint) };
  // U+FFFD already means "unknown" (invalid UTF-8): it joins the unknown symbol rather than taking a slot.
  const ranked = [...freq.entries()].filter(([c]) => c !== UNKNOWN_SYMBOL).sort((a, b) => b[1] - a[1] || byCodePoint(a[0], b[0]));
  const kept = ranked.slice(0, maxVocab - 1);
  const dropped = freq.size - kept.length;
  const occurrences = ranked.slice(maxVocab - 1).reduce((s, [, n]) => s + n, 0) + (freq.get(UNKNOWN_SYMBOL) ?? 0);
  const total = [...freq.values()].reduce((a, b) => a + b, 0);
  const vocab = [...kept.map(([c]) => c).sort(byCodePoint), UNKNOWN_SYMBOL];
  return {
    vocab,
    unknown: vocab.length - 1,
    notice:
      `vocabulary capped at --max-vocab ${maxVocab}: the text has ${freq.size} distinct characters; the ${dropped} rarest ` +
      `(${occurrences} occurrences, ${((100 * occurrences) / total).toFixed(2)}% of the text) read as the unknown symbol "\uFFFD"`,
  };
}

export interface Encoded {
  ids: Int32Array;
  /** Characters read as the unknown symbol. */
  mapped: number;
}

/**
 * Ids of the characters of `text`. A character outside the vocabulary reads as `unknown` when the
 * vocabulary has one, else it is an error naming it and its position.
 */
export function encode(text: string, vocab: readonly string[], what: string, unknown?: number): Encoded {
  const index = new Map(vocab.map((c, i) => [c, i]));
  const ids = new Int32Array(text.length); // UTF-16 units ≥ characters
  let n = 0;
  let mapped = 0;
  for (const c of text) {
    let id = index.get(c);
    if (id === undefined) {
      if (unknown === undefined) {
        throw new CliError(
          `${what}: character ${JSON.stringify(c)} at position ${n} is not in the model's vocabulary (${vocab.length} characters seen in training)`,
        );
      }
      id = unknown;
      mapped++;
    }
    ids[n++] = id;
  }
  return { ids: ids.slice(0, n), mapped };
}

/** Window ids x [n, window] and next-character targets y [n, window] for windows starting at `starts`. */
function windows(ids: Int32Array, starts: number[], window: number): Split {
  const n = starts.length;
  const x = new Int32Array(n * window);
  const y = new Int32Array(n * window);
  starts.forEach((s, k) => {
    x.set(ids.subarray(s, s + window), k * window);
    y.set(ids.subarray(s + 1, s + window + 1), k * window);
  });
  return { x, xDims: [n, window], y, yDims: [n, window] };
}

/** Windows of `window` inputs (+ one target past the end) that fit in [from, to), `stride` apart. */
function windowCount(from: number, to: number, window: number, stride: number): number {
  return to - from >= window + 1 ? Math.floor((to - from - window - 1) / stride) + 1 : 0;
}

function starts(from: number, to: number, window: number, stride: number): number[] {
  return Array.from({ length: windowCount(from, to, window, stride) }, (_, k) => from + k * stride);
}

/** A prompt from the start of the text: up to ~20 characters, cut at a word boundary when there is one. */
function defaultPrompt(text: string): string {
  const head = Array.from(text.slice(0, 48)).slice(0, 24).join('');
  const cut = head.lastIndexOf(' ');
  return cut >= 4 ? head.slice(0, cut + 1) : head.slice(0, 12);
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * Training windows `stride` apart over the first (1 − valSplit) of the text and non-overlapping
 * validation windows over the rest (each held-out character is scored exactly once). With `vocab` (a
 * saved model's), the text is encoded with it; otherwise the vocabulary is built from the whole text (a
 * character first seen in the validation tail still needs an id). Unigram/bigram counts of the training
 * part are kept in the metadata for the per-character baselines.
 */
export function charData(
  text: string,
  name: string,
  source: 'text' | 'dataset',
  o: CharOptions,
  model?: { vocab: readonly string[]; unknown?: number },
  generator?: GeneratorMeta,
): PreparedData {
  const built = model ? { vocab: [...model.vocab], unknown: model.unknown } : buildVocab(text, o.maxVocab);
  const v = built.vocab;
  const { ids, mapped } = encode(text, v, name, built.unknown);
  const length = ids.length;
  if (length < o.window + 1) {
    throw new CliError(
      `--window ${o.window} is longer than the series: ${name} has ${length} characters, and a window of ${o.window} ` +
        `needs at least ${o.window + 1} (each step predicts the next character). Use a smaller --window.`,
    );
  }
  let split = o.valSplit > 0 ? Math.floor(length * (1 - o.valSplit)) : length;
  if (split < o.window + 1) split = length;
  const nTrain = windowCount(0, split, o.window, o.stride);
  const nVal = split < length ? windowCount(split, length, o.window, o.window) : 0;
  // x and y are int32 each: checked before anything of that size exists.
  const windowBytes = o.window * 4 * 2;
  const bytes = (nTrain + nVal) * windowBytes;
  if (bytes > MAX_PREPARED_BYTES) {
    // Validation windows do not overlap whatever the stride: only the training part shrinks with it.
    const room = MAX_PREPARED_BYTES - nVal * windowBytes;
    const fix = room > windowBytes ? `Use --stride ${Math.ceil((o.stride * nTrain * windowBytes) / room)} or more, or a shorter text.` : 'Use a shorter text.';
    throw new CliError(
      `--window ${o.window} with --stride ${o.stride} on ${name} (${length} characters) makes ${nTrain + nVal} windows, ` +
        `${mib(bytes)} of ids and targets, over the ${mib(MAX_PREPARED_BYTES)} limit. ${fix}`,
    );
  }
  const notices = [
    ...(built.notice ? [built.notice] : []),
    ...(model && mapped > 0 ? [`${name}: ${mapped} characters outside the model's vocabulary read as the unknown symbol "\uFFFD"`] : []),
  ];
  const meta: CharMeta = {
    task: 'charlm',
    source,
    name,
    vocab: v,
    ...(built.unknown !== undefined ? { unknown: built.unknown } : {}),
    window: o.window,
    prompt: defaultPrompt(text),
    // Only when training: evaluation scores against the saved model's own training counts.
    ...(model ? {} : { counts: countChars(ids.subarray(0, split), v.length) }),
    ...(generator ? { generator } : {}),
  };
  const trainSplit = windows(ids, starts(0, split, o.window, o.stride), o.window);
  const valSplit = nVal > 0 ? windows(ids, starts(split, length, o.window, o.window), o.window) : undefined;
  return {
    meta,
    inputSize: v.length,
    outputUnits: v.length,
    returnSequences: true,
    loss: 'cross_entropy',
    headActivation: 'softmax',
    train: trainSplit,
    val: valSplit,
    summary: model
      ? `${name}: ${length} characters → ${nTrain} windows of ${o.window} characters (stride ${o.stride}), ${nTrain * o.window} characters scored, each once`
      : `${name}: ${length} characters, vocabulary of ${v.length} → ${nTrain} training windows of ${o.window} characters ` +
        `(stride ${o.stride}), ${nVal > 0 ? `${nVal} non-overlapping validation windows (${nVal * o.window} held-out characters)` : o.valSplit > 0 ? 'no validation split (text too short)' : 'no split'}`,
    notices,
    text,
  };
}

/** `charData` of a --text file, with what reading it noticed first among the notices. */
export function charFileData(path: string, o: CharOptions, model?: { vocab: readonly string[]; unknown?: number }): PreparedData {
  const file = readText(path);
  const data = charData(file.text, basename(path), 'text', o, model);
  return { ...data, notices: [...file.notices, ...(data.notices ?? [])] };
}
