// Semantics of softmax and logSoftmax beyond the op table: overflow, dims, -Infinity, size-1
// dims. The fixture cases, finite-difference checks and invalid inputs are rows of
// test/ops/table/softmax.ts.
import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend } from '../helpers/backends.js';
import { expectClose } from '../helpers/compare.js';

const { F } = toroid;

/** Sums of `values` (shape [outer, dim, inner]) along the middle axis. */
function sumsAlong(values: ArrayLike<number>, outer: number, dim: number, inner: number): number[] {
  const sums: number[] = [];
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += values[(o * dim + j) * inner + i]!;
    sums.push(s);
  }
  return sums;
}

describeEachBackend('softmax and logSoftmax semantics', (backend) => {
  it('rows sum to 1 at large values, with no overflow', () => {
    toroid.tidy(() => {
      const x = toroid.randn([4, 9], { backend }).mul(1e4).add(3e4);
      const y = F.softmax(x).toFloat32Array();
      expect(y.every(Number.isFinite)).toBe(true);
      expectClose(sumsAlong(y, 4, 9, 1), new Array(4).fill(1), { atol: 1e-5, rtol: 0 }, 'row sums');
      const huge = toroid.tensor([[3e38, 3e38, -3e38], [1e30, 0, -1e30]], { backend });
      expectClose(F.softmax(huge).toFloat32Array(), [0.5, 0.5, 0, 1, 0, 0], { atol: 1e-7, rtol: 0 }, 'huge');
      const logY = F.logSoftmax(huge).toFloat32Array();
      expect(logY[0]).toBeCloseTo(-Math.LN2, 6);
      expect(logY[3]).toBe(0);
    });
  });

  it('sums to 1 along the requested dim (negative dims count from the end)', () => {
    toroid.tidy(() => {
      const x = toroid.randn([2, 3, 4], { backend }).mul(3);
      expectClose(sumsAlong(F.softmax(x, 0).toFloat32Array(), 1, 2, 12), new Array(12).fill(1), { atol: 1e-6, rtol: 0 }, 'dim 0');
      expectClose(sumsAlong(F.softmax(x, 1).toFloat32Array(), 2, 3, 4), new Array(8).fill(1), { atol: 1e-6, rtol: 0 }, 'dim 1');
      expect(F.softmax(x, -2).toFloat32Array()).toEqual(F.softmax(x, 1).toFloat32Array());
      expect(F.softmax(x).toFloat32Array()).toEqual(F.softmax(x, 2).toFloat32Array());
      expect(F.logSoftmax(x).toFloat32Array()).toEqual(F.logSoftmax(x, -1).toFloat32Array());
    });
  });

  it('logSoftmax is x - logsumexp(x), and exp(logSoftmax) is softmax', () => {
    toroid.tidy(() => {
      const x = toroid.randn([3, 5], { backend }).mul(4);
      const v = x.toFloat32Array();
      const ref = new Float64Array(15);
      for (let r = 0; r < 3; r++) {
        let m = -Infinity;
        for (let c = 0; c < 5; c++) m = Math.max(m, v[r * 5 + c]!);
        let s = 0;
        for (let c = 0; c < 5; c++) s += Math.exp(v[r * 5 + c]! - m);
        for (let c = 0; c < 5; c++) ref[r * 5 + c] = v[r * 5 + c]! - m - Math.log(s);
      }
      const logY = F.logSoftmax(x).toFloat32Array();
      expectClose(logY, ref, undefined, 'logSoftmax');
      expectClose(F.softmax(x).toFloat32Array(), ref.map(Math.exp), undefined, 'softmax');
    });
  });

  it('-Infinity entries get probability 0 and a zero gradient', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([[1, -Infinity, 2], [-Infinity, 0, -Infinity]], { backend, requiresGrad: true });
      const y = F.softmax(x);
      const values = y.toFloat32Array();
      expect(values[1]).toBe(0);
      expect(Array.from(values.subarray(3))).toEqual([0, 1, 0]);
      y.backward(toroid.randn([2, 3], { backend }));
      const g = x.grad!.toFloat32Array();
      expect(g.every(Number.isFinite)).toBe(true);
      expect(g[1]).toBe(0);
    });
  });

  it('a dim of size 1 gives 1 (softmax) and 0 (logSoftmax); a 1-D input works', () => {
    toroid.tidy(() => {
      const x = toroid.randn([3, 1], { backend });
      expect(Array.from(F.softmax(x).toFloat32Array())).toEqual([1, 1, 1]);
      expect(Array.from(F.logSoftmax(x).toFloat32Array())).toEqual([0, 0, 0]);
      const v = F.softmax(toroid.tensor([0, Math.log(3)], { backend })).toFloat32Array();
      expectClose(v, [0.25, 0.75], undefined, '1-D');
    });
  });

  it('the gradient of sum(softmax) is 0', () => {
    toroid.tidy(() => {
      const x = toroid.randn([2, 6], { backend, requiresGrad: true });
      F.softmax(x).sum().backward();
      expectClose(x.grad!.toFloat32Array(), new Array(12).fill(0), { atol: 1e-6, rtol: 0 }, 'dx');
    });
  });
});
