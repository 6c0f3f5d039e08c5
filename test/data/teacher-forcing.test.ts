// toroid.data.teacherForcingBatch: shapes, values, truncation, counts, masks, bad arguments.
import { describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend } from '../helpers/backends.js';

const { teacherForcingBatch } = toroid.data;

describeEachBackend('data.teacherForcingBatch', (backend) => {
  it('pads src, shifts tgtIn right by BOS and closes tgtOut with EOS', () => {
    const before = toroid.memory().liveStorages;
    const batch = teacherForcingBatch([[5, 6, 7], [8]], [[10, 11], [12, 13, 14, 15]], { backend });
    expect(batch.size).toBe(2);
    expect(batch.src.shape).toEqual([2, 3]);
    expect(batch.tgtIn.shape).toEqual([2, 5]);
    expect(batch.tgtOut.shape).toEqual([2, 5]);
    for (const t of [batch.src, batch.tgtIn, batch.tgtOut]) {
      expect(t.dtype).toBe('int32');
      expect(t.device).toBe(backend);
    }
    expect(batch.src.toArray()).toEqual([[5, 6, 7], [8, 0, 0]]);
    expect(batch.tgtIn.toArray()).toEqual([[1, 10, 11, 0, 0], [1, 12, 13, 14, 15]]);
    expect(batch.tgtOut.toArray()).toEqual([[10, 11, 2, 0, 0], [12, 13, 14, 15, 2]]);
    expect(Array.from(batch.srcLengths)).toEqual([3, 1]);
    expect(Array.from(batch.tgtLengths)).toEqual([3, 5]);
    expect(batch.srcTokens).toBe(4);
    expect(batch.tgtTokens).toBe(8);
    expect(batch.srcPaddingMask).toBeUndefined();
    expect(toroid.memory().liveStorages).toBe(before + 3);
    batch.dispose();
    expect(toroid.memory().liveStorages).toBe(before);
  });

  it('tgtOut is tgtIn shifted left by one wherever tgtOut is not pad', () => {
    const src = [[3, 4], [5, 6, 7, 8], [9]];
    const tgt = [[20, 21, 22], [23], [24, 25]];
    const b = teacherForcingBatch(src, tgt, { backend });
    const tin = b.tgtIn.toArray() as number[][], tout = b.tgtOut.toArray() as number[][];
    for (let r = 0; r < 3; r++) {
      for (let j = 0; j < tout[r]!.length; j++) {
        if (tout[r]![j] === 0) continue;
        if (j + 1 < tin[r]!.length && tin[r]![j + 1] !== 0) expect(tout[r]![j]).toBe(tin[r]![j + 1]);
        else expect(tout[r]![j]).toBe(2);
      }
    }
    // non-pad labels = real target tokens + one EOS per row
    expect(tout.flat().filter((v) => v !== 0).length).toBe(b.tgtTokens);
    expect(b.tgtTokens).toBe(3 + 1 + 2 + 3);
    b.dispose();
  });

  it('custom special ids, Int32Array inputs and an empty target', () => {
    const b = teacherForcingBatch([new Int32Array([7, 8])], [new Int32Array(0)], { backend, pad: 3, bos: 4, eos: 5 });
    expect(b.src.toArray()).toEqual([[7, 8]]);
    expect(b.tgtIn.toArray()).toEqual([[4]]);
    expect(b.tgtOut.toArray()).toEqual([[5]]);
    expect(b.tgtTokens).toBe(1);
    b.dispose();
  });

  it('maxLen truncates and keeps EOS; srcBos/srcEos wrap the source', () => {
    const b = teacherForcingBatch([[5, 6, 7, 8, 9], [5]], [[10, 11, 12, 13, 14, 15], [10]], { backend, maxLen: 4, srcBos: true, srcEos: true });
    expect(b.src.toArray()).toEqual([[1, 5, 6, 2], [1, 5, 2, 0]]);
    expect(b.tgtIn.toArray()).toEqual([[1, 10, 11, 12], [1, 10, 0, 0]]);
    expect(b.tgtOut.toArray()).toEqual([[10, 11, 12, 2], [10, 2, 0, 0]]);
    expect(b.srcTokens).toBe(7);
    expect(b.tgtTokens).toBe(6);
    b.dispose();
    const c = teacherForcingBatch([[5, 6, 7]], [[10, 11, 12]], { backend, maxSrcLen: 2, maxTgtLen: 1 });
    expect(c.src.toArray()).toEqual([[5, 6]]);
    expect(c.tgtIn.toArray()).toEqual([[1]]);
    expect(c.tgtOut.toArray()).toEqual([[2]]);
    c.dispose();
  });

  it('masks: true adds bool padding masks (true = padding); empty sources keep one masked position', () => {
    const b = teacherForcingBatch([[5, 6], [7]], [[9], [9, 9, 9]], { backend, masks: true });
    expect(b.srcPaddingMask!.dtype).toBe('bool');
    expect(b.srcPaddingMask!.toArray()).toEqual([[0, 0], [0, 1]]);
    expect(b.tgtPaddingMask!.toArray()).toEqual([[0, 0, 1, 1], [0, 0, 0, 0]]);
    b.dispose();
    const e = teacherForcingBatch([[]], [[9]], { backend, masks: true });
    expect(e.src.shape).toEqual([1, 1]);
    expect(e.srcPaddingMask!.toArray()).toEqual([[1]]);
    expect(e.srcTokens).toBe(0);
    e.dispose();
  });

  it('the batch feeds F.embedding and F.crossEntropy with ignoreIndex = pad', () => {
    toroid.tidy(() => {
      const b = teacherForcingBatch([[3, 4]], [[5, 6, 7], ], { backend });
      const emb = toroid.randn([10, 4], { backend });
      const x = toroid.F.embedding(b.tgtIn, emb);
      expect(x.shape).toEqual([1, 4, 4]);
      const logits = toroid.randn([1, 4, 10], { backend });
      const loss = toroid.F.crossEntropy(logits, b.tgtOut, { ignoreIndex: 0 });
      expect(Number.isFinite(loss.item())).toBe(true);
    });
  });
});

describe('data.teacherForcingBatch bad arguments', () => {
  const ok = [[5]], okT = [[6]];
  it('rejects a non-array src or tgt (TypeError)', () => {
    expect(() => teacherForcingBatch('abc' as never, okT)).toThrow(TypeError);
    expect(() => teacherForcingBatch(ok, 5 as never)).toThrow(/toroid\.teacherForcingBatch: tgt must be an array of token-id sequences, got number 5/);
  });
  it('rejects an empty batch and mismatched batch sizes (RangeError)', () => {
    expect(() => teacherForcingBatch([], [])).toThrow(/src must be a non-empty array of sequences, got array\(0\)/);
    expect(() => teacherForcingBatch([[5], [6]], [[7]])).toThrow(RangeError);
  });
  it('rejects non-integer, negative and non-number token ids', () => {
    expect(() => teacherForcingBatch([[5.5]], okT)).toThrow(/src\[0\]\[0\] must be an integer token id in \[0, 2\^31\), got 5\.5/);
    expect(() => teacherForcingBatch(ok, [[-1]])).toThrow(RangeError);
    expect(() => teacherForcingBatch(ok, [['a' as never]])).toThrow(TypeError);
    expect(() => teacherForcingBatch(ok, [new Int32Array([-3])])).toThrow(RangeError);
    expect(() => teacherForcingBatch([new Float32Array([1]) as never], okT)).toThrow(TypeError);
  });
  it('rejects the pad id inside a sequence', () => {
    expect(() => teacherForcingBatch(ok, [[6, 0]])).toThrow(/tgt\[0\]\[1\] must be a token id other than pad \(0\), got 0/);
    expect(() => teacherForcingBatch([[0]], okT)).toThrow(RangeError);
  });
  it('rejects bad special ids (eos = pad would make the loss ignore EOS)', () => {
    expect(() => teacherForcingBatch(ok, okT, { eos: 0 })).toThrow(/options\.eos must be an id other than pad/);
    expect(() => teacherForcingBatch(ok, okT, { bos: 0 })).toThrow(RangeError);
    expect(() => teacherForcingBatch(ok, okT, { pad: -1 })).toThrow(RangeError);
    expect(() => teacherForcingBatch(ok, okT, { pad: '0' as never })).toThrow(TypeError);
  });
  it('rejects bad maxLen, flags, backend and options', () => {
    expect(() => teacherForcingBatch(ok, okT, { maxLen: 0 })).toThrow(/options\.maxLen must be an integer >= 1, got 0/);
    expect(() => teacherForcingBatch(ok, okT, { maxLen: 1, srcBos: true, srcEos: true })).toThrow(RangeError);
    expect(() => teacherForcingBatch(ok, okT, { maxTgtLen: 2.5 })).toThrow(RangeError);
    expect(() => teacherForcingBatch(ok, okT, { masks: 1 as never })).toThrow(TypeError);
    expect(() => teacherForcingBatch(ok, okT, { backend: 3 as never })).toThrow(TypeError);
    expect(() => teacherForcingBatch(ok, okT, { backend: 'nope' })).toThrow(RangeError);
    expect(() => teacherForcingBatch(ok, okT, 'x' as never)).toThrow(TypeError);
  });
});
