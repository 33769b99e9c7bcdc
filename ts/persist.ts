/**
 * Safetensors encoding and decoding (bytes in, bytes out; no I/O, safe in browsers).
 * Layout: u64 little-endian header length N, N bytes of JSON header (padded with spaces to 8-byte
 * alignment), then the raw little-endian tensor data. rnnkit reads and writes F32 only. Decoding
 * trusts nothing: every length, offset, dtype and shape is checked and a bad file raises
 * ERR_RNNKIT_FORMAT naming the problem, never a crash or a silent misread.
 */

import { rnnkitError, type RnnkitError } from './errors.js';

/** Library version written to `__metadata__.rnnkit` (kept equal to package.json by test/persist.test.ts). */
export const RNNKIT_VERSION = '0.1.0';

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface DecodedSafetensors {
  /** In file (data offset) order. */
  tensors: NamedTensor[];
  /** `__metadata__`, or {} when the file has none. */
  metadata: Record<string, string>;
}

/** Same bound as the reference implementation: larger headers are refused before parsing. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;
const METADATA_KEY = '__metadata__';

function formatError(message: string, cause?: unknown): RnnkitError {
  return rnnkitError('ERR_RNNKIT_FORMAT', `safetensors: ${message}`, 'bytes', cause);
}

function isDim(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Serialises `tensors` (in the given order, contiguous) and string `metadata` to safetensors bytes. */
export function encodeSafetensors(tensors: readonly NamedTensor[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  const seen = new Set<string>();
  let offset = 0;
  for (const [i, t] of tensors.entries()) {
    const arg = `tensors[${i}]`;
    if (typeof t.name !== 'string' || t.name.length === 0 || t.name === METADATA_KEY) {
      throw rnnkitError('ERR_RNNKIT_VALUE', `${arg}.name: expected a non-empty string other than "${METADATA_KEY}", got ${JSON.stringify(t.name)}`, `${arg}.name`);
    }
    if (seen.has(t.name)) {
      throw rnnkitError('ERR_RNNKIT_VALUE', `${arg}.name: duplicate tensor name "${t.name}"`, `${arg}.name`);
    }
    seen.add(t.name);
    if (!(t.data instanceof Float32Array)) {
      throw rnnkitError('ERR_RNNKIT_TYPE', `${arg}.data: expected Float32Array, got ${Object.prototype.toString.call(t.data)}`, `${arg}.data`);
    }
    if (!Array.isArray(t.shape) || !t.shape.every(isDim) || t.shape.reduce((a, b) => a * b, 1) !== t.data.length) {
      throw rnnkitError('ERR_RNNKIT_SHAPE', `${arg}.shape: expected non-negative integers whose product is ${t.data.length}, got ${JSON.stringify(t.shape)}`, `${arg}.shape`);
    }
    const end = offset + t.data.length * 4;
    header[t.name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, end] };
    offset = end;
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') {
      throw rnnkitError('ERR_RNNKIT_TYPE', `metadata.${k}: expected a string, got ${typeof v}`, `metadata.${k}`);
    }
  }
  // __metadata__ first, like the reference writer; readers do not depend on key order.
  const json = JSON.stringify(Object.keys(metadata).length > 0 ? { [METADATA_KEY]: metadata, ...header } : header);
  const jsonBytes = new TextEncoder().encode(json);
  const headerLen = Math.ceil(jsonBytes.length / 8) * 8; // data starts 8-byte aligned
  const out = new Uint8Array(8 + headerLen + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLen, true); // u64 LE: low word, then a zero high word (header < 4 GiB)
  view.setUint32(4, 0, true);
  out.set(jsonBytes, 8);
  out.fill(0x20, 8 + jsonBytes.length, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const t of tensors) {
    for (let i = 0; i < t.data.length; i++, pos += 4) view.setFloat32(pos, t.data[i], true);
  }
  return out;
}

/** Parses and validates safetensors bytes. Throws ERR_RNNKIT_FORMAT naming the problem. */
export function decodeSafetensors(input: Uint8Array | ArrayBuffer): DecodedSafetensors {
  const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : input;
  if (!(bytes instanceof Uint8Array)) {
    throw rnnkitError('ERR_RNNKIT_TYPE', `bytes: expected Uint8Array or ArrayBuffer, got ${Object.prototype.toString.call(input)}`, 'bytes');
  }
  if (bytes.length < 8) throw formatError(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const headerLen = hi * 2 ** 32 + lo;
  if (hi !== 0 || headerLen > MAX_HEADER_BYTES) {
    throw formatError(`header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt or not a safetensors file)`);
  }
  if (headerLen < 2) throw formatError(`header length ${headerLen} is too small to hold a JSON object`);
  if (8 + headerLen > bytes.length) {
    throw formatError(`header length ${headerLen} runs past the end of the ${bytes.length}-byte file (truncated?)`);
  }
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
    header = JSON.parse(text);
  } catch (e) {
    throw formatError(`header is not valid UTF-8 JSON: ${(e as Error).message}`, e);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw formatError('header JSON is not an object');
  }
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  let metadata: Record<string, string> = {};
  const entries: { name: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw formatError(`${METADATA_KEY} is not an object`);
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') throw formatError(`${METADATA_KEY}.${k} is a ${typeof v}, expected a string`);
      }
      metadata = { ...(raw as Record<string, string>) };
      continue;
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw formatError(`tensor "${name}": entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (dtype !== 'F32') {
      throw formatError(`tensor "${name}": dtype ${JSON.stringify(dtype)} is not supported; rnnkit reads F32 only`);
    }
    if (!Array.isArray(shape) || !shape.every(isDim)) {
      throw formatError(`tensor "${name}": shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isDim) || offsets[0] > offsets[1]) {
      throw formatError(`tensor "${name}": data_offsets ${JSON.stringify(offsets)} is not [begin, end] with 0 <= begin <= end`);
    }
    const [begin, end] = offsets as number[];
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    if (elements * 4 !== end - begin) {
      throw formatError(`tensor "${name}": shape ${JSON.stringify(shape)} holds ${elements * 4} bytes of F32 but data_offsets span ${end - begin}`);
    }
    if (end > dataLen) {
      throw formatError(`tensor "${name}": data_offsets [${begin}, ${end}] run past the ${dataLen}-byte data section (truncated?)`);
    }
    entries.push({ name, shape: shape as number[], begin, end });
  }
  // The data section must be covered exactly once: sorted by begin, each tensor starts where the last ended.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of entries) {
    if (e.begin < cursor) {
      const prev = entries[entries.indexOf(e) - 1];
      throw formatError(`tensor "${e.name}": data_offsets [${e.begin}, ${e.end}] overlap tensor "${prev.name}" [${prev.begin}, ${prev.end}]`);
    }
    if (e.begin > cursor) throw formatError(`tensor "${e.name}": gap in the data section at bytes [${cursor}, ${e.begin})`);
    cursor = e.end;
  }
  if (cursor !== dataLen) throw formatError(`data section has ${dataLen - cursor} trailing bytes not owned by any tensor`);

  const tensors = entries.map(({ name, shape, begin, end }) => {
    const data = new Float32Array((end - begin) / 4);
    // DataView reads are little-endian on every host and need no alignment.
    for (let i = 0, pos = dataStart + begin; i < data.length; i++, pos += 4) data[i] = view.getFloat32(pos, true);
    return { name, shape, data };
  });
  return { tensors, metadata };
}
