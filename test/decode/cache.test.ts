// KV cache equivalence: the incremental decoders (Seq2SeqTransformer.decodeCached,
// GPT.forwardCached, through the nn layers' cached paths) give the per-step log-probs of
// re-running the full prefix with model.forward; row gathers (indexSelect, KVCache.reorder)
// keep that true after beam-style reordering; nothing leaks.
import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { indexSelect, KVCache } from '../../src/decode/kv-cache.js';
import { gptStepper, seq2seqStepper } from '../../src/decode/step.js';
import type { AttentionKV } from '../../src/nn/attention.js';
import { cachedLength } from '../../src/nn/kv-buffer.js';
import { describeEachBackend } from '../helpers/backends.js';
import { expectClose } from '../helpers/compare.js';
import { BOS, gpt, ids, LLAMA, logSoftmax, NANOGPT, seq2seq } from './helpers.js';

type Tensor = toroid.Tensor;
const { F } = toroid;
const TOL = { atol: 1e-5, rtol: 1e-5 };

function rowsOf(t: Tensor): Float64Array[] {
  const V = t.shape[t.rank - 1]!;
  const flat = t.toFloat32Array();
  return Array.from({ length: flat.length / V }, (_, i) => logSoftmax(flat.subarray(i * V, (i + 1) * V)));
}

describeEachBackend('decode: KV cache equivalence', (backend) => {
  const seq2seqVariants: Array<[string, Record<string, unknown>]> = [
    ['post-LN, sinusoidal', {}],
    ['pre-LN, learned positions, gelu', { normFirst: true, positions: 'learned', activation: 'gelu' }],
    ['tied generator, shared embeddings', { srcVocab: 11, shareEmbeddings: true, tieGenerator: true }],
  ];
  for (const [name, config] of seq2seqVariants) {
    it(`Seq2Seq (${name}): cached per-step log-probs equal the full-prefix forward, padded sources included`, () => {
      const model = seq2seq(backend, 3, config);
      const srcRows = [[3, 4, 5, 6, 7, 8], [9, 10, 3], [5, 5, 5, 5]];
      const tgtRows = [[BOS, 3, 4, 5, 6, 7, 8, 9], [BOS, 10, 9, 8, 7, 6, 5, 4], [BOS, 4, 4, 4, 3, 3, 3, 10]];
      const src = ids(srcRows, backend);
      const tgt = ids(tgtRows, backend);
      const T = 8;
      const full = toroid.noGrad(() => toroid.tidy(() => rowsOf(model.forward(src, tgt))));
      const before = toroid.memory().liveStorages;
      toroid.noGrad(() => {
        const memory = model.encode(src);
        const cross = model.crossKeyValues(memory);
        const mask = model.sourcePaddingMask(src);
        let self: (AttentionKV | null)[] = [null, null];
        // steps of 1, then a chunk of 3 positions at once, then 1s
        const chunks = [1, 1, 3, 1, 1, 1];
        let offset = 0;
        for (const n of chunks) {
          const step = F.narrow(tgt, 1, offset, n);
          const out = model.decodeCached(step, { offset, self, cross, memoryKeyPaddingMask: mask });
          const got = rowsOf(out.logits);
          for (let b = 0; b < 3; b++) {
            for (let i = 0; i < n; i++) expectClose(got[b * n + i]!, full[b * T + offset + i]!, TOL, `row ${b} position ${offset + i}`);
          }
          for (const kv of self) { kv?.k.dispose(); kv?.v.dispose(); }
          self = out.self;
          out.logits.dispose();
          step.dispose();
          offset += n;
        }
        expect(offset).toBe(T);
        expect(cachedLength(self[0])).toBe(T);
        expect(self[0]!.k.shape[2]).toBeGreaterThanOrEqual(T);
        for (const kv of [...self, ...cross]) { kv!.k.dispose(); kv!.v.dispose(); }
        memory.dispose();
        mask.dispose();
      });
      expect(toroid.memory().liveStorages).toBe(before);
      src.dispose();
      tgt.dispose();
      model.dispose();
    });
  }

  for (const [name, config] of [['nanoGPT (learned positions, MHA)', NANOGPT], ['LLaMA-style (RoPE, GQA, RMSNorm, SwiGLU)', LLAMA]] as const) {
    it(`GPT ${name}: cached per-step log-probs equal the full-prefix forward (prompt prefill, then chunks and single tokens)`, () => {
      const model = gpt(backend, 5, config);
      const rows = [[1, 5, 7, 3, 18, 2, 9, 11, 4, 6, 0, 13], [17, 16, 15, 14, 1, 1, 2, 3, 4, 8, 8, 12]];
      const T = rows[0]!.length;
      const idx = ids(rows, backend);
      const full = toroid.noGrad(() => toroid.tidy(() => rowsOf(model.forward(idx).logits)));
      const before = toroid.memory().liveStorages;
      toroid.noGrad(() => {
        let past: AttentionKV[] = [];
        let offset = 0;
        for (const n of [4, 1, 1, 3, 1, 1, 1]) {
          const step = F.narrow(idx, 1, offset, n);
          const out = model.forwardCached(step, { past, offset });
          const got = rowsOf(out.logits);
          for (let b = 0; b < 2; b++) {
            for (let i = 0; i < n; i++) expectClose(got[b * n + i]!, full[b * T + offset + i]!, TOL, `row ${b} position ${offset + i}`);
          }
          for (const kv of past) { kv.k.dispose(); kv.v.dispose(); }
          past = out.kv;
          out.logits.dispose();
          step.dispose();
          offset += n;
        }
        // a buffer with room for more: the first T positions are the cache
        expect(cachedLength(past[0])).toBe(T);
        expect(past[0]!.k.shape.slice(0, 2).concat(past[0]!.k.shape.slice(3))).toEqual([2, model.config.nKvHead, 8]);
        for (const kv of past) { kv.k.dispose(); kv.v.dispose(); }
      });
      expect(toroid.memory().liveStorages).toBe(before);
      idx.dispose();
      model.dispose();
    });
  }

  it('the cached steppers reorder their caches by parent rows: each row still equals its own full-prefix forward', () => {
    const model = seq2seq(backend, 11);
    const src = ids([[3, 4, 5], [6, 7, 8, 9]], backend);
    const stepper = seq2seqStepper(model, src, null);
    const V = model.config.tgtVocab;
    // step 1: one row per sentence; step 2: three rows (sentence 1, 0, 0); step 3: rows reordered/dropped
    const plan: Array<{ prefixes: number[][]; parents: number[] | null; sentences: number[] }> = [
      { prefixes: [[BOS], [BOS]], parents: null, sentences: [0, 1] },
      { prefixes: [[BOS, 4], [BOS, 3], [BOS, 5]], parents: [1, 0, 0], sentences: [1, 0, 0] },
      { prefixes: [[BOS, 5, 6], [BOS, 3, 7], [BOS, 3, 3], [BOS, 4, 8]], parents: [2, 1, 1, 0], sentences: [0, 0, 0, 1] },
      { prefixes: [[BOS, 4, 8, 9]], parents: [3], sentences: [1] },
    ];
    const srcRows = [[3, 4, 5], [6, 7, 8, 9]];
    for (const p of plan) {
      const got = stepper.step(p.prefixes.map((r) => Int32Array.from(r)), { parents: p.parents === null ? null : Int32Array.from(p.parents), sentences: Int32Array.from(p.sentences) });
      p.prefixes.forEach((prefix, r) => {
        const expected = toroid.noGrad(() => toroid.tidy(() => {
          const logits = model.forward(ids([srcRows[p.sentences[r]!]!], backend), ids([prefix], backend));
          return logits.toFloat32Array().slice((prefix.length - 1) * V, prefix.length * V);
        }));
        expectClose(logSoftmax(Array.from(got).slice(r * V, (r + 1) * V)), logSoftmax(expected), TOL, `call with ${p.prefixes.length} rows, row ${r}`);
      });
    }
    stepper.dispose();
    src.dispose();
    model.dispose();
  });

  it('the GPT stepper reorders and drops rows', () => {
    const model = gpt(backend, 12, LLAMA);
    const stepper = gptStepper(model);
    const V = model.config.vocabSize;
    const plan = [
      { prefixes: [[1, 2, 3], [4, 5, 6]], parents: null },
      { prefixes: [[4, 5, 6, 7], [1, 2, 3, 8], [4, 5, 6, 9]], parents: [1, 0, 1] },
      { prefixes: [[4, 5, 6, 9, 10]], parents: [2] },
    ];
    for (const p of plan) {
      const got = stepper.step(p.prefixes.map((r) => Int32Array.from(r)), { parents: p.parents === null ? null : Int32Array.from(p.parents), sentences: new Int32Array(p.prefixes.length) });
      p.prefixes.forEach((prefix, r) => {
        const expected = toroid.noGrad(() => toroid.tidy(() => model.forward(ids([prefix], backend)).logits.toFloat32Array().slice((prefix.length - 1) * V, prefix.length * V)));
        expectClose(logSoftmax(Array.from(got).slice(r * V, (r + 1) * V)), logSoftmax(expected), TOL, `row ${r}`);
      });
    }
    stepper.dispose();
    model.dispose();
  });

  it('indexSelect gathers rows along dim 0 (repeats, drops, float and bool); KVCache.reorder uses it', () => {
    const x = toroid.tensor(Float32Array.from({ length: 24 }, (_, i) => i), { shape: [3, 2, 4], backend });
    const y = indexSelect(x, [2, 0, 0, 1]);
    expect(y.shape).toEqual([4, 2, 4]);
    expect(Array.from(y.toFloat32Array())).toEqual([...[16, 17, 18, 19, 20, 21, 22, 23], ...[0, 1, 2, 3, 4, 5, 6, 7], ...[0, 1, 2, 3, 4, 5, 6, 7], ...[8, 9, 10, 11, 12, 13, 14, 15]]);
    const m = toroid.tensor([[1, 0], [0, 1]], { dtype: 'bool', backend });
    const mm = indexSelect(m, [1, 1, 0]);
    expect(mm.dtype).toBe('bool');
    expect(Array.from(mm.toTypedArray())).toEqual([0, 1, 0, 1, 1, 0]);
    const cache = new KVCache(1);
    const k = toroid.tensor(Float32Array.from({ length: 2 * 1 * 3 * 2 }, (_, i) => i), { shape: [2, 1, 3, 2], backend });
    const v = toroid.tensor(Float32Array.from({ length: 2 * 1 * 3 * 2 }, (_, i) => -i), { shape: [2, 1, 3, 2], backend });
    cache.update([{ k, v }], 3);
    expect(cache.length).toBe(3);
    expect(cache.rows).toBe(2);
    cache.reorder([1, 1, 0]);
    expect(cache.rows).toBe(3);
    expect(Array.from(cache.layers[0]!.k.toFloat32Array()).slice(0, 6)).toEqual([6, 7, 8, 9, 10, 11]);
    expect(Array.from(cache.layers[0]!.v.toFloat32Array()).slice(12, 18)).toEqual([-0, -1, -2, -3, -4, -5]);
    expect(k.isDisposed).toBe(true);
    cache.dispose();
    for (const t of [x, y, m, mm]) t.dispose();
  });
});
