// F.topk: the k largest along the last axis, best first (larger first, NaN above every
// number, ties by lower index), on every backend against a plain sort, its gradient (the
// values' gradient back at their positions), bf16 inputs, and its argument errors.
import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend } from '../helpers/backends.js';
import { mulberry32 } from '../helpers/random.js';

const { F } = toroid;

/** A row's top k by sorting (value, index) pairs in topk's order. */
function reference(row: number[], k: number): { values: number[]; indices: number[] } {
  const order = row.map((_, i) => i).sort((a, b) => {
    const x = row[a]!, y = row[b]!;
    if (Number.isNaN(x) !== Number.isNaN(y)) return Number.isNaN(x) ? -1 : 1;
    if (Number.isNaN(x) || x === y) return a - b;
    return y - x;
  });
  return { values: order.slice(0, k).map((i) => row[i]!), indices: order.slice(0, k) };
}

/** Rows with ties (small integers), NaN and infinities among the values. */
function rows(R: number, n: number, seed: number): number[][] {
  const rand = mulberry32(seed);
  return Array.from({ length: R }, () => Array.from({ length: n }, () => {
    const u = rand();
    if (u < 0.03) return NaN;
    if (u < 0.06) return u < 0.045 ? Infinity : -Infinity;
    return u < 0.5 ? Math.floor(rand() * 5) : Math.fround((rand() - 0.5) * 10);
  }));
}

describeEachBackend('F.topk', (backend) => {
  it('equals a sort for k = 0, 1, 7, 40 (the long-k path), n, over rows with ties, NaN and infinities', () => {
    for (const [R, n] of [[1, 1], [3, 9], [17, 64], [5, 300]] as const) {
      const data = rows(R, n, R * 1000 + n);
      const x = toroid.tensor(data, { backend });
      for (const k of new Set([0, 1, Math.min(7, n), Math.min(40, n), n])) {
        const { values, indices } = F.topk(x, k);
        expect(values.shape).toEqual([R, k]);
        expect(indices.dtype).toBe('int32');
        const got = values.toArray() as number[][], ids = indices.toArray() as number[][];
        data.forEach((row, r) => {
          const want = reference(row, k);
          expect(ids[r], `R=${R} n=${n} k=${k} row ${r}`).toEqual(want.indices);
          expect(got[r]).toEqual(want.values);
        });
        values.dispose();
        indices.dispose();
      }
      x.dispose();
    }
  });

  it('works along the last axis of any rank, and on bfloat16 (values stay bfloat16)', () => {
    const data = rows(6, 11, 5).map((r) => r.map((v) => (Number.isFinite(v) ? v : 0)));
    const x3 = toroid.tensor(data, { backend }).reshape([2, 3, 11]);
    const r3 = F.topk(x3, 4);
    expect(r3.values.shape).toEqual([2, 3, 4]);
    const flat = F.topk(toroid.tensor(data[4]!, { backend }), 4);
    expect((r3.indices.toArray() as number[][][])[1]![1]).toEqual(flat.indices.toArray());
    const b = x3.to('bfloat16');
    const rb = F.topk(b, 4);
    expect(rb.values.dtype).toBe('bfloat16');
    const wide = b.to('float32');
    const rw = F.topk(wide, 4);
    expect(rb.values.toFloat32Array()).toEqual(rw.values.toFloat32Array());
    expect(rb.indices.toArray()).toEqual(rw.indices.toArray());
    for (const t of [x3, r3.values, r3.indices, flat.values, flat.indices, b, rb.values, rb.indices, wide, rw.values, rw.indices]) t.dispose();
  });

  it("the values' gradient goes back to the positions they came from, zeros elsewhere", () => {
    const before = toroid.memory();
    toroid.tidy(() => {
      const x = toroid.tensor([[0.5, 3, -1, 2, 7], [4, 4, 1, 0, 9]], { backend });
      x.requiresGrad = true;
      const w = toroid.tensor([[1, 10, 100], [2, 20, 200]], { backend });
      F.topk(x, 3).values.mul(w).sum().backward();
      // row 0 top 3: 7 (4), 3 (1), 2 (3); row 1: 9 (4), 4 (0), 4 (1)
      expect(x.grad!.toArray()).toEqual([[0, 10, 0, 100, 1], [20, 200, 0, 0, 2]]);
    });
    expect(toroid.memory()).toEqual(before);
  });

  it('bad arguments: a TypeError or RangeError naming k or x', () => {
    const x = toroid.tensor([[1, 2, 3]], { backend });
    expect(() => F.topk(x, 4)).toThrow(/^toroid\.topk: k must be an integer in \[0, 3\] \(the last axis\), got number 4$/);
    expect(() => F.topk(x, -1)).toThrow(RangeError);
    expect(() => F.topk(x, 1.5)).toThrow(RangeError);
    expect(() => F.topk(x, '2' as never)).toThrow(/^toroid\.topk: k must be an integer/);
    expect(() => F.topk(toroid.tensor(3, { backend }), 0)).toThrow(/^toroid\.topk: x must be at least 1-D, got a scalar$/);
    const ids = toroid.tensor([1, 2], { dtype: 'int32', backend });
    expect(() => F.topk(ids, 1)).toThrow(TypeError);
    for (const t of [x, ids]) t.dispose();
  });
});

it('the native kernel and the reference agree on a large random batch (the parallel path)', () => {
  if (!toroid.listBackends().includes('cpu')) return;
  const data = rows(64, 8000, 99);
  const a = F.topk(toroid.tensor(data, { backend: 'cpu' }), 12);
  const b = F.topk(toroid.tensor(data, { backend: 'ts' }), 12);
  expect(a.indices.toArray()).toEqual(b.indices.toArray());
  expect(a.values.toFloat32Array()).toEqual(b.values.toFloat32Array());
});
