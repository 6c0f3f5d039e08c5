// Semantics of scaledDotProductAttention beyond the op table: fully masked rows, causal modes,
// GQA as repeated heads, dropout reproducibility. The fixture cases, finite-difference checks,
// random consistency cases and invalid inputs are rows of test/ops/table/attention.ts.
import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend } from '../helpers/backends.js';
import { expectClose } from '../helpers/compare.js';

const { F } = toroid;
describeEachBackend('scaledDotProductAttention semantics', (backend) => {
  it('a query row whose keys are all masked gives zeros and zero gradients, never NaN', () => {
    toroid.tidy(() => {
      const q = toroid.randn([1, 1, 2, 4], { backend, requiresGrad: true });
      const k = toroid.randn([1, 1, 3, 4], { backend, requiresGrad: true });
      const v = toroid.randn([1, 1, 3, 4], { backend, requiresGrad: true });
      const attnMask = toroid.tensor([[1, 1, 1], [0, 1, 0]], { dtype: 'bool', backend });
      const out = F.scaledDotProductAttention(q, k, v, { attnMask });
      const values = out.toFloat32Array();
      expect(Array.from(values.subarray(0, 4))).toEqual([0, 0, 0, 0]);
      expect(values.every(Number.isFinite)).toBe(true);
      out.sum().backward();
      expect(q.grad!.toFloat32Array().every(Number.isFinite)).toBe(true);
      expect(Array.from(q.grad!.toFloat32Array().subarray(0, 4))).toEqual([0, 0, 0, 0]);
    });
  });

  it('isCausal true is top-left, and bottom-right equals top-left when Tq = Tk', () => {
    toroid.tidy(() => {
      const q = toroid.randn([2, 2, 5, 4], { backend });
      const k = toroid.randn([2, 2, 5, 4], { backend });
      const v = toroid.randn([2, 2, 5, 4], { backend });
      const a = F.scaledDotProductAttention(q, k, v, { isCausal: true }).toFloat32Array();
      const b = F.scaledDotProductAttention(q, k, v, { isCausal: 'top-left' }).toFloat32Array();
      const c = F.scaledDotProductAttention(q, k, v, { isCausal: 'bottom-right' }).toFloat32Array();
      expect(a).toEqual(b);
      expectClose(c, Float64Array.from(a), { atol: 0, rtol: 0 });
    });
  });

  it('GQA equals attention with k and v repeated per query head', () => {
    toroid.tidy(() => {
      const q = toroid.randn([2, 6, 4, 8], { backend });
      const k = toroid.randn([2, 2, 5, 8], { backend });
      const v = toroid.randn([2, 2, 5, 8], { backend });
      const repeat = (t: toroid.Tensor): toroid.Tensor => {
        // [B,2,T,d] -> [B,6,T,d] with head i using kv head floor(i/3)
        const [B, hkv, T, d] = t.shape as number[];
        return t.reshape([B!, hkv!, 1, T!, d!]).add(toroid.zeros([1, 1, 3, 1, 1], { backend })).reshape([B!, hkv! * 3, T!, d!]);
      };
      const gqa = F.scaledDotProductAttention(q, k, v).toFloat32Array();
      const full = F.scaledDotProductAttention(q, repeat(k), repeat(v)).toFloat32Array();
      expectClose(gqa, Float64Array.from(full), { atol: 1e-6, rtol: 1e-5 });
    });
  });

  it('attention dropout is reproducible under a seed and keeps the expectation', () => {
    toroid.tidy(() => {
      const q = toroid.randn([1, 2, 4, 8], { backend });
      const k = toroid.randn([1, 2, 6, 8], { backend });
      const v = toroid.randn([1, 2, 6, 8], { backend });
      toroid.manualSeed(7);
      const a = F.scaledDotProductAttention(q, k, v, { dropoutP: 0.3 }).toFloat32Array();
      toroid.manualSeed(7);
      const b = F.scaledDotProductAttention(q, k, v, { dropoutP: 0.3 }).toFloat32Array();
      const c = F.scaledDotProductAttention(q, k, v, { dropoutP: 0.3 }).toFloat32Array();
      expect(a).toEqual(b);
      expect(a).not.toEqual(c);
    });
  });
});

// The cpu kernel's one-query-row path (a decoding step: Tq = 1) against the ts reference,
// with every mask kind, GQA, bottom-right causality over a longer cache and kvLength.
it('one query row (a decoding step): cpu equals ts with masks, GQA, causal bottom-right and kvLength', () => {
  if (!toroid.listBackends().includes('cpu')) return;
  toroid.manualSeed(7);
  const host = (shape: number[]) => toroid.randn(shape, { backend: 'ts' }).toFloat32Array();
  const B = 3, h = 4, hkv = 2, Tk = 9, d = 16;
  const q = host([B, h, 1, d]), k = host([B, hkv, Tk, d]), v = host([B, hkv, Tk, d]);
  const pad = [[0, 0, 0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 0, 1]];
  const floatMask = host([1, h, 1, Tk]);
  const boolMask = Array.from({ length: B }, (_, b) => [Array.from({ length: Tk }, (_, j) => ((j + b) % 4 === 0 ? 1 : 0))]);
  const cases: Array<Record<string, unknown>> = [{}, { isCausal: 'bottom-right' }, { keyPaddingMask: pad }, { attnMask: floatMask }, { attnMask: boolMask }, { kvLength: 6 }, { scale: 0.3, keyPaddingMask: pad, isCausal: 'bottom-right' }];
  for (const c of cases) {
    const run = (backend: string): Float32Array => toroid.tidy(() => {
      const t = (data: Float32Array, shape: number[]) => toroid.tensor(data, { shape, backend });
      const options: Record<string, unknown> = { ...c };
      if (c.keyPaddingMask) options.keyPaddingMask = toroid.tensor(pad, { dtype: 'bool', backend });
      if (c.attnMask === floatMask) options.attnMask = t(floatMask, [1, h, 1, Tk]);
      if (c.attnMask === boolMask) options.attnMask = toroid.tensor(boolMask.map((r) => [r]), { dtype: 'bool', backend });
      return F.scaledDotProductAttention(t(q, [B, h, 1, d]), t(k, [B, hkv, Tk, d]), t(v, [B, hkv, Tk, d]), options as never).toFloat32Array();
    });
    expectClose(run('cpu'), Float64Array.from(run('ts')), { atol: 2e-6, rtol: 1e-5 });
  }
});
