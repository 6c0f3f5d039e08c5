// The completion route's request parser against 3,000 seeded mutations of valid bodies
// (test/hardening/mutate-json.ts: wrong types, huge/negative/NaN numbers, removed and
// hostile keys, mutated JSON text): every body is either a request within the model's limits
// or a 4xx ApiError naming the field in its message, never another exception. The accepted
// ones are checked against the limits the worker relies on.
import { describe, expect, it } from 'vitest';
import { ApiError, parseCompletionRequest } from '../../src/serve/completions.js';
import { BPETokenizer } from '../../src/tokenizer/bpe.js';
import { Rng } from '../helpers/random.js';
import { mutateText, mutateValue } from './mutate-json.js';

const VALID = [
  { prompt: [1, 2, 3], max_tokens: 8, temperature: 0 },
  { prompt: 'the cat sat', max_tokens: 4, temperature: 0.7, top_p: 0.9, top_k: 5, seed: 3, stop: ['mat'], stream: true },
  { prompt: [4, 5], max_tokens: 2, repetition_penalty: 1.2, stop_token_ids: [2, 7], n: 1, echo: false, logprobs: null, user: 'u' },
];

describe('serve: completion request fuzzing', () => {
  it('3,000 mutated bodies: a valid request within the limits or a 4xx ApiError', async () => {
    const tokenizer = await BPETokenizer.train(['the cat sat on the mat', 'a dog ran'], { vocabSize: 40, minFrequency: 1 });
    const gpt = { family: 'GPT' as const, inputVocab: 40, vocabSize: 40, blockSize: 24, tokenizer };
    const s2s = { family: 'Seq2SeqTransformer' as const, inputVocab: 40, vocabSize: 30, blockSize: 24, tokenizer };
    let accepted = 0, rejected = 0;
    for (let seed = 0; seed < 3000; seed++) {
      const rng = new Rng(seed);
      const base = VALID[seed % VALID.length]!;
      let body: unknown;
      let what: string;
      if (seed % 4 === 3) {
        const m = mutateText(JSON.stringify(base), rng);
        what = m.describe;
        try { body = JSON.parse(m.text); } catch { continue; }  // the server answers a 400 before the parser
      } else {
        const m = mutateValue(base, rng);
        body = m.value;
        what = m.describe;
      }
      const limits = seed % 2 === 0 ? gpt : s2s;
      try {
        const r = parseCompletionRequest(body, limits);
        accepted++;
        const w = r.wire;
        expect(w.prompt.length, what).toBeGreaterThan(0);
        expect(w.prompt.every((id) => id >= 0 && id < 40), what).toBe(true);
        const fits = limits.family === 'GPT' ? w.prompt.length + w.maxNewTokens - 1 <= 24 : w.prompt.length <= 24 && w.maxNewTokens <= 24;
        expect(Number.isInteger(w.maxNewTokens) && w.maxNewTokens >= 1 && fits, what).toBe(true);
        expect(w.temperature > 0 && Number.isFinite(w.temperature) && w.topP > 0 && w.topP <= 1 && Number.isInteger(w.topK) && w.topK >= 0, what).toBe(true);
        expect(w.repetitionPenalty > 0 && Number.isFinite(w.repetitionPenalty), what).toBe(true);
        expect(w.eos.every((id) => Number.isInteger(id) && id >= 0 && id < limits.vocabSize), what).toBe(true);
      } catch (err) {
        if (!(err instanceof ApiError)) throw new Error(`seed ${seed} (${what}): ${String(err)}`);
        rejected++;
        expect(err.status, what).toBeGreaterThanOrEqual(400);
        expect(err.status, what).toBeLessThan(500);
        expect(err.message, what).toMatch(/must be|unknown field/);
      }
    }
    expect(accepted).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(1000);
  });
});
