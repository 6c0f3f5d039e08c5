import { describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend } from '../helpers/backends.js';
import { expectClose } from '../helpers/compare.js';
import { loadFixture } from '../helpers/fixtures.js';
import { gradcheck, randLeaf } from '../helpers/gradcheck.js';

const { F } = toroid;

const fixture = loadFixture('activation');

type ActivationOp = 'relu' | 'gelu' | 'gelu_tanh' | 'silu' | 'swiglu';

function apply(op: ActivationOp, x: toroid.Tensor): toroid.Tensor {
  switch (op) {
    case 'relu': return F.relu(x);
    case 'gelu': return F.gelu(x);
    case 'gelu_tanh': return F.gelu(x, { approximate: 'tanh' });
    case 'silu': return F.silu(x);
    case 'swiglu': return F.swiglu(x);
    default: throw new Error(`unknown activation op ${String(op)}`);
  }
}

describeEachBackend('activations vs PyTorch', (backend) => {
  if (fixture instanceof Error) {
    it('loads test/fixtures/activation.safetensors', () => {
      throw fixture;
    });
    return;
  }

  it('has a case for every activation', () => {
    const ops = new Set(fixture.caseNames().map((c) => fixture.cases[c]!.op));
    for (const op of ['relu', 'gelu', 'gelu_tanh', 'silu', 'swiglu']) expect(ops, op).toContain(op);
  });

  for (const name of fixture.caseNames()) {
    it(name, () => {
      const op = fixture.cases[name]!.op as ActivationOp;
      toroid.tidy(() => {
        const x = fixture.input(name, 'x', backend, { requiresGrad: true });
        const y = apply(op, x);
        expectClose(y.toFloat32Array(), fixture.expected(name, 'y'), undefined, 'y');
        y.backward(fixture.input(name, 'dout', backend));
        expectClose(x.grad!.toFloat32Array(), fixture.expected(name, 'dx'), undefined, 'dx');
        return [];
      });
    });
  }
});

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
      for (const op of ['relu', 'gelu', 'gelu_tanh', 'silu', 'swiglu'] as const) {
        const y = apply(op, x);
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

/** A float64 leaf whose values keep at least `gap` away from 0 (relu's kink). */
function leafAwayFromZero(shape: number[], gap: number): toroid.Tensor {
  return toroid.tidy(() => {
    const r = toroid.randn(shape, { dtype: 'float64', backend: 'ts' }).toTypedArray() as Float64Array;
    const values = r.map((v) => (v >= 0 ? v + gap : v - gap));
    return toroid.tensor(values, { shape, dtype: 'float64', backend: 'ts', requiresGrad: true });
  });
}

describe('activation gradients vs finite differences (float64, ts)', () => {
  it('relu (away from 0)', () => {
    toroid.manualSeed(21);
    gradcheck((a) => F.relu(a!), [leafAwayFromZero([3, 7], 0.05)]);
  });

  it('gelu (erf)', () => {
    toroid.manualSeed(22);
    gradcheck((a) => F.gelu(a!), [randLeaf([4, 6], 2)]);
  });

  it('gelu (tanh)', () => {
    toroid.manualSeed(23);
    gradcheck((a) => F.gelu(a!, { approximate: 'tanh' }), [randLeaf([4, 6], 2)]);
  });

  it('gelu in the erf tails (|x| > 2.5)', () => {
    toroid.manualSeed(24);
    const x = toroid.tensor([-6, -4, -2.7, 2.6, 3.5, 5], { dtype: 'float64', backend: 'ts', requiresGrad: true });
    gradcheck((a) => F.gelu(a!), [x]);
  });

  it('silu', () => {
    toroid.manualSeed(25);
    gradcheck((a) => F.silu(a!), [randLeaf([3, 2, 5], 3)]);
  });

  it('swiglu', () => {
    toroid.manualSeed(26);
    gradcheck((a) => F.swiglu(a!), [randLeaf([3, 8], 2)]);
    gradcheck((a) => F.swiglu(a!), [randLeaf([2, 2, 2], 2)]);
  });
});
