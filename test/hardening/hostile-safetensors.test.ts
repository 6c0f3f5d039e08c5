// 1,000 hostile safetensors files (hardening issue, part 5).
//
// Mutations of valid files, drawn from a seeded generator: bit flips in the
// header and in the data, truncation, header length fields up to 2^64-1,
// overlapping / out-of-range / non-integer offsets, non-JSON and non-object
// headers, invalid UTF-8 (and a byte order mark), dtype or shape that disagree
// with the byte range, duplicate keys, negative / fractional / -0 / huge shape
// entries, shapes whose product overflows, hostile "__proto__" and
// "constructor" keys, random splices.
//
// Every file goes through decodeSafetensors in this process (a crash would
// kill vitest, which fails the run) and is judged by an independent reader of
// the format written below (`reference`): a file it accepts must decode to
// exactly its tensors; a file it refuses must give a RangeError in toroid's
// format ("toroid.load: file ... must be ..., got ...", short). Every 10th file
// also goes through toroid.load from disk.
//
// Allocation: measured, two ways, on every decode. (1) ArrayBuffer.prototype.slice
// (the only way the decoder allocates tensor memory) is wrapped to add up the
// bytes it is asked for: the total must not exceed the file's data section, and
// a refused file must have asked for none, i.e. nothing is allocated before the
// whole header is validated. (2) process.memoryUsage().arrayBuffers after the
// decode (result alive) minus before must stay below the file size + 64 KiB.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import '../../src/backends/ts/index.js';
import { load } from '../../src/io/checkpoint.js';
import { decodeSafetensors, encodeSafetensors, MAX_HEADER_BYTES, type RawTensor, type SafetensorsContents } from '../../src/io/safetensors.js';
import { mulberry32 } from '../helpers/random.js';
import { concat } from '../helpers/bytes.js';

const FILES = 1000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'toroid-hostile-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));



const enc = new TextEncoder();

/** A file from raw header bytes and data bytes (the length field is the header's length). */
function assemble(header: Uint8Array | string, data: Uint8Array): Uint8Array {
  const h = typeof header === 'string' ? enc.encode(header) : header;
  const out = new Uint8Array(8 + h.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.byteLength), true);
  out.set(h, 8);
  out.set(data, 8 + h.byteLength);
  return out;
}

function split(file: Uint8Array): { headerText: string; header: Record<string, any>; data: Uint8Array } {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const headerText = new TextDecoder().decode(file.subarray(8, 8 + n));
  return { headerText, header: JSON.parse(headerText), data: file.subarray(8 + n) };
}

function fill(n: number, f: (i: number) => number): number[] { return Array.from({ length: n }, (_, i) => f(i)); }

const BASES: Uint8Array[] = [
  concat(encodeSafetensors(new Map<string, RawTensor>([
    ['w', { dtype: 'F32', shape: [4, 8], data: Float32Array.from(fill(32, (i) => i * 0.5 - 3)) }],
    ['d', { dtype: 'F64', shape: [3], data: Float64Array.from([Math.PI, -0, 1e300]) }],
    ['i', { dtype: 'I32', shape: [5], data: Int32Array.from([-1, 0, 7, 2147483647, -2147483648]) }],
    ['l', { dtype: 'I64', shape: [2], data: BigInt64Array.from([3n, -(1n << 40n)]) }],
    ['h', { dtype: 'F16', shape: [6], data: Uint16Array.from([0x3c00, 0xc000, 0x7c00, 0, 1, 0x8001]) }],
    ['bf', { dtype: 'BF16', shape: [2, 2], data: Uint16Array.from([0x3f80, 0x4000, 0xbf80, 0x7fc0]) }],
    ['u', { dtype: 'U8', shape: [7], data: Uint8Array.from([0, 1, 2, 3, 128, 254, 255]) }],
    ['m', { dtype: 'BOOL', shape: [3], data: Uint8Array.from([1, 0, 1]) }],
    ['empty', { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) }],
    ['scalar', { dtype: 'F32', shape: [], data: Float32Array.from([42]) }],
  ]), { step: '3', note: 'ünïcode ✓' })),
  concat(encodeSafetensors(new Map<string, RawTensor>([
    ['big', { dtype: 'F32', shape: [64, 64], data: Float32Array.from(fill(4096, (i) => Math.sin(i))) }],
  ]))),
  concat(encodeSafetensors(new Map<string, RawTensor>(fill(20, (k) => k).map((k) => [
    `layers.${k}.weight`, { dtype: k % 2 ? 'F16' : 'F32', shape: [k + 1, 2], data: k % 2 ? Uint16Array.from(fill(2 * k + 2, (i) => i)) : Float32Array.from(fill(2 * k + 2, (i) => -i)) } as RawTensor,
  ])), { format: 'pt' })),
  // not padded: the data starts at an odd offset
  assemble('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}}', Uint8Array.from(fill(16, (i) => i * 17))),
];

// ---------------------------------------------------------------------------
// The reference reader: the format written out once more, independently of
// src/io/safetensors.ts (own key scanner, own checks), to judge each file.

const ITEM: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U8: 1, BOOL: 1 };
type Verdict = { ok: true; tensors: Map<string, { dtype: string; shape: number[]; bytes: Uint8Array }>; metadata: Map<string, string> } | { ok: false; why: string };

/** True when some object in the (valid) JSON text repeats a key. Tokenizes with a regex. */
function hasDuplicateKeys(text: string): boolean {
  const tokens = text.match(/"(?:[^"\\]|\\.)*"|[{}[\]:,]|[^\s{}[\]:,"]+/g) ?? [];
  const stack: Array<Set<string> | null> = [];
  for (let t = 0; t < tokens.length; t++) {
    const tok = tokens[t]!;
    if (tok === '{') stack.push(new Set());
    else if (tok === '[') stack.push(null);
    else if (tok === '}' || tok === ']') stack.pop();
    else if (tok.startsWith('"') && tokens[t + 1] === ':') {
      const keys = stack[stack.length - 1]!;
      const key = JSON.parse(tok) as string;
      if (keys.has(key)) return true;
      keys.add(key);
    }
  }
  return false;
}

function reference(file: Uint8Array): Verdict {
  if (file.byteLength < 8) return { ok: false, why: 'short' };
  const n = new DataView(file.buffer, file.byteOffset).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES) || n > BigInt(file.byteLength - 8)) return { ok: false, why: 'header length' };
  const raw = Buffer.from(file.buffer, file.byteOffset + 8, Number(n));
  const text = raw.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(raw)) return { ok: false, why: 'utf-8' };
  let header: unknown;
  try { header = JSON.parse(text); } catch { return { ok: false, why: 'json' }; }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return { ok: false, why: 'not an object' };
  if (hasDuplicateKeys(text)) return { ok: false, why: 'duplicate keys' };
  const data = file.subarray(8 + Number(n));
  const metadata = new Map<string, string>();
  const spans: Array<[number, number]> = [];
  const tensors = new Map<string, { dtype: string; shape: number[]; bytes: Uint8Array }>();
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, why: 'metadata' };
      for (const [k, s] of Object.entries(v)) { if (typeof s !== 'string') return { ok: false, why: 'metadata value' }; metadata.set(k, s); }
      continue;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, why: 'entry' };
    const { dtype, shape, data_offsets: off } = v as Record<string, unknown>;
    if (typeof dtype !== 'string' || !Object.hasOwn(ITEM, dtype)) return { ok: false, why: 'dtype' };
    if (!Array.isArray(shape) || shape.some((s) => typeof s !== 'number' || !Number.isInteger(s) || s < 0 || s > Number.MAX_SAFE_INTEGER)) return { ok: false, why: 'shape' };
    if (!Array.isArray(off) || off.length !== 2 || off.some((o) => typeof o !== 'number' || !Number.isInteger(o) || o < 0 || o > Number.MAX_SAFE_INTEGER)) return { ok: false, why: 'offsets' };
    // sizes in BigInt: no overflow possible; toroid refuses sizes past 2^53 even when a later 0 would bring them back
    let size = BigInt(ITEM[dtype]!);
    for (const s of shape as number[]) { size *= BigInt(s); if (size > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, why: 'size overflow' }; }
    const [b, e] = off as [number, number];
    if (b > e || BigInt(e - b) !== size) return { ok: false, why: 'span' };
    spans.push([b, e]);
    tensors.set(name, { dtype, shape: shape as number[], bytes: data.subarray(b, e) });
  }
  spans.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let at = 0;
  for (const [b, e] of spans) { if (b !== at) return { ok: false, why: 'tiling' }; at = e; }
  if (at !== data.byteLength) return { ok: false, why: 'coverage' };
  return { ok: true, tensors, metadata };
}

// ---------------------------------------------------------------------------
// Mutations. Each returns [kind, file]; `rng` drives every choice.

type Rng = () => number;
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
const int = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1)); // inclusive

function flipBits(file: Uint8Array, from: number, to: number, count: number, rng: Rng): Uint8Array {
  const out = file.slice();
  if (to <= from) return out;
  for (let k = 0; k < count; k++) out[int(rng, from, to - 1)]! ^= 1 << int(rng, 0, 7);
  return out;
}

/** Rewrite the header as JSON text (`edit` changes the parsed header), keeping the data. */
function rewrite(file: Uint8Array, edit: (h: Record<string, any>, names: string[]) => void): Uint8Array {
  const { header, data } = split(file);
  edit(header, Object.keys(header).filter((k) => k !== '__metadata__'));
  return assemble(JSON.stringify(header), data);
}

/** Replace the first occurrence of `from` in the header text by `to`. */
function textEdit(file: Uint8Array, from: string | RegExp, to: string): Uint8Array {
  const { headerText, data } = split(file);
  return assemble(headerText.replace(from, to), data);
}

const HUGE_NUMBERS = ['1e400', '-1e400', '9007199254740993', '18446744073709551616', '1.5', '-0', '-1', '1e308', '0.0000001', '"8"', 'null', 'true', '[]', '{}'];

const MUTATIONS: Array<(file: Uint8Array, rng: Rng) => Uint8Array> = [
  // 0: bit flips in the header (length field included)
  (f, rng) => {
    const n = Number(new DataView(f.buffer).getBigUint64(0, true));
    return flipBits(f, rng() < 0.1 ? 0 : 8, 8 + n, int(rng, 1, 3), rng);
  },
  // 1: bit flips in the data: still a valid file
  (f, rng) => {
    const n = Number(new DataView(f.buffer).getBigUint64(0, true));
    return flipBits(f, 8 + n, f.byteLength, int(rng, 1, 4), rng);
  },
  // 2: truncation at a random point (or inside the length field)
  (f, rng) => f.slice(0, rng() < 0.1 ? int(rng, 0, 7) : int(rng, 0, f.byteLength - 1)),
  // 3: hostile header length fields
  (f, rng) => {
    const out = f.slice();
    const n = new DataView(f.buffer).getBigUint64(0, true);
    const v = pick(rng, [1n << 60n, (1n << 64n) - 1n, 1n << 63n, (1n << 53n) + 1n, BigInt(MAX_HEADER_BYTES) + 1n, BigInt(f.byteLength),
      BigInt(f.byteLength - 7), n - 1n, n + 1n, 0n, 1n, BigInt(int(rng, 0, 0xffffffff)) << BigInt(int(rng, 0, 32))]);
    new DataView(out.buffer).setBigUint64(0, v, true);
    return out;
  },
  // 4: overlapping, out-of-range or non-integer offsets
  (f, rng) => rewrite(f, (h, names) => {
    const name = pick(rng, names);
    const [b, e] = h[name].data_offsets as [number, number];
    const other = h[pick(rng, names)].data_offsets as [number, number];
    const dataLen = split(f).data.byteLength;
    h[name].data_offsets = pick(rng, [
      [b + 1, e + 1], [Math.max(b - 1, 0), e - 1], [0, e - b], other, [e, b], [dataLen, dataLen + e - b], [b, dataLen + 1],
      [2 ** 53, 2 ** 53 + e - b], [2 ** 64, 2 ** 64 + e - b], [-4, e - b - 4], [b + 0.5, e + 0.5], [b], [b, e, e], `${b},${e}`, null, { 0: b, 1: e },
    ]);
  }),
  // 5: non-JSON or non-object headers, deep nesting
  (f, rng) => {
    const { headerText, data } = split(f);
    const text = pick(rng, [
      headerText.slice(0, int(rng, 0, headerText.length - 2)), 'null', '[]', '[{}]', '1', '"a string"', 'true', '', ' ', '{', '{}x', '{"a":1,}',
      "{'a':1}", 'NaN', '{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}', '['.repeat(100_000) + ']'.repeat(100_000),
      '{"a":'.repeat(50_000) + '{}' + '}'.repeat(50_000), String.fromCharCode(...fill(64, () => int(rng, 0, 127))),
    ]);
    return assemble(text, data);
  },
  // 6: invalid UTF-8 inside a string of the header (or a byte order mark in front)
  (f, rng) => {
    const { headerText, data } = split(f);
    const h = enc.encode(headerText);
    const bad = pick(rng, [[0xff], [0xfe], [0xc0, 0x80], [0xc1, 0xbf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]]);
    if (rng() < 0.1) return assemble(concat([Uint8Array.from([0xef, 0xbb, 0xbf]), h]), data);
    const quotes = fill(h.length, (i) => i).filter((i) => h[i] === 0x22);
    const at = pick(rng, quotes) + 1;
    return assemble(concat([h.subarray(0, at), Uint8Array.from(bad), h.subarray(at)]), data);
  },
  // 7: dtype or shape that disagree with the byte range
  (f, rng) => rewrite(f, (h, names) => {
    const e = h[pick(rng, names)];
    const r = rng();
    if (r < 0.4) e.dtype = pick(rng, ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'U8', 'BOOL', 'f32', 'F8', '', 'F32 ', 'complex64']);
    else if (r < 0.6) e.shape = [...e.shape, 2];
    else if (r < 0.8) e.shape = e.shape.length > 0 ? e.shape.map((s: number, i: number) => (i === 0 ? s + 1 : s)) : [2];
    else e.shape = e.shape.length > 0 ? e.shape.slice(1) : [];
  }),
  // 8: duplicate keys (top level, inside an entry, in the metadata; same or other content; escaped spellings)
  (f, rng) => {
    const { headerText, header, data } = split(f);
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    const name = pick(rng, names);
    const entry = JSON.stringify(header[name]);
    const body = headerText.trimEnd().slice(0, -1); // without the closing brace
    const r = rng();
    if (r < 0.3) return assemble(`${body},${JSON.stringify(name)}:${entry}}`, data); // same entry twice
    if (r < 0.5) return assemble(`${body},${JSON.stringify(name)}:${JSON.stringify(header[pick(rng, names)])}}`, data);
    if (r < 0.7) return assemble(`{${JSON.stringify(name)}:${entry},${headerText.trimStart().slice(1)}`, data); // first copy wins elsewhere
    if (r < 0.8) return assemble(headerText.replace(`"dtype":"${header[name].dtype}"`, `"dtype":"${header[name].dtype}","dtype":"F32"`), data);
    if (r < 0.9) return assemble(`${body},"__metadata__":{"a":"b"}}`, data);
    const escaped = name.replace(/./, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    return assemble(`${body},"${escaped}":${entry}}`, data);
  },
  // 9: negative, fractional, -0, non-number and huge shape entries (as JSON text)
  (f, rng) => {
    const { headerText, data } = split(f);
    const shapes = [...headerText.matchAll(/"shape":\[[^\]]*\]/g)];
    const m = pick(rng, shapes);
    const entries = m[0].slice(9, -1).split(',').filter((s) => s !== '');
    const at = int(rng, 0, Math.max(entries.length - 1, 0));
    entries[at] = pick(rng, ['-1', '-2', '0.5', '1.0000001', '-0', '2e0', '1e1', '1E400', ...HUGE_NUMBERS]);
    return assemble(headerText.slice(0, m.index) + `"shape":[${entries.join(',')}]` + headerText.slice(m.index! + m[0].length), data);
  },
  // 10: huge shapes whose product overflows or passes the file
  (f, rng) => rewrite(f, (h, names) => {
    const e = h[pick(rng, names)];
    e.shape = pick(rng, [[2 ** 31, 2 ** 31, 2 ** 31], [2 ** 53 - 1, 2], [1e308, 1e308], [2 ** 26, 2 ** 26, 0], [0, 2 ** 40, 2 ** 40],
      [2 ** 20, 2 ** 20], [2 ** 62], [4294967296, 4294967296], fill(64, () => 2), [2 ** 53]]);
    if (rng() < 0.5) e.data_offsets = [e.data_offsets[0], e.data_offsets[0] + 2 ** 42];
  }),
  // 11: hostile structure: wrong types, missing fields, prototype keys, odd names
  (f, rng) => {
    const { headerText, header, data } = split(f);
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    const name = pick(rng, names);
    const body = headerText.trimEnd().slice(0, -1);
    const r = int(rng, 0, 11);
    switch (r) {
      case 0: return rewrite(f, (h) => { h[name] = pick(rng, [null, [], 3, 'F32', true]); });
      case 1: return rewrite(f, (h) => { delete h[name][pick(rng, ['dtype', 'shape', 'data_offsets'])]; });
      case 2: return rewrite(f, (h) => { h.__metadata__ = pick(rng, [[], 3, 'x', null, { a: 1 }, { a: null }, { a: ['x'] }, { a: {} }]); });
      case 3: return assemble(`${body},"__metadata__":{"__proto__":"polluted","constructor":"c"}}`, data); // valid
      case 4: return assemble(headerText.replace(JSON.stringify(name), '"__proto__"'), data); // valid: a tensor named __proto__
      case 5: return textEdit(f, /"dtype":"[A-Z0-9]+"/, '"dtype":{"constructor":{"name":{"toString":1}}}');
      case 6: return assemble(`${body},"__metadata__":{"k":{"constructor":{"name":{"toString":1,"valueOf":2}}}}}`, data);
      case 7: return assemble(headerText.replace(JSON.stringify(name), JSON.stringify('n'.repeat(20_000))), data); // valid: a long name
      case 8: return assemble(`${body},${JSON.stringify('q'.repeat(20_000))}:{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, data); // error naming a long name
      case 9: return textEdit(f, /"shape":\[/, `"shape":[${'1,'.repeat(30_000)}`); // long shape: size unchanged but an error quoting it must stay short
      case 10: return assemble(headerText.replace(JSON.stringify(name), '""'), data); // valid: an empty name
      default: return textEdit(f, /"data_offsets":\[/, '"data_offsets":[[0],');
    }
  },
  // 12: random splices of random bytes anywhere
  (f, rng) => {
    const out = f.slice();
    const at = int(rng, 0, f.byteLength - 1);
    const len = int(rng, 1, Math.min(16, f.byteLength - at));
    for (let i = 0; i < len; i++) out[at + i] = int(rng, 0, 255);
    return out;
  },
];
const KIND_NAMES = ['headerFlip', 'dataFlip', 'truncate', 'lengthField', 'offsets', 'notJSON', 'utf8', 'dtypeShape', 'duplicates', 'shapeValues', 'overflow', 'structure', 'splice'];

// ---------------------------------------------------------------------------

const realSlice = ArrayBuffer.prototype.slice; // eslint-disable-line @typescript-eslint/unbound-method
let sliced = 0;

/** Decode while counting the bytes ArrayBuffer.prototype.slice is asked for. */
function decodeCounting(file: Uint8Array, source: string): SafetensorsContents {
  sliced = 0;
  ArrayBuffer.prototype.slice = function (this: ArrayBuffer, begin?: number, end?: number): ArrayBuffer {
    const out = realSlice.call(this, begin, end);
    sliced += out.byteLength;
    return out;
  };
  try {
    return decodeSafetensors(file, source);
  } finally {
    ArrayBuffer.prototype.slice = realSlice;
  }
}

function expectClean(err: unknown, source: string, context: string): void {
  expect(err, context).toBeInstanceOf(RangeError);
  const message = (err as Error).message;
  expect(message.startsWith(`toroid.load: file ${JSON.stringify(source)} must be `), `${context}: ${message.slice(0, 300)}`).toBe(true);
  expect(message.length, `${context}: message too long`).toBeLessThan(600);
  expect(message, context).not.toMatch(/Cannot |undefined|is not a function|\[object /);
}

function expectMatches(got: SafetensorsContents, want: Extract<Verdict, { ok: true }>, context: string): void {
  expect([...got.tensors.keys()].sort(), context).toEqual([...want.tensors.keys()].sort());
  for (const [name, w] of want.tensors) {
    const g = got.tensors.get(name)!;
    expect(g.dtype, context).toBe(w.dtype);
    expect(g.shape.map(Number), context).toEqual(w.shape.map(Number));
    expect(Buffer.from(g.data.buffer, g.data.byteOffset, g.data.byteLength).equals(Buffer.from(w.bytes)), `${context}: bytes of ${name}`).toBe(true);
    expect(g.data.byteOffset % (g.data as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT, context).toBe(0);
  }
  expect(Object.keys(got.metadata).sort(), context).toEqual([...want.metadata.keys()].sort());
  for (const [k, v] of want.metadata) expect(Object.getOwnPropertyDescriptor(got.metadata, k)?.value, context).toBe(v);
}

describe('1,000 hostile safetensors files', () => {
  it('each loads exactly what the file holds or gives a clean RangeError, allocating nothing beyond the file', async () => {
    const rng = mulberry32(20240605);
    const stats: Record<string, { ok: number; refused: number }> = {};
    const reasons: Record<string, number> = {};
    let worstMs = 0;
    let worstGrowth = -Infinity;
    const t0 = performance.now();
    for (let k = 0; k < FILES; k++) {
      const kind = k % MUTATIONS.length;
      const base = BASES[Math.floor(rng() * BASES.length)]!;
      const file = MUTATIONS[kind]!(base, rng);
      const source = `m${k}.safetensors`;
      const context = `file ${k} (${KIND_NAMES[kind]})`;
      const verdict = reference(file);
      if (kind === 1) expect(verdict.ok, context).toBe(true); // data flips never break a file
      if (kind === 2 && file.byteLength < base.byteLength) expect(verdict.ok, context).toBe(false);

      const before = process.memoryUsage().arrayBuffers;
      const start = performance.now();
      let got: SafetensorsContents | undefined;
      let error: unknown;
      try { got = decodeCounting(file, source); } catch (err) { error = err; }
      worstMs = Math.max(worstMs, performance.now() - start);
      const growth = process.memoryUsage().arrayBuffers - before;
      worstGrowth = Math.max(worstGrowth, growth);
      expect(growth, `${context}: arrayBuffers grew by ${growth}`).toBeLessThanOrEqual(file.byteLength + 64 * 1024);

      const s = (stats[KIND_NAMES[kind]!] ??= { ok: 0, refused: 0 });
      if (verdict.ok) {
        expect(error, `${context}: a valid file was refused: ${(error as Error | undefined)?.message}`).toBeUndefined();
        expectMatches(got!, verdict, context);
        expect(sliced, context).toBeLessThanOrEqual(file.byteLength);
        s.ok++;
      } else {
        expect(got, `${context}: a ${verdict.why} file loaded`).toBeUndefined();
        expectClean(error, source, context);
        expect(sliced, `${context}: allocated before refusing`).toBe(0);
        s.refused++;
        reasons[verdict.why] = (reasons[verdict.why] ?? 0) + 1;
      }

      // every 10th file also through toroid.load from disk (widening, I64 narrowing, tensor creation)
      if (k % 10 === 0) {
        const p = path.join(dir, source);
        fs.writeFileSync(p, file);
        try {
          const loaded = await load(p, { backend: 'ts' });
          expect(verdict.ok, context).toBe(true);
          expect(Object.keys(loaded.tensors).sort(), context).toEqual([...(verdict as Extract<Verdict, { ok: true }>).tensors.keys()].sort());
          for (const t of Object.values(loaded.tensors)) t.dispose();
        } catch (err) {
          expect(err, context).toBeInstanceOf(RangeError);
          expect((err as Error).message, context).toMatch(/^toroid\.load: /);
          // a valid file may still be refused by load for one reason only: I64 values outside int32
          if (verdict.ok) expect((err as Error).message, context).toMatch(/I64 values within int32 range/);
        }
        fs.rmSync(p);
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    console.log(`hostile-safetensors: ${FILES} files in ${seconds.toFixed(1)} s, slowest decode ${worstMs.toFixed(1)} ms, `
      + `largest arrayBuffers growth ${worstGrowth} bytes\nper mutation ${JSON.stringify(stats)}\nrefusals by reason ${JSON.stringify(reasons)}`);
    // every kind produced files, and both outcomes happened
    expect(Object.keys(stats).length).toBe(MUTATIONS.length);
    expect(Object.values(stats).reduce((n, s) => n + s.ok, 0)).toBeGreaterThan(50);
    expect(Object.values(stats).reduce((n, s) => n + s.refused, 0)).toBeGreaterThan(500);
  }, 60_000);
});

describe('hostile safetensors: regressions', () => {
  const data4 = new Uint8Array(4);
  const x = '"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';
  const refused = (header: string, data: Uint8Array, message: RegExp): void => {
    let error: unknown;
    try { decodeSafetensors(assemble(header, data), 'r.safetensors'); } catch (err) { error = err; }
    expectClean(error, 'r.safetensors', header.slice(0, 80));
    expect((error as Error).message).toMatch(message);
  };

  it('header objects with their own "constructor"/"toString" keys give a clean error (was: TypeError "Cannot convert object to primitive value")', () => {
    refused('{"x":{"dtype":{"constructor":{"name":{"toString":1}}},"shape":[1],"data_offsets":[0,4]}}', data4, /dtype to be one of .*, got object$/);
    refused('{"__metadata__":{"a":{"constructor":{"name":{"toString":1}}}}}', new Uint8Array(0), /__metadata__\.a to be a string, got object$/);
  });

  it('duplicate keys are refused (was: the last one silently won, so another reader saw another file)', () => {
    refused(`{${x},${x}}`, data4, /without duplicate keys, got "x" twice/);
    refused(`{"z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},${x},"z":{"dtype":"BAD"}}`, data4, /duplicate keys, got "z"/);
    refused(`{${x},"\\u0078":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, data4, /duplicate keys, got "x"/);
    refused('{"x":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}}', data4, /duplicate keys, got "dtype"/);
    refused('{"__metadata__":{"a":"1","a":"2"}}', new Uint8Array(0), /duplicate keys, got "a"/);
    // the same names in different objects are fine
    expect(decodeSafetensors(assemble(`{"__metadata__":{"x":"1","dtype":"2"},${x}}`, data4)).metadata).toEqual({ x: '1', dtype: '2' });
  });

  it('a byte order mark before the header is refused (as the reference reader does)', () => {
    refused(`\ufeff{${x}}`, data4, /valid UTF-8 JSON/);
  });

  it('error messages quoting the header stay short', () => {
    refused(`{${JSON.stringify('q'.repeat(100_000))}:{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, data4, /tensor 'q+\.\.\.' data_offsets to span 8 bytes/);
    refused(`{"x":{"dtype":"F32","shape":[${'-1,'.repeat(100_000)}1],"data_offsets":[0,4]}}`, data4, /non-negative integers, got \[-1,-1,.*\.\.\.$/);
    refused(`{"x":{"dtype":${JSON.stringify('F'.repeat(100_000))},"shape":[1],"data_offsets":[0,4]}}`, data4, /got "F+\.\.\.$/);
  });

  it('"__proto__" is an ordinary tensor name and metadata key (was: dropped, and toroid.load set the record\'s prototype)', async () => {
    const header = '{"__metadata__":{"__proto__":"meta"},"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const file = assemble(header, new Uint8Array(new Float32Array([2.5]).buffer));
    const decoded = decodeSafetensors(file);
    expect(Object.keys(decoded.metadata)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(decoded.metadata)).toBe(Object.prototype);
    const p = path.join(dir, 'proto.safetensors');
    fs.writeFileSync(p, file);
    const { tensors, metadata } = await load(p, { backend: 'ts' });
    expect(Object.getPrototypeOf(tensors)).toBe(Object.prototype);
    expect(Object.keys(tensors)).toEqual(['__proto__']);
    expect(Array.from(Object.getOwnPropertyDescriptor(tensors, '__proto__')!.value.toFloat32Array())).toEqual([2.5]);
    expect(Object.getOwnPropertyDescriptor(metadata, '__proto__')?.value).toBe('meta');
    for (const t of Object.values(tensors)) t.dispose();
  });
});
