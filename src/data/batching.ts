// Token-budget batching with length bucketing.
//
// A batch's cost is its padded size: batch size x the longest sequence in it,
// counted separately for source and target; both stay <= maxTokens. Per epoch:
//   1. the examples are shuffled (seeded),
//   2. split into pools of `poolSize` consecutive examples (default: one pool of
//      all), each pool stably sorted by length (the longer of source and target,
//      then source, then target: on Multi30K this pads least), so equal
//      lengths keep their shuffled order and batch composition varies by epoch,
//   3. each pool is cut greedily into batches under the budget,
//   4. the order of all the epoch's batches is shuffled (seeded).
// The random numbers come from Philox4x32-10 keyed by the sampler's own seed with
// the epoch in the counter (src/data/rng.ts), never from toroid.manualSeed's global
// stream, so (seed, epoch) alone fixes an epoch's batches and the position
// { epoch, index, seed } is a complete, JSON-serializable resume state.
import { describeValue, rangeError, typeError } from '../errors.js';
import { DataRng, PURPOSE_BATCHES, PURPOSE_EXAMPLES } from './rng.js';
import { checkBoolean, checkInteger, checkOptions, checkSeed, isPlainObject } from '../validate/checks.js';

/** An example's length: one number (language modelling) or source and target lengths. */
export type ExampleLength = number | { src: number; tgt: number };

export interface BudgetOptions {
  /** Upper bound on batch size x longest sequence, for source and for target. */
  maxTokens: number;
  /** Optional cap on the number of examples per batch. */
  maxBatchSize?: number;
  /** Shuffle the examples and the batch order (default true). Sorting by length happens either way. */
  shuffle?: boolean;
  /** What to do with an example longer than maxTokens alone: throw (default) or leave it out. */
  oversize?: 'error' | 'skip';
}

export interface SamplerOptions extends BudgetOptions {
  /** Seed of the shuffles: a non-negative safe integer, required. */
  seed: number;
  /** Examples sorted together (after the shuffle); default: all of them. Smaller pools mix lengths more. */
  poolSize?: number;
}

/** JSON-serializable position of a TokenBudgetSampler: `index` batches of `epoch` are done. */
export interface SamplerState {
  epoch: number;
  index: number;
  seed: number;
}

export interface PaddingStats {
  batches: number;
  examples: number;
  /** Real source (or single-sequence) tokens and their padded total. */
  srcTokens: number;
  srcPadded: number;
  tgtTokens: number;
  tgtPadded: number;
  /** Real tokens / padded tokens, source and target together (1 = no padding). */
  efficiency: number;
}

export interface ParsedBudget {
  maxTokens: number;
  maxBatchSize: number;
  shuffle: boolean;
  oversize: 'error' | 'skip';
}

export function parseBudget(fn: string, o: Record<string, unknown>): ParsedBudget {
  if (o.maxTokens === undefined) throw typeError(fn, 'options.maxTokens', 'a number (the token budget)', 'undefined');
  const maxTokens = checkInteger(fn, 'options.maxTokens', o.maxTokens, 1);
  const maxBatchSize = checkInteger(fn, 'options.maxBatchSize', o.maxBatchSize, 1, undefined, Number.MAX_SAFE_INTEGER);
  const shuffle = checkBoolean(fn, 'options.shuffle', o.shuffle, true);
  const oversize = o.oversize ?? 'error';
  if (oversize !== 'error' && oversize !== 'skip') {
    if (typeof oversize !== 'string') throw typeError(fn, 'options.oversize', "'error' or 'skip'", describeValue(oversize));
    throw rangeError(fn, 'options.oversize', "'error' or 'skip'", JSON.stringify(oversize));
  }
  return { maxTokens, maxBatchSize, shuffle, oversize };
}

/** Split an example length into (src, tgt); a single length counts as both. */
export function checkLength(fn: string, arg: string, value: unknown): [number, number] {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) throw rangeError(fn, arg, 'a non-negative integer length', String(value));
    return [value, value];
  }
  if (!isPlainObject(value)) throw typeError(fn, arg, 'a length or { src, tgt } lengths', describeValue(value));
  const { src, tgt } = value;
  if (typeof src !== 'number' || typeof tgt !== 'number') throw typeError(fn, arg, '{ src: number, tgt: number }', `{ src: ${describeValue(src)}, tgt: ${describeValue(tgt)} }`);
  if (!Number.isInteger(src) || src < 0) throw rangeError(fn, `${arg}.src`, 'a non-negative integer length', String(src));
  if (!Number.isInteger(tgt) || tgt < 0) throw rangeError(fn, `${arg}.tgt`, 'a non-negative integer length', String(tgt));
  return [src, tgt];
}

/**
 * The batches of one pass over examples 0..n-1 with lengths srcLen/tgtLen (in
 * positions `ids`, already filtered of oversize ones): shuffle, pool-sort, cut,
 * shuffle the batch order. Returns lists of example ids.
 */
export function planBatches(
  ids: number[], srcLen: ArrayLike<number>, tgtLen: ArrayLike<number>, budget: ParsedBudget,
  poolSize: number, seed: number, epoch: number, window: number,
): number[][] {
  const order = ids.slice();
  if (budget.shuffle) new DataRng(seed, epoch, window, PURPOSE_EXAMPLES).shuffle(order);
  const batches: number[][] = [];
  for (let start = 0; start < order.length; start += poolSize) {
    const pool = order.slice(start, start + poolSize);
    // By the longer side first (the one the budget binds), then source, then
    // target. Array.prototype.sort is stable: ties keep their (shuffled) order.
    pool.sort((a, b) => Math.max(srcLen[a]!, tgtLen[a]!) - Math.max(srcLen[b]!, tgtLen[b]!) || srcLen[a]! - srcLen[b]! || tgtLen[a]! - tgtLen[b]!);
    let batch: number[] = [];
    let maxS = 0, maxT = 0;
    for (const id of pool) {
      const s = Math.max(maxS, srcLen[id]!), t = Math.max(maxT, tgtLen[id]!);
      const n = batch.length + 1;
      if (batch.length > 0 && (n > budget.maxBatchSize || n * s > budget.maxTokens || n * t > budget.maxTokens)) {
        batches.push(batch);
        batch = [id];
        maxS = srcLen[id]!;
        maxT = tgtLen[id]!;
      } else {
        batch.push(id);
        maxS = s;
        maxT = t;
      }
    }
    if (batch.length > 0) batches.push(batch);
  }
  if (budget.shuffle) new DataRng(seed, epoch, window, PURPOSE_BATCHES).shuffle(batches);
  return batches;
}

/** Whether one example alone fits; throws or reports per `oversize`. */
export function fitsAlone(fn: string, what: string, s: number, t: number, budget: ParsedBudget): boolean {
  if (s <= budget.maxTokens && t <= budget.maxTokens) return true;
  if (budget.oversize === 'skip') return false;
  throw rangeError(fn, 'options.maxTokens', `at least the length of every example (or oversize: 'skip')`,
    `${budget.maxTokens} while ${what} has length ${s === t ? s : `src ${s}, tgt ${t}`}`);
}

export function checkState(fn: string, arg: string, state: unknown): SamplerState {
  if (!isPlainObject(state)) throw typeError(fn, arg, 'an object { epoch, index, seed }', describeValue(state));
  const epoch = checkInteger(fn, `${arg}.epoch`, state.epoch, 0, 4294967295);
  const index = checkInteger(fn, `${arg}.index`, state.index, 0);
  const seed = checkSeed(fn, `${arg}.seed`, state.seed);
  return { epoch, index, seed };
}

/**
 * Token-budget batches of example indices over an in-memory dataset, epoch
 * after epoch. `for (const batch of sampler)` runs the rest of the current
 * epoch and then moves to the next; `state()` / `restore()` save and resume the
 * exact position.
 */
export class TokenBudgetSampler implements Iterable<number[]> {
  /** Number of examples (including skipped oversize ones). */
  readonly length: number;
  /** Indices left out because they exceed maxTokens alone (oversize: 'skip'). */
  readonly skipped: readonly number[];
  private readonly srcLen: Int32Array;
  private readonly tgtLen: Int32Array;
  private readonly ids: number[];
  private readonly budget: ParsedBudget;
  private readonly poolSize: number;
  private seed: number;
  private epoch = 0;
  private index = 0;
  private plan: number[][] | null = null;

  constructor(lengths: readonly ExampleLength[] | Int32Array, options: SamplerOptions) {
    const fn = 'TokenBudgetSampler';
    if (!Array.isArray(lengths) && !(lengths instanceof Int32Array)) throw typeError(fn, 'lengths', 'an array of lengths or an Int32Array', describeValue(lengths));
    if (options === undefined) throw typeError(fn, 'options', 'an object with maxTokens and seed', 'undefined');
    const o = checkOptions(fn, options);
    this.budget = parseBudget(fn, o);
    this.seed = checkSeed(fn, 'options.seed', o.seed);
    const n = lengths.length;
    this.poolSize = checkInteger(fn, 'options.poolSize', o.poolSize, 1, undefined, Math.max(1, n));
    this.length = n;
    this.srcLen = new Int32Array(n);
    this.tgtLen = new Int32Array(n);
    this.ids = [];
    const skipped: number[] = [];
    for (let i = 0; i < n; i++) {
      const [s, t] = checkLength(fn, `lengths[${i}]`, lengths[i]);
      this.srcLen[i] = s;
      this.tgtLen[i] = t;
      if (fitsAlone(fn, `lengths[${i}]`, s, t, this.budget)) this.ids.push(i);
      else skipped.push(i);
    }
    this.skipped = skipped;
  }

  /** The batches (example indices) of `epoch`, a pure function of (seed, epoch). */
  epochBatches(epoch: number = this.epoch): number[][] {
    checkInteger('TokenBudgetSampler.epochBatches', 'epoch', epoch, 0, 4294967295);
    if (epoch === this.epoch && this.plan !== null) return this.plan.map((b) => b.slice());
    return planBatches(this.ids, this.srcLen, this.tgtLen, this.budget, this.poolSize, this.seed, epoch, 0);
  }

  private currentPlan(): number[][] {
    if (this.plan === null) this.plan = planBatches(this.ids, this.srcLen, this.tgtLen, this.budget, this.poolSize, this.seed, this.epoch, 0);
    return this.plan;
  }

  /** Batches in the current epoch. */
  get numBatches(): number {
    return this.currentPlan().length;
  }

  /** The next batch, or null at the end of the epoch (which also moves to the next epoch). */
  next(): number[] | null {
    const plan = this.currentPlan();
    if (this.index >= plan.length) {
      this.epoch++;
      this.index = 0;
      this.plan = null;
      return null;
    }
    return plan[this.index++]!.slice();
  }

  *[Symbol.iterator](): Iterator<number[]> {
    for (let batch = this.next(); batch !== null; batch = this.next()) yield batch;
  }

  /**
   * Where the sampler stands: `index` batches of `epoch` are done. After the
   * last batch of an epoch and before the null that ends it, index equals the
   * epoch's batch count, so a restored sampler also returns that null first.
   */
  state(): SamplerState {
    return { epoch: this.epoch, index: this.index, seed: this.seed };
  }

  /** Continue exactly where `state()` stood (the seed comes from the state). */
  restore(state: SamplerState): void {
    const s = checkState('TokenBudgetSampler.restore', 'state', state);
    const plan = planBatches(this.ids, this.srcLen, this.tgtLen, this.budget, this.poolSize, s.seed, s.epoch, 0);
    if (s.index > plan.length) throw rangeError('TokenBudgetSampler.restore', 'state.index', `at most the ${plan.length} batches of epoch ${s.epoch}`, String(s.index));
    this.seed = s.seed;
    this.epoch = s.epoch;
    this.index = s.index;
    this.plan = plan;
  }

  /** Padding efficiency of an epoch's batches (default: the current epoch). */
  stats(epoch: number = this.epoch): PaddingStats {
    return paddingStats(this.epochBatches(epoch).map((b) => b.map((i) => ({ src: this.srcLen[i]!, tgt: this.tgtLen[i]! }))));
  }
}

/** Real and padded token counts of batches given as lists of example lengths. */
export function paddingStats(batches: readonly (readonly ExampleLength[])[]): PaddingStats {
  const fn = 'paddingStats';
  if (!Array.isArray(batches)) throw typeError(fn, 'batches', 'an array of batches (arrays of lengths)', describeValue(batches));
  let examples = 0, srcTokens = 0, srcPadded = 0, tgtTokens = 0, tgtPadded = 0;
  batches.forEach((batch, b) => {
    if (!Array.isArray(batch)) throw typeError(fn, `batches[${b}]`, 'an array of lengths', describeValue(batch));
    if (batch.length === 0) throw rangeError(fn, `batches[${b}]`, 'a non-empty batch', 'array(0)');
    let maxS = 0, maxT = 0;
    batch.forEach((len, i) => {
      const [s, t] = checkLength(fn, `batches[${b}][${i}]`, len);
      srcTokens += s;
      tgtTokens += t;
      maxS = Math.max(maxS, s);
      maxT = Math.max(maxT, t);
    });
    examples += batch.length;
    srcPadded += maxS * batch.length;
    tgtPadded += maxT * batch.length;
  });
  const padded = srcPadded + tgtPadded;
  return { batches: batches.length, examples, srcTokens, srcPadded, tgtTokens, tgtPadded, efficiency: padded === 0 ? 1 : (srcTokens + tgtTokens) / padded };
}
