// Continuous batching (src/serve/gpt-batch.ts): sequences that join and leave a running
// batch at different steps get exactly the tokens generate() gives each alone (greedy,
// sampled with a seed, with a repetition penalty), on learned positions and RoPE + GQA;
// cancellation frees the row; the caches are freed at the end.
import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { generateSync } from '../../src/decode/index.js';
import { resolveSampling } from '../../src/decode/sampling.js';
import { GPTBatch, type SequenceEvent, type SequenceRequest } from '../../src/serve/gpt-batch.js';
import { describeEachBackend } from '../helpers/backends.js';
import { GPT, type GPTConfig } from '../../src/nn/gpt.js';
import { LLAMA, NANOGPT, scaleParams } from '../decode/helpers.js';

/** A random GPT whose attention matters: sharper embeddings and attention weights, so a padding slot seen by mistake changes tokens. */
function gpt(backend: string, seed: number, config: GPTConfig): GPT {
  toroid.manualSeed(seed);
  const m = new GPT({ ...config, dropout: 0 }, { backend });
  scaleParams(m, 4, (n) => /wte|embed_tokens|lm_head|c_attn|q_proj|k_proj|v_proj|wpe/.test(n));
  m.eval();
  return m;
}

type Opts = { maxNewTokens: number; strategy?: 'greedy' | 'sample'; seed?: number; topK?: number; topP?: number; temperature?: number; repetitionPenalty?: number; eos?: number };

function request(prompt: number[], o: Opts): SequenceRequest {
  const { maxNewTokens, strategy = 'greedy', eos, ...sampling } = o;
  return { prompt: Int32Array.from(prompt), maxNewTokens, eos: eos ?? null, strategy, sampling: resolveSampling('test', sampling) };
}

/** Run the batch until idle; `arrivals[step]` are the sequences submitted before that step. */
function runBatch(batch: GPTBatch, arrivals: Map<number, Array<[number, SequenceRequest]>>, cancels = new Map<number, number[]>()): Map<number, { tokens: number[]; finish: string | null }> {
  const out = new Map<number, { tokens: number[]; finish: string | null }>();
  for (let step = 0; step < 200; step++) {
    for (const [id, req] of arrivals.get(step) ?? []) { batch.submit(id, req); out.set(id, { tokens: [], finish: null }); }
    for (const id of cancels.get(step) ?? []) batch.cancel(id);
    if (batch.idle && [...arrivals.keys()].every((s) => s <= step)) break;
    const events: SequenceEvent[] = batch.step();
    for (const e of events) {
      const o = out.get(e.id)!;
      expect(o.finish).toBeNull();
      if (e.token !== null) o.tokens.push(e.token);
      o.finish = e.finish;
    }
  }
  return out;
}

describeEachBackend('serve: continuous batching (GPT)', (backend) => {
  for (const [name, config] of [['nanoGPT', NANOGPT], ['LLaMA (RoPE, GQA)', LLAMA]] as const) {
    it(`sequences joining and leaving at different steps get generate()'s tokens [${name}]`, () => {
      const model = gpt(backend, 71, config);
      const before = toroid.memory().liveStorages;
      const specs: Array<{ step: number; prompt: number[]; opts: Opts }> = [
        { step: 0, prompt: [1, 2, 3], opts: { maxNewTokens: 9 } },
        { step: 0, prompt: [4, 5, 6], opts: { maxNewTokens: 4 } },
        { step: 2, prompt: [7, 8, 9, 10, 11, 12], opts: { maxNewTokens: 12, strategy: 'sample', seed: 5, topK: 6 } },
        { step: 3, prompt: [3], opts: { maxNewTokens: 10, strategy: 'sample', seed: 9, topP: 0.8, temperature: 0.7 } },
        { step: 3, prompt: [5, 5], opts: { maxNewTokens: 7, repetitionPenalty: 1.3 } },
        { step: 6, prompt: [2, 4, 6, 8], opts: { maxNewTokens: 8, eos: 7 } },
        { step: 11, prompt: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1], opts: { maxNewTokens: 6 } },
      ];
      const arrivals = new Map<number, Array<[number, SequenceRequest]>>();
      specs.forEach((s, id) => arrivals.set(s.step, [...(arrivals.get(s.step) ?? []), [id, request(s.prompt, s.opts)]]));
      const batch = new GPTBatch(model, { maxBatch: 4, prefillBudget: 8 });
      const got = runBatch(batch, arrivals);
      specs.forEach((s, id) => {
        const { maxNewTokens, ...rest } = s.opts;
        const want = Array.from(generateSync(model, [s.prompt], { maxNewTokens, ...rest })[0]!);
        expect(got.get(id)!.tokens, `sequence ${id}`).toEqual(want);
        expect(got.get(id)!.finish).toBe(want.length < maxNewTokens ? 'stop' : 'length');
      });
      batch.dispose();
      expect(toroid.memory().liveStorages).toBe(before);
      model.dispose();
    });
  }

  it('a cancelled sequence ends with finish cancelled (waiting or active) and the others are unaffected', () => {
    const model = gpt(backend, 72, NANOGPT);
    const before = toroid.memory().liveStorages;
    const arrivals = new Map<number, Array<[number, SequenceRequest]>>([
      [0, [[0, request([1, 2], { maxNewTokens: 10 })], [1, request([3, 4, 5], { maxNewTokens: 10 })]]],
      [1, [[2, request([6], { maxNewTokens: 10 })]]],
    ]);
    const got = runBatch(new GPTBatch(model, { maxBatch: 2 }), arrivals, new Map([[1, [2]], [3, [0]]]));
    expect(got.get(0)!.finish).toBe('cancelled');
    expect(got.get(0)!.tokens.length).toBe(3);
    expect(got.get(2)).toEqual({ tokens: [], finish: 'cancelled' });
    expect(got.get(1)!.tokens).toEqual(Array.from(generateSync(model, [[3, 4, 5]], { maxNewTokens: 10 })[0]!));
    expect(toroid.memory().liveStorages).toBe(before);
    model.dispose();
  });

  it('prompts longer than the prefill budget are prefilled in chunks over several steps (same tokens; cancellable midway)', () => {
    const model = gpt(backend, 73, LLAMA);
    const before = toroid.memory().liveStorages;
    const long = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5];
    const arrivals = new Map<number, Array<[number, SequenceRequest]>>([
      [0, [[0, request([7, 8], { maxNewTokens: 8 })], [1, request(long, { maxNewTokens: 6 })], [2, request(long.slice(2), { maxNewTokens: 5 })]]],
      [1, [[3, request(long, { maxNewTokens: 6 })]]],
    ]);
    const got = runBatch(new GPTBatch(model, { maxBatch: 4, prefillBudget: 3 }), arrivals, new Map([[6, [2]]]));
    expect(got.get(0)!.tokens).toEqual(Array.from(generateSync(model, [[7, 8]], { maxNewTokens: 8 })[0]!));
    expect(got.get(1)!.tokens).toEqual(Array.from(generateSync(model, [long], { maxNewTokens: 6 })[0]!));
    // sequence 2 is cancelled while its prompt is half prefilled
    expect(got.get(2)).toEqual({ tokens: [], finish: 'cancelled' });
    expect(got.get(3)!.tokens).toEqual(Array.from(generateSync(model, [long], { maxNewTokens: 6 })[0]!));
    expect(toroid.memory().liveStorages).toBe(before);
    model.dispose();
  });
});
