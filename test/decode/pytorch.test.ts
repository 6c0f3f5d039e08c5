// toroid's greedy and beam search against PyTorch (test/fixtures/generate_decode.py): a tiny
// torch.nn.Transformer Seq2Seq trained briefly to reverse digits, decoded by a
// straightforward full-prefix PyTorch implementation of the same rules. toroid decodes
// all sources in one padded batch with its KV cache.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { beamSearch, generateBeam, greedyDecode } from '../../src/decode/index.js';
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
});
