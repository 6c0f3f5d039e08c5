// toroid.adamwStep against a hand-written AdamW (decoupled weight decay, PyTorch's order).
import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend, supportsDType } from '../helpers/backends.js';
import { expectClose } from '../helpers/compare.js';
import { loadFixture } from '../helpers/fixtures.js';

interface Attrs { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number }

/** One reference step over flat arrays, in float64, mutating p, m, v. */
function refStep(p: number[], g: number[], m: number[], v: number[], a: Attrs, t: number): void {
  for (let i = 0; i < p.length; i++) {
    p[i] = p[i]! - a.lr * a.weightDecay * p[i]!;
    m[i] = a.beta1 * m[i]! + (1 - a.beta1) * g[i]!;
    v[i] = a.beta2 * v[i]! + (1 - a.beta2) * g[i]! * g[i]!;
    const mhat = m[i]! / (1 - a.beta1 ** t);
    const vhat = v[i]! / (1 - a.beta2 ** t);
    p[i] = p[i]! - (a.lr * mhat) / (Math.sqrt(vhat) + a.eps);
  }
}

function seq(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.sin(seed * 3.7 + i * 1.3) * 1.5);
}

const DEFAULTS: Attrs = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 };

describeEachBackend('adamwStep', (backend) => {
  for (const dtype of ['float32', 'float64'] as const) {
    for (const attrs of [DEFAULTS, { lr: 0.1, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0 }, { lr: 3e-3, beta1: 0, beta2: 0.5, eps: 1e-3, weightDecay: 1 }]) {
      // backends without float64 (cpu) skip the float64 cases
      it.skipIf(!supportsDType(backend, dtype))(`matches the reference over 3 steps (${dtype}, ${JSON.stringify(attrs)})`, () => {
        toroid.tidy(() => {
          const shapes = [[2, 3], [4], []];
          const ps = shapes.map((s, k) => seq(s.reduce((a, b) => a * b, 1), k + 1));
          const ms = ps.map((p) => p.map(() => 0));
          const vs = ps.map((p) => p.map(() => 0));
          const params = ps.map((p, k) => toroid.tensor(p, { dtype, backend, shape: shapes[k]! }));
          const state = {
            m: shapes.map((s) => toroid.zeros(s, { dtype, backend })),
            v: shapes.map((s) => toroid.zeros(s, { dtype, backend })),
          };
          const tol = dtype === 'float64' ? { atol: 1e-12, rtol: 1e-10 } : { atol: 1e-6, rtol: 1e-5 };
          for (let t = 1; t <= 3; t++) {
            const gs = ps.map((p, k) => seq(p.length, 10 * t + k));
            const grads = gs.map((g, k) => toroid.tensor(g, { dtype, backend, shape: shapes[k]! }));
            toroid.adamwStep(params, grads, state, { ...attrs, step: t });
            // the reference sees the same rounded gradients as the kernel
            const rounded = gs.map((g) => (dtype === 'float32' ? Array.from(Float32Array.from(g)) : g));
            ps.forEach((p, k) => refStep(p, rounded[k]!, ms[k]!, vs[k]!, attrs, t));
            params.forEach((param, k) => {
              expectClose(param.toTypedArray(), ps[k]!, tol, `step ${t} param ${k}`);
              expectClose(state.m[k]!.toTypedArray(), ms[k]!, tol, `step ${t} m ${k}`);
              expectClose(state.v[k]!.toTypedArray(), vs[k]!, tol, `step ${t} v ${k}`);
            });
            // grads are read, never written
            grads.forEach((g, k) => expectClose(g.toTypedArray(), rounded[k]!, { atol: 0, rtol: 0 }, 'grad'));
          }
        });
      });
    }
  }

  it('updates in place: the same tensors and storages afterwards', () => {
    toroid.tidy(() => {
      const p = toroid.tensor([1, 2], { backend });
      const g = toroid.tensor([0.5, -0.5], { backend });
      const m = toroid.zeros([2], { backend });
      const v = toroid.zeros([2], { backend });
      const before = toroid.memory();
      const dataBefore = p.data;
      toroid.adamwStep([p], [g], { m: [m], v: [v] }, { ...DEFAULTS, step: 1 });
      expect(p.data).toBe(dataBefore);
      expect(toroid.memory()).toEqual(before);
      expect(p.toArray()).not.toEqual([1, 2]);
      expect(m.toArray()).not.toEqual([0, 0]);
      expect(v.toArray()).not.toEqual([0, 0]);
    });
  });

  // float64 so the tight tolerances below are meaningful; skipped where the backend has no float64
  it.skipIf(!supportsDType(backend, 'float64'))('the first step moves each parameter by about lr against the gradient sign (no decay)', () => {
    toroid.tidy(() => {
      const o = { dtype: 'float64', backend } as const;
      const p = toroid.tensor([0, 0, 0], o);
      const g = toroid.tensor([3, -0.001, 0], o);
      const state = { m: [toroid.zeros([3], o)], v: [toroid.zeros([3], o)] };
      toroid.adamwStep([p], [g], state, { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1 });
      const out = p.toTypedArray();
      expect(out[0]).toBeCloseTo(-0.01, 8);
      expect(out[1]).toBeCloseTo(0.01, 6);
      expect(out[2]).toBe(0);
    });
  });

  it.skipIf(!supportsDType(backend, 'float64'))('weight decay alone shrinks p by lr * wd * p when the gradient is zero', () => {
    toroid.tidy(() => {
      const o = { dtype: 'float64', backend } as const;
      const p = toroid.tensor([2, -4], o);
      const g = toroid.zeros([2], o);
      const state = { m: [toroid.zeros([2], o)], v: [toroid.zeros([2], o)] };
      toroid.adamwStep([p], [g], state, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.5, step: 1 });
      expectClose(p.toTypedArray(), [2 * 0.95, -4 * 0.95], { atol: 1e-15, rtol: 1e-15 });
    });
  });

  it('lr = 0 changes nothing but the moments', () => {
    toroid.tidy(() => {
      const p = toroid.tensor([1, 2], { backend });
      const g = toroid.tensor([1, 1], { backend });
      const state = { m: [toroid.zeros([2], { backend })], v: [toroid.zeros([2], { backend })] };
      toroid.adamwStep([p], [g], state, { ...DEFAULTS, lr: 0, step: 1 });
      expect(p.toArray()).toEqual([1, 2]);
      expectClose(state.m[0]!.toFloat32Array(), [0.1, 0.1]);
    });
  });

  it('an empty parameter list is a no-op', () => {
    expect(() => toroid.adamwStep([], [], { m: [], v: [] }, { ...DEFAULTS, step: 1 })).not.toThrow();
  });
});

// torch.optim.AdamW's own trajectory (test/fixtures/generate.py, section 9): 3 steps in float64,
// the parameter after each step and the moments after the last.
const adamwFixture = loadFixture('adamw');

describeEachBackend('adamwStep vs torch.optim.AdamW', (backend) => {
  if (adamwFixture instanceof Error) {
    it('loads test/fixtures/adamw.safetensors', () => {
      throw adamwFixture;
    });
    return;
  }
  for (const name of adamwFixture.caseNames()) {
    it(name, () => {
      const a = adamwFixture.cases[name] as unknown as Attrs & { steps: number };
      toroid.tidy(() => {
        const p = adamwFixture.input(name, 'p0', backend);
        const m = toroid.zeros(p.shape, { backend }), v = toroid.zeros(p.shape, { backend });
        for (let step = 1; step <= a.steps; step++) {
          const g = adamwFixture.input(name, `g${step}`, backend);
          toroid.adamwStep([p], [g], { m: [m], v: [v] }, { lr: a.lr, beta1: a.beta1, beta2: a.beta2, eps: a.eps, weightDecay: a.weightDecay, step });
          expectClose(p.toFloat32Array(), adamwFixture.expected(name, `p${step}`), undefined, `p${step}`);
        }
        expectClose(m.toFloat32Array(), adamwFixture.expected(name, `m${a.steps}`), undefined, 'm');
        expectClose(v.toFloat32Array(), adamwFixture.expected(name, `v${a.steps}`), { atol: 1e-7, rtol: 1e-4 }, 'v');
        return [];
      });
    });
  }
});
