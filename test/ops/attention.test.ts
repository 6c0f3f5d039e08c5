import { describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend } from '../helpers/backends.js';
import { expectClose } from '../helpers/compare.js';
import { Fixture } from '../helpers/fixtures.js';
import { gradcheck, randLeaf } from '../helpers/gradcheck.js';

const { F } = toroid;
const fixture = new Fixture('attention');

interface AttnCase { isCausal: false | 'top-left' | 'bottom-right'; scale: number | null; hasKeyPaddingMask: boolean; attnMask: null | 'bool' | 'float' }

describeEachBackend('scaledDotProductAttention vs PyTorch', (backend) => {
  for (const name of fixture.caseNames()) {
    it(name, () => {
      const attrs = fixture.cases[name] as unknown as AttnCase;
      toroid.tidy(() => {
        const q = fixture.input(name, 'q', backend, { requiresGrad: true });
        const k = fixture.input(name, 'k', backend, { requiresGrad: true });
        const v = fixture.input(name, 'v', backend, { requiresGrad: true });
        const options: toroid.F.AttentionOptions = { isCausal: attrs.isCausal };
        if (attrs.scale !== null) options.scale = attrs.scale;
        if (attrs.hasKeyPaddingMask) options.keyPaddingMask = fixture.input(name, 'key_padding_mask', backend, { dtype: 'bool' });
        if (attrs.attnMask === 'bool') options.attnMask = fixture.input(name, 'attn_mask', backend, { dtype: 'bool' });
        if (attrs.attnMask === 'float') options.attnMask = fixture.input(name, 'attn_mask', backend);
        const out = F.scaledDotProductAttention(q, k, v, options);
        expectClose(out.toFloat32Array(), fixture.expected(name, 'out'), undefined, 'out');
        out.backward(fixture.input(name, 'dout', backend));
        expectClose(q.grad!.toFloat32Array(), fixture.expected(name, 'dq'), undefined, 'dq');
        expectClose(k.grad!.toFloat32Array(), fixture.expected(name, 'dk'), undefined, 'dk');
        expectClose(v.grad!.toFloat32Array(), fixture.expected(name, 'dv'), undefined, 'dv');
        return [];
      });
    });
  }
});

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

describe('scaledDotProductAttention gradients vs finite differences (float64, ts)', () => {
  const cases: Array<[string, number[], number[], toroid.F.AttentionOptions]> = [
    ['plain', [2, 2, 3, 4], [2, 2, 4, 4], {}],
    ['causal bottom-right, GQA', [1, 4, 3, 4], [1, 2, 5, 4], { isCausal: 'bottom-right' }],
    ['custom scale, causal top-left', [1, 2, 4, 3], [1, 1, 4, 3], { isCausal: true, scale: 0.7 }],
  ];
  for (const [name, qShape, kShape, options] of cases) {
    it(name, () => {
      const q = randLeaf(qShape), k = randLeaf(kShape), v = randLeaf(kShape);
      gradcheck((a, b, c) => F.scaledDotProductAttention(a!, b!, c!, options), [q, k, v]);
      [q, k, v].forEach((t) => t.dispose());
    });
  }

  it('with padding and a float mask', () => {
    const q = randLeaf([2, 2, 3, 4]), k = randLeaf([2, 2, 4, 4]), v = randLeaf([2, 2, 4, 4]);
    const keyPaddingMask = toroid.tensor([[0, 0, 1, 1], [1, 0, 0, 0]], { dtype: 'bool', backend: 'ts' });
    const attnMask = randLeaf([1, 2, 3, 4], 1, false);
    gradcheck((a, b, c) => F.scaledDotProductAttention(a!, b!, c!, { keyPaddingMask, attnMask }), [q, k, v]);
  });

  it('with dropout (the mask is regenerated in backward)', () => {
    const q = randLeaf([1, 2, 3, 4]), k = randLeaf([1, 2, 5, 4]), v = randLeaf([1, 2, 5, 4]);
    // re-seed before every evaluation so each sees the same dropout mask
    gradcheck((a, b, c) => {
      toroid.manualSeed(11);
      return F.scaledDotProductAttention(a!, b!, c!, { dropoutP: 0.25 });
    }, [q, k, v]);
  });
});
