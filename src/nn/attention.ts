// nn.MultiheadAttention, shaped like torch.nn.MultiheadAttention with batch_first=True.
//
// Parameters (PyTorch's state-dict names):
//   numKvHeads === numHeads (default): in_proj_weight [3E,E] (rows [Wq; Wk; Wv]),
//     in_proj_bias [3E], out_proj.weight [E,E], out_proj.bias [E] -- loads a
//     torch.nn.MultiheadAttention state dict as is.
//   numKvHeads < numHeads (GQA/MQA, no PyTorch equivalent), or packed: false: separate Linear children
//     q_proj [E,E], k_proj [hkv*d,E], v_proj [hkv*d,E] (d = E/numHeads) and out_proj
//     (the Hugging Face naming), query head i reading kv head floor(i / (numHeads/numKvHeads)).
//
// Inputs are batch-first only: query [B,Tq,E], key/value [B,Tk,E]. Masks follow
// PyTorch: bool true = MASKED (ignored); a float attnMask is added to the scores.
// The default path is the fused F.scaledDotProductAttention; needWeights: true
// computes softmax(q k^T * scale + mask) explicitly so the weights can be returned.
// A query row whose keys are all masked outputs zeros on both paths (PyTorch gives NaN).
// The masks never receive a gradient.
import { describeShape, describeValue, rangeError, typeError } from '../errors.js';
import { scaledDotProductAttention } from '../ops/attention.js';
import { dropout as dropoutOp } from '../ops/dropout.js';
import { add, mul, scale as scaleOp } from '../ops/elementwise.js';
import { narrow, reshape, split, transpose } from '../ops/layout.js';
import { linear, matmul } from '../ops/matmul.js';
import { mean } from '../ops/reduce.js';
import { softmax } from '../ops/softmax.js';
import { checkBoolean, checkOptions, checkPositiveInt, checkProbability, checkTensor } from '../validate/checks.js';
import { tensor } from '../tensor/create.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { xavierUniform_, zeros_ } from './init.js';
import { cachedLength } from './kv-buffer.js';
import { Linear } from './linear.js';
import { Module } from './module.js';
import { factoryOptions, makeParameter, type FactoryOptions } from './parameter.js';

export interface MultiheadAttentionOptions extends FactoryOptions {
  /** Biases on the input and output projections (default true). */
  bias?: boolean;
  /** Number of key/value heads (GQA/MQA); must divide numHeads. Default numHeads. */
  numKvHeads?: number;
  /** Dropout on the attention weights while training (default 0). */
  dropout?: number;
  /** Only true is supported (inputs are [B,T,E]); accepted for PyTorch familiarity. */
  batchFirst?: boolean;
  /**
   * Use the packed in_proj_weight (PyTorch's layout). Default: true when numKvHeads ===
   * numHeads; false gives separate q_proj/k_proj/v_proj Linears (Hugging Face-style
   * names) for full multi-head attention too. Must be false (or left out) for GQA/MQA.
   */
  packed?: boolean;
}

export interface MultiheadAttentionForwardOptions {
  /** [B,Tk] bool, true = padded key (ignored). */
  keyPaddingMask?: Tensor | null;
  /**
   * bool (true = masked) or float (added to the scores, the dtype of the input):
   * [Tq,Tk], [1|B, 1|h, Tq, Tk], or PyTorch's 3-D [B*h, Tq, Tk].
   */
  attnMask?: Tensor | null;
  /**
   * Apply a causal mask (key j visible to query i iff j <= i; 'bottom-right' aligns the
   * last query with the last key, for KV caches). Combined with attnMask when both are given.
   */
  isCausal?: boolean | 'top-left' | 'bottom-right';
  /** Return the attention weights (slow explicit path). Default false. */
  needWeights?: boolean;
  /** With needWeights: average the weights over heads ([B,Tq,Tk], default) or not ([B,h,Tq,Tk]). */
  averageAttnWeights?: boolean;
}

/**
 * Keys and values already projected and split into heads, k and v [B,hkv,T,d] each:
 * what a KV cache holds (see projectKeyValue / attendKeyValue).
 */
export interface AttentionKV {
  k: Tensor;
  v: Tensor;
  /**
   * Positions held: the first `length` of k and v's dim 2 (a buffer with room for more, see
   * nn/kv-buffer.ts). Undefined: all of them.
   */
  length?: number;
}

/** Options of MultiheadAttention.attendKeyValue. */
export interface AttendKeyValueOptions {
  /** [B,Tk] bool, true = padded key (ignored). */
  keyPaddingMask?: Tensor | null;
  /** Causal mask; with a KV cache use 'bottom-right' (query i sees keys j <= i + Tk - Tq). Default false. */
  isCausal?: boolean | 'top-left' | 'bottom-right';
}

export interface MultiheadAttentionOutput {
  /** [B,Tq,E] */
  output: Tensor;
  /** [B,Tq,Tk] (averaged over heads) or [B,h,Tq,Tk]; null unless needWeights. Post-dropout, as PyTorch. */
  weights: Tensor | null;
}

export class MultiheadAttention extends Module {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly dropout: number;
  readonly batchFirst = true;
  /** True when the packed in_proj_weight is used (default when numKvHeads === numHeads). */
  readonly packed: boolean;
  readonly outProj: Linear;
  /** GQA/MQA only (null when packed). */
  readonly qProj: Linear | null;
  readonly kProj: Linear | null;
  readonly vProj: Linear | null;

  /** [3E,E] rows [Wq; Wk; Wv], or null for GQA/MQA (the registered 'in_proj_weight'). */
  get inProjWeight(): Tensor | null {
    return this.ownParameter('in_proj_weight');
  }

  /** [3E], or null without bias or for GQA/MQA (the registered 'in_proj_bias'). */
  get inProjBias(): Tensor | null {
    return this.ownParameter('in_proj_bias');
  }

  /**
   * PyTorch's init: in_proj_weight ~ xavier_uniform_, in_proj_bias = 0, out_proj.weight
   * keeps Linear's default, out_proj.bias = 0 (drawn in PyTorch's order: out_proj first).
   * GQA/MQA: each of q/k/v_proj.weight ~ xavier_uniform_, their biases 0.
   */
  constructor(embedDim: number, numHeads: number, options?: MultiheadAttentionOptions) {
    super();
    const fn = 'MultiheadAttention';
    this.embedDim = checkPositiveInt(fn, 'embedDim', embedDim);
    this.numHeads = checkPositiveInt(fn, 'numHeads', numHeads);
    if (embedDim % numHeads !== 0) throw rangeError(fn, 'embedDim', `divisible by numHeads=${numHeads}`, String(embedDim));
    const { opts, factory } = factoryOptions(fn, options, ['bias', 'numKvHeads', 'dropout', 'batchFirst', 'packed']);
    const bias = checkBoolean(fn, 'options.bias', opts.bias, true);
    const numKvHeads = opts.numKvHeads === undefined ? numHeads : checkPositiveInt(fn, 'options.numKvHeads', opts.numKvHeads);
    if (numHeads % numKvHeads !== 0) throw rangeError(fn, 'options.numKvHeads', `a positive integer dividing numHeads=${numHeads}`, String(numKvHeads));
    this.numKvHeads = numKvHeads;
    this.dropout = checkProbability(fn, 'options.dropout', opts.dropout, 0);
    if (opts.batchFirst !== undefined && opts.batchFirst !== true) {
      throw typeError(fn, 'options.batchFirst', 'true (only batch-first [B,T,E] inputs are supported)', describeValue(opts.batchFirst));
    }
    this.headDim = embedDim / numHeads;
    this.packed = checkBoolean(fn, 'options.packed', opts.packed, numKvHeads === numHeads);
    if (this.packed && numKvHeads !== numHeads) {
      throw typeError(fn, 'options.packed', `false or left out with numKvHeads=${numKvHeads} < numHeads=${numHeads} (GQA/MQA needs separate projections)`, 'true');
    }
    const E = embedDim;
    if (this.packed) {
      const w = this.registerParameter('in_proj_weight', makeParameter(new Float64Array(3 * E * E), [3 * E, E], factory));
      const b = this.registerParameter('in_proj_bias', bias ? makeParameter(new Float64Array(3 * E), [3 * E], factory) : null);
      this.outProj = this.registerModule('out_proj', new Linear(E, E, { bias, ...factory }));
      xavierUniform_(w);
      if (b !== null) zeros_(b);
      this.qProj = this.kProj = this.vProj = null;
    } else {
      const kv = numKvHeads * this.headDim;
      this.qProj = this.registerModule('q_proj', new Linear(E, E, { bias, ...factory }));
      this.kProj = this.registerModule('k_proj', new Linear(E, kv, { bias, ...factory }));
      this.vProj = this.registerModule('v_proj', new Linear(E, kv, { bias, ...factory }));
      this.outProj = this.registerModule('out_proj', new Linear(E, E, { bias, ...factory }));
      for (const p of [this.qProj, this.kProj, this.vProj]) {
        xavierUniform_(p.weight);
        if (p.bias !== null) zeros_(p.bias);
      }
    }
    if (this.outProj.bias !== null) zeros_(this.outProj.bias);
  }

  /**
   * query [B,Tq,E], key [B,Tk,E], value [B,Tk,E] -> { output [B,Tq,E], weights }.
   * Self-attention: pass the same tensor three times (one packed projection is used).
   */
  forward(query: Tensor, key: Tensor, value: Tensor, options?: MultiheadAttentionForwardOptions): MultiheadAttentionOutput {
    const fn = 'MultiheadAttention.forward';
    const opts = checkOptions(fn, options, ['keyPaddingMask', 'attnMask', 'isCausal', 'needWeights', 'averageAttnWeights']) as MultiheadAttentionForwardOptions;
    const E = this.embedDim, h = this.numHeads, hkv = this.numKvHeads, d = this.headDim;
    checkTensor(fn, 'query', query);
    if (query.rank !== 3 || query.shape[2] !== E) throw rangeError(fn, 'query', `${query.dtype} [B,Tq,E] with E=${E} (batch first)`, `${query.dtype} ${describeShape(query.shape)}`);
    const [B, Tq] = query.shape as [number, number, number];
    checkTensor(fn, 'key', key);
    if (key.rank !== 3 || key.shape[0] !== B || key.shape[2] !== E) throw rangeError(fn, 'key', `${key.dtype} [B,Tk,E] with B=${B}, E=${E}`, `${key.dtype} ${describeShape(key.shape)}`);
    const Tk = key.shape[1]!;
    checkTensor(fn, 'value', value);
    if (value.rank !== 3 || value.shape[0] !== B || value.shape[1] !== Tk || value.shape[2] !== E) {
      throw rangeError(fn, 'value', `${value.dtype} [B,Tk,E] with B=${B}, Tk=${Tk}, E=${E} like key`, `${value.dtype} ${describeShape(value.shape)}`);
    }
    for (const [name, t] of [['key', key], ['value', value]] as const) {
      if (t.dtype !== query.dtype) throw typeError(fn, name, `${query.dtype} like query`, t.dtype);
      if (t.device !== query.device) throw typeError(fn, name, `on backend '${query.device}' like query`, `'${t.device}'`);
    }
    const needWeights = checkBoolean(fn, 'options.needWeights', opts.needWeights, false);
    const average = checkBoolean(fn, 'options.averageAttnWeights', opts.averageAttnWeights, true);
    const isCausal = opts.isCausal ?? false;
    if (isCausal !== true && isCausal !== false && isCausal !== 'top-left' && isCausal !== 'bottom-right') {
      throw typeError(fn, 'options.isCausal', "a boolean, 'top-left' or 'bottom-right'", describeValue(isCausal));
    }
    let keyPadding: Tensor | null = null;
    if (opts.keyPaddingMask != null) {
      keyPadding = checkTensor(fn, 'options.keyPaddingMask', opts.keyPaddingMask, ['bool']);
      if (keyPadding.rank !== 2 || keyPadding.shape[0] !== B || keyPadding.shape[1] !== Tk) {
        throw rangeError(fn, 'options.keyPaddingMask', `bool [B,Tk] with B=${B}, Tk=${Tk}`, `bool ${describeShape(keyPadding.shape)}`);
      }
      if (keyPadding.device !== query.device) throw typeError(fn, 'options.keyPaddingMask', `on backend '${query.device}' like query`, `'${keyPadding.device}'`);
    }
    let attnMask: Tensor | null = null;
    if (opts.attnMask != null) {
      attnMask = checkTensor(fn, 'options.attnMask', opts.attnMask, ['bool', query.dtype]);
      const m = attnMask;
      const ok = m.rank === 2
        ? m.shape[0] === Tq && m.shape[1] === Tk
        : m.rank === 3
          ? m.shape[0] === B * h && m.shape[1] === Tq && m.shape[2] === Tk
          : m.rank === 4 && (m.shape[0] === 1 || m.shape[0] === B) && (m.shape[1] === 1 || m.shape[1] === h) && m.shape[2] === Tq && m.shape[3] === Tk;
      if (!ok) {
        throw rangeError(fn, 'options.attnMask', `bool or ${query.dtype} [Tq,Tk], [1|B,1|h,Tq,Tk] or [B*h,Tq,Tk] with B=${B}, h=${h}, Tq=${Tq}, Tk=${Tk}`, `${m.dtype} ${describeShape(m.shape)}`);
      }
      if (m.device !== query.device) throw typeError(fn, 'options.attnMask', `on backend '${query.device}' like query`, `'${m.device}'`);
    }

    return tidy(() => {
      const { q, k, v } = this.project(query, key, value);
      // [B,T,n*d] -> [B,n,T,d]
      const qh = transpose(reshape(q, [B, Tq, h, d]), 1, 2);
      const kh = transpose(reshape(k, [B, Tk, hkv, d]), 1, 2);
      const vh = transpose(reshape(v, [B, Tk, hkv, d]), 1, 2);
      const mask = attnMask !== null && attnMask.rank === 3 ? reshape(attnMask, [B, h, Tq, Tk]) : attnMask;
      const p = this.training ? this.dropout : 0;
      let y: Tensor;
      let weights: Tensor | null = null;
      if (!needWeights) {
        y = scaledDotProductAttention(qh, kh, vh, { attnMask: mask, keyPaddingMask: keyPadding, isCausal, dropoutP: p });
      } else {
        const r = explicitAttention(qh, kh, vh, mask, keyPadding, isCausal, p);
        y = r.y;
        weights = average ? mean(r.weights, 1) : r.weights;
      }
      const merged = reshape(transpose(y, 1, 2), [B, Tq, E]);
      return { output: this.outProj.forward(merged), weights };
    });
  }

  /**
   * Incremental decoding, part 1: key [B,T,E] (and value, default key) -> { k, v } [B,hkv,T,d],
   * the key/value projections forward() computes, split into heads. Cross-attention runs it
   * once per source (memory); cached self-attention runs it on the new positions only and
   * appends the result to the cache (nn/kv-buffer.ts appendKeyValues).
   */
  projectKeyValue(key: Tensor, value: Tensor = key): AttentionKV {
    const fn = 'MultiheadAttention.projectKeyValue';
    const E = this.embedDim, hkv = this.numKvHeads, d = this.headDim;
    checkTensor(fn, 'key', key);
    if (key.rank !== 3 || key.shape[2] !== E) throw rangeError(fn, 'key', `${key.dtype} [B,T,E] with E=${E}`, `${key.dtype} ${describeShape(key.shape)}`);
    checkTensor(fn, 'value', value);
    if (value.rank !== 3 || value.shape[0] !== key.shape[0] || value.shape[1] !== key.shape[1] || value.shape[2] !== E) {
      throw rangeError(fn, 'value', `${value.dtype} ${describeShape(key.shape)} like key`, `${value.dtype} ${describeShape(value.shape)}`);
    }
    const [B, T] = key.shape as [number, number, number];
    return tidy(() => {
      let k: Tensor, v: Tensor;
      if (!this.packed) {
        k = this.kProj!.forward(key);
        v = this.vProj!.forward(value);
      } else {
        const w = this.inProjWeight!, b = this.inProjBias;
        if (key === value) {
          [k, v] = split(linear(key, narrow(w, 0, E, 2 * E), b === null ? null : narrow(b, 0, E, 2 * E)), E, -1) as [Tensor, Tensor];
        } else {
          k = linear(key, narrow(w, 0, E, E), b === null ? null : narrow(b, 0, E, E));
          v = linear(value, narrow(w, 0, 2 * E, E), b === null ? null : narrow(b, 0, 2 * E, E));
        }
      }
      return {
        k: transpose(reshape(k, [B, T, hkv, d]), 1, 2),
        v: transpose(reshape(v, [B, T, hkv, d]), 1, 2),
      };
    });
  }

  /**
   * Incremental decoding, part 2: query [B,Tq,E] attends over keys/values already projected
   * (projectKeyValue, or a cache of them) k, v [B,hkv,Tk,d] -> [B,Tq,E] (the output
   * projection applied). Fused attention; dropout only while training, as forward().
   */
  attendKeyValue(query: Tensor, kv: AttentionKV, options?: AttendKeyValueOptions): Tensor {
    const fn = 'MultiheadAttention.attendKeyValue';
    const opts = checkOptions(fn, options, ['keyPaddingMask', 'isCausal']) as AttendKeyValueOptions;
    const E = this.embedDim, h = this.numHeads, hkv = this.numKvHeads, d = this.headDim;
    checkTensor(fn, 'query', query);
    if (query.rank !== 3 || query.shape[2] !== E) throw rangeError(fn, 'query', `${query.dtype} [B,Tq,E] with E=${E}`, `${query.dtype} ${describeShape(query.shape)}`);
    const [B, Tq] = query.shape as [number, number, number];
    if (kv === null || typeof kv !== 'object') throw typeError(fn, 'kv', 'an object { k, v } of [B,hkv,Tk,d] tensors', describeValue(kv));
    checkTensor(fn, 'kv.k', kv.k);
    const Tk = cachedLength(kv);
    if (kv.length !== undefined && (!Number.isInteger(kv.length) || kv.length < 0 || kv.length > kv.k.shape[2]!)) {
      throw rangeError(fn, 'kv.length', `an integer in [0, ${kv.k.shape[2]}] (the positions kv.k holds)`, describeValue(kv.length));
    }
    if (kv.k.rank !== 4 || kv.k.shape[0] !== B || kv.k.shape[1] !== hkv || kv.k.shape[3] !== d) {
      throw rangeError(fn, 'kv.k', `${kv.k.dtype} [B,hkv,Tk,d] with B=${B}, hkv=${hkv}, d=${d}`, `${kv.k.dtype} ${describeShape(kv.k.shape)}`);
    }
    checkTensor(fn, 'kv.v', kv.v);
    if (kv.v.rank !== 4 || kv.v.shape.some((s, i) => s !== kv.k.shape[i])) {
      throw rangeError(fn, 'kv.v', `${kv.v.dtype} ${describeShape(kv.k.shape)} like kv.k`, `${kv.v.dtype} ${describeShape(kv.v.shape)}`);
    }
    const isCausal = opts.isCausal ?? false;
    if (isCausal !== true && isCausal !== false && isCausal !== 'top-left' && isCausal !== 'bottom-right') {
      throw typeError(fn, 'options.isCausal', "a boolean, 'top-left' or 'bottom-right'", describeValue(isCausal));
    }
    let keyPadding: Tensor | null = null;
    if (opts.keyPaddingMask != null) {
      keyPadding = checkTensor(fn, 'options.keyPaddingMask', opts.keyPaddingMask, ['bool']);
      if (keyPadding.rank !== 2 || keyPadding.shape[0] !== B || keyPadding.shape[1] !== Tk) {
        throw rangeError(fn, 'options.keyPaddingMask', `bool [B,Tk] with B=${B}, Tk=${Tk}`, `bool ${describeShape(keyPadding.shape)}`);
      }
    }
    return tidy(() => {
      const q = this.packed
        ? linear(query, narrow(this.inProjWeight!, 0, 0, E), this.inProjBias === null ? null : narrow(this.inProjBias, 0, 0, E))
        : this.qProj!.forward(query);
      const qh = transpose(reshape(q, [B, Tq, h, d]), 1, 2);
      const kvLength = Tk === kv.k.shape[2] ? {} : { kvLength: Tk };
      const y = scaledDotProductAttention(qh, kv.k, kv.v, { keyPaddingMask: keyPadding, isCausal, dropoutP: this.training ? this.dropout : 0, ...kvLength });
      return this.outProj.forward(reshape(transpose(y, 1, 2), [B, Tq, E]));
    });
  }

  /** The q, k, v projections [B,T,E], [B,Tk,hkv*d], [B,Tk,hkv*d]. */
  private project(query: Tensor, key: Tensor, value: Tensor): { q: Tensor; k: Tensor; v: Tensor } {
    if (!this.packed) {
      return { q: this.qProj!.forward(query), k: this.kProj!.forward(key), v: this.vProj!.forward(value) };
    }
    const E = this.embedDim;
    const w = this.inProjWeight!, b = this.inProjBias;
    if (query === key && key === value) {
      const [q, k, v] = split(linear(query, w, b), E, -1) as [Tensor, Tensor, Tensor];
      return { q, k, v };
    }
    // slices of the packed weight: narrow's backward places each gradient in its rows
    const rows = (start: number, n: number): [Tensor, Tensor | null] => [narrow(w, 0, start, n), b === null ? null : narrow(b, 0, start, n)];
    const [wq, bq] = rows(0, E);
    const q = linear(query, wq, bq);
    if (key === value) {
      const [wkv, bkv] = rows(E, 2 * E);
      const [k, v] = split(linear(key, wkv, bkv), E, -1) as [Tensor, Tensor];
      return { q, k, v };
    }
    const [wk, bk] = rows(E, E);
    const [wv, bv] = rows(2 * E, E);
    return { q, k: linear(key, wk, bk), v: linear(value, wv, bv) };
  }

  override extraRepr(): string {
    const kv = (this.numKvHeads === this.numHeads ? '' : `, numKvHeads=${this.numKvHeads}`) + (this.packed ? '' : ', packed=false');
    return `embedDim=${this.embedDim}, numHeads=${this.numHeads}${kv}, dropout=${this.dropout}, bias=${this.outProj.bias !== null}, batchFirst=true`;
  }
}

/**
 * softmax(q k^T / sqrt(d) + mask) v computed with matmul + softmax, returning the weights.
 * q [B,h,Tq,d], k/v [B,hkv,Tk,d]. The masks are folded on the host into one additive
 * float bias; rows with every key masked get weights 0 (and output 0), like the fused kernel.
 * Call inside tidy().
 */
function explicitAttention(q: Tensor, k: Tensor, v: Tensor, attnMask: Tensor | null, keyPadding: Tensor | null,
  isCausal: boolean | 'top-left' | 'bottom-right', dropoutP: number): { y: Tensor; weights: Tensor } {
  const [B, h, Tq, d] = q.shape as [number, number, number, number];
  const hkv = k.shape[1]!, Tk = k.shape[2]!, rep = h / hkv;
  // GQA: view q as [B,hkv,rep,Tq,d] against k [B,hkv,1,Tk,d] (matmul broadcasts and sums the grads back)
  const qg = rep === 1 ? q : reshape(q, [B, hkv, rep, Tq, d]);
  const kg = rep === 1 ? k : reshape(k, [B, hkv, 1, Tk, d]);
  const vg = rep === 1 ? v : reshape(v, [B, hkv, 1, Tk, d]);
  let scores = matmul(scaleOp(qg, 1 / Math.sqrt(d)), transpose(kg, -1, -2));
  if (rep !== 1) scores = reshape(scores, [B, h, Tq, Tk]);
  const bias = hostBias(q, attnMask, keyPadding, isCausal, B, h, Tq, Tk);
  if (bias !== null) scores = add(scores, bias.bias);
  let weights = softmax(scores, -1);
  if (bias !== null && bias.keep !== null) weights = mul(weights, bias.keep);
  if (dropoutP > 0) weights = dropoutOp(weights, dropoutP, true);
  let y = matmul(rep === 1 ? weights : reshape(weights, [B, hkv, rep, Tq, Tk]), vg);
  if (rep !== 1) y = reshape(y, [B, h, Tq, d]);
  return { y, weights };
}

/** The masks as one additive bias [1|B,1|h,Tq,Tk] (0 / -inf / float values) and a row keep mask [.,.,Tq,1] when some row is fully masked. */
function hostBias(q: Tensor, attnMask: Tensor | null, keyPadding: Tensor | null, isCausal: boolean | 'top-left' | 'bottom-right',
  B: number, h: number, Tq: number, Tk: number): { bias: Tensor; keep: Tensor | null } | null {
  const causal = isCausal === true || isCausal === 'top-left' ? 0 : isCausal === 'bottom-right' ? Tk - Tq : null;
  if (attnMask === null && keyPadding === null && causal === null) return null;
  const mb = attnMask !== null && attnMask.rank === 4 ? attnMask.shape[0]! : 1;
  const mh = attnMask !== null && attnMask.rank === 4 ? attnMask.shape[1]! : 1;
  const Bo = keyPadding !== null ? B : mb, Ho = mh;
  const mask = attnMask?.toTypedArray() ?? null;
  const maskBool = attnMask?.dtype === 'bool';
  const pad = keyPadding?.toTypedArray() ?? null;
  const out = new Float64Array(Bo * Ho * Tq * Tk);
  const keep = new Float64Array(Bo * Ho * Tq).fill(1);
  let anyEmpty = false;
  for (let b = 0; b < Bo; b++) for (let hh = 0; hh < Ho; hh++) for (let i = 0; i < Tq; i++) {
    const row = (b * Ho + hh) * Tq + i;
    const mrow = (((mb === 1 ? 0 : b) * mh + hh) * Tq + i) * Tk;
    let visible = 0;
    for (let j = 0; j < Tk; j++) {
      let value = 0;
      if (causal !== null && j > i + causal) value = -Infinity;
      else if (pad !== null && pad[b * Tk + j] !== 0) value = -Infinity;
      else if (mask !== null) value = maskBool ? (mask[mrow + j] !== 0 ? -Infinity : 0) : mask[mrow + j]!;
      out[row * Tk + j] = value;
      if (value !== -Infinity) visible++;
    }
    if (visible === 0) {
      // every key masked: a finite row, zeroed after the softmax
      out.fill(0, row * Tk, (row + 1) * Tk);
      keep[row] = 0;
      anyEmpty = true;
    }
  }
  const options = { dtype: q.dtype, backend: q.device };
  return {
    bias: tensor(out, { shape: [Bo, Ho, Tq, Tk], ...options }),
    keep: anyEmpty ? tensor(keep, { shape: [Bo, Ho, Tq, 1], ...options }) : null,
  };
}
