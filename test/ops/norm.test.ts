// Semantics of layerNorm and rmsNorm beyond the op table: float64 references at bad
// conditioning, constant rows, defaults, which inputs get gradients. The fixture cases, the
// finite-difference checks and the invalid inputs are rows of test/ops/table/norm.ts.
import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend } from '../helpers/backends.js';
import { expectClose } from '../helpers/compare.js';

const { F } = toroid;

/** float64 two-pass reference of layer norm over rows of C (no affine). */
function layerNormReference(x: ArrayLike<number>, C: number, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let off = 0; off < x.length; off += C) {
    let sum = 0;
    for (let c = 0; c < C; c++) sum += x[off + c]!;
    const mu = sum / C;
    let sq = 0;
    for (let c = 0; c < C; c++) sq += (x[off + c]! - mu) ** 2;
    const r = 1 / Math.sqrt(sq / C + eps);
    for (let c = 0; c < C; c++) y[off + c] = (x[off + c]! - mu) * r;
  }
  return y;
}

function rmsNormReference(x: ArrayLike<number>, C: number, eps: number, w?: ArrayLike<number>): Float64Array {
  const y = new Float64Array(x.length);
  for (let off = 0; off < x.length; off += C) {
    let sq = 0;
    for (let c = 0; c < C; c++) sq += x[off + c]! ** 2;
    const r = 1 / Math.sqrt(sq / C + eps);
    for (let c = 0; c < C; c++) y[off + c] = x[off + c]! * r * (w ? w[c]! : 1);
  }
  return y;
}

describeEachBackend('layerNorm and rmsNorm semantics', (backend) => {
  it('layerNorm of rows like 1000 +- 1 matches a float64 two-pass reference', () => {
    toroid.tidy(() => {
      const noise = toroid.randn([4, 64], { backend });
      const x = noise.add(1000);
      const values = x.toFloat32Array();
      const y = F.layerNorm(x, 64);
      // a one-pass E[x^2] - E[x]^2 in float32 is off by O(1) here
      expectClose(y.toFloat32Array(), layerNormReference(values, 64, 1e-5), { atol: 1e-4, rtol: 1e-4 }, 'y');
    });
  });

  it('layerNorm gradients of rows like 1000 +- 1 match the same op in float64', () => {
    toroid.tidy(() => {
      toroid.manualSeed(13);
      const x = toroid.randn([4, 16], { backend }).mul(0.5).add(1000).detach();
      x.requiresGrad = true;
      const dout = toroid.randn([4, 16], { backend });
      F.layerNorm(x, 16).backward(dout);
      // reference: the same float32 values, computed in float64 on the ts backend
      const x64 = toroid.tensor(Float64Array.from(x.toFloat32Array()), { shape: [4, 16], dtype: 'float64', backend: 'ts', requiresGrad: true });
      const d64 = toroid.tensor(Float64Array.from(dout.toFloat32Array()), { shape: [4, 16], dtype: 'float64', backend: 'ts' });
      F.layerNorm(x64, 16).backward(d64);
      expectClose(x.grad!.toFloat32Array(), x64.grad!.toTypedArray(), undefined, 'dx');
    });
  });

  it('layerNorm applies weight and bias per feature, and normalizedShape may be a number or an array', () => {
    toroid.tidy(() => {
      const x = toroid.randn([3, 2, 4], { backend });
      const w = toroid.tensor([1, 2, 3, 4], { backend });
      const b = toroid.tensor([0.5, -0.5, 0, 1], { backend });
      const y = F.layerNorm(x, [4], w, b).toFloat32Array();
      const yNumber = F.layerNorm(x, 4, w, b).toFloat32Array();
      expect(yNumber).toEqual(y);
      const ref = layerNormReference(x.toFloat32Array(), 4, 1e-5).map((v, i) => v * [1, 2, 3, 4][i % 4]! + [0.5, -0.5, 0, 1][i % 4]!);
      expectClose(y, ref, undefined, 'y');
    });
  });

  it('layerNorm over two trailing dims normalizes over their product', () => {
    toroid.tidy(() => {
      const x = toroid.randn([3, 2, 5], { backend });
      const y = F.layerNorm(x, [2, 5]).toFloat32Array();
      expectClose(y, layerNormReference(x.toFloat32Array(), 10, 1e-5), undefined, 'y');
    });
  });

  it('layerNorm of a constant row is 0 (plus the bias), never NaN', () => {
    toroid.tidy(() => {
      const x = toroid.full([2, 6], 3.25, { backend, requiresGrad: true });
      const b = toroid.tensor([1, 2, 3, 4, 5, 6], { backend });
      const y = F.layerNorm(x, 6, null, b);
      expect(Array.from(y.toFloat32Array())).toEqual([1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6]);
      y.sum().backward();
      expect(x.grad!.toFloat32Array().every(Number.isFinite)).toBe(true);
    });
  });

  it('rmsNorm defaults eps to the machine epsilon of the dtype (like F.rms_norm)', () => {
    toroid.tidy(() => {
      // mean(x^2) ~ 1e-8 is below float32 eps, so eps shows in the result
      const x = toroid.randn([3, 8], { backend }).mul(1e-4);
      const w = toroid.randn([8], { backend });
      const y = F.rmsNorm(x, 8, w).toFloat32Array();
      expectClose(y, rmsNormReference(x.toFloat32Array(), 8, 2 ** -23, w.toFloat32Array()), undefined, 'y');
      const y2 = F.rmsNorm(x, [8], w, 1e-6).toFloat32Array();
      expectClose(y2, rmsNormReference(x.toFloat32Array(), 8, 1e-6, w.toFloat32Array()), undefined, 'y eps=1e-6');
    });
  });

  it('gradients reach only the inputs that require them', () => {
    toroid.tidy(() => {
      const x = toroid.randn([2, 4], { backend, requiresGrad: true });
      const w = toroid.randn([4], { backend });
      const b = toroid.randn([4], { backend, requiresGrad: true });
      F.layerNorm(x, 4, w, b).sum().backward();
      expect(x.grad).not.toBeNull();
      expect(w.grad).toBeNull();
      expect(Array.from(b.grad!.toFloat32Array())).toEqual([2, 2, 2, 2]);
      const x2 = toroid.randn([2, 4], { backend });
      const w2 = toroid.randn([4], { backend, requiresGrad: true });
      F.rmsNorm(x2, 4, w2).sum().backward();
      expect(x2.grad).toBeNull();
      expect(w2.grad!.shape).toEqual([4]);
    });
  });

  it('no graph is recorded when nothing requires grad or under noGrad', () => {
    toroid.tidy(() => {
      const x = toroid.randn([2, 4], { backend });
      expect(F.layerNorm(x, 4).requiresGrad).toBe(false);
      const xg = toroid.randn([2, 4], { backend, requiresGrad: true });
      expect(toroid.noGrad(() => F.rmsNorm(xg, 4)).requiresGrad).toBe(false);
    });
  });
});
