// Sampling: reproducible with a seed (and with toroid.manualSeed), top-k = 1 and a tiny
// top-p equal greedy, a huge temperature approaches uniform, the repetition penalty
// matches a brute-force reference; the logits processors on their own.
import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { generateSync, greedyDecode, sampleDecode } from '../../src/decode/index.js';
import { applyRepetitionPenalty, drawFrom, resolveSampling, samplingPicker, topKFilter, topPFilter, uniformSource } from '../../src/decode/sampling.js';
import { describeEachBackend } from '../helpers/backends.js';
import { runTokenSearch } from '../../src/decode/greedy.js';
import { gptStepper } from '../../src/decode/step.js';
import { BOS, biasToken, EOS, fullGPTLogits, gpt, LLAMA, NANOGPT, PAD, seq2seq } from './helpers.js';

const arr = (rows: Int32Array[]): number[][] => rows.map((r) => Array.from(r));

describeEachBackend('decode: sampling', (backend) => {
  it('GPT: the same seed gives the same tokens; another seed other tokens; manualSeed makes seedless sampling reproducible', () => {
    const model = gpt(backend, 51, NANOGPT);
    const prompts = [[1, 2, 3], [4, 5, 6]];
    const opts = { maxNewTokens: 16, strategy: 'sample' as const, temperature: 4 };
    const a = generateSync(model, prompts, { ...opts, seed: 7 });
    toroid.randn([100]).dispose(); // global draws do not disturb a seeded stream
    const b = generateSync(model, prompts, { ...opts, seed: 7 });
    const c = generateSync(model, prompts, { ...opts, seed: 8 });
    expect(arr(a)).toEqual(arr(b));
    expect(arr(a)).not.toEqual(arr(c));
    toroid.manualSeed(99);
    const d = generateSync(model, prompts, opts);
    toroid.manualSeed(99);
    const e = generateSync(model, prompts, opts);
    expect(arr(d)).toEqual(arr(e));
    model.dispose();
  });

  it("GPT: seeded top-k sampling from the backend's candidates equals sampling over the full logits", () => {
    const model = gpt(backend, 53, NANOGPT);
    const prompts = [[1, 2, 3], [4, 5, 6], [7, 7, 7]];
    for (const [seed, options] of [[11, { topK: 4, temperature: 2 }], [12, { topK: 9, topP: 0.7 }]] as const) {
      const stepper = gptStepper(model);
      let full: number[][];
      try {
        full = arr(runTokenSearch(stepper.step, { prefixes: prompts, vocabSize: model.config.vocabSize, maxSteps: 10, eos: null, banned: [], pick: samplingPicker(resolveSampling('test', { ...options, seed })) }));
      } finally {
        stepper.dispose();
      }
      expect(arr(generateSync(model, prompts, { maxNewTokens: 10, strategy: 'sample', ...options, seed })), `seed ${seed}`).toEqual(full);
    }
    model.dispose();
  });

  it('GPT: topK = 1 and a tiny topP equal greedy (with and without temperature)', () => {
    const model = gpt(backend, 52, LLAMA);
    const prompts = [[1, 2, 3], [9, 8, 7]];
    const greedy = arr(generateSync(model, prompts, { maxNewTokens: 12 }));
    expect(arr(generateSync(model, prompts, { maxNewTokens: 12, strategy: 'sample', topK: 1, seed: 1 }))).toEqual(greedy);
    expect(arr(generateSync(model, prompts, { maxNewTokens: 12, strategy: 'sample', topK: 1, temperature: 3, seed: 2 }))).toEqual(greedy);
    expect(arr(generateSync(model, prompts, { maxNewTokens: 12, strategy: 'sample', topP: 1e-9, seed: 3 }))).toEqual(greedy);
    model.dispose();
  });

  it('GPT: a huge temperature approaches uniform sampling (loose)', () => {
    const model = gpt(backend, 53, NANOGPT);
    const V = model.config.vocabSize;
    const prompts = Array.from({ length: 48 }, (_, i) => [i % V]);
    const rows = generateSync(model, prompts, { maxNewTokens: 12, strategy: 'sample', temperature: 1e6, seed: 11 });
    const counts = new Array<number>(V).fill(0);
    for (const r of rows) for (const t of r) counts[t]!++;
    const n = rows.length * 12, expected = n / V;
    for (const c of counts) {
      expect(c).toBeGreaterThan(expected * 0.4);
      expect(c).toBeLessThan(expected * 1.8);
    }
    model.dispose();
  });

  it('GPT greedy with a repetition penalty equals a brute-force greedy with the CTRL penalty on generated tokens', () => {
    const model = gpt(backend, 54, NANOGPT);
    const prompt = [1, 2, 3];
    for (const penalty of [1.3, 5]) {
      const out: number[] = [];
      for (let s = 0; s < 12; s++) {
        const logits = Float64Array.from(fullGPTLogits(model, [...prompt, ...out]));
        for (const id of new Set(out)) logits[id] = logits[id]! > 0 ? logits[id]! / penalty : logits[id]! * penalty;
        let best = 0;
        for (let j = 1; j < logits.length; j++) if (logits[j]! > logits[best]!) best = j;
        out.push(best);
      }
      expect(Array.from(generateSync(model, [prompt], { maxNewTokens: 12, repetitionPenalty: penalty })[0]!)).toEqual(out);
    }
    model.dispose();
  });

  it('Seq2Seq sampleDecode: reproducible by seed, topK = 1 equals greedyDecode, never PAD/BOS', () => {
    const model = seq2seq(backend, 55);
    biasToken(model, PAD, 30);
    biasToken(model, BOS, 30);
    const src = [[3, 4, 5, 6], [7, 8]];
    const a = sampleDecode(model, src, { maxLen: 10, seed: 4, temperature: 2 });
    const b = sampleDecode(model, src, { maxLen: 10, seed: 4, temperature: 2 });
    expect(arr(a)).toEqual(arr(b));
    for (const r of a) for (const t of r) expect([PAD, BOS, EOS]).not.toContain(t);
    expect(arr(sampleDecode(model, src, { maxLen: 10, topK: 1, seed: 5 }))).toEqual(arr(greedyDecode(model, src, { maxLen: 10 })));
    expect(arr(generateSync(model, src, { maxLen: 10, strategy: 'sample', seed: 4, temperature: 2 }))).toEqual(arr(a));
    model.dispose();
  });
});

it('logits processors: repetition penalty, top-k (ties to the lower id), top-p (smallest set reaching p), draws', () => {
  expect(Array.from(applyRepetitionPenalty(Float64Array.from([2, -2, 4, 1]), [0, 1, 1], 2))).toEqual([1, -4, 4, 1]);
  expect(Array.from(topKFilter(Float64Array.from([1, 3, 3, 2]), 2))).toEqual([-Infinity, 3, 3, -Infinity]);
  expect(Array.from(topKFilter(Float64Array.from([1, 3, 3, 2]), 1))).toEqual([-Infinity, 3, -Infinity, -Infinity]);
  expect(Array.from(topKFilter(Float64Array.from([1, 2]), 0))).toEqual([1, 2]);
  const p = topPFilter(Float64Array.from([0.1, 0.5, 0.3, 0.1]), 0.7);
  expect(Array.from(p).map((v) => +v.toFixed(6))).toEqual([0, 0.625, 0.375, 0]);
  expect(Array.from(topPFilter(Float64Array.from([0.1, 0.5, 0.3, 0.1]), 0.5))).toEqual([0, 1, 0, 0]);
  expect(drawFrom(Float64Array.from([0, 0.5, 0.5]), 0)).toBe(1);
  expect(drawFrom(Float64Array.from([0, 0.5, 0.5]), 0.999999)).toBe(2);
  // uniforms: in [0, 1), reproducible per seed
  const u1 = uniformSource(3n), u2 = uniformSource(3n);
  const xs = Array.from({ length: 1000 }, () => u1());
  expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  expect(Array.from({ length: 1000 }, () => u2())).toEqual(xs);
  expect(Math.abs(xs.reduce((a, b) => a + b, 0) / 1000 - 0.5)).toBeLessThan(0.05);
  // a huge temperature on the picker: ~uniform over three very different logits
  const pick = samplingPicker(resolveSampling('test', { temperature: 1e6, seed: 9 }));
  const counts = [0, 0, 0];
  for (let i = 0; i < 3000; i++) counts[pick(Float64Array.from([0, 5, 10]), [], 0)]!++;
  for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150);
});
