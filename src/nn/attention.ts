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
// The module projects and reshapes; attention itself, the masks' checks included, is
// F.scaledDotProductAttention (fused) or, with needWeights: true, F.attentionWithWeights.
// A query row whose keys are all masked outputs zeros on both paths (PyTorch gives NaN).
// The masks never receive a gradient.
import { describeShape, describeValue, rangeError, typeError } from '../errors.js';
import { attend, type CausalOption } from '../ops/attention.js';
import { narrow, reshape, split, transpose } from '../ops/layout.js';
import { linear } from '../ops/matmul.js';
import { mean } from '../ops/reduce.js';
import { checkBoolean, checkOptions, checkPositiveInt, checkProbability, checkTensor, isTensor } from '../validate/checks.js';
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
  isCausal?: CausalOption;
  /** Return the attention weights (F.attentionWithWeights: slower, O(Tq*Tk) memory). Default false. */
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
  isCausal?: CausalOption;
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
    return tidy(() => {
      const { q, k, v } = this.project(query, key, value);
      const qh = this.splitHeads(q, h), kh = this.splitHeads(k, hkv), vh = this.splitHeads(v, hkv);
      // PyTorch's [B*h,Tq,Tk] mask is [B,h,Tq,Tk] to the op, which checks every mask
      const m = opts.attnMask;
      const attnMask = isTensor(m) && m.rank === 3 && m.shape[0] === B * h ? reshape(m, [B, h, m.shape[1]!, m.shape[2]!]) : m;
      const { output, weights } = attend({ fn, prefix: 'options.' }, qh, kh, vh, {
        attnMask, keyPaddingMask: opts.keyPaddingMask, isCausal: opts.isCausal, dropoutP: this.isTraining ? this.dropout : 0,
      }, needWeights);
      return { output: this.mergeHeads(output), weights: weights !== null && average ? mean(weights, 1) : weights };
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
    const E = this.embedDim, hkv = this.numKvHeads;
    checkTensor(fn, 'key', key);
    if (key.rank !== 3 || key.shape[2] !== E) throw rangeError(fn, 'key', `${key.dtype} [B,T,E] with E=${E}`, `${key.dtype} ${describeShape(key.shape)}`);
    checkTensor(fn, 'value', value);
    if (value.rank !== 3 || value.shape[0] !== key.shape[0] || value.shape[1] !== key.shape[1] || value.shape[2] !== E) {
      throw rangeError(fn, 'value', `${value.dtype} ${describeShape(key.shape)} like key`, `${value.dtype} ${describeShape(value.shape)}`);
    }
    return tidy(() => {
      const { k, v } = this.projectKV(key, value);
      return { k: this.splitHeads(k, hkv), v: this.splitHeads(v, hkv) };
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
    const B = query.shape[0]!;
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
    return tidy(() => this.attendHeads(fn, this.splitHeads(this.projectQuery(query), h), kv, Tk, opts));
  }

  /**
   * Cached self-attention in one projection: x [B,T,E] (the new positions) -> q [B,h,T,d] and
   * the new positions' { k, v } [B,hkv,T,d], one matmul for a packed projection (as forward()),
   * where projectKeyValue + attendKeyValue would copy the weight's rows and run two.
   * Append kv to the cache and pass both to attendProjected.
   */
  projectSelf(x: Tensor): { q: Tensor; kv: AttentionKV } {
    const fn = 'MultiheadAttention.projectSelf';
    const E = this.embedDim;
    checkTensor(fn, 'x', x);
    if (x.rank !== 3 || x.shape[2] !== E) throw rangeError(fn, 'x', `${x.dtype} [B,T,E] with E=${E}`, `${x.dtype} ${describeShape(x.shape)}`);
    return tidy(() => {
      const { q, k, v } = this.project(x, x, x);
      return { q: this.splitHeads(q, this.numHeads), kv: { k: this.splitHeads(k, this.numKvHeads), v: this.splitHeads(v, this.numKvHeads) } };
    });
  }

  /** attendKeyValue for a query already projected and split into heads (projectSelf's q [B,h,Tq,d]). */
  attendProjected(q: Tensor, kv: AttentionKV, options?: AttendKeyValueOptions): Tensor {
    const fn = 'MultiheadAttention.attendProjected';
    const opts = checkOptions(fn, options, ['keyPaddingMask', 'isCausal']) as AttendKeyValueOptions;
    checkTensor(fn, 'q', q);
    if (q.rank !== 4 || q.shape[1] !== this.numHeads || q.shape[3] !== this.headDim) {
      throw rangeError(fn, 'q', `${q.dtype} [B,h,Tq,d] with h=${this.numHeads}, d=${this.headDim}`, `${q.dtype} ${describeShape(q.shape)}`);
    }
    if (kv === null || typeof kv !== 'object') throw typeError(fn, 'kv', 'an object { k, v } of [B,hkv,Tk,d] tensors', describeValue(kv));
    checkTensor(fn, 'kv.k', kv.k);
    checkTensor(fn, 'kv.v', kv.v);
    return tidy(() => this.attendHeads(fn, q, kv, cachedLength(kv), opts));
  }

  /** Fused attention of heads q over kv's first Tk positions, then the output projection. */
  private attendHeads(fn: string, qh: Tensor, kv: AttentionKV, Tk: number, opts: AttendKeyValueOptions): Tensor {
    const kvLength = Tk === kv.k.shape[2] ? {} : { kvLength: Tk };
    const { output } = attend({ fn, prefix: 'options.' }, qh, kv.k, kv.v, {
      keyPaddingMask: opts.keyPaddingMask, isCausal: opts.isCausal, dropoutP: this.isTraining ? this.dropout : 0, ...kvLength,
    }, false);
    return this.mergeHeads(output);
  }

  /** The q, k, v projections [B,T,E], [B,Tk,hkv*d], [B,Tk,hkv*d]; one matmul for packed self-attention. */
  private project(query: Tensor, key: Tensor, value: Tensor): { q: Tensor; k: Tensor; v: Tensor } {
    if (this.packed && query === key && key === value) {
      const [q, k, v] = split(linear(query, this.inProjWeight!, this.inProjBias), this.embedDim, -1) as [Tensor, Tensor, Tensor];
      return { q, k, v };
    }
    return { q: this.projectQuery(query), ...this.projectKV(key, value) };
  }

  /** query [B,T,E] -> q [B,T,E]. */
  private projectQuery(query: Tensor): Tensor {
    return this.packed ? linear(query, ...this.packedRows(0, this.embedDim)) : this.qProj!.forward(query);
  }

  /** key, value [B,T,E] -> k, v [B,T,hkv*d]; one matmul when key === value (packed). */
  private projectKV(key: Tensor, value: Tensor): { k: Tensor; v: Tensor } {
    if (!this.packed) return { k: this.kProj!.forward(key), v: this.vProj!.forward(value) };
    const E = this.embedDim;
    if (key === value) {
      const [k, v] = split(linear(key, ...this.packedRows(E, 2 * E)), E, -1) as [Tensor, Tensor];
      return { k, v };
    }
    return { k: linear(key, ...this.packedRows(E, E)), v: linear(value, ...this.packedRows(2 * E, E)) };
  }

  /** Rows start..start+n of in_proj_weight and in_proj_bias: narrow's backward places each gradient in its rows. */
  private packedRows(start: number, n: number): [Tensor, Tensor | null] {
    const b = this.inProjBias;
    return [narrow(this.inProjWeight!, 0, start, n), b === null ? null : narrow(b, 0, start, n)];
  }

  /** [B,T,n*d] -> [B,n,T,d] */
  private splitHeads(x: Tensor, n: number): Tensor {
    return transpose(reshape(x, [x.shape[0]!, x.shape[1]!, n, this.headDim]), 1, 2);
  }

  /** y [B,h,T,d] -> the output projection of [B,T,E]. */
  private mergeHeads(y: Tensor): Tensor {
    return this.outProj.forward(reshape(transpose(y, 1, 2), [y.shape[0]!, y.shape[2]!, this.embedDim]));
  }

  override extraRepr(): string {
    const kv = (this.numKvHeads === this.numHeads ? '' : `, numKvHeads=${this.numKvHeads}`) + (this.packed ? '' : ', packed=false');
    return `embedDim=${this.embedDim}, numHeads=${this.numHeads}${kv}, dropout=${this.dropout}, bias=${this.outProj.bias !== null}, batchFirst=true`;
  }
}
