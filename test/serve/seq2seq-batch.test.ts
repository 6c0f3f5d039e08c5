// Continuous batching over a Seq2SeqTransformer (src/serve/seq2seq-batch.ts): sources of
// different lengths joining and leaving at different steps get exactly the tokens
// generate() gives each alone (greedy, seeded sampling, a repetition penalty; PAD and BOS
// never generated), with the cross-attention of every row over its own source only.
import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { generateSync } from '../../src/decode/index.js';
import { resolveSampling } from '../../src/decode/sampling.js';
import { Seq2SeqBatch, seq2seqBatchModel } from '../../src/serve/seq2seq-batch.js';
import { ContinuousBatch, type SequenceRequest } from '../../src/serve/continuous-batch.js';
import { describeEachBackend } from '../helpers/backends.js';
import { biasToken, scaleParams, seq2seq } from '../decode/helpers.js';

type Opts = { maxLen: number; strategy?: 'greedy' | 'sample'; seed?: number; topK?: number; topP?: number; temperature?: number; repetitionPenalty?: number };

function request(src: number[], o: Opts): SequenceRequest {
  const { maxLen, strategy = 'greedy', ...sampling } = o;
  return { prompt: Int32Array.from(src), maxNewTokens: maxLen, eos: 2, strategy, sampling: resolveSampling('test', sampling) };
}

describeEachBackend('serve: continuous batching (Seq2Seq)', (backend) => {
  it('sources joining and leaving at different steps get generate()\'s tokens', () => {
    const model = seq2seq(backend, 91, { dropout: 0 });
    // sharper attention and logits: a padding slot or padded source position seen by mistake, or a
    // wrong position, changes tokens (checked: each of the three removed makes this test fail)
    scaleParams(model, 3, (n) => /in_proj|tok_emb|generator/.test(n));
    biasToken(model, 2, 1.5);
    const before = toroid.memory().liveStorages;
    const specs: Array<{ step: number; src: number[]; opts: Opts }> = [
      { step: 0, src: [3, 4, 5], opts: { maxLen: 9 } },
      { step: 0, src: [6, 7, 8, 9, 10, 11], opts: { maxLen: 12 } },
      { step: 1, src: [4], opts: { maxLen: 10, strategy: 'sample', seed: 4, topK: 5 } },
      { step: 3, src: [12, 3, 3, 5, 7], opts: { maxLen: 8, strategy: 'sample', seed: 8, topP: 0.8, temperature: 0.8 } },
      { step: 3, src: [9, 9], opts: { maxLen: 11, repetitionPenalty: 1.4 } },
      { step: 7, src: [5, 6, 7, 8, 9, 10, 11, 12, 3], opts: { maxLen: 7 } },
    ];
    const batch = new Seq2SeqBatch(model, { maxBatch: 3, prefillBudget: 8 });
    const got = new Map<number, { tokens: number[]; finish: string | null }>();
    for (let step = 0; step < 200; step++) {
      specs.forEach((s, id) => {
        if (s.step === step) { batch.submit(id, request(s.src, s.opts)); got.set(id, { tokens: [], finish: null }); }
      });
      if (batch.idle && step > 7) break;
      for (const e of batch.step()) {
        const g = got.get(e.id)!;
        expect(g.finish).toBeNull();
        if (e.token !== null) g.tokens.push(e.token);
        g.finish = e.finish;
      }
    }
    specs.forEach((s, id) => {
      const { maxLen, ...rest } = s.opts;
      const want = Array.from(generateSync(model, [s.src], { maxLen, ...rest })[0]!);
      expect(got.get(id)!.tokens, `sequence ${id}`).toEqual(want);
      expect(got.get(id)!.finish).toBe(want.length < maxLen ? 'stop' : 'length');
      expect(want.includes(0) || want.includes(1)).toBe(false);
    });
    batch.dispose();
    expect(toroid.memory().liveStorages).toBe(before);
    model.dispose();
  });

  it('is the engine over the family adapter (ContinuousBatch + seq2seqBatchModel)', () => {
    const model = seq2seq(backend, 92, { dropout: 0 });
    const b = new ContinuousBatch(seq2seqBatchModel(model), { maxBatch: 2 });
    b.submit(0, request([3, 4], { maxLen: 5 }));
    const tokens: number[] = [];
    while (!b.idle) for (const e of b.step()) if (e.token !== null) tokens.push(e.token);
    expect(tokens).toEqual(Array.from(generateSync(model, [[3, 4]], { maxLen: 5 })[0]!));
    b.dispose();
    model.dispose();
  });
});
