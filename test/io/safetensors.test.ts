import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { decodeSafetensors, encodeSafetensors, type RawTensor } from '../../src/io/safetensors.js';
import { describeEachBackend } from '../helpers/backends.js';
import { concat } from '../helpers/bytes.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'toroid-io-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));


/** A file with a hand-written header and `dataBytes` zero bytes of data. */
function fileWithHeader(header: unknown, dataBytes: number, rawHeader?: string): Uint8Array {
  const json = new TextEncoder().encode(rawHeader ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  return out;
}

describe('safetensors encode/decode', () => {
  it('round-trips every dtype, shape [] and zero-size tensors, and metadata', () => {
    const tensors = new Map<string, RawTensor>([
      ['a', { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, -6.5]) }],
      ['b', { dtype: 'F64', shape: [], data: Float64Array.from([Math.PI]) }],
      ['c', { dtype: 'I32', shape: [3], data: Int32Array.from([-1, 0, 2147483647]) }],
      ['d', { dtype: 'I64', shape: [2], data: BigInt64Array.from([-5n, 1n << 40n]) }],
      ['e', { dtype: 'F16', shape: [1], data: Uint16Array.from([0x3c00]) }],
      ['f', { dtype: 'BOOL', shape: [2, 0], data: new Uint8Array(0) }],
      ['g', { dtype: 'U8', shape: [3], data: Uint8Array.from([0, 128, 255]) }],
    ]);
    const bytes = concat(encodeSafetensors(tensors, { note: 'hi', cases: '{}' }));
    // header is padded so the data starts 8-byte aligned
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0);
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({ note: 'hi', cases: '{}' });
    for (const [name, t] of tensors) {
      const r = back.tensors.get(name)!;
      expect(r.dtype).toBe(t.dtype);
      expect(r.shape).toEqual(t.shape);
      expect(Array.from(r.data as ArrayLike<number | bigint>)).toEqual(Array.from(t.data as ArrayLike<number | bigint>));
    }
  });

  it('reads a file whose data starts unaligned (header not padded)', () => {
    const header = JSON.stringify({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }) + ' ';
    const bytes = fileWithHeader(null, 8, header.length % 4 === 0 ? header + ' ' : header);
    new DataView(bytes.buffer).setFloat32(bytes.length - 8, 1.5, true);
    new DataView(bytes.buffer).setFloat32(bytes.length - 4, -2, true);
    expect(Array.from(decodeSafetensors(bytes).tensors.get('x')!.data as Float32Array)).toEqual([1.5, -2]);
  });
});

describe('safetensors hostile headers give clean errors', () => {
  const ok = { x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['too short for the length', new Uint8Array(5), /at least 8 bytes/],
    ['header length beyond the file', (() => { const b = fileWithHeader(ok, 8); new DataView(b.buffer).setBigUint64(0, 1n << 40n, true); return b; })(), /header/],
    ['header length just past the end', (() => { const b = fileWithHeader(ok, 0); new DataView(b.buffer).setBigUint64(0, BigInt(b.length), true); return b; })(), /within the file/],
    ['non-JSON header', fileWithHeader(null, 0, '{"x": '), /valid UTF-8 JSON/],
    ['invalid UTF-8', fileWithHeader(null, 0, '"\udc00"').map((v, i) => (i === 9 ? 0xff : v)), /valid UTF-8 JSON/],
    ['array header', fileWithHeader([1, 2], 0), /JSON object header/],
    ['unknown dtype', fileWithHeader({ x: { dtype: 'F8', shape: [2], data_offsets: [0, 2] } }, 2), /dtype to be one of/],
    ['negative dim', fileWithHeader({ x: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, 8), /non-negative integers/],
    ['fractional dim', fileWithHeader({ x: { dtype: 'F32', shape: [1.5], data_offsets: [0, 6] } }, 6), /non-negative integers/],
    ['shape does not match bytes', fileWithHeader({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /span 12 bytes/],
    ['offsets reversed', fileWithHeader({ x: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, 8), /begin <= end/],
    ['offsets out of range', fileWithHeader({ x: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 8), /start at byte 0/],
    ['overlapping tensors', fileWithHeader({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, y: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), /no overlaps/],
    ['hole between tensors', fileWithHeader({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, y: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, 12), /no overlaps or holes/],
    ['trailing bytes', fileWithHeader(ok, 12), /cover the 12 data bytes/],
    ['huge shape (no allocation)', fileWithHeader({ x: { dtype: 'F64', shape: [1e9, 1e9, 1e9], data_offsets: [0, 8] } }, 8), /representable size|span/],
    ['metadata not strings', fileWithHeader({ __metadata__: { a: 1 } }, 0), /__metadata__\.a to be a string/],
  ];
  for (const [title, bytes, message] of cases) {
    it(title, () => {
      let error: unknown;
      try { decodeSafetensors(bytes, 'bad.safetensors'); } catch (err) { error = err; }
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).toMatch(/^toroid\.load: file "bad\.safetensors" must be /);
      expect((error as Error).message).toMatch(message);
    });
  }
});

describeEachBackend('toroid.save / toroid.load', (backend) => {
  it('round-trips float32, int32 and bool tensors with metadata', async () => {
    const file = path.join(dir, `model-${backend}.safetensors`);
    const w = toroid.tensor([[1, 2], [3, 4.25]], { backend });
    const ids = toroid.tensor([5, -7, 9], { dtype: 'int32', backend });
    const mask = toroid.tensor([1, 0, 1], { dtype: 'bool', backend });
    await toroid.save(file, { 'layer.weight': w, ids, mask }, { epoch: '3' });
    const { tensors, metadata } = await toroid.load(file, { backend });
    expect(metadata).toEqual({ epoch: '3' });
    expect(tensors['layer.weight']!.shape).toEqual([2, 2]);
    expect(Array.from(tensors['layer.weight']!.toFloat32Array())).toEqual([1, 2, 3, 4.25]);
    expect(tensors.ids!.dtype).toBe('int32');
    expect(Array.from(tensors.ids!.toTypedArray())).toEqual([5, -7, 9]);
    expect(tensors.mask!.dtype).toBe('bool');
    for (const t of [w, ids, mask, ...Object.values(tensors)]) t.dispose();
  });

  it('stores float32 as F16 or BF16 on request and widens on load', async () => {
    const file = path.join(dir, `half-${backend}.safetensors`);
    const x = toroid.tensor([1, -2.5, 65504, 1e-8, 0.1], { backend });
    for (const floatFormat of ['F16', 'BF16'] as const) {
      await toroid.save(file, { x }, {}, { floatFormat });
      const { tensors } = await toroid.load(file, { backend });
      const y = tensors.x!.toFloat32Array();
      expect(y[0]).toBe(1);
      expect(y[1]).toBe(-2.5);
      expect(Math.abs(y[4]! - 0.1)).toBeLessThan(floatFormat === 'F16' ? 1e-4 : 1e-3);
      tensors.x!.dispose();
    }
    x.dispose();
  });

  it('rejects bad arguments with named errors', async () => {
    const t = toroid.tensor([1], { backend });
    await expect(toroid.save(42 as unknown as string, { t })).rejects.toThrow(/toroid\.save: path must be a string, got number 42/);
    await expect(toroid.save(path.join(dir, 'x.safetensors'), { t: 3 as unknown as toroid.Tensor })).rejects.toThrow(/toroid\.save: tensors\['t'\] must be a Tensor/);
    await expect(toroid.save(path.join(dir, 'x.safetensors'), { t }, {}, { floatFormat: 'F8' as 'F16' })).rejects.toThrow(RangeError);
    await expect(toroid.save(path.join(dir, 'x.safetensors'), null as unknown as Record<string, toroid.Tensor>)).rejects.toThrow(TypeError);
    await expect(toroid.load(path.join(dir, 'missing.safetensors'))).rejects.toThrow(/ENOENT/);
    t.dispose();
    await expect(toroid.save(path.join(dir, 'x.safetensors'), { t })).rejects.toThrow(/a live Tensor, got a disposed one/);
  });

  it('I64 ids narrow to int32 and out-of-range values are refused', async () => {
    const file = path.join(dir, `i64-${backend}.safetensors`);
    const chunks = encodeSafetensors(new Map([['ids', { dtype: 'I64', shape: [2], data: BigInt64Array.from([3n, 1n << 33n]) }]]));
    fs.writeFileSync(file, concat(chunks));
    await expect(toroid.load(file, { backend })).rejects.toThrow(/I64 values within int32 range, got 8589934592 at index 1/);
  });
});

describe('atomic save', () => {
  it('leaves the old file intact when a save fails, and no temp files behind', async () => {
    const file = path.join(dir, 'keep.safetensors');
    const a = toroid.tensor([1, 2, 3]);
    await toroid.save(file, { a });
    const before = fs.readFileSync(file);
    await expect(toroid.save(file, { a }, { bad: 5 as unknown as string })).rejects.toThrow(TypeError);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    a.dispose();
  });

  it('replaces the file in one rename', async () => {
    const file = path.join(dir, 'replace.safetensors');
    const a = toroid.tensor([1]);
    const b = toroid.tensor([2, 3]);
    await toroid.save(file, { a });
    await toroid.save(file, { b });
    const { tensors } = await toroid.load(file);
    expect(Object.keys(tensors)).toEqual(['b']);
    for (const t of [a, b, ...Object.values(tensors)]) t.dispose();
  });
});
