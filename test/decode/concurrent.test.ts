// Decoding never changes a model's train/eval mode and never applies dropout, so decode
// calls may overlap each other and training steps of the same model. Before, each call
// saved the mode, switched to eval and restored it at its end: two overlapping calls (the
// second saving 'eval') left a training model in eval mode, and a training step between
// two decode steps ran without dropout.
import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { generate, generateBeam, generateSync, greedyDecode } from '../../src/decode/index.js';
import { F } from '../../src/index.js';
import { describeEachBackend } from '../helpers/backends.js';
import { gpt, NANOGPT, seq2seq } from './helpers.js';

const arr = (rows: Int32Array[]): number[][] => rows.map((r) => Array.from(r));
const DROPOUT = { dropout: 0.5 };

describeEachBackend('decode: concurrent use of one model', (backend) => {
  it('overlapping generate calls and training steps: the mode stays "train", outputs are eval outputs', async () => {
    const g = gpt(backend, 71, { ...NANOGPT, ...DROPOUT });
    const prompt = [[1, 2, 3], [4, 5, 6]];
    const expected = arr(generateSync(g, prompt, { maxNewTokens: 10 }));  // in eval mode: no dropout
    g.train();
    // dropout really acts in train mode, so a decode that saw it would differ
    const x = toroid.tensor([[1, 2, 3, 4]], { dtype: 'int32', backend });
    const a1 = g.forward(x).logits, a2 = g.forward(x).logits;
    expect(Array.from(a1.toFloat32Array())).not.toEqual(Array.from(a2.toFloat32Array()));
    a1.dispose();
    a2.dispose();

    const modes: boolean[] = [];
    let trainingSteps = 0;
    let running = true;
    // a training forward + backward on every event-loop turn while the decodes run
    const trainLoop = (): void => {
      if (!running) return;
      modes.push(g.training);
      const loss = F.mean(g.forward(x).logits);
      loss.backward();
      loss.dispose();
      for (const p of g.parameters()) {
        p.grad?.dispose();
        p.grad = null;
      }
      trainingSteps++;
      setImmediate(trainLoop);
    };
    setImmediate(trainLoop);
    const [r1, r2, r3] = await Promise.all([
      generate(g, prompt, { maxNewTokens: 10 }),
      generate(g, prompt, { maxNewTokens: 10 }),
      generate(g, [prompt[0]!], { maxNewTokens: 10 }),
    ]);
    running = false;
    expect(arr(r1)).toEqual(expected);
    expect(arr(r2)).toEqual(expected);
    expect(arr(r3)).toEqual([expected[0]]);
    expect(trainingSteps).toBeGreaterThan(3);
    expect(modes.every((m) => m)).toBe(true);
    expect(g.training).toBe(true);
    expect([...g.modules()].every((m) => m.training)).toBe(true);
    x.dispose();
    g.dispose?.();
  });

  it('Seq2Seq: overlapping greedy and beam decodes of a training model are eval decodes and leave it training', async () => {
    const s = seq2seq(backend, 72, DROPOUT);
    const src = [[3, 4, 5], [6, 7]];
    const greedy = arr(greedyDecode(s, src, { maxLen: 9 }));
    const beams = await generateBeam(s, src, { maxLen: 9, beam: 3, nBest: 2 });
    s.train();
    const [g1, b1, g2] = await Promise.all([
      generate(s, src, { maxLen: 9 }),
      generateBeam(s, src, { maxLen: 9, beam: 3, nBest: 2 }),
      generate(s, src, { maxLen: 9 }),
    ]);
    expect(arr(g1)).toEqual(greedy);
    expect(arr(g2)).toEqual(greedy);
    expect(JSON.stringify(b1)).toEqual(JSON.stringify(beams));
    expect(arr(greedyDecode(s, src, { maxLen: 9 }))).toEqual(greedy);
    expect([...s.modules()].every((m) => m.training)).toBe(true);
  });
});
