// The KV cache of incremental decoding, and the row gathers beam search needs.
//
// Layout: per decoder layer (GPT block), the self-attention keys and values of the t
// positions decoded so far: buffers k, v [R, hkv, capacity, d] of which the first t
// positions are valid ({ k, v, length: t }), R = the rows being decoded (B sentences, or
// B x beam hypotheses). Each step writes its new position into the buffers in place and
// moves to buffers of twice the capacity when full (nn/kv-buffer.ts), so appending costs
// O(1) amortised copying instead of F.cat's O(t) per step.
//
// Cross-attention keys/values (Seq2Seq) are computed once per source by
// Seq2SeqTransformer.crossKeyValues and kept per sentence; rows read them through a
// gather by sentence index, redone only when the row -> sentence map changes (the
// first beam expansion, or when finished sentences leave the batch).
//
// Row gathers (beam reordering, dropping finished rows) compose existing ops: a
// gather along dim 0 is an embedding lookup: view x [N, ...] as a table [N, prod(rest)],
// look up the int32 row ids with F.embedding, reshape back. One kernel, no copies per row.
import { DTYPES } from '../util/dtype.js';
import { noGrad } from '../autograd/tape.js';
import { describeValue, rangeError, typeError } from '../errors.js';
import type { AttentionKV } from '../nn/attention.js';
import { cachedLength } from '../nn/kv-buffer.js';
import { embedding } from '../ops/embedding.js';
import { reshape } from '../ops/layout.js';
import { checkTensor } from '../validate/checks.js';
import { tensor } from '../tensor/create.js';
import { keep, tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

export type { AttentionKV } from '../nn/attention.js';

function checkRowIndices(fn: string, indices: unknown, n: number): Int32Array {
  if (!(indices instanceof Int32Array) && !Array.isArray(indices)) {
    throw typeError(fn, 'indices', 'an Int32Array or an array of row indices', describeValue(indices));
  }
  const out = Int32Array.from(indices as ArrayLike<number>);
  if (out.length === 0) throw rangeError(fn, 'indices', 'a non-empty list of row indices', 'an empty list');
  for (let i = 0; i < out.length; i++) {
    const v = (indices as ArrayLike<number>)[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= n) throw rangeError(fn, `indices[${i}]`, `an integer in [0, ${n - 1}]`, String(v));
  }
  return out;
}

function isIdentity(indices: Int32Array, n: number): boolean {
  if (indices.length !== n) return false;
  for (let i = 0; i < n; i++) if (indices[i] !== i) return false;
  return true;
}

/**
 * Rows of x along dim 0: out[i] = x[indices[i]] (torch.index_select(x, 0, indices)); rows may
 * repeat or be left out. x is float (float32/float64) of rank >= 1; a bool or int32 x is
 * gathered on the host. Returns a new tensor.
 */
export function indexSelect(x: Tensor, indices: ArrayLike<number>): Tensor {
  const fn = 'decode.indexSelect';
  checkTensor(fn, 'x', x, DTYPES);
  if (x.rank < 1) throw rangeError(fn, 'x', 'a tensor of rank >= 1', `${x.dtype} []`);
  const n = x.shape[0]!;
  const idx = checkRowIndices(fn, indices, n);
  const rest = x.shape.slice(1);
  const inner = rest.reduce((a, b) => a * b, 1);
  if (x.dtype === 'bool' || x.dtype === 'int32' || inner === 0) {
    const src = x.toTypedArray();
    const len = idx.length * inner;
    const out = x.dtype === 'bool' ? new Uint8Array(len) : x.dtype === 'int32' ? new Int32Array(len) : new Float64Array(len);
    for (let i = 0; i < idx.length; i++) {
      const from = idx[i]! * inner;
      for (let j = 0; j < inner; j++) out[i * inner + j] = src[from + j]!;
    }
    return tensor(out, { shape: [idx.length, ...rest], dtype: x.dtype, backend: x.device });
  }
  return noGrad(() => tidy(() => {
    const ids = tensor(idx, { shape: [idx.length], dtype: 'int32', backend: x.device });
    return reshape(embedding(ids, reshape(x, [n, inner])), [idx.length, ...rest]);
  }));
}

/**
 * The self-attention KV cache of one decoding run: per layer { k, v } [R, hkv, t, d], or null
 * before the first step. Owns its tensors (dispose() frees them).
 */
export class KVCache {
  readonly numLayers: number;
  private kv: (AttentionKV | null)[];
  private len = 0;

  constructor(numLayers: number) {
    if (!Number.isInteger(numLayers) || numLayers < 1) throw rangeError('decode.KVCache', 'numLayers', 'a positive integer', describeValue(numLayers));
    this.numLayers = numLayers;
    this.kv = new Array<AttentionKV | null>(numLayers).fill(null);
  }

  /** Cached positions t. */
  get length(): number {
    return this.len;
  }

  /** Rows R (0 while empty). */
  get rows(): number {
    return this.kv[0]?.k.shape[0] ?? 0;
  }

  /** Per layer, the cached { k, v } (null while empty): pass it to decodeCached/forwardCached. */
  get layers(): readonly (AttentionKV | null)[] {
    return this.kv;
  }

  /** Replace every layer's cache by the extended one a cached forward returned (taking ownership) and add `added` positions. */
  update(next: readonly AttentionKV[], added: number): void {
    const fn = 'decode.KVCache.update';
    if (!Array.isArray(next) || next.length !== this.numLayers) throw rangeError(fn, 'next', `an array of ${this.numLayers} { k, v }`, describeValue(next));
    const t = this.len + added;
    next.forEach((kv, i) => {
      if (cachedLength(kv) !== t || kv.v.shape[2] !== kv.k.shape[2]) throw rangeError(fn, `next[${i}]`, `keys/values of ${t} positions`, String(cachedLength(kv)));
    });
    for (let i = 0; i < this.numLayers; i++) {
      const old = this.kv[i];
      const kv = next[i]!;
      keep(kv.k);
      keep(kv.v);
      if (old != null && old.k !== kv.k) old.k.dispose();
      if (old != null && old.v !== kv.v) old.v.dispose();
      this.kv[i] = kv;
    }
    this.len = t;
  }

  /**
   * Keep rows `indices` of every layer's cache, in that order (row i of the result is old
   * row indices[i]): beam search's reordering by parent hypothesis, or dropping finished rows.
   */
  reorder(indices: ArrayLike<number>): void {
    if (this.len === 0) return;
    const idx = checkRowIndices('decode.KVCache.reorder', Array.from(indices), this.rows);
    if (isIdentity(idx, this.rows)) return;
    for (let i = 0; i < this.numLayers; i++) {
      const old = this.kv[i]!;
      this.kv[i] = { k: keep(indexSelect(old.k, idx)), v: keep(indexSelect(old.v, idx)), ...(old.length === undefined ? {} : { length: old.length }) };
      old.k.dispose();
      old.v.dispose();
    }
  }

  dispose(): void {
    for (const kv of this.kv) {
      kv?.k.dispose();
      kv?.v.dispose();
    }
    this.kv.fill(null);
    this.len = 0;
  }
}

/**
 * Per-sentence cross-attention keys/values (and the source padding mask), and their
 * per-row view: select(sentences) gathers row i from sentence sentences[i], and is a no-op
 * while the map is unchanged. Owns its tensors.
 */
export class CrossCache {
  private readonly base: AttentionKV[];
  private readonly baseMask: Tensor | null;
  private current: AttentionKV[];
  private currentMask: Tensor | null;
  private map: Int32Array;

  /** Takes ownership of cross (per layer [B,h,S,d]) and mask (bool [B,S] or null). */
  constructor(cross: AttentionKV[], mask: Tensor | null) {
    this.base = cross.map((kv) => ({ k: keep(kv.k), v: keep(kv.v) }));
    this.baseMask = mask === null ? null : keep(mask);
    this.current = this.base;
    this.currentMask = this.baseMask;
    const B = cross[0]?.k.shape[0] ?? 0;
    this.map = Int32Array.from({ length: B }, (_, i) => i);
  }

  get layers(): readonly AttentionKV[] {
    return this.current;
  }

  get mask(): Tensor | null {
    return this.currentMask;
  }

  select(sentences: Int32Array): void {
    if (sentences.length === this.map.length && sentences.every((s, i) => s === this.map[i])) return;
    this.releaseCurrent();
    const B = this.base[0]!.k.shape[0]!;
    if (isIdentity(sentences, B)) {
      this.current = this.base;
      this.currentMask = this.baseMask;
    } else {
      this.current = this.base.map((kv) => ({ k: keep(indexSelect(kv.k, sentences)), v: keep(indexSelect(kv.v, sentences)) }));
      this.currentMask = this.baseMask === null ? null : keep(indexSelect(this.baseMask, sentences));
    }
    this.map = Int32Array.from(sentences);
  }

  private releaseCurrent(): void {
    if (this.current !== this.base) {
      for (const kv of this.current) {
        kv.k.dispose();
        kv.v.dispose();
      }
    }
    if (this.currentMask !== null && this.currentMask !== this.baseMask) this.currentMask.dispose();
  }

  dispose(): void {
    this.releaseCurrent();
    for (const kv of this.base) {
      kv.k.dispose();
      kv.v.dispose();
    }
    this.baseMask?.dispose();
    this.current = [];
    this.currentMask = null;
  }
}
