// Token-by-token decoding (greedy, and sampling through a different picker): one row per
// batch entry, rows dropped from the batch (and from the KV cache) as they finish.
import { noGrad } from '../autograd/tape.js';
import { describeShape, describeValue, rangeError, typeError } from '../errors.js';
import type { Seq2SeqTransformer } from '../nn/seq2seq.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkOptions, checkPositiveInt, checkTensor } from '../validate/checks.js';
import { checkSeq2Seq, checkTokenId, idsTensor } from './common.js';
import { seq2seqStepper, type StepFunction, type StepInfo, type TopStepFunction } from './step.js';

/**
 * Choose the next token of one row: `logits` are the row's logits (float64, banned ids
 * already -inf; the picker may modify them), `generated` the tokens the row produced so far
 * (prompt / BOS excluded), `sentence` its batch entry.
 */
export type TokenPicker = (logits: Float64Array, generated: readonly number[], sentence: number) => number;

export interface TokenRunOptions {
  /** The fixed prefix of each batch entry: [BOS] for Seq2Seq, the prompt for GPT. */
  prefixes: readonly (readonly number[])[];
  vocabSize: number;
  /** At most this many tokens per entry (EOS included when it comes). */
  maxSteps: number;
  /** End of sequence (not included in the output), or null for none. */
  eos: number | null;
  /** Ids whose logits are set to -inf (never generated). */
  banned: readonly number[];
  pick: TokenPicker;
  /**
   * Pick from each row's best candidates instead of its full logits: the step's k-best form
   * over logits (a model-backed stepper's topStep) brings count + |banned| candidates per row
   * from the backend, and `pick` (not called then) is replaced by top.pick over the first
   * `count` allowed, non-NaN ones, best first. Greedy is count 1; top-k sampling count k.
   */
  top?: { step: TopStepFunction; count: number; pick: CandidatePicker };
}

/** Choose a row's token from its best candidates: logits best first (float64) and their ids. */
export type CandidatePicker = (values: Float64Array, ids: Int32Array, generated: readonly number[], sentence: number) => number;

/** Greedy over candidates: the best one (an empty list, all NaN or banned: id 0, as argmax). */
export const firstCandidate: CandidatePicker = (values, ids) => (ids.length > 0 ? ids[0]! : 0);

/** The argmax (the lowest id among equal maxima). */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0, bestValue = -Infinity;
  for (let j = 0; j < logits.length; j++) {
    if (logits[j]! > bestValue) {
      bestValue = logits[j]!;
      best = j;
    }
  }
  return best;
}

/**
 * A token-by-token search, advanced one step at a time with stepOnce() (so sync, async and
 * streaming drivers share it). Entries finish at EOS or after maxSteps tokens.
 */
export class TokenRun {
  readonly generated: number[][];
  /** Tokens the last stepOnce() appended: [entry, token] pairs (EOS is never listed). */
  emitted: Array<[number, number]> = [];
  private readonly options: TokenRunOptions;
  private readonly step: StepFunction;
  private active: number[];
  private previous: number[] | null = null;
  private readonly row: Float64Array;
  private finished = false;

  constructor(step: StepFunction, options: TokenRunOptions) {
    this.step = step;
    this.options = options;
    this.generated = options.prefixes.map(() => []);
    this.active = options.prefixes.map((_, i) => i);
    this.row = new Float64Array(options.vocabSize);
    if (options.maxSteps < 1) this.finished = true;
  }

  get done(): boolean {
    return this.finished;
  }

  /** One step for every unfinished entry; returns true when all are finished. */
  stepOnce(): boolean {
    this.emitted = [];
    if (this.finished) return true;
    const { prefixes, eos, maxSteps } = this.options;
    const rows = this.active.map((s) => Int32Array.from([...prefixes[s]!, ...this.generated[s]!]));
    const previous = this.previous;
    const parents = previous === null ? null : Int32Array.from(this.active.map((s) => previous.indexOf(s)));
    const info = { parents, sentences: Int32Array.from(this.active) };
    const choose = this.options.top !== undefined ? this.fromCandidates(this.options.top, rows, info) : this.fromLogits(rows, info);
    const next: number[] = [];
    this.active.forEach((s, r) => {
      const token = choose(s, r);
      if (token === eos) return;
      this.generated[s]!.push(token);
      this.emitted.push([s, token]);
      if (this.generated[s]!.length < maxSteps) next.push(s);
    });
    this.previous = this.active;
    this.active = next;
    if (next.length === 0) this.finished = true;
    return this.finished;
  }

  /** Each row's token from its full logits through options.pick. */
  private fromLogits(rows: Int32Array[], info: StepInfo): (s: number, r: number) => number {
    const { vocabSize: V, banned, pick } = this.options;
    const logits = this.step(rows, info);
    if (logits.length !== rows.length * V) {
      throw new RangeError(`toroid.decode: the step function must return rows x vocabSize = ${rows.length * V} logits, got ${logits.length}`);
    }
    return (s, r) => {
      const row = this.row;
      // a typed array's rows copy natively (a JS loop over R x V was most of a step's JS time)
      if (ArrayBuffer.isView(logits)) row.set((logits as unknown as Float32Array).subarray(r * V, (r + 1) * V));
      else for (let j = 0; j < V; j++) row[j] = logits[r * V + j]!;
      for (const id of banned) row[id] = -Infinity;
      return pick(row, this.generated[s]!, s);
    };
  }

  /** Each row's token from its best candidates (the step's k-best form) through top.pick. */
  private fromCandidates(top: NonNullable<TokenRunOptions['top']>, rows: Int32Array[], info: StepInfo): (s: number, r: number) => number {
    const { vocabSize: V, banned } = this.options;
    const kk = Math.min(V, top.count + banned.length);
    const best = top.step(rows, info, kk, true);
    return (s, r) => {
      // the first `count` allowed candidates (NaN never taken, as argmax never takes it)
      const values: number[] = [], ids: number[] = [];
      for (let j = 0; j < kk && ids.length < top.count; j++) {
        const w = best.indices[r * kk + j]!, v = best.values[r * kk + j]!;
        if (!banned.includes(w) && !Number.isNaN(v)) { values.push(v); ids.push(w); }
      }
      return top.pick(Float64Array.from(values), Int32Array.from(ids), this.generated[s]!, s);
    };
  }

  /** The tokens of every entry so far (without prefix and EOS). */
  results(): Int32Array[] {
    return this.generated.map((g) => Int32Array.from(g));
  }
}

/** Run a token search over any step function to the end (synchronously). */
export function runTokenSearch(step: StepFunction, options: TokenRunOptions): Int32Array[] {
  const run = new TokenRun(step, options);
  while (!run.stepOnce());
  return run.results();
}

export interface Seq2SeqDecodeOptions {
  /** Most target tokens per sentence, EOS included (default and maximum: the model's maxLen). */
  maxLen?: number;
  /** Start token (default 1). */
  bos?: number;
  /** End token (default 2). */
  eos?: number;
  /** Padding id, never generated (default: the model's config.pad). */
  pad?: number;
  /** bool [B,S], true = padded source position (default: src == pad). */
  srcKeyPaddingMask?: Tensor | null;
  /**
   * Token ids never generated, beside pad and bos (always banned). They are masked after the
   * log-softmax, as fairseq and Hugging Face do: scores stay the model's log-probabilities
   * (the banned tokens' probability is not handed to the others).
   */
  bannedIds?: readonly number[];
}

export interface ResolvedSeq2SeqDecode {
  src: Tensor;
  ownsSrc: boolean;
  mask: Tensor | null;
  B: number;
  maxLen: number;
  bos: number;
  eos: number;
  pad: number;
  /** pad, bos and options.bannedIds, each once. */
  banned: number[];
}

export const SEQ2SEQ_KEYS = ['maxLen', 'bos', 'eos', 'pad', 'srcKeyPaddingMask', 'bannedIds'] as const;

/** Validate a Seq2Seq call's model, source and the shared options. */
export function resolveSeq2Seq(fn: string, model: unknown, src: unknown, opts: Record<string, unknown>): ResolvedSeq2SeqDecode {
  const m = checkSeq2Seq(fn, model);
  const c = m.config;
  const V = c.tgtVocab;
  const maxLen = checkPositiveInt(fn, 'options.maxLen', opts.maxLen, c.maxLen);
  if (maxLen > c.maxLen) throw rangeError(fn, 'options.maxLen', `at most the model's maxLen=${c.maxLen}`, String(maxLen));
  const bos = checkTokenId(fn, 'options.bos', opts.bos, 1, V);
  const eos = checkTokenId(fn, 'options.eos', opts.eos, 2, V);
  const pad = checkTokenId(fn, 'options.pad', opts.pad, c.pad, V);
  if (bos === eos || bos === pad || eos === pad) throw rangeError(fn, 'options', 'distinct bos, eos and pad ids', `bos=${bos}, eos=${eos}, pad=${pad}`);
  if (V <= 3) throw rangeError(fn, 'model', 'a model with tgtVocab > 3 (pad, bos and eos are reserved)', String(V));
  const extra = opts.bannedIds ?? [];
  if (!Array.isArray(extra)) throw typeError(fn, 'options.bannedIds', 'an array of token ids', describeValue(extra));
  const banned = [pad, bos];
  extra.forEach((id, i) => {
    const t = checkTokenId(fn, `options.bannedIds[${i}]`, id, null, V);
    if (t === eos) throw rangeError(fn, `options.bannedIds[${i}]`, 'an id other than eos (a sentence must be able to end)', String(t));
    if (!banned.includes(t)) banned.push(t);
  });
  const device = m.generator.weight.device;
  const { ids, owned } = idsTensor(fn, 'src', src, c.srcVocab, device, c.pad);
  const [B, S] = ids.shape as [number, number];
  let mask: Tensor | null = null;
  try {
    if (S > c.maxLen) throw rangeError(fn, 'src', `at most maxLen=${c.maxLen} tokens per sentence`, String(S));
    if (opts.srcKeyPaddingMask != null) {
      mask = checkTensor(fn, 'options.srcKeyPaddingMask', opts.srcKeyPaddingMask, ['bool']);
      if (mask.rank !== 2 || mask.shape[0] !== B || mask.shape[1] !== S) throw rangeError(fn, 'options.srcKeyPaddingMask', `bool [B,S] = [${B},${S}] like src`, `bool ${describeShape(mask.shape)}`);
      if (mask.device !== device) throw typeError(fn, 'options.srcKeyPaddingMask', `on backend '${device}' like the model`, `'${mask.device}'`);
    }
  } catch (err) {
    if (owned) ids.dispose();
    throw err;
  }
  return { src: ids, ownsSrc: owned, mask, B, maxLen, bos, eos, pad, banned };
}

/** Run a TokenRun-based Seq2Seq decode synchronously in eval semantics (the model's mode untouched). */
export function runSeq2SeqTokens(model: Seq2SeqTransformer, r: ResolvedSeq2SeqDecode, pick: TokenPicker, top?: { count: number; pick: CandidatePicker }): Int32Array[] {
  const stepper = noGrad(() => seq2seqStepper(model, r.src, r.mask));
  try {
    return runTokenSearch(stepper.step, {
      prefixes: Array.from({ length: r.B }, () => [r.bos]), vocabSize: stepper.vocabSize, maxSteps: r.maxLen,
      eos: r.eos, banned: r.banned, pick, ...(top === undefined ? {} : { top: { step: stepper.topStep, ...top } }),
    });
  } finally {
    stepper.dispose();
    if (r.ownsSrc) r.src.dispose();
  }
}

/**
 * Greedy decoding with a KV cache: src (int32 [B,S] tensor, or arrays of ids, right-padded
 * with the model's pad) -> per sentence the target tokens, without BOS and EOS. PAD and BOS
 * are never generated. Runs in eval semantics: the model's mode is never changed.
 */
export function greedyDecode(model: Seq2SeqTransformer, src: Tensor | ArrayLike<number> | readonly ArrayLike<number>[], options?: Seq2SeqDecodeOptions): Int32Array[] {
  const fn = 'decode.greedyDecode';
  const opts = checkOptions(fn, options, SEQ2SEQ_KEYS);
  const r = resolveSeq2Seq(fn, model, src, opts);
  // the argmax on the backend (topk over the logits): 1 + |banned| values a row reach JavaScript
  return runSeq2SeqTokens(model, r, (logits) => argmax(logits), { count: 1, pick: firstCandidate });
}
