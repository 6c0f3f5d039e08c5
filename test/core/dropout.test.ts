// F.dropout: identity cases, scaling, keep rate, seed reproducibility, and a backward that
// regenerates the same mask (checked directly: finite differences are meaningless here).
import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { PhiloxStream } from '../../src/random/philox.js';
import { describeEachBackend, supportsDType } from '../helpers/backends.js';

const { F } = toroid;

describeEachBackend('dropout', (backend) => {
  it('p = 0 is the identity (the input itself)', () => {
    toroid.tidy(() => {
      const x = toroid.randn([4, 5], { backend });
      const y = F.dropout(x, 0);
      expect(y).toBe(x);
      expect(y.toFloat32Array()).toEqual(x.toFloat32Array());
    });
  });

  it('training = false is the identity for any p', () => {
    toroid.tidy(() => {
      const x = toroid.randn([10], { backend });
      for (const p of [0.1, 0.5, 1]) {
        const y = F.dropout(x, p, false);
        expect(y).toBe(x);
      }
    });
  });

  it('identity cases draw nothing from the generator', () => {
    toroid.tidy(() => {
      const x = toroid.randn([10], { backend });
      const state = toroid.getRngState();
      F.dropout(x, 0);
      F.dropout(x, 0.5, false);
      expect(toroid.getRngState()).toEqual(state);
    });
  });

  it('p = 1 gives all zeros (no Infinity or NaN) and zero gradients', () => {
    toroid.tidy(() => {
      const x = toroid.randn([1000], { backend, requiresGrad: true });
      const y = F.dropout(x, 1);
      const out = y.toFloat32Array();
      expect(out.every((v) => v === 0)).toBe(true);
      y.sum().backward();
      expect(x.grad!.toFloat32Array().every((v) => v === 0)).toBe(true);
    });
  });

  for (const dtype of ['float32', 'float64'] as const) {
    // backends without float64 (cpu) skip the float64 case
    it.skipIf(!supportsDType(backend, dtype))(`the default p is 0.5 and the output keeps shape and dtype (${dtype})`, () => {
      toroid.tidy(() => {
        const x = toroid.ones([8, 16], { dtype, backend });
        toroid.manualSeed(1);
        const a = F.dropout(x);
        toroid.manualSeed(1);
        const b = F.dropout(x, 0.5);
        expect(a.shape).toEqual([8, 16]);
        expect(a.dtype).toBe(dtype);
        expect(a.toTypedArray()).toEqual(b.toTypedArray());
      });
    });
  }

  it('kept elements are scaled by 1/(1-p), dropped ones are exactly 0', () => {
    toroid.tidy(() => {
      const p = 0.3;
      const values = Float32Array.from({ length: 2000 }, (_, i) => 1 + (i % 17));
      const x = toroid.tensor(values, { backend });
      const y = F.dropout(x, p).toFloat32Array();
      let kept = 0;
      for (let i = 0; i < values.length; i++) {
        if (y[i] === 0) continue;
        kept++;
        expect(Math.abs(y[i]! - values[i]! / (1 - p))).toBeLessThanOrEqual(1e-5 * values[i]!);
      }
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThan(values.length);
    });
  });

  for (const p of [0.1, 0.5, 0.9]) {
    it(`keeps about 1 - p = ${1 - p} of 100k elements and preserves the mean (p = ${p})`, () => {
      toroid.tidy(() => {
        toroid.manualSeed(100);
        const n = 100_000;
        const y = F.dropout(toroid.ones([n], { backend }), p).toFloat32Array();
        let kept = 0, sum = 0;
        for (const v of y) { if (v !== 0) kept++; sum += v; }
        expect(Math.abs(kept / n - (1 - p))).toBeLessThan(0.01);
        expect(Math.abs(sum / n - 1)).toBeLessThan(0.05);
      });
    });
  }

  it('the mask is element i kept iff uniform(i) >= p from the stream at the current offset', () => {
    toroid.tidy(() => {
      const p = 0.4;
      toroid.manualSeed(321);
      toroid.rand([6], { backend }); // move the offset off zero
      const { seed, offset } = toroid.getRngState();
      const y = F.dropout(toroid.ones([64], { backend }), p).toFloat32Array();
      const stream = new PhiloxStream(seed, offset);
      for (let i = 0; i < 64; i++) expect(y[i] !== 0).toBe(stream.uniform(i) >= p);
    });
  });

  it('the same seed gives the same mask, a later call a different one', () => {
    toroid.tidy(() => {
      const x = toroid.ones([256], { backend });
      toroid.manualSeed(55);
      const a = F.dropout(x, 0.5).toFloat32Array();
      const b = F.dropout(x, 0.5).toFloat32Array();
      toroid.manualSeed(55);
      const c = F.dropout(x, 0.5).toFloat32Array();
      expect(c).toEqual(a);
      expect(b).not.toEqual(a);
      toroid.manualSeed(56);
      expect(F.dropout(x, 0.5).toFloat32Array()).not.toEqual(a);
    });
  });

  it('setRngState replays a mask', () => {
    toroid.tidy(() => {
      const x = toroid.randn([128], { backend });
      const state = toroid.getRngState();
      const a = F.dropout(x, 0.25).toFloat32Array();
      toroid.setRngState(state);
      expect(F.dropout(x, 0.25).toFloat32Array()).toEqual(a);
    });
  });

  it('backward uses the same mask: grad = mask / (1 - p) * gradOut', () => {
    toroid.tidy(() => {
      const p = 0.35;
      const n = 500;
      const x = toroid.randn([n], { backend, requiresGrad: true });
      const y = F.dropout(x, p);
      const out = y.toFloat32Array();
      const xv = x.toFloat32Array();
      // draw more random numbers between forward and backward: the mask must not change
      toroid.rand([1000], { backend });
      const g = Float32Array.from({ length: n }, (_, i) => (i % 5) - 2);
      y.backward(toroid.tensor(g, { backend }));
      const grad = x.grad!.toFloat32Array();
      let kept = 0;
      for (let i = 0; i < n; i++) {
        const mask = out[i] !== 0 || xv[i] === 0 ? 1 : 0;
        if (mask) kept++;
        const expected = (mask * g[i]!) / (1 - p);
        expect(Math.abs(grad[i]! - expected)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(expected)));
      }
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThan(n);
    });
  });

  it('backward of sum(dropout(x)) is the scaled mask, matching the forward of ones', () => {
    toroid.tidy(() => {
      const p = 0.5;
      const x = toroid.ones([300], { backend, requiresGrad: true });
      const state = toroid.getRngState();
      F.dropout(x, p).sum().backward();
      toroid.setRngState(state);
      const forwardOnOnes = toroid.noGrad(() => F.dropout(toroid.ones([300], { backend }), p)).toFloat32Array();
      expect(x.grad!.toFloat32Array()).toEqual(forwardOnOnes);
      const values = new Set(Array.from(forwardOnOnes));
      expect([...values].sort()).toEqual([0, 2]);
    });
  });

  it('two dropouts in one graph each keep their own mask in backward', () => {
    toroid.tidy(() => {
      const x = toroid.ones([200], { backend, requiresGrad: true });
      const state = toroid.getRngState();
      const y = F.dropout(F.dropout(x, 0.5), 0.2);
      const yv = y.toFloat32Array();
      y.sum().backward();
      expect(x.grad!.toFloat32Array()).toEqual(yv);
      toroid.setRngState(state);
      expect(toroid.noGrad(() => F.dropout(F.dropout(toroid.ones([200], { backend }), 0.5), 0.2)).toFloat32Array()).toEqual(yv);
    });
  });

  it('leaves memory at the baseline after forward and backward', () => {
    const before = toroid.memory();
    toroid.tidy(() => {
      const x = toroid.randn([64], { backend, requiresGrad: true });
      F.dropout(x, 0.5).mul(2).sum().backward();
    });
    expect(toroid.memory()).toEqual(before);
  });
});
