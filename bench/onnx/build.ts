/**
 * Builds the ONNX models onnxruntime-node runs in the benchmark: one LSTM / GRU / RNN node (opset
 * 14) with the workload's weights as initializers, written by a minimal protobuf encoder so no Python
 * `onnx` package (missing here) or PyTorch export is needed, and the graph holds nothing but the
 * recurrent op — ONNX Runtime's best case. Input X is time-major [T, B, I] (ONNX's default layout);
 * outputs Y [T, 1, B, H] and Y_h [1, B, H].
 *
 * CLI: `npx tsx bench/onnx/build.ts [outDir]` writes F1/F2/G1/R1 .onnx files (default bench/onnx/models).
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { makeData, reorderGates, WORKLOADS, type WorkloadData } from '../workloads.js';

// ---- protobuf wire format (only what ONNX's messages here need) ----

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

class Writer {
  private parts: number[] = [];
  private blobs: { at: number; bytes: Uint8Array }[] = [];

  private varint(v: number): void {
    // Non-negative integers below 2^53 only: every value here is a size, a dim or an enum.
    if (!(Number.isInteger(v) && v >= 0)) throw new RangeError(`protobuf varint: expected a non-negative integer, got ${v}`);
    while (v >= 0x80) {
      this.parts.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.parts.push(v);
  }
  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }
  int(field: number, v: number): this {
    this.tag(field, WIRE_VARINT);
    this.varint(v);
    return this;
  }
  float(field: number, v: number): this {
    this.tag(field, WIRE_I32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.parts.push(...b);
    return this;
  }
  bytes(field: number, bytes: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.varint(bytes.length);
    // Large payloads (weights) are kept aside and spliced in at finish() rather than spread into numbers.
    this.blobs.push({ at: this.parts.length, bytes });
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  message(field: number, m: Writer): this {
    return this.bytes(field, m.finish());
  }
  finish(): Uint8Array {
    const total = this.parts.length + this.blobs.reduce((a, b) => a + b.bytes.length, 0);
    const out = new Uint8Array(total);
    let src = 0;
    let dst = 0;
    for (const { at, bytes } of this.blobs) {
      out.set(this.parts.slice(src, at), dst);
      dst += at - src;
      src = at;
      out.set(bytes, dst);
      dst += bytes.length;
    }
    out.set(this.parts.slice(src), dst);
    return out;
  }
}

// ---- ONNX messages (field numbers from onnx/onnx.proto) ----

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR_INT = 2;
const ATTR_STRING = 3;

function tensor(name: string, dims: number[], data: Float32Array): Writer {
  const t = new Writer();
  for (const d of dims) t.int(1, d); // dims
  t.int(2, FLOAT); // data_type
  t.string(8, name); // name
  t.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)); // raw_data (little-endian)
  return t;
}

function valueInfo(name: string, dims: (number | string)[]): Writer {
  const shape = new Writer();
  for (const d of dims) shape.message(1, typeof d === 'number' ? new Writer().int(1, d) : new Writer().string(2, d));
  const tensorType = new Writer().int(1, FLOAT).message(2, shape);
  return new Writer().string(1, name).message(2, new Writer().message(1, tensorType));
}

function intAttr(name: string, v: number): Writer {
  return new Writer().string(1, name).int(3, v).int(20, ATTR_INT);
}

function stringAttr(name: string, v: string): Writer {
  return new Writer().string(1, name).string(4, v).int(20, ATTR_STRING);
}

const OP = { lstm: 'LSTM', gru: 'GRU', rnn: 'RNN' } as const;
/** ONNX gate orders from PyTorch's: LSTM i,o,f,c ← i,f,g,o; GRU z,r,h ← r,z,n; RNN one block. */
const ONNX_ORDER = { lstm: [0, 3, 1, 2], gru: [1, 0, 2], rnn: [0] } as const;

/** A serialized ModelProto running the workload's recurrent layer (inference only) with its weights. */
export function buildOnnxModel(data: WorkloadData): Uint8Array {
  const w = data.workload;
  const H = w.hiddenSize;
  const order = ONNX_ORDER[w.cell];
  const G = order.length;
  const W = reorderGates(data.weights.weightIh, H, w.inputSize, order);
  const R = reorderGates(data.weights.weightHh, H, H, order);
  const B = new Float32Array(2 * G * H);
  B.set(reorderGates(data.weights.biasIh, H, 1, order), 0);
  B.set(reorderGates(data.weights.biasHh, H, 1, order), G * H);

  const node = new Writer();
  for (const i of ['X', 'W', 'R', 'B']) node.string(1, i);
  node.string(2, 'Y').string(2, 'Y_h');
  node.string(3, `${w.cell}_0`).string(4, OP[w.cell]);
  node.message(5, intAttr('hidden_size', H));
  node.message(5, stringAttr('direction', 'forward'));
  // PyTorch's GRU applies the reset gate after the recurrent matmul: ONNX's linear_before_reset=1.
  if (w.cell === 'gru') node.message(5, intAttr('linear_before_reset', 1));

  const graph = new Writer();
  graph.message(1, node);
  graph.string(2, `rnnkit_bench_${w.id}`);
  graph.message(5, tensor('W', [1, G * H, w.inputSize], W));
  graph.message(5, tensor('R', [1, G * H, H], R));
  graph.message(5, tensor('B', [1, 2 * G * H], B));
  graph.message(11, valueInfo('X', ['seq_len', 'batch', w.inputSize]));
  graph.message(12, valueInfo('Y', ['seq_len', 1, 'batch', H]));
  graph.message(12, valueInfo('Y_h', [1, 'batch', H]));

  const model = new Writer();
  model.int(1, 8); // ir_version 8 (ONNX 1.10+), pairs with opset 14
  model.string(2, 'rnnkit-bench');
  model.message(7, graph);
  model.message(8, new Writer().string(1, '').int(2, 14)); // opset_import: default domain, version 14
  return model.finish();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const outDir = process.argv[2] ?? fileURLToPath(new URL('./models', import.meta.url));
  mkdirSync(outDir, { recursive: true });
  for (const w of WORKLOADS.filter((x) => x.kind === 'inference')) {
    const file = join(outDir, `${w.id}_${w.cell}.onnx`);
    writeFileSync(file, buildOnnxModel(makeData(w)));
    console.log(`wrote ${file}`);
  }
}
