// The KV cache of a continuous batch: rows that joined at different times share one
// buffer per layer, each row's positions right-aligned (left-padded) so that every step
// appends all rows' new keys/values at the same slot, and the padding slots masked.
//
//   slot:   0   1   2   3   4   5        length = 6
//   row 0:  .   .   a0  a1  a2  a3       pad 2: its tokens sit at positions 0..3
//   row 1:  b0  b1  b2  b3  b4  b5       pad 0
//
// A joining row is prefilled alone (its prompt at positions 0..P-1) and merged in: the
// shorter side is shifted right (one copy of the caches per join). Rows that finish
// leave through a row gather, after which the slots no row uses any more are cut from the
// left (the same copy), so the buffer stays as long as the longest live row.
import { noGrad } from '../autograd/tape.js';
import { indexSelect } from '../decode/kv-cache.js';
import type { AttentionKV } from '../nn/attention.js';
import { cachedLength } from '../nn/kv-buffer.js';
import { cat, narrow, writeNarrow } from '../ops/layout.js';
import { tensor, zeros } from '../tensor/create.js';
import { keep, tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

/** Free slots a rebuilt buffer keeps after its content, so the next steps write in place. */
function roomFor(length: number): number {
  return length + Math.max(16, length);
}

/** x's first `length` slots (dim 2), shifted right by `shift`, in a new buffer of `capacity` slots. */
function shifted(x: Tensor, from: number, length: number, shift: number, capacity: number): Tensor {
  const shape = x.shape.slice();
  shape[2] = capacity;
  const out = zeros(shape, { dtype: x.dtype, backend: x.device });
  if (length > 0) writeNarrow(out, from === 0 && length === x.shape[2] ? x : narrow(x, 2, from, length), 2, shift);
  return out;
}

export class PaddedCache {
  private kv: AttentionKV[] | null = null;
  private len = 0;
  /** Per row: the padding slots before its first position. */
  private pads: number[] = [];

  constructor(readonly numLayers: number, readonly device: string) {}

  /** Slots in use (the longest row's length). */
  get length(): number {
    return this.len;
  }

  get rows(): number {
    return this.pads.length;
  }

  /** Per layer, the batch's { k, v, length } (empty before the first join). */
  get layers(): readonly AttentionKV[] {
    return this.kv ?? [];
  }

  /** Each row's position of the next token (its own length). */
  positions(): Int32Array {
    return Int32Array.from(this.pads, (p) => this.len - p);
  }

  /** bool [R, length + T]: true where a row must not attend (its padding slots); null when no row has padding. */
  paddingMask(T: number): Tensor | null {
    if (this.pads.every((p) => p === 0)) return null;
    const width = this.len + T;
    const m = new Uint8Array(this.pads.length * width);
    this.pads.forEach((p, r) => m.fill(1, r * width, r * width + p));
    return tensor(m, { shape: [this.pads.length, width], dtype: 'bool', backend: this.device });
  }

  /** Take the caches a cached forward returned (every row extended by `added` slots). */
  update(next: readonly AttentionKV[], added: number): void {
    const old = this.kv;
    this.kv = next.map((e) => ({ k: keep(e.k), v: keep(e.v), length: cachedLength(e) }));
    old?.forEach((e, i) => {
      if (e.k !== this.kv![i]!.k) e.k.dispose();
      if (e.v !== this.kv![i]!.v) e.v.dispose();
    });
    this.len += added;
  }

  /** Add the rows of `row` (a prefill's caches: G rows of `length` positions) after the others. Takes ownership of row. */
  join(row: readonly AttentionKV[]): void {
    const P = cachedLength(row[0]);
    const G = row[0]!.k.shape[0]!;
    if (this.kv === null || this.rows === 0) {
      this.release();
      this.kv = row.map((e) => ({ k: keep(e.k), v: keep(e.v), length: P }));
      this.len = P;
      this.pads = new Array<number>(G).fill(0);
      return;
    }
    const L = Math.max(this.len, P);
    const capacity = roomFor(L);
    const batchShift = L - this.len, rowShift = L - P;
    const next = noGrad(() => tidy(() => this.kv!.map((e, i) => {
      const r = row[i]!;
      const k = cat([shifted(e.k, 0, this.len, batchShift, capacity), shifted(r.k, 0, P, rowShift, capacity)], 0);
      const v = cat([shifted(e.v, 0, this.len, batchShift, capacity), shifted(r.v, 0, P, rowShift, capacity)], 0);
      return { k, v, length: L };
    })));
    this.disposeLayers(this.kv);
    this.disposeLayers(row);
    this.kv = next.map((e) => ({ k: keep(e.k), v: keep(e.v), length: e.length }));
    this.pads = [...this.pads.map((p) => p + batchShift), ...new Array<number>(G).fill(rowShift)];
    this.len = L;
  }

  /** Keep rows `indices` (in that order) and cut the slots no remaining row uses. */
  keepRows(indices: readonly number[]): void {
    if (indices.length === 0) {
      this.release();
      return;
    }
    if (this.kv === null) return;
    const same = indices.length === this.rows && indices.every((r, i) => r === i);
    const pads = indices.map((r) => this.pads[r]!);
    const cut = Math.min(...pads);
    if (same && cut === 0) return;
    const L = this.len - cut;
    const next = noGrad(() => tidy(() => this.kv!.map((e) => {
      const k0 = same ? e.k : indexSelect(e.k, indices);
      const v0 = same ? e.v : indexSelect(e.v, indices);
      if (cut === 0) return { k: k0, v: v0, length: L };
      return { k: shifted(k0, cut, L, 0, roomFor(L)), v: shifted(v0, cut, L, 0, roomFor(L)), length: L };
    })));
    this.disposeLayers(this.kv.filter((e, i) => e.k !== next[i]!.k));
    this.kv = next.map((e) => ({ k: keep(e.k), v: keep(e.v), length: e.length }));
    this.pads = pads.map((p) => p - cut);
    this.len = L;
  }

  private disposeLayers(layers: readonly AttentionKV[]): void {
    for (const e of layers) {
      e.k.dispose();
      e.v.dispose();
    }
  }

  private release(): void {
    if (this.kv !== null) this.disposeLayers(this.kv);
    this.kv = null;
    this.len = 0;
    this.pads = [];
  }

  dispose(): void {
    this.release();
  }
}
