// Semantics of embedding beyond the op table: gathers, accumulation, paddingIdx, id ranges.
// The fixture cases, finite-difference checks and invalid inputs are rows of
// test/ops/table/embedding.ts.
import { describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend } from '../helpers/backends.js';
import { gradcheck, randLeaf } from '../helpers/gradcheck.js';

const { F } = toroid;

describeEachBackend('embedding semantics', (backend) => {
  it('gathers rows of weight for ids of any shape (a scalar included)', () => {
    toroid.tidy(() => {
      const weight = toroid.tensor([[0, 1], [10, 11], [20, 21]], { backend });
      const ids = toroid.tensor([[2, 0], [1, 1]], { dtype: 'int32', backend });
      const y = F.embedding(ids, weight);
      expect(y.shape).toEqual([2, 2, 2]);
      expect(y.toArray()).toEqual([[[20, 21], [0, 1]], [[10, 11], [10, 11]]]);
      const one = F.embedding(toroid.tensor(1, { dtype: 'int32', backend }), weight);
      expect(one.shape).toEqual([2]);
      expect(one.toArray()).toEqual([10, 11]);
      expect(F.embedding(toroid.zeros([0], { dtype: 'int32', backend }), weight).shape).toEqual([0, 2]);
    });
  });

  it('repeated ids accumulate their gradients; unused rows get 0', () => {
    toroid.tidy(() => {
      const weight = toroid.randn([4, 3], { backend, requiresGrad: true });
      const ids = toroid.tensor([1, 3, 1, 1], { dtype: 'int32', backend });
      F.embedding(ids, weight).sum().backward();
      expect(weight.grad!.toArray()).toEqual([[0, 0, 0], [3, 3, 3], [0, 0, 0], [1, 1, 1]]);
    });
  });

  it('paddingIdx zeroes that row\'s gradient only (the forward is unchanged); negative counts from the end', () => {
    toroid.tidy(() => {
      const weight = toroid.randn([5, 3], { backend, requiresGrad: true });
      const ids = toroid.tensor([[4, 0, 4], [2, 4, 0]], { dtype: 'int32', backend });
      const dout = toroid.randn([2, 3, 3], { backend });
      const plain = F.embedding(ids, weight);
      plain.backward(dout);
      const full = weight.grad!.toFloat32Array();
      weight.grad!.dispose();
      weight.grad = null;
      for (const paddingIdx of [4, -1]) {
        const padded = F.embedding(ids, weight, { paddingIdx });
        expect(padded.toFloat32Array()).toEqual(plain.toFloat32Array());
        padded.backward(dout);
        const g = weight.grad!.toFloat32Array();
        expect(Array.from(g.subarray(12)), `paddingIdx ${paddingIdx}`).toEqual([0, 0, 0]);
        expect(g.subarray(0, 12)).toEqual(full.subarray(0, 12));
        weight.grad!.dispose();
        weight.grad = null;
      }
      const none = F.embedding(ids, weight, { paddingIdx: null });
      none.backward(dout);
      expect(weight.grad!.toFloat32Array()).toEqual(full);
    });
  });

  it('an id outside [0, V) throws a RangeError', () => {
    toroid.tidy(() => {
      const weight = toroid.randn([5, 3], { backend });
      expect(() => F.embedding(toroid.tensor([0, 5], { dtype: 'int32', backend }), weight)).toThrow(RangeError);
      expect(() => F.embedding(toroid.tensor([0, 5], { dtype: 'int32', backend }), weight)).toThrow(/toroid\.embedding: ids must be in \[0, 5\), got 5/);
      expect(() => F.embedding(toroid.tensor([-1], { dtype: 'int32', backend }), weight)).toThrow(RangeError);
    });
  });

  it('ids never require a gradient, and nothing is recorded when weight does not', () => {
    toroid.tidy(() => {
      const weight = toroid.randn([5, 3], { backend });
      const ids = toroid.tensor([1, 2], { dtype: 'int32', backend });
      expect(F.embedding(ids, weight).requiresGrad).toBe(false);
    });
  });
});

describe('embedding with a used paddingIdx (float64, ts)', () => {
  it('with a used paddingIdx: the finite difference of every other row', () => {
    // paddingIdx is not a true derivative: its row is 0 by definition, every other row is exact
    toroid.manualSeed(72);
    const ids = toroid.tensor([[2, 0, 2], [1, 2, 3]], { dtype: 'int32', backend: 'ts' });
    const w = randLeaf([4, 3]);
    const dout = toroid.randn([2, 3, 3], { dtype: 'float64', backend: 'ts' });
    F.embedding(ids, w, { paddingIdx: 2 }).backward(dout);
    const padded = w.grad!.toTypedArray();
    w.grad!.dispose();
    w.grad = null;
    F.embedding(ids, w).backward(dout);
    const plain = w.grad!.toTypedArray();
    expect(Array.from(padded.subarray(6, 9))).toEqual([0, 0, 0]);
    expect(Array.from(padded.subarray(0, 6))).toEqual(Array.from(plain.subarray(0, 6)));
    expect(Array.from(padded.subarray(9))).toEqual(Array.from(plain.subarray(9)));
    gradcheck((x) => F.embedding(ids, x!), [w]);
  });
});
