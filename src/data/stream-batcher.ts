// Bucketed token-budget batching over a stream: read a window of `window`
// examples, sort it by length, cut it into batches under the token budget,
// shuffle those batches (seeded by seed, epoch and the window's number), yield
// them, drop the window, read the next. Memory is bounded by the window (plus
// the source's own buffer). Shuffling is local to a window: a bigger window
// mixes more and pads less.
//
// Resume: `state()` is { epoch, window, index, seed, position }, where position
// is the source's `position` (e.g. a ParallelTextReader's byte offsets) at the
// start of the current window. Reopen the source there and pass the state:
//   streamBatches(parallelText(a, b, { start: s.position }), { ...options, resume: s })
// re-reads that window, rebuilds the same batches and skips the `index` already
// yielded, so the remaining batches are identical.
import { describeValue, rangeError, typeError } from '../errors.js';
import { checkLength, fitsAlone, parseBudget, planBatches, type BudgetOptions, type ExampleLength, type ParsedBudget } from './batching.js';
import { checkFunction, checkInteger, checkOptions, checkSeed, isPlainObject } from '../validate/checks.js';

export interface StreamBatchOptions<T> extends BudgetOptions {
  /** Examples read, sorted and batched together. Bounds memory. */
  window: number;
  /** An example's length(s), as the batch tensors will have them (count BOS/EOS). */
  lengthOf: (example: T) => ExampleLength;
  /** Seed of the shuffles (required unless resume gives it). */
  seed?: number;
  /** Epoch number, mixed into the shuffles so each pass differs (default 0). */
  epoch?: number;
  /** A saved state(); the source must be reopened at state.position. */
  resume?: StreamState;
}

/** JSON-serializable position of a StreamBatcher. */
export interface StreamState {
  epoch: number;
  /** Windows finished before the current one. */
  window: number;
  /** Batches of the current window already yielded. */
  index: number;
  seed: number;
  /** The source's position at the start of the current window (null if the source has none). */
  position: unknown;
}

/** An async iterable that may report a resumable position (LineReader, ParallelTextReader, LMTextReader do). */
export type PositionedSource<T> = AsyncIterable<T> & { readonly position?: unknown };

export class StreamBatcher<T> implements AsyncIterable<T[]> {
  private readonly windowSize: number;
  private readonly budget: ParsedBudget;
  private readonly seed: number;
  private readonly epoch: number;
  private window: number;
  private index: number;
  private windowBatches = -1;
  private windowPosition: unknown = null;
  private held = 0;
  private heldMax = 0;
  private skippedCount = 0;
  private used = false;

  /** @internal use streamBatches() */
  constructor(
    private readonly source: PositionedSource<T>,
    private readonly lengthOf: (example: T) => ExampleLength,
    options: { windowSize: number; budget: ParsedBudget; seed: number; epoch: number; window: number; index: number },
  ) {
    this.windowSize = options.windowSize;
    this.budget = options.budget;
    this.seed = options.seed;
    this.epoch = options.epoch;
    this.window = options.window;
    this.index = options.index;
  }

  /** Most examples held at once so far; never more than the window. */
  get maxHeld(): number {
    return this.heldMax;
  }

  /** Examples left out for exceeding maxTokens alone (oversize: 'skip'). */
  get skipped(): number {
    return this.skippedCount;
  }

  private sourcePosition(): unknown {
    const p = this.source.position;
    return p === undefined ? null : JSON.parse(JSON.stringify(p)) as unknown;
  }

  /** Where the batcher stands; a finished window reads as the next one at index 0. */
  state(): StreamState {
    const base = { epoch: this.epoch, seed: this.seed };
    if (this.windowBatches >= 0 && this.index >= this.windowBatches) {
      return { ...base, window: this.window + 1, index: 0, position: this.sourcePosition() };
    }
    if (this.windowBatches < 0) return { ...base, window: this.window, index: this.index, position: this.sourcePosition() };
    return { ...base, window: this.window, index: this.index, position: this.windowPosition };
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T[]> {
    const fn = 'streamBatches';
    if (this.used) throw new Error('toroid.streamBatches: a StreamBatcher can be iterated only once; resume a new one from state()');
    this.used = true;
    const it = this.source[Symbol.asyncIterator]();
    let skipFirst = this.index;
    let ended = false;
    try {
      while (!ended) {
        this.windowPosition = this.sourcePosition();
        this.windowBatches = -1;
        let examples: T[] = [];
        while (examples.length < this.windowSize) {
          const r = await it.next();
          if (r.done) {
            ended = true;
            break;
          }
          examples.push(r.value);
          this.held = examples.length;
          this.heldMax = Math.max(this.heldMax, this.held);
        }
        if (examples.length === 0) break;
        const n = examples.length;
        const srcLen = new Int32Array(n), tgtLen = new Int32Array(n);
        const ids: number[] = [];
        for (let i = 0; i < n; i++) {
          const what = `example ${this.window * this.windowSize + i} of the stream`;
          const [s, t] = checkLength(fn, `options.lengthOf(${what})`, this.lengthOf(examples[i]!));
          srcLen[i] = s;
          tgtLen[i] = t;
          if (fitsAlone(fn, what, s, t, this.budget)) ids.push(i);
          else this.skippedCount++;
        }
        const plan = planBatches(ids, srcLen, tgtLen, this.budget, n, this.seed, this.epoch, this.window);
        if (skipFirst > plan.length) {
          throw rangeError(fn, 'options.resume.index', `at most the ${plan.length} batches of window ${this.window}`, String(skipFirst));
        }
        this.windowBatches = plan.length;
        this.index = skipFirst;
        skipFirst = 0;
        while (this.index < plan.length) {
          const batch = plan[this.index]!.map((i) => examples[i]!);
          this.index++;
          yield batch;
        }
        examples = [];
        this.held = 0;
        if (!ended) {
          this.window++;
          this.index = 0;
          this.windowBatches = -1;
        }
      }
      // finished: read as "window after the last" at index 0
      if (this.windowBatches >= 0) {
        this.window++;
        this.index = 0;
        this.windowBatches = -1;
      }
    } finally {
      await it.return?.();
    }
  }
}

/**
 * Token-budget batches of examples from a stream, bucketed by length within a
 * window of `window` examples. See StreamBatcher for resume.
 */
export function streamBatches<T>(source: PositionedSource<T>, options: StreamBatchOptions<T>): StreamBatcher<T> {
  const fn = 'streamBatches';
  if (source === null || typeof source !== 'object' || typeof (source as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] !== 'function') {
    throw typeError(fn, 'source', 'an async iterable of examples', describeValue(source));
  }
  if (options === undefined) throw typeError(fn, 'options', 'an object with window, maxTokens, lengthOf and seed', 'undefined');
  const o = checkOptions(fn, options);
  if (o.window === undefined) throw typeError(fn, 'options.window', 'a number (examples per window)', 'undefined');
  const windowSize = checkInteger(fn, 'options.window', o.window, 1);
  const budget = parseBudget(fn, o);
  const lengthOf = checkFunction<(example: T) => ExampleLength>(fn, 'options.lengthOf', o.lengthOf);
  let seed: number, epoch: number, window = 0, index = 0;
  if (o.resume !== undefined) {
    const r = o.resume;
    if (!isPlainObject(r)) throw typeError(fn, 'options.resume', 'a state { epoch, window, index, seed, position }', describeValue(r));
    epoch = checkInteger(fn, 'options.resume.epoch', r.epoch, 0, 4294967295);
    window = checkInteger(fn, 'options.resume.window', r.window, 0, 2147483647);
    index = checkInteger(fn, 'options.resume.index', r.index, 0);
    seed = checkSeed(fn, 'options.resume.seed', r.seed);
    if (o.seed !== undefined && o.seed !== seed) throw rangeError(fn, 'options.seed', `the resumed state's seed ${seed} (or left out)`, describeValue(o.seed));
    const have = source.position;
    if (r.position !== undefined && r.position !== null && have !== undefined && JSON.stringify(have) !== JSON.stringify(r.position)) {
      throw rangeError(fn, 'source', `opened at options.resume.position ${JSON.stringify(r.position)}`, `a source at ${JSON.stringify(have)}`);
    }
  } else {
    seed = checkSeed(fn, 'options.seed', o.seed);
    epoch = checkInteger(fn, 'options.epoch', o.epoch, 0, 4294967295, 0);
  }
  return new StreamBatcher(source, lengthOf, { windowSize, budget, seed, epoch, window, index });
}
