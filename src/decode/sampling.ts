// Sampling: logits processors (repetition penalty, temperature, top-k, top-p) and a
// seeded draw, as a TokenPicker for the token-by-token search.
//
// Order, per row and step (Hugging Face's): repetition penalty on the raw logits ->
// temperature -> top-k -> softmax -> top-p (nucleus) -> draw. Randomness comes from
// toroid's Philox4x32-10 generator: with options.seed a private stream (the same seed
// gives the same tokens, whatever else runs), otherwise the global generator
// (toroid.manualSeed makes it reproducible too). Each draw uses two 32-bit words
// (a 53-bit uniform).
import { nextRng } from '../random/generator.js';
import { PhiloxStream } from '../random/philox.js';
import { rangeError, typeError } from '../errors.js';
import { describeValue } from '../errors.js';
import type { Seq2SeqTransformer } from '../nn/seq2seq.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkNumberWhere, checkOptions } from '../validate/checks.js';
import { resolveSeq2Seq, runSeq2SeqTokens, SEQ2SEQ_KEYS, type CandidatePicker, type Seq2SeqDecodeOptions, type TokenPicker } from './greedy.js';

export interface SamplingOptions {
  /** Divide the logits by this (> 0, default 1): below 1 sharper, above 1 flatter. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = off, the default). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 = off, the default). */
  topP?: number;
  /**
   * CTRL's repetition penalty (>= 1 penalizes, default 1 = off): the logit of every token
   * already generated (the prompt / BOS excluded) is divided by it when positive and
   * multiplied by it when negative.
   */
  repetitionPenalty?: number;
  /** Seed of a private Philox stream (default: the global generator, toroid.manualSeed). */
  seed?: number | bigint;
}

export interface ResolvedSampling {
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  seed: bigint | null;
}

export const SAMPLING_KEYS = ['temperature', 'topK', 'topP', 'repetitionPenalty', 'seed'] as const;

export function resolveSampling(fn: string, opts: Record<string, unknown>): ResolvedSampling {
  const temperature = checkNumberWhere(fn, 'options.temperature', opts.temperature, (v) => v > 0 && Number.isFinite(v), 'a positive finite number', 1);
  const topK = checkNumberWhere(fn, 'options.topK', opts.topK, (v) => Number.isInteger(v) && v >= 0, 'a non-negative integer (0 = off)', 0);
  const topP = checkNumberWhere(fn, 'options.topP', opts.topP, (v) => v > 0 && v <= 1, 'a number in (0, 1]', 1);
  const repetitionPenalty = checkNumberWhere(fn, 'options.repetitionPenalty', opts.repetitionPenalty, (v) => v > 0 && Number.isFinite(v), 'a positive finite number', 1);
  let seed: bigint | null = null;
  if (opts.seed !== undefined) {
    if (typeof opts.seed !== 'number' && typeof opts.seed !== 'bigint') throw typeError(fn, 'options.seed', 'a non-negative integer (number or bigint)', describeValue(opts.seed));
    if (typeof opts.seed === 'number' && (!Number.isSafeInteger(opts.seed) || opts.seed < 0)) throw rangeError(fn, 'options.seed', 'a non-negative safe integer', String(opts.seed));
    seed = BigInt(opts.seed);
    if (seed < 0n || seed >= 1n << 64n) throw rangeError(fn, 'options.seed', 'in [0, 2^64)', String(opts.seed));
  }
  return { temperature, topK, topP, repetitionPenalty, seed };
}

/** CTRL-style penalty, in place: logits of the distinct tokens in `generated` are divided (> 0) or multiplied (< 0) by penalty. */
export function applyRepetitionPenalty(logits: Float64Array, generated: readonly number[], penalty: number): Float64Array {
  if (penalty === 1) return logits;
  for (const id of new Set(generated)) {
    const v = logits[id]!;
    logits[id] = v > 0 ? v / penalty : v * penalty;
  }
  return logits;
}

/** Ids sorted by value, largest first (ties: lower id first). */
function order(values: Float64Array): Int32Array {
  const ids = Int32Array.from({ length: values.length }, (_, i) => i);
  return ids.sort((a, b) => (values[b]! - values[a]!) || a - b || 0);
}

/** Keep the k largest logits (ties broken by lower id), the rest -inf; in place. k = 0 or >= V: unchanged. */
export function topKFilter(logits: Float64Array, k: number): Float64Array {
  if (k <= 0 || k >= logits.length) return logits;
  const ids = order(logits);
  for (let r = k; r < ids.length; r++) logits[ids[r]!] = -Infinity;
  return logits;
}

/** softmax in place (a row of all -inf stays zero). */
export function softmaxInPlace(x: Float64Array): Float64Array {
  let max = -Infinity;
  for (const v of x) if (v > max) max = v;
  if (max === -Infinity) return x.fill(0);
  let sum = 0;
  for (let j = 0; j < x.length; j++) {
    x[j] = Math.exp(x[j]! - max);
    sum += x[j]!;
  }
  for (let j = 0; j < x.length; j++) x[j] = x[j]! / sum;
  return x;
}

/** Nucleus filter on probabilities, in place: keep the smallest most-likely set reaching p (at least one token), renormalized. */
export function topPFilter(probs: Float64Array, p: number): Float64Array {
  if (p >= 1) return probs;
  const ids = order(probs);
  let cum = 0, kept = 0;
  for (; kept < ids.length; kept++) {
    if (kept > 0 && cum >= p) break;
    cum += probs[ids[kept]!]!;
  }
  for (let r = kept; r < ids.length; r++) probs[ids[r]!] = 0;
  for (let j = 0; j < probs.length; j++) probs[j] = probs[j]! / cum;
  return probs;
}

/** A uniform [0, 1) source: a private Philox stream for a seed, else the global generator. */
export function uniformSource(seed: bigint | null): () => number {
  const draw = (stream: PhiloxStream, i: number): number => ((stream.word(i) >>> 5) * 67108864 + (stream.word(i + 1) >>> 6)) / 9007199254740992;
  if (seed !== null) {
    const stream = new PhiloxStream(seed, 0);
    let i = 0;
    return () => {
      const u = draw(stream, i);
      i += 2;
      return u;
    };
  }
  return () => {
    const state = nextRng(2);
    return draw(new PhiloxStream(state.seed, state.offset), 0);
  };
}

/** Index drawn from probabilities (summing to ~1) with u in [0, 1). */
export function drawFrom(probs: Float64Array, u: number): number {
  let total = 0;
  for (const v of probs) total += v;
  const target = u * total;
  let cum = 0, last = -1;
  for (let j = 0; j < probs.length; j++) {
    if (probs[j]! <= 0) continue;
    cum += probs[j]!;
    last = j;
    if (cum > target) return j;
  }
  return last === -1 ? 0 : last;
}

/** The sampling TokenPicker for resolved options (one uniform per row and step, rows in batch order; `uniform` shared with a candidate picker keeps one stream). */
export function samplingPicker(s: ResolvedSampling, uniform: () => number = uniformSource(s.seed)): TokenPicker {
  return (logits, generated) => {
    applyRepetitionPenalty(logits, generated, s.repetitionPenalty);
    if (s.temperature !== 1) for (let j = 0; j < logits.length; j++) logits[j] = logits[j]! / s.temperature;
    topKFilter(logits, s.topK);
    const probs = softmaxInPlace(logits);
    topPFilter(probs, s.topP);
    return drawFrom(probs, uniform());
  };
}

/**
 * samplingPicker over a row's top-k candidates (logits best first, from the backend's topk),
 * for topK > 0 and no repetition penalty: the same token for the same uniform. The kept
 * logits are put back in id order, so the softmax sums, the nucleus and the draw run in the
 * order the full row's do (the other tokens add exact zeros there).
 */
export function samplingCandidatePicker(s: ResolvedSampling, uniform: () => number = uniformSource(s.seed)): CandidatePicker {
  return (values, ids) => {
    const byId = Array.from(ids, (id, j) => j).sort((a, b) => ids[a]! - ids[b]!);
    const logits = Float64Array.from(byId, (j) => values[j]!);
    if (s.temperature !== 1) for (let j = 0; j < logits.length; j++) logits[j] = logits[j]! / s.temperature;
    const probs = softmaxInPlace(logits);
    topPFilter(probs, s.topP);
    const u = uniform();
    return ids.length === 0 ? 0 : ids[byId[drawFrom(probs, u)]!]!;
  };
}

export interface Seq2SeqSampleOptions extends Seq2SeqDecodeOptions, SamplingOptions {}

/**
 * Sampled decoding (Seq2Seq, KV cache): like greedyDecode but each token is drawn from the
 * processed distribution (see SamplingOptions). PAD and BOS are never drawn.
 */
export function sampleDecode(model: Seq2SeqTransformer, src: Tensor | ArrayLike<number> | readonly ArrayLike<number>[], options?: Seq2SeqSampleOptions): Int32Array[] {
  const fn = 'decode.sampleDecode';
  const opts = checkOptions(fn, options, [...SEQ2SEQ_KEYS, ...SAMPLING_KEYS]);
  const s = resolveSampling(fn, opts);
  const r = resolveSeq2Seq(fn, model, src, opts);
  // top-k without a repetition penalty: the k candidates are taken on the backend
  const top = s.topK > 0 && s.repetitionPenalty === 1 ? { count: s.topK, pick: samplingCandidatePicker(s) } : undefined;
  return runSeq2SeqTokens(model, r, samplingPicker(s), top);
}
