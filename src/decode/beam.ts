// Beam search, batched over sentences (rows = the live hypotheses of every unfinished
// sentence, in sentence order), with GNMT's length penalty and an exact stopping rule.
//
// Per sentence and step:
//   - each live hypothesis h (cumulative log-probability L_h) extends by every token w:
//     candidates (h, w) with L_h + log p(w | h), p the model's own distribution over the whole
//     vocabulary; PAD, BOS and options.bannedIds are then removed (-inf after the log-softmax,
//     as fairseq and Hugging Face do), so scores are the model's log-probabilities;
//   - candidates are ranked by cumulative log-probability (ties: lower row, then lower id)
//     and walked in rank order: an EOS candidate at rank < beam finishes its hypothesis
//     (kept aside with score = L / lp(len), len counting the EOS); an EOS candidate at
//     rank >= beam is not taken; other candidates fill the next beam until it holds `beam`;
//   - GNMT length penalty lp(len) = ((5 + len) / 6)^alpha;
//   - the sentence is done when `beam` hypotheses have finished and no live one can still
//     beat the beam-th best finished score (a live hypothesis can reach at most
//     L_h / max(lp(len + 1), lp(maxLen)), as log-probabilities only fall), or when its
//     hypotheses reach maxLen tokens (the live ones then join the results, finished: false).
// Results: per sentence the nBest hypotheses by score (ties: the one finished first).
import { noGrad } from '../autograd/tape.js';
import { describeValue, rangeError } from '../errors.js';
import type { Seq2SeqTransformer } from '../nn/seq2seq.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkFinite, checkNumberWhere, checkOptions, checkPositiveInt } from '../validate/checks.js';
import { checkSeq2Seq, logSoftmaxRow } from './common.js';
import { resolveSeq2Seq, SEQ2SEQ_KEYS, type Seq2SeqDecodeOptions } from './greedy.js';
import { seq2seqStepper, type StepFunction, type TopStepFunction } from './step.js';

export interface BeamHypothesis {
  /** Target tokens, without BOS and EOS. */
  tokens: Int32Array;
  /** logProb / lp(length), length counting the EOS of a finished hypothesis. */
  score: number;
  /** Sum of the token log-probabilities (EOS included). */
  logProb: number;
  /** Ended with EOS (false: cut at maxLen, or by an abort). */
  finished: boolean;
}

export interface BeamCoreOptions {
  /** Sentences B. */
  batch: number;
  vocabSize: number;
  beam: number;
  /** Most tokens per hypothesis, EOS included. */
  maxLen: number;
  /** GNMT length-penalty exponent (0 = plain log-probability). */
  lengthPenalty: number;
  nBest: number;
  bos: number;
  eos: number;
  /** Ids never generated (PAD and BOS for Seq2Seq). */
  banned: readonly number[];
  /**
   * The step's k-best form (a model-backed stepper's topStep): used instead of `step` when
   * given, with k = 2 * beam + banned ids, so only R x k candidates reach JavaScript.
   */
  topStep?: TopStepFunction;
}

/** GNMT's length penalty ((5 + len) / 6)^alpha. */
export function lengthPenalty(len: number, alpha: number): number {
  const fn = 'decode.lengthPenalty';
  if (typeof len !== 'number') throw new TypeError(`toroid.${fn}: len must be a non-negative number, got ${describeValue(len)}`);
  if (!(len >= 0 && Number.isFinite(len))) throw rangeError(fn, 'len', 'a non-negative finite number', String(len));
  if (typeof alpha !== 'number') throw new TypeError(`toroid.${fn}: alpha must be a finite number, got ${describeValue(alpha)}`);
  if (!Number.isFinite(alpha)) throw rangeError(fn, 'alpha', 'a finite number', String(alpha));
  return lp(len, alpha);
}

function lp(len: number, alpha: number): number {
  return Math.pow((5 + len) / 6, alpha);
}

interface Live {
  tokens: number[];
  logProb: number;
  /** This hypothesis' row in the last step call (its parent when it extends). */
  row: number;
}

interface Finished extends BeamHypothesis {
  order: number;
}

interface SentenceState {
  live: Live[];
  finished: Finished[];
  done: boolean;
}

/** A beam search advanced one step at a time (stepOnce), over any StepFunction. */
export class BeamRun {
  private readonly step: StepFunction;
  private readonly o: BeamCoreOptions;
  private readonly sentences: SentenceState[];
  private firstCall = true;
  private counter = 0;
  private length = 0;
  private finishedAll = false;
  private readonly row: Float64Array;
  /** 1 at the banned ids. */
  private readonly bannedMask: Uint8Array;

  constructor(step: StepFunction, options: BeamCoreOptions) {
    this.step = step;
    this.o = options;
    this.sentences = Array.from({ length: options.batch }, () => ({ live: [{ tokens: [], logProb: 0, row: -1 }], finished: [], done: false }));
    this.row = new Float64Array(options.vocabSize);
    this.bannedMask = new Uint8Array(options.vocabSize);
    for (const id of options.banned) this.bannedMask[id] = 1;
    if (options.maxLen < 1) this.finishedAll = true;
  }

  get done(): boolean {
    return this.finishedAll;
  }

  /** Steps taken (= the length of the live hypotheses). */
  get steps(): number {
    return this.length;
  }

  stepOnce(): boolean {
    if (this.finishedAll) return true;
    const { vocabSize: V, beam, eos, bos, banned, maxLen, lengthPenalty: alpha } = this.o;
    // rows: the live hypotheses of the unfinished sentences
    const prefixes: Int32Array[] = [];
    const parents: number[] = [];
    const rowSentence: number[] = [];
    const rowsOf: Array<{ s: number; first: number; hyps: Live[] }> = [];
    this.sentences.forEach((st, s) => {
      if (st.done) return;
      rowsOf.push({ s, first: prefixes.length, hyps: st.live });
      for (const h of st.live) {
        prefixes.push(Int32Array.from([bos, ...h.tokens]));
        parents.push(h.row);
        rowSentence.push(s);
      }
    });
    const info = { parents: this.firstCall ? null : Int32Array.from(parents), sentences: Int32Array.from(rowSentence) };
    const K = 2 * beam;
    // every row's K best allowed tokens are among its K + |banned| best (topk's order is the scan's)
    const kk = Math.min(V, K + banned.length);
    const best = this.o.topStep?.(prefixes, info, kk);
    const logits = best === undefined ? this.step(prefixes, info) : new Float32Array(0);
    this.firstCall = false;
    if (best === undefined && logits.length !== prefixes.length * V) {
      throw new RangeError(`toroid.decode: the step function must return rows x vocabSize = ${prefixes.length * V} logits, got ${logits.length}`);
    }
    const newLen = this.length + 1;
    for (const { s, first, hyps } of rowsOf) {
      const st = this.sentences[s]!;
      // the top 2*beam candidates (row-major scan, strict comparison: ties keep the earlier)
      const cands: Array<{ score: number; h: number; w: number }> = [];
      // the K-th best score so far (-inf until K are held): most of a row fails one comparison
      let bar = -Infinity;
      hyps.forEach((hyp, h) => {
        if (best !== undefined) {
          // the row's best kk, best first: stop at the first that cannot enter
          const at = (first + h) * kk;
          for (let j = 0; j < kk; j++) {
            const w = best.indices[at + j]!;
            const score = hyp.logProb + best.values[at + j]!;
            if (this.bannedMask[w] === 1) continue;
            // values fall along the row, so the first at or below the bar ends it (NaN: skipped)
            if (!(score > bar)) { if (score <= bar) break; continue; }
            let pos = cands.length;
            while (pos > 0 && score > cands[pos - 1]!.score) pos--;
            cands.splice(pos, 0, { score, h, w });
            if (cands.length > K) cands.pop();
            if (cands.length === K) bar = cands[K - 1]!.score;
          }
          return;
        }
        // log-probabilities over the whole vocabulary, then the banned ids skipped (fairseq's order)
        const lp = logSoftmaxRow(logits, (first + h) * V, V, banned, this.row);
        const mask = this.bannedMask;
        const L = hyp.logProb;
        for (let w = 0; w < V; w++) {
          const score = L + lp[w]!;
          // NaN and -inf fail too; a full list takes only a strictly better score (ties keep the earlier)
          if (!(score > bar) || mask[w] === 1) continue;
          let at = cands.length;
          while (at > 0 && score > cands[at - 1]!.score) at--;
          cands.splice(at, 0, { score, h, w });
          if (cands.length > K) cands.pop();
          if (cands.length === K) bar = cands[K - 1]!.score;
        }
      });
      const live: Live[] = [];
      for (let rank = 0; rank < cands.length && live.length < beam; rank++) {
        const c = cands[rank]!;
        const parent = hyps[c.h]!;
        if (c.w === eos) {
          if (rank >= beam) continue;
          st.finished.push({ tokens: Int32Array.from(parent.tokens), logProb: c.score, score: c.score / lp(newLen, alpha), finished: true, order: this.counter++ });
        } else {
          live.push({ tokens: [...parent.tokens, c.w], logProb: c.score, row: first + c.h });
        }
      }
      st.live = live;
      if (live.length === 0) {
        st.done = true;
      } else if (newLen >= maxLen) {
        st.done = true;
        for (const h of live) st.finished.push({ tokens: Int32Array.from(h.tokens), logProb: h.logProb, score: h.logProb / lp(newLen, alpha), finished: false, order: this.counter++ });
        st.live = [];
      } else if (st.finished.length >= beam) {
        const scores = st.finished.map((f) => f.score).sort((a, b) => b - a);
        const bar = scores[beam - 1]!;
        const maxLp = Math.max(lp(newLen + 1, alpha), lp(maxLen, alpha));
        const bestLive = Math.max(...live.map((h) => h.logProb));
        if (bestLive / maxLp <= bar) {
          st.done = true;
          st.live = [];
        }
      }
    }
    this.length = newLen;
    if (this.sentences.every((st) => st.done)) this.finishedAll = true;
    return this.finishedAll;
  }

  /** Per sentence the nBest hypotheses, best first; before the end, live hypotheses count too (finished: false). */
  results(): BeamHypothesis[][] {
    const alpha = this.o.lengthPenalty;
    return this.sentences.map((st) => {
      const all: Finished[] = [...st.finished];
      if (!st.done) {
        for (const h of st.live) {
          if (this.length === 0) continue;
          all.push({ tokens: Int32Array.from(h.tokens), logProb: h.logProb, score: h.logProb / lp(h.tokens.length, alpha), finished: false, order: Infinity });
        }
      }
      all.sort((a, b) => (b.score - a.score) || (a.order - b.order));
      return all.slice(0, this.o.nBest).map(({ tokens, score, logProb, finished }) => ({ tokens, score, logProb, finished }));
    });
  }
}

/**
 * Options of beamSearchWith: vocabSize and maxLen are required; defaults batch 1, beam 4,
 * lengthPenalty 0.6, nBest 1, bos 1, eos 2, banned [] (nothing banned).
 */
export type BeamSearchWithOptions = Partial<BeamCoreOptions> & { vocabSize: number; maxLen: number };

/**
 * Beam search over any step function (synchronous): for tests with a mocked model, or other
 * decoders. step(prefixes, info) returns the next-token logits (or log-probabilities) of
 * every row; prefixes start with bos.
 */
export function beamSearchWith(step: StepFunction, options: BeamSearchWithOptions): BeamHypothesis[][] {
  const fn = 'decode.beamSearchWith';
  if (typeof step !== 'function') throw new TypeError(`toroid.${fn}: step must be a function (prefixes, info) => logits, got ${typeof step}`);
  const run = new BeamRun(step, checkBeamCore(fn, options));
  while (!run.stepOnce());
  return run.results();
}

const CORE_KEYS = ['batch', 'vocabSize', 'beam', 'maxLen', 'lengthPenalty', 'nBest', 'bos', 'eos', 'banned'] as const;

function checkBeamCore(fn: string, options: unknown): BeamCoreOptions {
  const o = checkOptions(fn, options, CORE_KEYS);
  const vocabSize = checkPositiveInt(fn, 'options.vocabSize', o.vocabSize);
  const id = (arg: string, v: unknown, fallback: number): number => checkNumberWhere(fn, `options.${arg}`, v, (x) => Number.isInteger(x) && x >= 0 && x < vocabSize, `a token id in [0, ${vocabSize})`, fallback);
  const beam = checkPositiveInt(fn, 'options.beam', o.beam, 4);
  const nBest = checkPositiveInt(fn, 'options.nBest', o.nBest, 1);
  if (nBest > beam) throw rangeError(fn, 'options.nBest', `at most beam=${beam}`, String(nBest));
  const banned = o.banned ?? [];
  if (!Array.isArray(banned)) throw new TypeError(`toroid.${fn}: options.banned must be an array of token ids, got ${typeof banned}`);
  banned.forEach((b, i) => id(`banned[${i}]`, b, 0));
  return {
    batch: checkPositiveInt(fn, 'options.batch', o.batch, 1), vocabSize, beam,
    maxLen: checkPositiveInt(fn, 'options.maxLen', o.maxLen),
    lengthPenalty: checkFinite(fn, 'options.lengthPenalty', o.lengthPenalty, 0.6),
    nBest, bos: id('bos', o.bos, 1), eos: id('eos', o.eos, 2), banned: banned as number[],
  };
}

export interface BeamSearchOptions extends Seq2SeqDecodeOptions {
  /** Beam width (default 4). */
  beam?: number;
  /** GNMT length-penalty alpha (default 0.6; 0 ranks by log-probability). */
  lengthPenalty?: number;
  /** Hypotheses returned per sentence (default 1, at most beam). */
  nBest?: number;
}

export const BEAM_KEYS = [...SEQ2SEQ_KEYS, 'beam', 'lengthPenalty', 'nBest'] as const;

export interface ResolvedBeam {
  beam: number;
  alpha: number;
  nBest: number;
}

export function resolveBeam(fn: string, opts: Record<string, unknown>): ResolvedBeam {
  const beam = checkPositiveInt(fn, 'options.beam', opts.beam, 4);
  const alpha = checkFinite(fn, 'options.lengthPenalty', opts.lengthPenalty, 0.6);
  const nBest = checkPositiveInt(fn, 'options.nBest', opts.nBest, 1);
  if (nBest > beam) throw rangeError(fn, 'options.nBest', `at most beam=${beam}`, String(nBest));
  return { beam, alpha, nBest };
}

/** Build the model-backed BeamRun of a resolved call (the caller disposes `dispose`). */
export function seq2seqBeamRun(model: Seq2SeqTransformer, fn: string, src: unknown, options: unknown): { run: BeamRun; dispose(): void } {
  checkSeq2Seq(fn, model);
  const opts = checkOptions(fn, options, [...BEAM_KEYS, 'signal']);
  const b = resolveBeam(fn, opts);
  const r = resolveSeq2Seq(fn, model, src, opts);
  let stepper;
  try {
    stepper = noGrad(() => seq2seqStepper(model, r.src, r.mask));
  } catch (err) {
    if (r.ownsSrc) r.src.dispose();
    throw err;
  }
  const run = new BeamRun(stepper.step, {
    batch: r.B, vocabSize: stepper.vocabSize, beam: b.beam, maxLen: r.maxLen, lengthPenalty: b.alpha, nBest: b.nBest,
    bos: r.bos, eos: r.eos, banned: r.banned, topStep: stepper.topStep,
  });
  const s = stepper;
  return {
    run,
    dispose() {
      s.dispose();
      if (r.ownsSrc) r.src.dispose();
    },
  };
}

/**
 * Beam search for a Seq2SeqTransformer with a KV cache (B sentences x beam rows in one
 * batch; caches reordered by parent hypothesis): per sentence the nBest hypotheses
 * { tokens, score, logProb, finished }, best first. See the file header for the rules.
 */
export function beamSearch(model: Seq2SeqTransformer, src: Tensor | ArrayLike<number> | readonly ArrayLike<number>[], options?: BeamSearchOptions): BeamHypothesis[][] {
  const fn = 'decode.beamSearch';
  checkOptions(fn, options, BEAM_KEYS);
  const { run, dispose } = seq2seqBeamRun(model, fn, src, options);
  try {
    while (!run.stepOnce());
    return run.results();
  } finally {
    dispose();
  }
}
