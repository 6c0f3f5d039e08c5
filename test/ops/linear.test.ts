// Semantics of linear and matmul beyond the op table: float64 references with broadcasting,
// leading shapes, which inputs get gradients. The fixture cases, finite-difference checks and
// invalid inputs are rows of test/ops/table/linear.ts.
import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend } from '../helpers/backends.js';
import { expectClose } from '../helpers/compare.js';

const { F } = toroid;

/** Row-major a [..., M, K] @ b [..., K, N] in float64 with numpy broadcasting of the batch dims. */
function matmulReference(a: ArrayLike<number>, aShape: number[], b: ArrayLike<number>, bShape: number[]): { data: Float64Array; shape: number[] } {
  const M = aShape[aShape.length - 2]!, K = aShape[aShape.length - 1]!, N = bShape[bShape.length - 1]!;
  const aBatch = aShape.slice(0, -2), bBatch = bShape.slice(0, -2);
  const rank = Math.max(aBatch.length, bBatch.length);
  const pad = (s: number[]): number[] => [...new Array<number>(rank - s.length).fill(1), ...s];
  const pa = pad(aBatch), pb = pad(bBatch);
  const batch = pa.map((d, i) => Math.max(d, pb[i]!));
  const total = batch.reduce((p, d) => p * d, 1);
  const data = new Float64Array(total * M * N);
  for (let t = 0; t < total; t++) {
    // unravel t over batch, then ravel into a's and b's batch dims (size-1 dims broadcast)
    let rem = t, ia = 0, ib = 0, sa = 1, sb = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const idx = rem % batch[d]!;
      rem = Math.floor(rem / batch[d]!);
      ia += (pa[d] === 1 ? 0 : idx) * sa;
      ib += (pb[d] === 1 ? 0 : idx) * sb;
      sa *= pa[d]!;
      sb *= pb[d]!;
    }
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let s = 0;
      for (let p = 0; p < K; p++) s += a[ia * M * K + i * K + p]! * b[ib * K * N + p * N + j]!;
      data[t * M * N + i * N + j] = s;
    }
  }
  return { data, shape: [...batch, M, N] };
}

describeEachBackend('linear and matmul semantics', (backend) => {
  const broadcastCases: Array<[number[], number[]]> = [
    [[3, 4], [4, 5]],
    [[2, 3, 4], [2, 4, 5]],
    [[2, 1, 3, 4], [3, 4, 2]],
    [[3, 4], [2, 4, 5]],
    [[2, 3, 4], [4, 1]],
    [[1, 1], [1, 1]],
  ];
  for (const [aShape, bShape] of broadcastCases) {
    it(`matmul [${aShape}] @ [${bShape}] matches a float64 reference`, () => {
      toroid.tidy(() => {
        const a = toroid.randn(aShape, { backend });
        const b = toroid.randn(bShape, { backend });
        const y = F.matmul(a, b);
        const ref = matmulReference(a.toFloat32Array(), aShape, b.toFloat32Array(), bShape);
        expect(y.shape).toEqual(ref.shape);
        expectClose(y.toFloat32Array(), ref.data, undefined, 'y');
        expect(a.matmul(b).toFloat32Array()).toEqual(y.toFloat32Array());
      });
    });
  }

  it('linear(x, W, b) is x @ W^T + b for any leading shape', () => {
    toroid.tidy(() => {
      const x = toroid.randn([2, 3, 4], { backend });
      const w = toroid.randn([5, 4], { backend });
      const b = toroid.randn([5], { backend });
      const y = F.linear(x, w, b);
      expect(y.shape).toEqual([2, 3, 5]);
      const ref = matmulReference(x.toFloat32Array(), [2, 3, 4], w.transpose(0, 1).toFloat32Array(), [4, 5]);
      const bv = b.toFloat32Array();
      expectClose(y.toFloat32Array(), ref.data.map((v, i) => v + bv[i % 5]!), undefined, 'y');
      expectClose(F.linear(x, w).toFloat32Array(), ref.data, undefined, 'y without bias');
      expectClose(F.linear(x, w, null).toFloat32Array(), ref.data, undefined, 'y with null bias');
      // a 1-D x gives a 1-D y
      const v = F.linear(toroid.randn([4], { backend }), w, b);
      expect(v.shape).toEqual([5]);
    });
  });

  it('gradients reach only the inputs that require them, with their shapes', () => {
    toroid.tidy(() => {
      const x = toroid.randn([2, 3, 4], { backend, requiresGrad: true });
      const w = toroid.randn([5, 4], { backend });
      const b = toroid.randn([5], { backend, requiresGrad: true });
      F.linear(x, w, b).sum().backward();
      expect(x.grad!.shape).toEqual([2, 3, 4]);
      expect(w.grad).toBeNull();
      expect(Array.from(b.grad!.toFloat32Array())).toEqual([6, 6, 6, 6, 6]);
      const a = toroid.randn([2, 3, 4], { backend });
      const m = toroid.randn([4, 2], { backend, requiresGrad: true });
      F.matmul(a, m).sum().backward();
      expect(a.grad).toBeNull();
      expect(m.grad!.shape).toEqual([4, 2]);
    });
  });

  it('no graph is recorded when nothing requires grad', () => {
    toroid.tidy(() => {
      const x = toroid.randn([2, 4], { backend });
      const w = toroid.randn([3, 4], { backend });
      expect(F.linear(x, w).requiresGrad).toBe(false);
      expect(F.matmul(x, w.transpose(0, 1)).requiresGrad).toBe(false);
    });
  });
});
