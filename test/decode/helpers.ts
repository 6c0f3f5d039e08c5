// Shared models and brute-force references for the decode tests: every reference re-runs
// the full prefix through model.forward (no cache).
import * as toroid from '../../src/index.js';
import { GPT, type GPTConfig } from '../../src/nn/gpt.js';
import { Seq2SeqTransformer, type Seq2SeqConfig } from '../../src/nn/seq2seq.js';

type Tensor = toroid.Tensor;

export const PAD = 0, BOS = 1, EOS = 2;

export const S2S: Seq2SeqConfig = {
  srcVocab: 13, tgtVocab: 11, dModel: 16, nhead: 2, numEncoderLayers: 2, numDecoderLayers: 2,
  dimFeedforward: 32, dropout: 0.1, maxLen: 16, pad: PAD,
};

export const NANOGPT: GPTConfig = { vocabSize: 19, blockSize: 24, nLayer: 2, nHead: 4, nEmbd: 32, dropout: 0.1 };
export const LLAMA: GPTConfig = {
  vocabSize: 19, blockSize: 24, nLayer: 2, nHead: 4, nKvHead: 2, nEmbd: 32, ffnHidden: 24, norm: 'rmsnorm', mlp: 'swiglu',
  positions: 'rope', naming: 'llama', tieWeights: false, bias: false,
};

/** Scale every parameter named in `names` (exact state-dict keys) by factor (sharper, less tie-prone logits). */
export function scaleParams(model: toroid.nn.Module, factor: number, filter: (name: string) => boolean): void {
  const sd = model.stateDict();
  const next: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(sd)) {
    if (!filter(name)) continue;
    const v = t.toFloat32Array().map((x) => x * factor);
    next[name] = toroid.tensor(v, { shape: t.shape.slice(), dtype: t.dtype, backend: t.device });
  }
  model.loadStateDict(next, { strict: false });
  for (const t of Object.values(next)) t.dispose();
}

/** Add `value` to generator.bias[id] (make EOS come sooner in a random model). */
export function biasToken(model: Seq2SeqTransformer, id: number, value: number): void {
  const b = model.generator.bias!;
  const v = b.toFloat32Array();
  v[id] += value;
  const t = toroid.tensor(v, { shape: b.shape.slice(), dtype: b.dtype, backend: b.device });
  model.loadStateDict({ 'generator.bias': t }, { strict: false });
  t.dispose();
}

export function seq2seq(backend: string, seed: number, config: Partial<Seq2SeqConfig> = {}): Seq2SeqTransformer {
  toroid.manualSeed(seed);
  const m = new Seq2SeqTransformer({ ...S2S, ...config }, { backend });
  m.eval();
  return m;
}

export function gpt(backend: string, seed: number, config: GPTConfig): GPT {
  toroid.manualSeed(seed);
  const m = new GPT(config, { backend });
  scaleParams(m, 20, (n) => n.endsWith('wte.weight') || n.endsWith('embed_tokens.weight') || n === 'lm_head.weight');
  m.eval();
  return m;
}

export function ids(rows: number[][], backend: string, pad = PAD): Tensor {
  const T = Math.max(...rows.map((r) => r.length));
  const data = new Int32Array(rows.length * T).fill(pad);
  rows.forEach((r, b) => data.set(r, b * T));
  return toroid.tensor(data, { shape: [rows.length, T], dtype: 'int32', backend });
}

/** log-softmax in float64 of one row over the whole vocabulary, then the banned ids at -inf (fairseq's order). */
export function logSoftmax(row: ArrayLike<number>, banned: readonly number[] = []): Float64Array {
  const out = Float64Array.from(row);
  let max = -Infinity;
  for (const v of out) max = Math.max(max, v);
  let sum = 0;
  for (const v of out) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  const lp = out.map((v) => v - lse);
  for (const b of banned) lp[b] = -Infinity;
  return lp;
}

/** Next-token logits of one Seq2Seq row (src row b) for tgtIn = [BOS, ...prefix], by a full forward. */
export function fullSeq2SeqLogits(model: Seq2SeqTransformer, src: number[], prefix: number[]): Float32Array {
  return toroid.noGrad(() => toroid.tidy(() => {
    const backend = model.generator.weight.device;
    const logits = model.forward(ids([src], backend), ids([[BOS, ...prefix]], backend));
    const T = prefix.length + 1, V = model.config.tgtVocab;
    return logits.toFloat32Array().slice((T - 1) * V, T * V);
  }));
}

/** Brute-force greedy (full prefix each step), PAD/BOS banned, stops at EOS (excluded) or maxLen tokens. */
export function bruteGreedySeq2Seq(model: Seq2SeqTransformer, src: number[], maxLen: number): number[] {
  const out: number[] = [];
  for (let step = 0; step < maxLen; step++) {
    const lp = logSoftmax(fullSeq2SeqLogits(model, src, out), [PAD, BOS]);
    let best = 0;
    for (let j = 1; j < lp.length; j++) if (lp[j]! > lp[best]!) best = j;
    if (best === EOS) break;
    out.push(best);
  }
  return out;
}

export function fullGPTLogits(model: GPT, prefix: number[]): Float32Array {
  return toroid.noGrad(() => toroid.tidy(() => {
    const logits = model.forward(ids([prefix], model.lmHead.weight.device)).logits;
    const V = model.config.vocabSize, T = prefix.length;
    return logits.toFloat32Array().slice((T - 1) * V, T * V);
  }));
}

export function bruteGreedyGPT(model: GPT, prompt: number[], maxNew: number, eos: number | null = null): number[] {
  const out: number[] = [];
  for (let step = 0; step < maxNew; step++) {
    const logits = fullGPTLogits(model, [...prompt, ...out]);
    let best = 0;
    for (let j = 1; j < logits.length; j++) if (logits[j]! > logits[best]!) best = j;
    if (best === eos) break;
    out.push(best);
  }
  return out;
}

export interface NaiveHyp { tokens: number[]; logProb: number; score: number; finished: boolean }

/**
 * A straightforward beam search (the documented rules, no cache, one sentence): full prefix
 * forward per hypothesis, top 2*beam candidates by cumulative log-prob, EOS taken only at
 * rank < beam, exact stopping bound, GNMT penalty.
 */
export function naiveBeam(logProbsOf: (prefix: number[]) => Float64Array, beam: number, maxLen: number, alpha: number, nBest: number): NaiveHyp[] {
  const lp = (len: number): number => Math.pow((5 + len) / 6, alpha);
  let live: Array<{ tokens: number[]; logProb: number }> = [{ tokens: [], logProb: 0 }];
  const finished: NaiveHyp[] = [];
  for (let len = 1; len <= maxLen; len++) {
    const cands: Array<{ score: number; h: number; w: number }> = [];
    live.forEach((hyp, h) => {
      const row = logProbsOf(hyp.tokens);
      row.forEach((v, w) => { if (v !== -Infinity) cands.push({ score: hyp.logProb + v, h, w }); });
    });
    cands.sort((a, b) => (b.score - a.score) || (a.h - b.h) || (a.w - b.w));
    const next: typeof live = [];
    for (let rank = 0; rank < Math.min(cands.length, 2 * beam) && next.length < beam; rank++) {
      const c = cands[rank]!;
      if (c.w === EOS) {
        if (rank < beam) finished.push({ tokens: live[c.h]!.tokens.slice(), logProb: c.score, score: c.score / lp(len), finished: true });
      } else {
        next.push({ tokens: [...live[c.h]!.tokens, c.w], logProb: c.score });
      }
    }
    live = next;
    if (live.length === 0) break;
    if (len === maxLen) {
      for (const h of live) finished.push({ ...h, score: h.logProb / lp(len), finished: false });
      break;
    }
    if (finished.length >= beam) {
      const bar = finished.map((f) => f.score).sort((a, b) => b - a)[beam - 1]!;
      const bound = Math.max(...live.map((h) => h.logProb)) / Math.max(lp(len + 1), lp(maxLen));
      if (bound <= bar) break;
    }
  }
  return finished.map((f, i) => ({ f, i })).sort((a, b) => (b.f.score - a.f.score) || (a.i - b.i)).slice(0, nBest).map((x) => x.f);
}
