// The step function every search runs on, and its model-backed implementations.
//
// A search keeps R rows (hypotheses) in lockstep: every row's prefix has the same length.
// step(prefixes, info) returns the next-token logits of every row, [R * V] row-major.
// info.parents[i] is the row of the previous call that row i extends (beam reordering,
// finished rows dropped), info.sentences[i] the source sentence (batch entry) of row i.
// A model-backed step keeps a KV cache: it reorders it by parents, feeds only the
// tokens after the cached positions (the whole prompt / BOS on the first call, then one
// token), and appends the new keys/values. Searches can be tested with any function of
// the same shape (a mock ignores info).
import { noGrad } from '../autograd/tape.js';
import type { AttentionKV } from '../nn/attention.js';
import { withEvalSemantics } from '../nn/module.js';
import type { GPT } from '../nn/gpt.js';
import type { Seq2SeqTransformer } from '../nn/seq2seq.js';
import { narrow } from '../ops/layout.js';
import { logSoftmax } from '../ops/softmax.js';
import { topk } from '../ops/topk.js';
import { tensor } from '../tensor/create.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { CrossCache, indexSelect, KVCache } from './kv-cache.js';

export interface StepInfo {
  /** Row of the previous call each row extends; null on the first call. */
  parents: Int32Array | null;
  /** Batch entry (sentence / prompt) of each row. */
  sentences: Int32Array;
}

/** Next-token logits (or log-probabilities) for every row: [R * V], row-major. */
export type StepFunction = (prefixes: readonly Int32Array[], info: StepInfo) => ArrayLike<number>;

export interface Stepper {
  readonly vocabSize: number;
  readonly step: StepFunction;
  /** The same step, returning only each row's k best candidates. */
  readonly topStep: TopStepFunction;
  /** Free the caches. */
  dispose(): void;
}

/** The new tokens of every row (after the cached ones) as int32 [R, T]. */
function newTokens(prefixes: readonly Int32Array[], start: number, device: string): { ids: Tensor; T: number } {
  const t = prefixes[0]!.length;
  const T = t - start;
  if (T < 1 || prefixes.some((p) => p.length !== t)) throw new RangeError(`toroid.decode.step: prefixes must all have length ${t} > cached ${start}`);
  const data = new Int32Array(prefixes.length * T);
  prefixes.forEach((p, r) => data.set(p.subarray(start), r * T));
  return { ids: tensor(data, { shape: [prefixes.length, T], dtype: 'int32', backend: device }), T };
}

/**
 * One cached step: run `forward` on the tokens the cache has not seen (from position
 * `start`), append their keys/values, and return the last position's logits (kept: the
 * caller disposes them).
 */
function cachedForward(cache: KVCache, prefixes: readonly Int32Array[], device: string,
  forward: (ids: Tensor, start: number) => { logits: Tensor; kv: readonly AttentionKV[] }): Tensor {
  const start = cache.length;
  const r = tidy(() => {
    const { ids, T } = newTokens(prefixes, start, device);
    const out = forward(ids, start);
    return { logits: T > 1 ? narrow(out.logits, 1, T - 1, 1) : out.logits, kv: out.kv, T };
  });
  cache.update(r.kv, r.T);
  return r.logits;
}

/** cachedForward with the last position's logits on the host. */
function cachedStep(cache: KVCache, prefixes: readonly Int32Array[], device: string,
  forward: (ids: Tensor, start: number) => { logits: Tensor; kv: readonly AttentionKV[] }): Float32Array | Float64Array {
  const last = cachedForward(cache, prefixes, device, forward);
  try {
    return last.dtype === 'float64' ? last.toTypedArray() as Float64Array : last.toFloat32Array();
  } finally {
    last.dispose();
  }
}

/** Each row's k most probable next tokens: log-probabilities (or logits) best first, and ids, [R * k] row-major. */
export interface TopCandidates { values: Float32Array; indices: Int32Array }
/** `logits`: the values are the logits themselves (greedy's argmax needs no log-softmax). */
export type TopStepFunction = (prefixes: readonly Int32Array[], info: StepInfo, k: number, logits?: boolean) => TopCandidates;

/**
 * cachedForward, then log-softmax (unless `logits`) and topk on the backend: R x k candidates
 * cross to the host, not R x V (a beam over R rows would otherwise spend R x V Math.exp calls
 * a step in JavaScript).
 */
function cachedTopStep(cache: KVCache, prefixes: readonly Int32Array[], device: string,
  forward: (ids: Tensor, start: number) => { logits: Tensor; kv: readonly AttentionKV[] }, k: number, logits: boolean): TopCandidates {
  const last = cachedForward(cache, prefixes, device, forward);
  try {
    return tidy(() => {
      const top = topk(logits ? last : logSoftmax(last, -1), k);
      return { values: top.values.toFloat32Array(), indices: top.indices.toTypedArray() as Int32Array };
    });
  } finally {
    last.dispose();
  }
}

/**
 * A cached step over a Seq2SeqTransformer: encodes src once (memory, then every layer's
 * cross-attention keys/values) and decodes incrementally. src int32 [B,S]; mask bool [B,S]
 * (true = padding) or null for src == pad. Runs in eval semantics (no dropout) whatever the
 * model's mode, and never changes it (withEvalSemantics).
 */
export function seq2seqStepper(model: Seq2SeqTransformer, src: Tensor, srcKeyPaddingMask: Tensor | null): Stepper {
  const cache = new KVCache(model.config.numDecoderLayers);
  const device = model.generator.weight.device;
  const cross = noGrad(() => withEvalSemantics(() => {
    const built = tidy(() => {
      const B = src.shape[0]!;
      // the cache owns its mask: a caller's mask is copied
      const mask = srcKeyPaddingMask === null ? model.sourcePaddingMask(src) : indexSelect(srcKeyPaddingMask, Array.from({ length: B }, (_, i) => i));
      const memory = model.encode(src, mask);
      return { kv: model.crossKeyValues(memory), mask };
    });
    return new CrossCache(built.kv, built.mask);
  }));
  const prepare = (info: StepInfo): void => {
    if (info.parents !== null) cache.reorder(info.parents);
    cross.select(info.sentences);
  };
  const decode = (ids: Tensor, start: number): { logits: Tensor; kv: readonly AttentionKV[] } => {
    const out = model.decodeCached(ids, { offset: start, self: cache.layers, cross: cross.layers, memoryKeyPaddingMask: cross.mask });
    return { logits: out.logits, kv: out.self };
  };
  return {
    vocabSize: model.config.tgtVocab,
    step(prefixes, info) {
      return noGrad(() => withEvalSemantics(() => {
        prepare(info);
        return cachedStep(cache, prefixes, device, decode);
      }));
    },
    topStep(prefixes, info, k, logits = false) {
      return noGrad(() => withEvalSemantics(() => {
        prepare(info);
        return cachedTopStep(cache, prefixes, device, decode, k, logits);
      }));
    },
    dispose() {
      cache.dispose();
      cross.dispose();
    },
  };
}

/** A cached step over a GPT (no cross-attention; info.sentences is not used), in eval semantics. */
export function gptStepper(model: GPT): Stepper {
  const cache = new KVCache(model.config.nLayer);
  const device = model.lmHead.weight.device;
  const forward = (ids: Tensor, start: number): { logits: Tensor; kv: readonly AttentionKV[] } =>
    model.forwardCached(ids, { past: cache.layers as (AttentionKV | null)[], offset: start });
  return {
    vocabSize: model.config.vocabSize,
    step(prefixes, info) {
      return noGrad(() => withEvalSemantics(() => {
        if (info.parents !== null) cache.reorder(info.parents);
        return cachedStep(cache, prefixes, device, forward);
      }));
    },
    topStep(prefixes, info, k, logits = false) {
      return noGrad(() => withEvalSemantics(() => {
        if (info.parents !== null) cache.reorder(info.parents);
        return cachedTopStep(cache, prefixes, device, forward, k, logits);
      }));
    },
    dispose() {
      cache.dispose();
    },
  };
}
