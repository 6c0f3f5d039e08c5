// Greedy and beam search: equal to brute-force searches that re-run the full prefix; beam
// search rules checked on a mocked step function (EOS outside the top `beam` not taken,
// length-penalty ranking, n-best order, different end lengths, early stop, batching and
// the parents contract); PAD/BOS never emitted; the model's mode restored; no leaks.
import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { beamSearch, beamSearchWith, greedyDecode, lengthPenalty, generateSync, type StepFunction } from '../../src/decode/index.js';
import { describeEachBackend } from '../helpers/backends.js';
import {
  BOS, EOS, PAD, biasToken, bruteGreedyGPT, bruteGreedySeq2Seq, fullSeq2SeqLogits, gpt, ids, LLAMA, logSoftmax, naiveBeam, NANOGPT, seq2seq,
} from './helpers.js';

const SOURCES = [[3, 4, 5, 6, 7], [8, 9], [10, 11, 12, 3], [5], [6, 6, 7, 7, 8, 8]];

/** A mocked step: probabilities per prefix key ('' = after BOS, '3,4' = after BOS 3 4); unknown prefixes get `fallback`. */
function tableStep(V: number, table: Record<string, Record<number, number>>, fallback: Record<number, number>, calls?: { n: number; log: Array<{ prefixes: number[][]; parents: number[] | null }> }): StepFunction {
  return (prefixes, info) => {
    if (calls) {
      calls.n++;
      calls.log.push({ prefixes: prefixes.map((p) => Array.from(p)), parents: info.parents === null ? null : Array.from(info.parents) });
    }
    const out = new Float64Array(prefixes.length * V).fill(-Infinity);
    prefixes.forEach((p, r) => {
      const key = Array.from(p.subarray(1)).join(',');
      const probs = table[key] ?? fallback;
      for (const [w, pr] of Object.entries(probs)) out[r * V + Number(w)] = Math.log(pr);
    });
    return out;
  };
}

const V = 8;
const core = { batch: 1, vocabSize: V, bos: BOS, eos: EOS, banned: [PAD, BOS] };

describeEachBackend('decode: greedy search', (backend) => {
  it('Seq2Seq greedyDecode equals a brute-force greedy over full prefixes (batched, padded sources, sentences ending at different lengths)', () => {
    const model = seq2seq(backend, 21);
    biasToken(model, EOS, 0.5);
    const got = greedyDecode(model, SOURCES, { maxLen: 12 });
    const expected = SOURCES.map((s) => bruteGreedySeq2Seq(model, s, 12));
    expect(got.map((g) => Array.from(g))).toEqual(expected);
    const lengths = new Set(expected.map((e) => e.length));
    expect(lengths.size).toBeGreaterThan(1); // the fixture exercises different end lengths
    expect(expected.some((e) => e.length < 12)).toBe(true); // some end at EOS
    model.dispose();
  });

  it('accepts an int32 tensor source and a srcKeyPaddingMask; never emits PAD or BOS even when they dominate', () => {
    const model = seq2seq(backend, 22);
    biasToken(model, PAD, 50);
    biasToken(model, BOS, 40);
    const src = ids([[3, 4, 5], [6, 0, 0]], backend);
    const mask = toroid.tensor([[0, 0, 0], [0, 1, 1]], { dtype: 'bool', backend });
    const a = greedyDecode(model, src, { maxLen: 8 });
    const b = greedyDecode(model, src, { maxLen: 8, srcKeyPaddingMask: mask });
    expect(a.map((x) => Array.from(x))).toEqual(b.map((x) => Array.from(x)));
    for (const row of a) {
      expect(row.length).toBeLessThanOrEqual(8);
      for (const t of row) expect([PAD, BOS]).not.toContain(t);
    }
    expect(a.map((x) => Array.from(x))).toEqual([[3, 4, 5], [6]].map((s) => bruteGreedySeq2Seq(model, s, 8)));
    src.dispose();
    mask.dispose();
    model.dispose();
  });

  it('custom bos/eos/pad ids; decodes in eval mode and restores training mode; frees its caches', () => {
    const model = seq2seq(backend, 23);
    model.train();
    const before = toroid.memory().liveStorages;
    const a = greedyDecode(model, [[3, 4, 5]], { maxLen: 6, bos: 3, eos: 4, pad: 0 });
    expect(toroid.memory().liveStorages).toBe(before);
    expect(model.training).toBe(true);
    expect([...model.modules()].every((m) => m.training)).toBe(true);
    for (const t of a[0]!) expect([0, 3, 4]).not.toContain(t);
    model.eval();
    const b = greedyDecode(model, [[3, 4, 5]], { maxLen: 6, bos: 3, eos: 4, pad: 0 });
    expect(Array.from(b[0]!)).toEqual(Array.from(a[0]!));
    model.dispose();
  });

  for (const [name, config] of [['nanoGPT', NANOGPT], ['LLaMA-style RoPE + GQA', LLAMA]] as const) {
    it(`GPT (${name}) greedy generateSync equals a brute-force greedy; eos stops a row early`, () => {
      const model = gpt(backend, 31, config);
      const prompts = [[1, 2, 3, 4], [7, 7, 8, 9]];
      const got = generateSync(model, prompts, { maxNewTokens: 10 });
      expect(got.map((g) => Array.from(g))).toEqual(prompts.map((p) => bruteGreedyGPT(model, p, 10)));
      const eos = got[0]![3]!;
      const stopped = generateSync(model, prompts, { maxNewTokens: 10, eos });
      expect(stopped.map((g) => Array.from(g))).toEqual(prompts.map((p) => bruteGreedyGPT(model, p, 10, eos)));
      expect(stopped[0]!.length).toBeLessThanOrEqual(3);
      model.dispose();
    });
  }
});

describeEachBackend('decode: beam search on a model', (backend) => {
  it('beam = 1 with lengthPenalty 0 equals greedy', () => {
    const model = seq2seq(backend, 41);
    const greedy = greedyDecode(model, SOURCES, { maxLen: 12 });
    const beam = beamSearch(model, SOURCES, { beam: 1, lengthPenalty: 0, maxLen: 12 });
    expect(beam.map((b) => Array.from(b[0]!.tokens))).toEqual(greedy.map((g) => Array.from(g)));
    model.dispose();
  });

  for (const [beam, alpha, nBest] of [[3, 0.6, 3], [4, 1.0, 2], [2, 0, 2]] as const) {
    it(`batched cached beam search (beam ${beam}, alpha ${alpha}, nBest ${nBest}) equals a naive full-prefix beam search per sentence`, () => {
      const model = seq2seq(backend, 41);
      const before = toroid.memory().liveStorages;
      const got = beamSearch(model, SOURCES, { beam, lengthPenalty: alpha, nBest, maxLen: 10 });
      expect(toroid.memory().liveStorages).toBe(before);
      SOURCES.forEach((s, i) => {
        const expected = naiveBeam((prefix) => logSoftmax(fullSeq2SeqLogits(model, s, prefix), [PAD, BOS]), beam, 10, alpha, nBest);
        expect(got[i]!.map((h) => Array.from(h.tokens)), `sentence ${i}`).toEqual(expected.map((h) => h.tokens));
        got[i]!.forEach((h, j) => {
          expect(h.logProb).toBeCloseTo(expected[j]!.logProb, 4);
          expect(h.score).toBeCloseTo(expected[j]!.score, 4);
          expect(h.finished).toBe(expected[j]!.finished);
          const len = h.tokens.length + (h.finished ? 1 : 0);
          expect(h.score).toBeCloseTo(h.logProb / lengthPenalty(len, alpha), 10);
          for (const t of h.tokens) expect([PAD, BOS, EOS]).not.toContain(t);
        });
      });
      model.dispose();
    });
  }
});

describeEachBackend('decode: beam search rules (mocked step)', () => {
  it('an EOS outside the top `beam` candidates is not taken; inside it is', () => {
    // after BOS: 3 (.5) and 4 (.3) are the top 2, EOS (.2) is rank 2 with beam 2
    const step = tableStep(V, { '': { 3: 0.5, 4: 0.3, [EOS]: 0.2 }, '3': { [EOS]: 0.9, 5: 0.1 }, '4': { [EOS]: 0.9, 5: 0.1 } }, { [EOS]: 1 });
    const two = beamSearchWith(step, { ...core, beam: 2, maxLen: 5, lengthPenalty: 0, nBest: 2 });
    expect(two[0]!.map((h) => Array.from(h.tokens))).toEqual([[3], [4]]);
    // with beam 3 the EOS after BOS is rank 2 < 3: the empty hypothesis finishes
    const three = beamSearchWith(step, { ...core, beam: 3, maxLen: 5, lengthPenalty: 0, nBest: 3 });
    expect(three[0]!.map((h) => Array.from(h.tokens))).toEqual([[3], [4], []]);
    expect(three[0]![2]!.logProb).toBeCloseTo(Math.log(0.2), 12);
  });

  // A: [3] + EOS, logProb ln .5 + ln .7 = -1.050, length 2.  B: [4,4,4,4,4] + EOS, ln .3 + 5 ln .98 = -1.305, length 6.
  const lpTable: Record<string, Record<number, number>> = {
    '': { 3: 0.5, 4: 0.3, 5: 0.15, [EOS]: 0.05 },
    '3': { [EOS]: 0.7, 5: 0.3 },
    '4': { 4: 0.98, 5: 0.02 }, '4,4': { 4: 0.98, 5: 0.02 }, '4,4,4': { 4: 0.98, 5: 0.02 }, '4,4,4,4': { 4: 0.98, 5: 0.02 },
    '4,4,4,4,4': { [EOS]: 0.98, 5: 0.02 },
  };
  const fallback = { [EOS]: 0.5, 5: 0.5 };

  it('the length penalty changes the ranking: alpha 0 prefers the short hypothesis, alpha 2 the long one; n-best is ordered by score', () => {
    const step = tableStep(V, lpTable, fallback);
    const plain = beamSearchWith(step, { ...core, beam: 2, maxLen: 8, lengthPenalty: 0, nBest: 2 })[0]!;
    expect(plain.map((h) => Array.from(h.tokens))).toEqual([[3], [4, 4, 4, 4, 4]]);
    expect(plain[0]!.logProb).toBeCloseTo(Math.log(0.5) + Math.log(0.7), 12);
    expect(plain[1]!.logProb).toBeCloseTo(Math.log(0.3) + 5 * Math.log(0.98), 12);
    const long = beamSearchWith(step, { ...core, beam: 2, maxLen: 8, lengthPenalty: 2, nBest: 2 })[0]!;
    expect(long.map((h) => Array.from(h.tokens))).toEqual([[4, 4, 4, 4, 4], [3]]);
    expect(long[0]!.score).toBeCloseTo(long[0]!.logProb / Math.pow(11 / 6, 2), 12);
    expect(long[1]!.score).toBeCloseTo(long[1]!.logProb / Math.pow(7 / 6, 2), 12);
    for (const list of [plain, long]) for (let i = 1; i < list.length; i++) expect(list[i - 1]!.score).toBeGreaterThanOrEqual(list[i]!.score);
    for (const h of [...plain, ...long]) expect(h.finished).toBe(true);
  });

  it('matches the naive reference on the table, for several beams and alphas', () => {
    const step = tableStep(V, lpTable, fallback);
    const probsOf = (prefix: number[]): Float64Array => {
      const row = new Float64Array(V).fill(-Infinity);
      for (const [w, p] of Object.entries(lpTable[prefix.join(',')] ?? fallback)) row[Number(w)] = Math.log(p);
      return row;
    };
    for (const beam of [1, 2, 3]) {
      for (const alpha of [0, 0.6, 2]) {
        const got = beamSearchWith(step, { ...core, beam, maxLen: 8, lengthPenalty: alpha, nBest: beam })[0]!;
        const expected = naiveBeam(probsOf, beam, 8, alpha, beam);
        expect(got.map((h) => [Array.from(h.tokens), h.finished])).toEqual(expected.map((h) => [h.tokens, h.finished]));
      }
    }
  });

  it('stops early once `beam` finished hypotheses cannot be beaten (before maxLen)', () => {
    const calls = { n: 0, log: [] as Array<{ prefixes: number[][]; parents: number[] | null }> };
    const step = tableStep(V, {}, { [EOS]: 0.9, 3: 0.05, 4: 0.05 }, calls);
    const r = beamSearchWith(step, { ...core, beam: 2, maxLen: 50, lengthPenalty: 0.6, nBest: 2 });
    expect(calls.n).toBeLessThan(5);
    expect(r[0]![0]!.tokens.length).toBe(0);
    expect(r[0]![0]!.finished).toBe(true);
  });

  it('hits maxLen: unfinished hypotheses are returned with finished: false', () => {
    const step = tableStep(V, {}, { 3: 0.6, 4: 0.4 });
    const r = beamSearchWith(step, { ...core, beam: 2, maxLen: 4, lengthPenalty: 0.6, nBest: 2 })[0]!;
    expect(r.map((h) => Array.from(h.tokens))).toEqual([[3, 3, 3, 3], [3, 3, 3, 4]]); // [3,3,3,4] and [4,3,3,3] tie; [4,3] lost the tie to [3,4] at step 2 (lower row first)
    expect(r.every((h) => !h.finished)).toBe(true);
    expect(r[0]!.score).toBeCloseTo(4 * Math.log(0.6) / Math.pow(9 / 6, 0.6), 12);
  });

  it("never emits PAD or BOS even when the step favours them, and scores keep the model's log-probs (masked after the log-softmax)", () => {
    const step = tableStep(V, {}, { [PAD]: 0.45, [BOS]: 0.45, 3: 0.05, [EOS]: 0.05 });
    const r = beamSearchWith(step, { ...core, beam: 2, maxLen: 3, lengthPenalty: 0, nBest: 2 })[0]!;
    for (const h of r) for (const t of h.tokens) expect([PAD, BOS]).not.toContain(t);
    // EOS at its own .05 (was .05 / (.05 + .05) = .5: PAD's and BOS's mass handed to the rest)
    expect(r[0]!.logProb).toBeCloseTo(Math.log(0.05), 12);
  });

  it('batches sentences (info.sentences) and passes consistent parents: every row extends its parent row by one token', () => {
    const calls = { n: 0, log: [] as Array<{ prefixes: number[][]; parents: number[] | null }> };
    const tables: StepFunction[] = [tableStep(V, lpTable, fallback), tableStep(V, {}, { 3: 0.5, 4: 0.3, [EOS]: 0.2 })];
    const step: StepFunction = (prefixes, info) => {
      calls.n++;
      calls.log.push({ prefixes: prefixes.map((p) => Array.from(p)), parents: info.parents === null ? null : Array.from(info.parents) });
      const out = new Float64Array(prefixes.length * V);
      prefixes.forEach((p, r) => out.set(Array.from(tables[info.sentences[r]!]!([p], { parents: null, sentences: new Int32Array(1) })), r * V));
      return out;
    };
    const batched = beamSearchWith(step, { ...core, batch: 2, beam: 2, maxLen: 8, lengthPenalty: 0.6, nBest: 2 });
    const alone = tables.map((t) => beamSearchWith(t, { ...core, beam: 2, maxLen: 8, lengthPenalty: 0.6, nBest: 2 })[0]!);
    expect(batched.map((s) => s.map((h) => Array.from(h.tokens)))).toEqual(alone.map((s) => s.map((h) => Array.from(h.tokens))));
    expect(calls.log[0]!.parents).toBeNull();
    for (let c = 1; c < calls.log.length; c++) {
      const { prefixes, parents } = calls.log[c]!;
      prefixes.forEach((p, r) => expect(p.slice(0, -1)).toEqual(calls.log[c - 1]!.prefixes[parents![r]!]));
    }
  });
});
