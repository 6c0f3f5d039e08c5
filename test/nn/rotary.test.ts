// nn.RotaryEmbedding: the HF rotate_half formula, offsets (KV-cache positions),
// the relative-position property, gradients (gradcheck on ts float64), buffers and errors.
import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { RotaryEmbedding, rotaryTables } from '../../src/nn/rotary.js';
import { describeEachBackend, supportsDType } from '../helpers/backends.js';
import { expectClose } from '../helpers/compare.js';
import { gradcheck, randLeaf } from '../helpers/gradcheck.js';

type Tensor = toroid.Tensor;
const { F } = toroid;

/** y[..., t, j] straight from the definition, in float64: pair (i, i + d/2) rotated by (offset + t) * base^(-2i/d). */
function reference(x: ArrayLike<number>, shape: readonly number[], offset: number, base = 10000): Float64Array {
  const d = shape[shape.length - 1]!, T = shape[shape.length - 2]!, half = d / 2;
  const y = new Float64Array(x.length);
  for (let row = 0; row < x.length / d; row++) {
    const pos = offset + (row % T);
    for (let i = 0; i < half; i++) {
      const angle = pos * Math.pow(base, (-2 * i) / d);
      const a = x[row * d + i]!, b = x[row * d + i + half]!;
      y[row * d + i] = a * Math.cos(angle) - b * Math.sin(angle);
      y[row * d + i + half] = b * Math.cos(angle) + a * Math.sin(angle);
    }
  }
  return y;
}

describeEachBackend('nn.RotaryEmbedding', (backend) => {
  it('matches the rotate_half formula (x*cos + rotate_half(x)*sin), with and without offset', () => {
    const rope = new RotaryEmbedding(8, { maxLen: 16, backend });
    const shape = [2, 3, 5, 8];
    toroid.tidy(() => {
      const x = toroid.randn(shape, { backend });
      const xv = x.toTypedArray();
      expectClose(rope.apply(x).toTypedArray(), reference(xv, shape, 0), { atol: 1e-6, rtol: 1e-5 }, 'offset 0');
      expectClose(rope.apply(x, 11).toTypedArray(), reference(xv, shape, 11), { atol: 1e-6, rtol: 1e-5 }, 'offset 11');
      expectClose(rope.forward(x, 3).toTypedArray(), reference(xv, shape, 3), { atol: 1e-6, rtol: 1e-5 }, 'forward');
      // position 0 is the identity
      const first = F.narrow(rope.apply(x), 2, 0, 1).toTypedArray();
      expect(Array.from(first)).toEqual(Array.from(F.narrow(x, 2, 0, 1).toTypedArray()));
    });
    const big = new RotaryEmbedding(64, { maxLen: 4, base: 500000, backend });
    toroid.tidy(() => {
      const x = toroid.randn([1, 2, 4, 64], { backend });
      expectClose(big.apply(x, 0).toTypedArray(), reference(x.toTypedArray(), x.shape, 0, 500000), { atol: 1e-6, rtol: 1e-5 }, 'base 500000');
    });
    rope.dispose();
    big.dispose();
  });

  it('apply at offset t equals the slice t.. of the full-length result (KV-cache decoding)', () => {
    const rope = new RotaryEmbedding(6, { maxLen: 12, backend });
    toroid.tidy(() => {
      const full = toroid.randn([2, 2, 12, 6], { backend });
      const rotated = rope.apply(full);
      for (const [t, len] of [[0, 12], [4, 3], [11, 1], [7, 5]] as const) {
        const part = rope.apply(F.narrow(full, 2, t, len), t);
        expect(Array.from(part.toTypedArray()), `offset ${t}`).toEqual(Array.from(F.narrow(rotated, 2, t, len).toTypedArray()));
      }
    });
    rope.dispose();
  });

  it('tables are non-persistent buffers in the model dtype, computed in float64', () => {
    const rope = new RotaryEmbedding(4, { maxLen: 3, backend });
    expect(rope.stateDict()).toEqual({});
    expect(rope.namedBuffers().map(([n]) => n)).toEqual(['cos', 'sin']);
    expect(rope.cos.shape).toEqual([3, 4]);
    expect(rope.cos.dtype).toBe('float32');
    const { cos, sin } = rotaryTables(4, 3);
    expect(Array.from(rope.cos.toTypedArray())).toEqual(Array.from(Float32Array.from(cos)));
    expect(Array.from(rope.sin.toTypedArray())).toEqual(Array.from(Float32Array.from(sin)));
    // emb = cat(freqs, freqs): row 2 is [2, 2*0.01, 2, 2*0.01]
    expect(cos[8]).toBe(Math.cos(2));
    expect(sin[9]).toBe(Math.sin(2 * 0.01));
    expect(cos[10]).toBe(Math.cos(2));
    expect(rope.toString()).toBe('RotaryEmbedding(headDim=4, base=10000, maxLen=3)');
    // Module.apply(fn) still visits the module
    const seen: string[] = [];
    expect(rope.apply((m) => seen.push(m.constructor.name))).toBe(rope);
    expect(seen).toEqual(['RotaryEmbedding']);
    rope.dispose();
  });

  it('gradients flow to x (backward of a weighted sum equals the transposed rotation)', () => {
    const rope = new RotaryEmbedding(4, { maxLen: 5, backend });
    const x = toroid.randn([1, 2, 5, 4], { backend });
    x.requiresGrad = true;
    const w = toroid.randn([1, 2, 5, 4], { backend });
    toroid.tidy(() => rope.apply(x, 0).mul(w).sum().backward());
    // the rotation R is orthogonal, so dL/dx = R^T w = rotation by -angle
    const wv = w.toTypedArray(), g = new Float64Array(wv.length);
    const d = 4, T = 5, half = 2;
    for (let row = 0; row < wv.length / d; row++) {
      for (let i = 0; i < half; i++) {
        const angle = (row % T) * Math.pow(10000, (-2 * i) / d);
        const a = wv[row * d + i]!, b = wv[row * d + i + half]!;
        g[row * d + i] = a * Math.cos(angle) + b * Math.sin(angle);
        g[row * d + i + half] = b * Math.cos(angle) - a * Math.sin(angle);
      }
    }
    expectClose(x.grad!.toTypedArray(), g, { atol: 1e-6, rtol: 1e-5 }, 'dx');
    x.dispose();
    w.dispose();
    rope.dispose();
  });

  it('rejects bad arguments with the toroid error format', () => {
    expect(() => new RotaryEmbedding(5, { maxLen: 4, backend })).toThrow(/^toroid\.RotaryEmbedding: headDim must be an even positive integer, got 5$/);
    expect(() => new RotaryEmbedding(0, { maxLen: 4, backend })).toThrow(RangeError);
    expect(() => new RotaryEmbedding(4, {} as { maxLen: number })).toThrow(/^toroid\.RotaryEmbedding: options\.maxLen must be a positive integer, got undefined$/);
    expect(() => new RotaryEmbedding(4, undefined as unknown as { maxLen: number })).toThrow(TypeError);
    expect(() => new RotaryEmbedding(4, { maxLen: 4, base: 0 })).toThrow(/options\.base must be a positive finite number, got 0$/);
    expect(() => new RotaryEmbedding(4, { maxLen: 4, theta: 1 } as unknown as { maxLen: number })).toThrow(/unknown key 'theta'/);
    const rope = new RotaryEmbedding(4, { maxLen: 6, backend });
    toroid.tidy(() => {
      const x = toroid.randn([1, 1, 4, 4], { backend });
      expect(() => rope.apply(x, 3)).toThrow(/^toroid\.RotaryEmbedding\.apply: offset must be an integer in \[0, 2\] \(offset \+ T=4 <= maxLen=6\), got 3$/);
      expect(() => rope.apply(x, -1)).toThrow(RangeError);
      expect(() => rope.apply(toroid.randn([1, 1, 4, 6], { backend }))).toThrow(/^toroid\.RotaryEmbedding\.apply: x must be float32 \[\.\.\., T, 4\]/);
      expect(() => rope.apply(toroid.tensor([1, 2, 3, 4], { dtype: 'int32', backend }))).toThrow(TypeError);
    });
    rope.dispose();
  });
});

it.skipIf(!supportsDType('ts', 'float64'))('RotaryEmbedding: relative positions (q_m . k_n depends only on m - n) and gradcheck, ts float64', () => {
  const d = 8, T = 10;
  const rope = new RotaryEmbedding(d, { maxLen: T, backend: 'ts', dtype: 'float64' });
  toroid.tidy(() => {
    // every position holds the same q (and k): after rotation, row m is q at position m
    const q = toroid.randn([d], { dtype: 'float64', backend: 'ts' });
    const k = toroid.randn([d], { dtype: 'float64', backend: 'ts' });
    const ones = toroid.ones([1, 1, T, 1], { dtype: 'float64', backend: 'ts' });
    const rq = rope.apply(ones.mul(q)).toTypedArray();
    const rk = rope.apply(ones.mul(k)).toTypedArray();
    const dot = (m: number, n: number): number => {
      let s = 0;
      for (let j = 0; j < d; j++) s += rq[m * d + j]! * rk[n * d + j]!;
      return s;
    };
    for (let delta = -3; delta <= 3; delta++) {
      const ref = dot(Math.max(0, delta), Math.max(0, -delta));
      for (let n = 0; n < T; n++) {
        const m = n + delta;
        if (m < 0 || m >= T) continue;
        expect(Math.abs(dot(m, n) - ref), `m=${m}, n=${n}`).toBeLessThan(1e-12);
      }
    }
    // and it is not position-independent: the scores vary with the distance
    expect(Math.abs(dot(3, 0) - dot(0, 0))).toBeGreaterThan(1e-6);
    // rotation preserves norms
    let nq = 0, nr = 0;
    const qv = q.toTypedArray();
    for (let j = 0; j < d; j++) { nq += qv[j]! ** 2; nr += rq[7 * d + j]! ** 2; }
    expect(Math.abs(nq - nr)).toBeLessThan(1e-12);
  });
  const x = randLeaf([2, 2, 4, d]);
  gradcheck((t: Tensor) => rope.apply(t, 3), [x]);
  gradcheck((t: Tensor) => rope.apply(t), [x]);
  x.dispose();
  rope.dispose();
});
