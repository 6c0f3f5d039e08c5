// Semantics of the activations beyond the op table: exact forms, the relu kink, extreme
// inputs, shapes. The fixture cases, finite-difference checks and invalid inputs are rows of
// test/ops/table/activation.ts.
import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend } from '../helpers/backends.js';
import { expectClose } from '../helpers/compare.js';
import { gelu, geluTanh, relu, silu, swiglu } from './table/activation.js';

const { F } = toroid;

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

describeEachBackend('activation semantics', (backend) => {
  it('relu is max(x, 0) and its gradient at exactly 0 is 0 (like PyTorch)', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([-2, -0.5, 0, 0.5, 3], { backend, requiresGrad: true });
      const y = F.relu(x);
      expect(Array.from(y.toFloat32Array())).toEqual([0, 0, 0, 0.5, 3]);
      y.sum().backward();
      expect(Array.from(x.grad!.toFloat32Array())).toEqual([0, 0, 0, 1, 1]);
    });
  });

  it("gelu defaults to the exact erf form, and { approximate: 'none' } is the same", () => {
    toroid.tidy(() => {
      const x = toroid.tensor([-3, -1, -0.25, 0, 0.25, 1, 3], { backend });
      const exact = F.gelu(x).toFloat32Array();
      expect(F.gelu(x, { approximate: 'none' }).toFloat32Array()).toEqual(exact);
      expect(F.gelu(x, {}).toFloat32Array()).toEqual(exact);
      // values of x * Phi(x)
      expectClose(exact, [-0.0040496941, -0.15865525393, -0.10032341858, 0, 0.14967658142, 0.84134474607, 2.9959503059], { atol: 1e-6, rtol: 1e-5 }, 'gelu');
      const tanh = F.gelu(x, { approximate: 'tanh' }).toFloat32Array();
      const ref = Array.from(x.toFloat32Array(), (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
      expectClose(tanh, ref, undefined, 'gelu tanh');
      expect(tanh).not.toEqual(exact);
    });
  });

  it('silu is x * sigmoid(x)', () => {
    toroid.tidy(() => {
      const x = toroid.randn([3, 5], { backend }).mul(3);
      const ref = Array.from(x.toFloat32Array(), (v) => v * sigmoid(v));
      expectClose(F.silu(x).toFloat32Array(), ref, undefined, 'silu');
    });
  });

  it('swiglu gates with the first half of the last dim: silu(x[..., :F]) * x[..., F:]', () => {
    toroid.tidy(() => {
      const x = toroid.randn([2, 3, 8], { backend });
      const y = F.swiglu(x);
      expect(y.shape).toEqual([2, 3, 4]);
      const v = x.toFloat32Array();
      const ref = new Float64Array(24);
      for (let r = 0; r < 6; r++) for (let f = 0; f < 4; f++) ref[r * 4 + f] = v[r * 8 + f]! * sigmoid(v[r * 8 + f]!) * v[r * 8 + 4 + f]!;
      expectClose(y.toFloat32Array(), ref, undefined, 'swiglu');
    });
  });

  it('extreme inputs give finite values and gradients', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([-1000, -90, -30, 30, 90, 1000], { backend, requiresGrad: true });
      for (const spec of [relu, gelu, geluTanh, silu, swiglu]) {
        const op = spec.name;
        const y = spec.forward({ x: [...x.shape] }, { x });
        expect(y.toFloat32Array().every(Number.isFinite), op).toBe(true);
        y.sum().backward();
        expect(x.grad!.toFloat32Array().every(Number.isFinite), `${op} grad`).toBe(true);
        x.grad!.dispose();
        x.grad = null;
      }
      const g = F.gelu(x).toFloat32Array();
      expect(Math.abs(g[0]!)).toBe(0);
      expect(g[5]).toBe(1000);
    });
  });

  it('shapes are kept (a scalar included), and no graph is recorded without requiresGrad', () => {
    toroid.tidy(() => {
      const s = toroid.tensor(2, { backend });
      expect(F.silu(s).shape).toEqual([]);
      expect(F.relu(toroid.zeros([2, 0, 3], { backend })).shape).toEqual([2, 0, 3]);
      expect(F.gelu(s).requiresGrad).toBe(false);
    });
  });
});
