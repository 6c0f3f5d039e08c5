// toroid's greedy and beam search against PyTorch (test/fixtures/generate_decode.py): a tiny
// torch.nn.Transformer Seq2Seq trained briefly to reverse digits, decoded by a
// straightforward full-prefix PyTorch implementation of the same rules. toroid decodes
// all sources in one padded batch with its KV cache.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { beamSearch, generateBeam, greedyDecode, sampleDecode } from '../../src/decode/index.js';
import { resolveSampling, samplingPicker } from '../../src/decode/sampling.js';
import { argmax, firstCandidate, runTokenSearch } from '../../src/decode/greedy.js';
import { seq2seqStepper } from '../../src/decode/step.js';
import { readSafetensorsFileSync } from '../../src/io/safetensors.js';
import { Seq2SeqTransformer, type Seq2SeqConfig } from '../../src/nn/seq2seq.js';
import { describeEachBackend } from '../helpers/backends.js';

const FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'models', 'decode_reverse.safetensors');

interface Hyp { tokens: number[]; score: number; logProb: number; finished: boolean }
interface Case { src: number[]; greedy: number[]; beam: Hyp[] }

const fx = readSafetensorsFileSync(FILE);
const config = JSON.parse(fx.metadata.config!) as Seq2SeqConfig;
const search = JSON.parse(fx.metadata.search!) as { maxLen: number; beam: number; lengthPenalty: number; nBest: number; bos: number; eos: number; pad: number };
const cases = JSON.parse(fx.metadata.results!) as Case[];
const banned = JSON.parse(fx.metadata.banned!) as { ids: number[]; results: Case[] };

function load(backend: string): Seq2SeqTransformer {
  const model = new Seq2SeqTransformer(config, { backend });
  const sd: Record<string, toroid.Tensor> = {};
  for (const [name, raw] of fx.tensors) sd[name] = toroid.tensor(raw.data as Float32Array, { shape: raw.shape, backend });
  model.loadStateDict(sd, { strict: true });
  for (const t of Object.values(sd)) t.dispose();
  model.eval();
  return model;
}

describeEachBackend('decode: PyTorch reference (trained reverse-digits Seq2Seq)', (backend) => {
  it('the fixture has hypotheses that end at different lengths, unfinished ones, and beams that differ from greedy', () => {
    const ends = new Set(cases.flatMap((c) => c.beam.map((h) => h.tokens.length + (h.finished ? 1 : 0))));
    expect(ends.size).toBeGreaterThan(2);
    expect(cases.some((c) => c.beam.some((h) => !h.finished))).toBe(true);
    expect(cases.some((c) => c.beam[0]!.tokens.join() !== c.greedy.join())).toBe(true);
  });

  it("greedy through the stepper's topStep (argmax on the backend) equals greedy over the full logits", () => {
    const model = load(backend);
    const rows = cases.map((c) => c.src);
    const src = toroid.tensor(rows.map((r) => [...r, ...Array(7 - r.length).fill(search.pad)]), { dtype: 'int32', backend });
    const run = (top: boolean): number[][] => {
      const stepper = seq2seqStepper(model, src, null);
      try {
        return runTokenSearch(stepper.step, {
          prefixes: rows.map(() => [search.bos]), vocabSize: config.tgtVocab, maxSteps: search.maxLen, eos: search.eos,
          banned: [search.pad, search.bos, ...banned.ids], pick: (row) => argmax(row), ...(top ? { top: { step: stepper.topStep, count: 1, pick: firstCandidate } } : {}),
        }).map((g) => Array.from(g));
      } finally {
        stepper.dispose();
      }
    };
    const full = run(false);
    expect(run(true)).toEqual(full);
    expect(full).toEqual(banned.results.map((c) => c.greedy));
    src.dispose();
    model.dispose();
  });

  it('seeded top-k sampling from the backend\'s candidates draws exactly what sampling over the full logits draws', () => {
    const model = load(backend);
    const rows = cases.map((c) => c.src);
    const src = toroid.tensor(rows.map((r) => [...r, ...Array(7 - r.length).fill(search.pad)]), { dtype: 'int32', backend });
    for (const [seed, options] of [[1, { topK: 3 }], [2, { topK: 5, temperature: 1.7, topP: 0.8 }], [3, { topK: 1 }], [4, { topK: 12, temperature: 0.6 }]] as const) {
      const resolved = resolveSampling('test', { ...options, seed });
      const stepper = seq2seqStepper(model, src, null);
      let full: number[][];
      try {
        full = runTokenSearch(stepper.step, {
          prefixes: rows.map(() => [search.bos]), vocabSize: config.tgtVocab, maxSteps: search.maxLen, eos: search.eos,
          banned: [search.pad, search.bos], pick: samplingPicker(resolved),
        }).map((g) => Array.from(g));
      } finally {
        stepper.dispose();
      }
      const fast = sampleDecode(model, src, { ...options, seed, maxLen: search.maxLen, bos: search.bos, eos: search.eos }).map((g) => Array.from(g));
      expect(fast, `seed ${seed} ${JSON.stringify(options)}`).toEqual(full);
    }
    src.dispose();
    model.dispose();
  });

  it('greedyDecode (one padded batch) equals PyTorch greedy', () => {
    const model = load(backend);
    const got = greedyDecode(model, cases.map((c) => c.src), { maxLen: search.maxLen, bos: search.bos, eos: search.eos });
    expect(got.map((g) => Array.from(g))).toEqual(cases.map((c) => c.greedy));
    model.dispose();
  });

  it('beamSearch (one padded batch, beam 4, GNMT alpha 0.6, 3-best) equals PyTorch beam search: tokens, order, scores', async () => {
    const model = load(backend);
    const opts = { maxLen: search.maxLen, beam: search.beam, lengthPenalty: search.lengthPenalty, nBest: search.nBest, bos: search.bos, eos: search.eos };
    const got = beamSearch(model, cases.map((c) => c.src), opts);
    cases.forEach((c, i) => {
      expect(got[i]!.map((h) => Array.from(h.tokens)), `source ${c.src}`).toEqual(c.beam.map((h) => h.tokens));
      got[i]!.forEach((h, j) => {
        expect(Math.abs(h.score - c.beam[j]!.score)).toBeLessThan(1e-4);
        expect(Math.abs(h.logProb - c.beam[j]!.logProb)).toBeLessThan(1e-4);
        expect(h.finished).toBe(c.beam[j]!.finished);
      });
    });
    const again = await generateBeam(model, cases.map((c) => c.src), opts);
    expect(again).toEqual(got);
    model.dispose();
  });

  it('with user-banned ids (masked after the log-softmax, as fairseq does), greedy and beam equal PyTorch: tokens, order, scores', () => {
    const model = load(backend);
    const opts = { maxLen: search.maxLen, beam: search.beam, lengthPenalty: search.lengthPenalty, nBest: search.nBest, bos: search.bos, eos: search.eos, bannedIds: banned.ids };
    const greedy = greedyDecode(model, banned.results.map((c) => c.src), { maxLen: search.maxLen, bos: search.bos, eos: search.eos, bannedIds: banned.ids });
    expect(greedy.map((g) => Array.from(g))).toEqual(banned.results.map((c) => c.greedy));
    const got = beamSearch(model, banned.results.map((c) => c.src), opts);
    banned.results.forEach((c, i) => {
      expect(got[i]!.map((h) => Array.from(h.tokens)), `source ${c.src}`).toEqual(c.beam.map((h) => h.tokens));
      got[i]!.forEach((h, j) => {
        expect(h.tokens.some((t) => banned.ids.includes(t))).toBe(false);
        expect(Math.abs(h.score - c.beam[j]!.score), `source ${c.src} hypothesis ${j}`).toBeLessThan(1e-4);
        expect(Math.abs(h.logProb - c.beam[j]!.logProb)).toBeLessThan(1e-4);
      });
    });
    model.dispose();
  });

  it("a hypothesis's logProb is the model's own: the sum of its tokens' teacher-forced log-probabilities (EOS included)", () => {
    const model = load(backend);
    const opts = { maxLen: search.maxLen, beam: search.beam, lengthPenalty: search.lengthPenalty, nBest: search.nBest, bos: search.bos, eos: search.eos, bannedIds: banned.ids };
    const got = beamSearch(model, banned.results.map((c) => c.src), opts);
    let checked = 0;
    banned.results.forEach((c, i) => {
      for (const h of got[i]!) {
        const target = [...Array.from(h.tokens), ...(h.finished ? [search.eos] : [])];
        const logProbs = toroid.tidy(() => {
          const src = toroid.tensor(Int32Array.from(c.src), { shape: [1, c.src.length], dtype: 'int32', backend });
          const tgtIn = toroid.tensor(Int32Array.from([search.bos, ...target.slice(0, -1)]), { shape: [1, target.length], dtype: 'int32', backend });
          return toroid.F.logSoftmax(model.forward(src, tgtIn), -1).toFloat32Array();
        });
        const V = config.tgtVocab;
        const sum = target.reduce((acc, t, k) => acc + logProbs[k * V + t]!, 0);
        expect(Math.abs(h.logProb - sum), `source ${c.src} tokens ${target}`).toBeLessThan(1e-4);
        checked++;
      }
    });
    expect(checked).toBeGreaterThan(20);
    model.dispose();
  });
});
