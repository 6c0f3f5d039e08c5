// KV-cache buffers: F.writeNarrow (the in-place write), attention over the first kvLength
// positions of a buffer, appendKeyValues' growth, and GPT decoding long enough to move to
// bigger buffers twice, against the full-prefix forward.
import { describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { gptStepper } from '../../src/decode/step.js';
import type { AttentionKV } from '../../src/nn/attention.js';
import { appendKeyValues, cachedLength } from '../../src/nn/kv-buffer.js';
import { describeEachBackend } from '../helpers/backends.js';
import { expectClose } from '../helpers/compare.js';
import { fullGPTLogits, gpt, NANOGPT } from './helpers.js';

const { F } = toroid;
type Tensor = toroid.Tensor;

function rand(shape: number[], backend: string, seed: number): Tensor {
  toroid.manualSeed(seed);
  return toroid.randn(shape, { backend });
}

describeEachBackend('F.writeNarrow', (backend) => {
  it('writes src into dst along a dim, in place, and leaves the rest alone', () => {
    toroid.tidy(() => {
      const dst = toroid.zeros([2, 3, 5, 2], { backend });
      const src = rand([2, 3, 2, 2], backend, 1);
      expect(F.writeNarrow(dst, src, 2, 3)).toBe(dst);
      const d = dst.toArray() as number[][][][];
      const s = src.toArray() as number[][][][];
      for (let a = 0; a < 2; a++) for (let b = 0; b < 3; b++) for (let t = 0; t < 5; t++) {
        expect(d[a]![b]![t]).toEqual(t >= 3 ? s[a]![b]![t - 3] : [0, 0]);
      }
      const ids = toroid.tensor(new Int32Array(6), { shape: [2, 3], dtype: 'int32', backend });
      F.writeNarrow(ids, toroid.tensor(new Int32Array([7, 8]), { shape: [2, 1], dtype: 'int32', backend }), -1, 2);
      expect(Array.from(ids.toTypedArray())).toEqual([0, 0, 7, 0, 0, 8]);
      return [];
    });
  });

  it('rejects mismatched shapes, dtypes, ranges, gradients and self-writes with named errors', () => {
    toroid.tidy(() => {
      const dst = toroid.zeros([2, 4, 3], { backend });
      expect(() => F.writeNarrow(dst, toroid.zeros([2, 1, 4], { backend }), 1, 0)).toThrow(/writeNarrow: src must be the shape of dst \[2,4,3\] except along dim 1/);
      expect(() => F.writeNarrow(dst, toroid.zeros([2, 2, 3], { backend }), 1, 3)).toThrow(/writeNarrow: start must be an integer in \[0, 2\]/);
      expect(() => F.writeNarrow(dst, toroid.zeros([2, 5, 3], { backend }), 1, 0)).toThrow(/writeNarrow: src must be at most 4 along dim 1/);
      expect(() => F.writeNarrow(dst, toroid.zeros([2, 1, 3], { backend, dtype: 'int32' }), 1, 0)).toThrow(/writeNarrow: src must be float32 like dst/);
      expect(() => F.writeNarrow(dst, dst.reshape([2, 4, 3]), 1, 0)).toThrow(/writeNarrow: src must be a tensor that does not share dst's storage/);
      const leaf = toroid.zeros([2, 4, 3], { backend, requiresGrad: true });
      expect(() => F.writeNarrow(leaf, toroid.zeros([2, 1, 3], { backend }), 1, 0)).toThrow(/writeNarrow: dst must be a tensor that does not require a gradient/);
      return [];
    });
  });
});

describeEachBackend('scaledDotProductAttention kvLength', (backend) => {
  const cases: Array<[string, { h: number; hkv: number; Tq: number; len: number; cap: number; causal: false | 'bottom-right'; pad: boolean }]> = [
    ['one query, MHA', { h: 4, hkv: 4, Tq: 1, len: 7, cap: 16, causal: 'bottom-right', pad: false }],
    ['prefill, GQA, causal', { h: 6, hkv: 2, Tq: 5, len: 5, cap: 16, causal: 'bottom-right', pad: false }],
    ['MQA, key padding, > one tile', { h: 3, hkv: 1, Tq: 2, len: 70, cap: 130, causal: false, pad: true }],
    ['full buffer', { h: 2, hkv: 2, Tq: 3, len: 9, cap: 9, causal: 'bottom-right', pad: false }],
  ];
  for (const [name, c] of cases) {
    it(`equals attention over the narrowed keys and values (${name})`, () => {
      toroid.noGrad(() => toroid.tidy(() => {
        const B = 2, d = 8;
        const q = rand([B, c.h, c.Tq, d], backend, 3);
        const kBuf = rand([B, c.hkv, c.cap, d], backend, 4);
        const vBuf = rand([B, c.hkv, c.cap, d], backend, 5);
        const padRows = Array.from({ length: B * c.len }, (_, i) => (c.pad && i % c.len > c.len - 4 && i >= c.len ? 1 : 0));
        const keyPaddingMask = c.pad ? toroid.tensor(new Uint8Array(padRows), { shape: [B, c.len], dtype: 'bool', backend }) : null;
        const options = { isCausal: c.causal, keyPaddingMask };
        const got = F.scaledDotProductAttention(q, kBuf, vBuf, { ...options, kvLength: c.len });
        const want = F.scaledDotProductAttention(q, F.narrow(kBuf, 2, 0, c.len), F.narrow(vBuf, 2, 0, c.len), options);
        expectClose(got.toFloat32Array(), want.toFloat32Array(), { atol: 1e-6, rtol: 1e-5 }, 'out');
        return [];
      }));
    });
  }

  it('rejects a kvLength beyond k, non-integers, and use with gradients', () => {
    toroid.tidy(() => {
      const q = rand([1, 2, 1, 4], backend, 1), k = rand([1, 2, 6, 4], backend, 2);
      expect(() => F.scaledDotProductAttention(q, k, k, { kvLength: 7 })).toThrow(/scaledDotProductAttention: kvLength must be an integer in \[0, 6\]/);
      expect(() => F.scaledDotProductAttention(q, k, k, { kvLength: 2.5 })).toThrow(/kvLength must be an integer/);
      const qg = rand([1, 2, 1, 4], backend, 1);
      qg.requiresGrad = true;
      expect(() => F.scaledDotProductAttention(qg, k, k, { kvLength: 3 })).toThrow(/kvLength must be unset while q, k or v requires a gradient/);
      const pad = toroid.tensor(new Uint8Array(6), { shape: [1, 6], dtype: 'bool', backend });
      expect(() => F.scaledDotProductAttention(q, k, k, { kvLength: 3, keyPaddingMask: pad })).toThrow(/keyPaddingMask must be bool \[B,Tk\] with B=1, Tk=3/);
      return [];
    });
  });
});

describeEachBackend('appendKeyValues', (backend) => {
  it('writes in place while there is room, doubles when full, and always equals F.cat', () => {
    toroid.noGrad(() => {
      let cache: AttentionKV | null = null;
      let plain: Tensor | null = null;
      let moves = 0;
      for (let step = 0; step < 40; step++) {
        const T = step === 0 ? 5 : 1;
        const fresh = { k: rand([2, 3, T, 4], backend, 10 + step), v: rand([2, 3, T, 4], backend, 100 + step) };
        const next = appendKeyValues(cache, fresh);
        if (cache !== null) {
          // new handles every step (the caller may dispose the old entry); new storage only when full
          expect(next.k).not.toBe(cache.k);
          if (next.k.data !== cache.k.data) moves++;
          cache.k.dispose();
          cache.v.dispose();
        }
        cache = next;
        const joined: Tensor = plain === null ? fresh.k.alias() : F.cat([plain, fresh.k], 2);
        plain?.dispose();
        plain = joined;
        fresh.k.dispose();
        fresh.v.dispose();
        expect(cachedLength(cache)).toBe(plain.shape[2]);
        const view = F.narrow(cache.k, 2, 0, cachedLength(cache));
        expect(Array.from(view.toFloat32Array())).toEqual(Array.from(plain.toFloat32Array()));
        view.dispose();
      }
      // 5 -> capacity 16, then 32 at position 17 and 64 at position 33
      expect(cache!.k.shape[2]).toBe(64);
      expect(moves).toBe(2);
      cache!.k.dispose();
      cache!.v.dispose();
      plain!.dispose();
    });
  });

  it('copies instead of overwriting when one entry is extended twice (two continuations of a prefix)', () => {
    toroid.noGrad(() => toroid.tidy(() => {
      const fresh = (seed: number) => ({ k: rand([1, 1, 1, 2], backend, seed), v: rand([1, 1, 1, 2], backend, seed + 1) });
      const base = appendKeyValues(null, fresh(1));
      const a = appendKeyValues(base, fresh(3));
      const b = appendKeyValues(base, fresh(5));
      expect(a.k.data).toBe(base.k.data);
      expect(b.k.data).not.toBe(base.k.data);
      const row = (kv: AttentionKV, i: number) => Array.from(F.narrow(kv.k, 2, i, 1).toFloat32Array());
      expect(row(a, 1)).toEqual(Array.from(fresh(3).k.toFloat32Array()));
      expect(row(b, 1)).toEqual(Array.from(fresh(5).k.toFloat32Array()));
      expect(row(b, 0)).toEqual(row(a, 0));
      return [];
    }));
  });
});

describe('GPT cached decoding across buffer moves', () => {
  describeEachBackend('GPT', (backend) => {
    it('greedy tokens of a 40-step cached decode equal the full-prefix argmax at every step', () => {
      const model = gpt(backend, 5, { ...NANOGPT, blockSize: 48, dropout: 0 });
      const prompt = [3, 4, 5];
      const stepper = gptStepper(model);
      const before = toroid.memory().liveStorages;
      try {
        let prefix = prompt.slice();
        for (let s = 0; s < 40; s++) {
          const logits = stepper.step([Int32Array.from(prefix)], { parents: null, sentences: new Int32Array([0]) });
          const full = fullGPTLogits(model, prefix);
          expectClose(Float32Array.from(logits), full, { atol: 2e-5, rtol: 1e-4 }, `step ${s}`);
          let best = 0;
          for (let j = 1; j < full.length; j++) if (full[j]! > full[best]!) best = j;
          prefix = [...prefix, best];
        }
      } finally {
        stepper.dispose();
      }
      expect(toroid.memory().liveStorages).toBeLessThanOrEqual(before);
    });
  });
});
