// The KV cache of a continuous batch: one buffer per layer [slots, hkv, capacity, d] that
// rows occupy from when they join until they finish. Every row's positions are right-
// aligned (left-padded) so that a step appends all rows' new keys/values at the same slot,
// and the padding is masked.
//
//   time:    0   1   2   3   4   5        length = 6
//   slot 0:  .   .   a0  a1  a2  a3       pad 2: its tokens sit at positions 0..3
//   slot 1:  b0  b1  b2  b3  b4  b5       pad 0
//   slot 2:  (free: its row finished; decoded along, its output ignored)
//
// A joining row is prefilled on its own (its prompt at positions 0..P-1) and written into a
// free slot in place (one row's copy), right-aligned to the batch's length. Only when that
// cannot work (no free slot, a prompt longer than the batch, the batch's length at the
// model's limit, or much of the buffer wasted on padding and free slots) is the buffer
// rebuilt: the live rows gathered, the left slots no row uses cut, room made. That copy of
// the whole cache is rare (amortised over many steps), never once per join or leave.
import { noGrad } from '../autograd/tape.js';
import { indexSelect } from '../decode/kv-cache.js';
import type { AttentionKV } from '../nn/attention.js';
import { cachedLength } from '../nn/kv-buffer.js';
import { cat, narrow, writeNarrow } from '../ops/layout.js';
import { tensor, zeros } from '../tensor/create.js';
import { keep, tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * The positions a rebuilt buffer holds for `length` in use: room after the content so the
 * next steps write in place, in multiples of 64 so that rebuilds ask for a few sizes again
 * and again (freed blocks are reused: a fresh block's first touch is the slow part), and
 * never past maxLength.
 */
function capacityFor(length: number, maxLength: number): number {
  const room = Math.ceil((length + Math.max(16, length)) / 64) * 64;
  return Math.max(length + 1, Math.min(room, maxLength));
}

/** x's `length` positions from `from` (dim 2), shifted right by `shift`, in a new buffer of `capacity` positions. */
function shifted(x: Tensor, from: number, length: number, shift: number, capacity: number): Tensor {
  const shape = x.shape.slice();
  shape[2] = capacity;
  const out = zeros(shape, { dtype: x.dtype, backend: x.device });
  if (length > 0) writeNarrow(out, from === 0 && length === x.shape[2] ? x : narrow(x, 2, from, length), 2, shift);
  return out;
}

/**
 * Free the per-layer caches of `old` that `next` does not hold (a cached forward may return
 * the same buffers, extended in place); with no `next`, all of them.
 */
export function releaseLayers(old: readonly AttentionKV[] | null, next: readonly AttentionKV[] = []): void {
  old?.forEach((e, i) => {
    if (e.k !== next[i]?.k) e.k.dispose();
    if (e.v !== next[i]?.v) e.v.dispose();
  });
}

export class PaddedCache {
  private kv: AttentionKV[] | null = null;
  private len = 0;
  /** Per slot: the padding positions before its first one, or -1 for a free slot. */
  private pads: number[] = [];

  /** maxLength: the most positions a forward may see (the model's blockSize). */
  constructor(readonly numLayers: number, readonly device: string, readonly maxLength: number) {}

  /** Positions in use (the longest row's length, plus the padding of rows since gone). */
  get length(): number {
    return this.len;
  }

  /** Slots in the buffer (live and free): the rows every forward runs. */
  get slots(): number {
    return this.pads.length;
  }

  /** The live slots, in slot order. */
  live(): number[] {
    return this.pads.flatMap((p, s) => (p >= 0 ? [s] : []));
  }

  /** Per layer, the batch's { k, v, length } (empty while no row ever joined). */
  get layers(): readonly AttentionKV[] {
    return this.kv ?? [];
  }

  /** Each slot's position of its next token (its own length; 0 for a free slot). */
  positions(): Int32Array {
    return Int32Array.from(this.pads, (p) => (p < 0 ? 0 : this.len - p));
  }

  /** bool [slots, length + T]: a slot's padding (a free slot attends to its last position only); null when nothing is masked. */
  paddingMask(T: number): Tensor | null {
    if (this.pads.every((p) => p === 0)) return null;
    const width = this.len + T;
    const m = new Uint8Array(this.pads.length * width);
    this.pads.forEach((p, s) => m.fill(1, s * width, s * width + (p < 0 ? width - 1 : p)));
    return tensor(m, { shape: [this.pads.length, width], dtype: 'bool', backend: this.device });
  }

  /** Take the caches a cached forward returned (every slot extended by `added` positions). */
  update(next: readonly AttentionKV[], added: number): void {
    const old = this.kv;
    this.kv = next.map((e) => ({ k: keep(e.k), v: keep(e.v), length: cachedLength(e) }));
    releaseLayers(old, this.kv);
    this.len += added;
  }

  /** The row in `slot` finished: its slot is free for the next joiner. */
  free(slot: number): void {
    this.pads[slot] = -1;
  }

  /**
   * Place rows `keep` of a prefill's caches (G rows of P positions each; takes ownership) in
   * free slots; returns the slot of each, in order. A rebuild (no free slot, a longer prompt)
   * adds `spare` free slots; `moved` then maps each earlier live slot to its new one.
   */
  place(prefill: readonly AttentionKV[], rows: readonly number[], spare = 0): { slots: number[]; moved: Map<number, number> | null } {
    const P = cachedLength(prefill[0]);
    const free = this.pads.flatMap((p, s) => (p < 0 ? [s] : []));
    const live = this.pads.length - free.length;
    // (a row that reaches maxLength with the others' padding before it is handled by compact(): the cut always makes room)
    const fits = this.kv !== null && P <= this.len && free.length >= rows.length;
    if (rows.length === 0) {
      releaseLayers(prefill);
      return { slots: [], moved: null };
    }
    if (fits) {
      const capacity = this.kv![0]!.k.shape[2]!;
      noGrad(() => tidy(() => {
        rows.forEach((g, j) => {
          const slot = free[j]!;
          for (let i = 0; i < this.numLayers; i++) {
            for (const name of ['k', 'v'] as const) {
              const buffer = this.kv![i]![name];
              const one = shifted(indexSelect(prefill[i]![name], [g]), 0, P, this.len - P, capacity);
              // the slot is contiguous in the buffer: write it as one row of a [slots, rest] view
              const rest = one.size;
              writeNarrow(buffer.alias([buffer.shape[0]!, rest]), one.alias([1, rest]), 0, slot);
            }
          }
          this.pads[slot] = this.len - P;
        });
      }));
      releaseLayers(prefill);
      return { slots: rows.map((_, j) => free[j]!), moved: null };
    }
    const before = this.live();
    this.rebuild(prefill, rows, P, spare);
    return { slots: rows.map((_, j) => live + j), moved: new Map(before.map((s, j) => [s, j])) };
  }

  /** Whether much of the buffer is left padding no row needs, or (with nobody waiting to fill them) free slots. */
  private wasted(waiting: number): boolean {
    const live = this.pads.filter((p) => p >= 0);
    if (live.length === 0) return true;
    const cut = Math.min(...live);
    const freeSlots = this.pads.length - live.length;
    return cut > Math.max(16, this.len / 2) || (waiting === 0 && freeSlots > Math.max(8, this.pads.length / 2));
  }

  /** The live slots (in order), then the new rows, then `spare` free slots, in a new buffer: left padding cut, room for what is coming. */
  private rebuild(prefill: readonly AttentionKV[], rows: readonly number[], P: number, spare: number): void {
    const keepSlots = this.live();
    const keptPads = keepSlots.map((s) => this.pads[s]!);
    const cut = keepSlots.length === 0 ? this.len : Math.min(...keptPads);
    const keptLength = this.len - cut;
    const L = Math.max(keepSlots.length === 0 ? 0 : keptLength, P);
    const capacity = capacityFor(L, this.maxLength);
    const identity = keepSlots.length === this.pads.length;
    const next = noGrad(() => tidy(() => Array.from({ length: this.numLayers }, (_, i) => {
      const pieces = (name: 'k' | 'v'): Tensor => {
        const out: Tensor[] = [];
        if (keepSlots.length > 0) {
          const x = this.kv![i]![name];
          out.push(shifted(identity ? x : indexSelect(x, keepSlots), cut, keptLength, L - keptLength, capacity));
        }
        const x = prefill[i]![name];
        out.push(shifted(rows.length === x.shape[0] ? x : indexSelect(x, rows), 0, P, L - P, capacity));
        if (spare > 0) out.push(zeros([spare, ...x.shape.slice(1, 2), capacity, x.shape[3]!], { dtype: x.dtype, backend: x.device }));
        return out.length === 1 ? out[0]! : cat(out, 0);
      };
      return { k: pieces('k'), v: pieces('v'), length: L };
    })));
    releaseLayers(this.kv);
    releaseLayers(prefill);
    this.kv = next.map((e) => ({ k: keep(e.k), v: keep(e.v), length: e.length }));
    this.pads = [...keptPads.map((p) => p - cut + (L - keptLength)), ...rows.map(() => L - P), ...new Array<number>(spare).fill(-1)];
    this.len = L;
  }

  /**
   * Before a step: if the batch's length would pass maxLength, or most of the buffer is
   * waste (left padding; free slots when `waiting` is 0, no joiner coming to fill them),
   * rebuild it around the live slots. Returns the slot -> new slot map (null: nothing moved).
   */
  compact(waiting = 0): Map<number, number> | null {
    if (this.kv === null) return null;
    const live = this.live();
    if (live.length === 0) {
      this.release();
      return new Map();
    }
    if (this.len + 1 <= this.maxLength && !this.wasted(waiting)) return null;
    const keptPads = live.map((s) => this.pads[s]!);
    const cut = Math.min(...keptPads);
    const L = this.len - cut;
    const capacity = capacityFor(L, this.maxLength);
    const identity = live.length === this.pads.length;
    const next = noGrad(() => tidy(() => this.kv!.map((e) => ({
      k: shifted(identity ? e.k : indexSelect(e.k, live), cut, L, 0, capacity),
      v: shifted(identity ? e.v : indexSelect(e.v, live), cut, L, 0, capacity),
      length: L,
    }))));
    releaseLayers(this.kv);
    this.kv = next.map((e) => ({ k: keep(e.k), v: keep(e.v), length: e.length }));
    this.pads = keptPads.map((p) => p - cut);
    this.len = L;
    return new Map(live.map((s, j) => [s, j]));
  }

  private release(): void {
    releaseLayers(this.kv);
    this.kv = null;
    this.len = 0;
    this.pads = [];
  }

  dispose(): void {
    this.release();
  }
}
