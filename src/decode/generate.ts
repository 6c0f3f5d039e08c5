// The non-blocking API: generate (GPT and Seq2Seq; greedy or sampled), generateBeam
// (Seq2Seq) and streamGenerate (an async iterator of tokens, batch size 1), plus
// generateSync. Each step runs synchronously (one cached forward); between steps the
// functions yield to the event loop (setImmediate), so timers and I/O keep running, and
// check options.signal: an abort stops the search and returns what exists (tokens so
// far; for beam search the best hypotheses so far, finished: false for live ones).
// Decoding runs in eval semantics (no dropout) without changing the model's mode, so calls
// may overlap each other and training steps of the same model (step.ts, withEvalSemantics).
import { noGrad } from '../autograd/tape.js';
import { rangeError } from '../errors.js';
import { GPT } from '../nn/gpt.js';
import type { Seq2SeqTransformer } from '../nn/seq2seq.js';
import type { Tensor } from '../tensor/tensor.js';
import { seq2seqBeamRun, BEAM_KEYS, type BeamHypothesis, type BeamSearchOptions } from './beam.js';
import { checkOneOf, checkOptions, checkPositiveInt, checkSignal } from '../validate/checks.js';
import { checkModel, checkTokenId, idsTensor, yieldToEventLoop } from './common.js';
import { argmax, firstCandidate, resolveSeq2Seq, SEQ2SEQ_KEYS, TokenRun, type CandidatePicker, type Seq2SeqDecodeOptions, type TokenPicker } from './greedy.js';
import { applyRepetitionPenalty, resolveSampling, SAMPLING_KEYS, samplingCandidatePicker, samplingPicker, type SamplingOptions } from './sampling.js';
import { gptStepper, seq2seqStepper, type Stepper } from './step.js';

/** Token ids: an int32 tensor [B,T], one sequence (array or Int32Array), or a list of them. */
export type TokenInput = Tensor | ArrayLike<number> | readonly ArrayLike<number>[];

export interface GenerateOptions extends SamplingOptions, Seq2SeqDecodeOptions {
  /** 'greedy' (default) or 'sample' (temperature, topK, topP, seed apply). */
  strategy?: 'greedy' | 'sample';
  /** GPT: tokens to generate after the prompt (required for GPT; Seq2Seq uses maxLen). */
  maxNewTokens?: number;
  /** Stop the search and resolve with what exists. */
  signal?: AbortSignal;
}

export interface GenerateBeamOptions extends BeamSearchOptions {
  signal?: AbortSignal;
}

const GPT_KEYS = ['strategy', 'maxNewTokens', 'eos', 'signal', ...SAMPLING_KEYS] as const;
const S2S_KEYS = ['strategy', 'signal', ...SEQ2SEQ_KEYS, ...SAMPLING_KEYS] as const;
const SAMPLE_ONLY = ['temperature', 'topK', 'topP', 'seed'] as const;

interface Prepared {
  signal: AbortSignal | null;
  /** Allocate the caches (encode the source), enter eval mode, and build the run. */
  start(): { run: TokenRun; dispose(): void };
  /** Free what prepare allocated when start() is never called. */
  release(): void;
}

/**
 * Where the token can be chosen from a few candidates taken on the backend (a stepper's
 * topStep): plain greedy (1), and top-k sampling without a repetition penalty (k), which
 * reorders logits before the top k are known. Else undefined: the full row.
 */
function candidates(fn: string, opts: Record<string, unknown>): { count: number; pick: CandidatePicker } | undefined {
  const strategy = opts.strategy ?? 'greedy';
  const s = resolveSampling(fn, opts);
  if (s.repetitionPenalty !== 1) return undefined;
  if (strategy === 'greedy') return { count: 1, pick: firstCandidate };
  return s.topK > 0 ? { count: s.topK, pick: samplingCandidatePicker(s) } : undefined;
}

function picker(fn: string, opts: Record<string, unknown>): TokenPicker {
  const strategy = opts.strategy === undefined ? 'greedy' : checkOneOf(fn, 'options.strategy', opts.strategy, ['greedy', 'sample']);
  const s = resolveSampling(fn, opts);
  if (strategy === 'sample') return samplingPicker(s);
  for (const key of SAMPLE_ONLY) {
    if (opts[key] !== undefined) throw rangeError(fn, `options.${key}`, "left out with strategy 'greedy' (it applies to strategy 'sample')", String(opts[key]));
  }
  return s.repetitionPenalty === 1 ? (logits) => argmax(logits) : (logits, generated) => argmax(applyRepetitionPenalty(logits, generated, s.repetitionPenalty));
}

function prepare(fn: string, model: unknown, input: unknown, options: unknown): Prepared {
  const m = checkModel(fn, model);
  if (m instanceof GPT) {
    const opts = checkOptions(fn, options, GPT_KEYS);
    const c = m.config;
    const maxNew = checkPositiveInt(fn, 'options.maxNewTokens', opts.maxNewTokens);
    const eos = opts.eos === undefined ? null : checkTokenId(fn, 'options.eos', opts.eos, null, c.vocabSize);
    const signal = opts.signal == null ? null : checkSignal(fn, 'options.signal', opts.signal);
    const pick = picker(fn, opts);
    const { ids, rows, owned } = idsTensor(fn, 'prompt', input, c.vocabSize, m.lmHead.weight.device, null);
    if (owned) ids.dispose();
    const T = rows[0]!.length;
    if (T + maxNew - 1 > c.blockSize) {
      throw rangeError(fn, 'options.maxNewTokens', `at most blockSize - promptLength + 1 = ${c.blockSize - T + 1} (blockSize=${c.blockSize}, prompt of ${T})`, String(maxNew));
    }
    return {
      signal,
      start() {
        const stepper = gptStepper(m);
        const top = candidates(fn, opts);
        const run = new TokenRun(stepper.step, { prefixes: rows, vocabSize: c.vocabSize, maxSteps: maxNew, eos, banned: [], pick, ...(top === undefined ? {} : { top: { step: stepper.topStep, ...top } }) });
        return { run, dispose: () => stepper.dispose() };
      },
      release() {},
    };
  }
  const opts = checkOptions(fn, options, S2S_KEYS);
  const signal = opts.signal == null ? null : checkSignal(fn, 'options.signal', opts.signal);
  const pick = picker(fn, opts);
  const r = resolveSeq2Seq(fn, m, input, opts);
  const top = candidates(fn, opts);
  return {
    signal,
    start() {
      let stepper: Stepper;
      try {
        stepper = noGrad(() => seq2seqStepper(m, r.src, r.mask));
      } catch (err) {
        if (r.ownsSrc) r.src.dispose();
        throw err;
      }
      const run = new TokenRun(stepper.step, {
        prefixes: Array.from({ length: r.B }, () => [r.bos]), vocabSize: stepper.vocabSize, maxSteps: r.maxLen,
        eos: r.eos, banned: r.banned, pick, ...(top === undefined ? {} : { top: { step: stepper.topStep, ...top } }),
      });
      return {
        run,
        dispose: () => {
          stepper.dispose();
          if (r.ownsSrc) r.src.dispose();
        },
      };
    },
    release() {
      if (r.ownsSrc) r.src.dispose();
    },
  };
}

async function drive(run: { stepOnce(): boolean }, signal: AbortSignal | null): Promise<void> {
  for (;;) {
    await yieldToEventLoop();
    if (signal?.aborted) return;
    if (run.stepOnce()) return;
  }
}

/**
 * Generate without blocking the event loop. GPT: input is the prompt (equal-length rows),
 * resolves with the new tokens of each row (prompt excluded; stops at options.eos, which is
 * not included, or after maxNewTokens). Seq2SeqTransformer: input is the source, resolves
 * like greedyDecode / sampleDecode. options.strategy picks greedy (default) or sampling.
 */
export async function generate(model: GPT | Seq2SeqTransformer, input: TokenInput, options?: GenerateOptions): Promise<Int32Array[]> {
  const p = prepare('decode.generate', model, input, options);
  const { run, dispose } = p.start();
  try {
    await drive(run, p.signal);
    return run.results();
  } finally {
    dispose();
  }
}

/** generate() run synchronously (blocks until done; options.signal is not accepted). */
export function generateSync(model: GPT | Seq2SeqTransformer, input: TokenInput, options?: Omit<GenerateOptions, 'signal'>): Int32Array[] {
  const fn = 'decode.generateSync';
  if (options !== null && typeof options === 'object' && 'signal' in options) throw rangeError(fn, 'options', 'an object without signal (use generate for an abortable search)', 'signal');
  const p = prepare(fn, model, input, options);
  const { run, dispose } = p.start();
  try {
    while (!run.stepOnce());
    return run.results();
  } finally {
    dispose();
  }
}

/** beamSearch without blocking the event loop; an abort resolves with the best hypotheses so far. */
export async function generateBeam(model: Seq2SeqTransformer, src: TokenInput, options?: GenerateBeamOptions): Promise<BeamHypothesis[][]> {
  const fn = 'decode.generateBeam';
  const opts = checkOptions(fn, options, [...BEAM_KEYS, 'signal']);
  const signal = opts.signal == null ? null : checkSignal(fn, 'options.signal', opts.signal);
  const { run, dispose } = seq2seqBeamRun(model, fn, src, options);
  try {
    await drive(run, signal);
    return run.results();
  } finally {
    dispose();
  }
}

/**
 * The tokens of one sequence as they are produced (batch size 1): GPT continues the prompt,
 * Seq2Seq decodes the source (greedy or sampled, as generate). EOS ends the stream and is not
 * yielded. Arguments are checked when called; the work starts at the first next(), and
 * breaking out of the loop (or options.signal) stops it and frees the caches.
 */
export function streamGenerate(model: GPT | Seq2SeqTransformer, input: TokenInput, options?: GenerateOptions): AsyncGenerator<number, void, undefined> {
  const fn = 'decode.streamGenerate';
  const p = prepare(fn, model, input, options);
  let B: number;
  try {
    B = batchOf(input);
  } catch (err) {
    p.release();
    throw err;
  }
  if (B !== 1) {
    p.release();
    throw rangeError(fn, 'input', 'one sequence (batch size 1)', `${B} sequences`);
  }
  return (async function* stream() {
    const { run, dispose } = p.start();
    try {
      for (;;) {
        await yieldToEventLoop();
        if (p.signal?.aborted) return;
        const done = run.stepOnce();
        for (const [, token] of run.emitted) yield token;
        if (done) return;
      }
    } finally {
      dispose();
    }
  })();
}

function batchOf(input: unknown): number {
  if (input !== null && typeof input === 'object' && 'shape' in input && Array.isArray((input as Tensor).shape)) return (input as Tensor).shape[0]!;
  if (input instanceof Int32Array) return 1;
  if (Array.isArray(input)) return input.every((v) => typeof v === 'number') ? 1 : input.length;
  return 1;
}
