// The non-blocking API: generate / generateBeam resolve like the synchronous functions,
// an AbortSignal stops them with what exists, the event loop keeps running (a setInterval
// keeps ticking), streamGenerate yields tokens one by one and stops cleanly when the
// consumer breaks out; no tensors leak.
import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { beamSearch, generate, generateBeam, generateSync, greedyDecode, streamGenerate } from '../../src/decode/index.js';
import { GPT } from '../../src/nn/gpt.js';
import { describeEachBackend } from '../helpers/backends.js';
import { gpt, LLAMA, NANOGPT, seq2seq } from './helpers.js';

const arr = (rows: Int32Array[]): number[][] => rows.map((r) => Array.from(r));

/** Abort after `n` event-loop turns (each decoding step takes one). */
function abortAfterTurns(controller: AbortController, n: number): void {
  const turn = (left: number): void => {
    if (left === 0) controller.abort();
    else setImmediate(() => turn(left - 1));
  };
  setImmediate(() => turn(n - 1));
}

describeEachBackend('decode: async API', (backend) => {
  it('generate resolves to what generateSync returns (GPT and Seq2Seq, greedy and sampled) and returns a Promise', async () => {
    const g = gpt(backend, 61, LLAMA);
    const p = generate(g, [[1, 2, 3]], { maxNewTokens: 8 });
    expect(p).toBeInstanceOf(Promise);
    expect(arr(await p)).toEqual(arr(generateSync(g, [[1, 2, 3]], { maxNewTokens: 8 })));
    const opts = { maxNewTokens: 8, strategy: 'sample' as const, seed: 3, topP: 0.9 };
    expect(arr(await generate(g, [[1, 2, 3], [4, 5, 6]], opts))).toEqual(arr(generateSync(g, [[1, 2, 3], [4, 5, 6]], opts)));
    const s = seq2seq(backend, 62);
    expect(arr(await generate(s, [[3, 4, 5], [6, 7]], { maxLen: 9 }))).toEqual(arr(greedyDecode(s, [[3, 4, 5], [6, 7]], { maxLen: 9 })));
    const beams = await generateBeam(s, [[3, 4, 5], [6, 7]], { maxLen: 9, beam: 3, nBest: 2 });
    expect(beams).toEqual(beamSearch(s, [[3, 4, 5], [6, 7]], { maxLen: 9, beam: 3, nBest: 2 }));
    g.dispose();
    s.dispose();
  });

  it('an AbortSignal stops generate and generateBeam and returns what exists; an already aborted signal returns nothing', async () => {
    const g = gpt(backend, 63, NANOGPT);
    const before = toroid.memory().liveStorages;
    const full = arr(generateSync(g, [[1, 2, 3]], { maxNewTokens: 18 }))[0]!;
    const controller = new AbortController();
    abortAfterTurns(controller, 4);
    const partial = arr(await generate(g, [[1, 2, 3]], { maxNewTokens: 18, signal: controller.signal }))[0]!;
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(full.length);
    expect(partial).toEqual(full.slice(0, partial.length));
    const aborted = AbortSignal.abort();
    expect(arr(await generate(g, [[1, 2, 3], [3, 2, 1]], { maxNewTokens: 5, signal: aborted }))).toEqual([[], []]);
    expect(toroid.memory().liveStorages).toBe(before);

    const s = seq2seq(backend, 64);
    const c2 = new AbortController();
    abortAfterTurns(c2, 3);
    const beams = await generateBeam(s, [[3, 4, 5, 6, 7, 8]], { maxLen: 16, beam: 2, nBest: 2, lengthPenalty: 0, signal: c2.signal });
    expect(beams[0]!.length).toBeGreaterThan(0);
    for (const h of beams[0]!) expect(h.tokens.length).toBeLessThanOrEqual(3);
    expect(await generateBeam(s, [[3, 4]], { maxLen: 5, signal: AbortSignal.abort() })).toEqual([[]]);
    g.dispose();
    s.dispose();
  });

  it('the event loop stays responsive: a setInterval keeps ticking while generate runs', async () => {
    toroid.manualSeed(65);
    const g = new GPT({ vocabSize: 64, blockSize: 128, nLayer: 3, nHead: 4, nEmbd: 64 }, { backend });
    g.eval();
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 1);
    const t0 = performance.now();
    const out = await generate(g, [[1, 2, 3, 4]], { maxNewTokens: 100 });
    const elapsed = performance.now() - t0;
    clearInterval(timer);
    expect(out[0]!.length).toBe(100);
    // one tick per ~1 ms turn at best; demand a fraction of that (timers are coarse under load)
    expect(ticks).toBeGreaterThanOrEqual(Math.min(5, Math.floor(elapsed / 10)));
    expect(ticks).toBeGreaterThan(0);
    // the synchronous version blocks: no tick can run inside it
    let blockedTicks = 0;
    const timer2 = setInterval(() => { blockedTicks++; }, 1);
    generateSync(g, [[1, 2, 3, 4]], { maxNewTokens: 100 });
    const during = blockedTicks;
    clearInterval(timer2);
    expect(during).toBe(0);
    g.dispose();
  });

  it('streamGenerate yields tokens one at a time, in order, equal to generateSync; breaking out stops and frees', async () => {
    const g = gpt(backend, 66, LLAMA);
    const before = toroid.memory().liveStorages;
    const expected = arr(generateSync(g, [[5, 6, 7]], { maxNewTokens: 10 }))[0]!;
    const got: number[] = [];
    const stepsSeen: number[] = [];
    let turns = 0;
    const timer = setInterval(() => { turns++; }, 0);
    for await (const token of streamGenerate(g, [5, 6, 7], { maxNewTokens: 10 })) {
      expect(typeof token).toBe('number');
      got.push(token);
      stepsSeen.push(turns);
    }
    clearInterval(timer);
    expect(got).toEqual(expected);
    expect(toroid.memory().liveStorages).toBe(before);
    const first: number[] = [];
    for await (const token of streamGenerate(g, [5, 6, 7], { maxNewTokens: 10 })) {
      first.push(token);
      if (first.length === 3) break;
    }
    expect(first).toEqual(expected.slice(0, 3));
    expect(toroid.memory().liveStorages).toBe(before);
    // sampled streams follow the seed
    const sampled: number[] = [];
    for await (const t of streamGenerate(g, [[5, 6, 7]], { maxNewTokens: 10, strategy: 'sample', seed: 12, temperature: 2 })) sampled.push(t);
    expect(sampled).toEqual(arr(generateSync(g, [[5, 6, 7]], { maxNewTokens: 10, strategy: 'sample', seed: 12, temperature: 2 }))[0]);
    // a signal stops the stream
    const controller = new AbortController();
    const stopped: number[] = [];
    for await (const t of streamGenerate(g, [5, 6, 7], { maxNewTokens: 10, signal: controller.signal })) {
      stopped.push(t);
      if (stopped.length === 2) controller.abort();
    }
    expect(stopped).toEqual(expected.slice(0, 2));
    expect(toroid.memory().liveStorages).toBe(before);
    g.dispose();
  });

  it('streamGenerate on a Seq2Seq model streams greedyDecode\'s tokens, without EOS', async () => {
    const s = seq2seq(backend, 67);
    const expected = arr(greedyDecode(s, [[3, 4, 5, 6]], { maxLen: 12 }))[0]!;
    const got: number[] = [];
    for await (const t of streamGenerate(s, [3, 4, 5, 6], { maxLen: 12 })) got.push(t);
    expect(got).toEqual(expected);
    s.dispose();
  });
});
