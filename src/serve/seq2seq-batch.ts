// A Seq2SeqTransformer as a continuous batch's model (serve/continuous-batch.ts): a source
// is encoded once when its sequence joins (its cross-attention keys/values kept per slot) and
// its first target token comes from the BOS step; a step is one cached decoder forward over
// every slot, each row at its own target position with the self-attention cache's padding
// masked, and every row's own source (right-padded to the longest, the padding masked) in the
// cross-attention. The per-slot sources are gathered into batch tensors again only when the
// slots change.
import type { AttentionKV } from '../nn/attention.js';
import type { Seq2SeqTransformer } from '../nn/seq2seq.js';
import { indexSelect } from '../decode/kv-cache.js';
import { cat, reshape, writeNarrow } from '../ops/layout.js';
import { tensor, zeros } from '../tensor/create.js';
import { keep, tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { ContinuousBatch, type BatchModel, type BatchOptions } from './continuous-batch.js';

/** One row's source: per decoder layer its cross-attention keys/values [1,h,S,d], and which of its S positions are padding. */
interface SourceRow { k: Tensor[]; v: Tensor[]; padded: Uint8Array }

function disposeRow(r: SourceRow | null): void {
  r?.k.forEach((t) => t.dispose());
  r?.v.forEach((t) => t.dispose());
}

/** x [1,h,S,d] widened to [1,h,W,d] (zeros after S). */
function widen(x: Tensor, W: number): Tensor {
  if (x.shape[2] === W) return x;
  const out = zeros([1, x.shape[1]!, W, x.shape[3]!], { dtype: x.dtype, backend: x.device });
  writeNarrow(out, x, 2, 0);
  return out;
}

export function seq2seqBatchModel(model: Seq2SeqTransformer, options: { bos?: number; pad?: number } = {}): BatchModel {
  const c = model.config;
  const V = c.tgtVocab, n = c.numDecoderLayers;
  const device = model.generator.weight.device;
  const bos = options.bos ?? 1, pad = options.pad ?? c.pad;
  let rows: Array<SourceRow | null> = [];
  let batch: { cross: AttentionKV[]; mask: Tensor } | null = null;
  const dropBatch = (): void => {
    batch?.cross.forEach((e) => { e.k.dispose(); e.v.dispose(); });
    batch?.mask.dispose();
    batch = null;
  };
  const buildBatch = (slots: number): { cross: AttentionKV[]; mask: Tensor } => {
    const W = Math.max(1, ...rows.map((r) => r?.padded.length ?? 0));
    const mask = new Uint8Array(slots * W);
    for (let s = 0; s < slots; s++) {
      const r = rows[s] ?? null;
      if (r === null) continue;  // a free slot attends to zeros: finite, ignored
      for (let j = 0; j < W; j++) mask[s * W + j] = j >= r.padded.length || r.padded[j] === 1 ? 1 : 0;
    }
    const built = tidy(() => {
      const empty = zeros([1, c.nhead, W, c.dModel / c.nhead], { backend: device, dtype: model.generator.weight.dtype });
      const cross = Array.from({ length: n }, (_, i) => {
        const side = (name: 'k' | 'v'): Tensor => cat(Array.from({ length: slots }, (_, s) => {
          const r = rows[s] ?? null;
          return r === null ? empty : widen(r[name][i]!, W);
        }), 0);
        return { k: side('k'), v: side('v') };
      });
      return { cross, mask: tensor(mask, { shape: [slots, W], dtype: 'bool', backend: device }) };
    });
    for (const e of built.cross) { keep(e.k); keep(e.v); }
    keep(built.mask);
    return built;
  };
  return {
    vocabSize: V, numLayers: n, maxLength: c.maxLen, device, banned: [pad, bos],
    prefill(inputs) {
      const G = inputs.length, S = inputs[0]!.length;
      const data = new Int32Array(G * S);
      inputs.forEach((p, i) => data.set(p, i * S));
      return tidy(() => {
        // as decode's seq2seqStepper: the source's own padding mask, the memory, every layer's keys/values, then BOS at position 0
        const src = tensor(data, { shape: [G, S], dtype: 'int32', backend: device });
        const mask = model.sourcePaddingMask(src);
        const cross = model.crossKeyValues(model.encode(src, mask));
        const first = model.decodeCached(tensor(new Int32Array(G).fill(bos), { shape: [G, 1], dtype: 'int32', backend: device }), {
          offset: 0, self: new Array<null>(n).fill(null), cross, memoryKeyPaddingMask: mask,
        });
        const padded = mask.toTypedArray() as Uint8Array;
        const extras: SourceRow[] = inputs.map((_, g) => ({
          k: cross.map((e) => indexSelect(e.k, [g])),
          v: cross.map((e) => indexSelect(e.v, [g])),
          padded: padded.slice(g * S, (g + 1) * S),
        }));
        return { logits: reshape(first.logits, [G, V]), kv: first.self, extras };
      });
    },
    decode(ids, cache) {
      const slots = ids.shape[0]!;
      if (batch === null) batch = buildBatch(slots);
      const b = batch;
      return tidy(() => {
        const selfMask = cache.paddingMask(1);
        const rowsAt = selfMask === null ? {} : { positions: cache.positions(), selfKeyPaddingMask: selfMask };
        const out = model.decodeCached(ids, { offset: cache.length, self: cache.layers as AttentionKV[], cross: b.cross, memoryKeyPaddingMask: b.mask, ...rowsAt });
        return { logits: reshape(out.logits, [slots, V]), kv: out.self };
      });
    },
    placed(slots, extras, dropped) {
      for (const r of dropped) disposeRow(r as SourceRow);
      slots.forEach((s, j) => {
        while (rows.length <= s) rows.push(null);
        disposeRow(rows[s] ?? null);
        rows[s] = extras[j] as SourceRow;
      });
      dropBatch();
    },
    freed(slot) {
      // the batch tensors keep a copy of the row until the slots change; its outputs are ignored
      disposeRow(rows[slot] ?? null);
      rows[slot] = null;
    },
    remapped(moved, slots) {
      const next: Array<SourceRow | null> = new Array<SourceRow | null>(slots).fill(null);
      const kept = new Set<number>();
      for (const [from, to] of moved) { next[to] = rows[from] ?? null; kept.add(from); }
      rows.forEach((r, s) => { if (!kept.has(s)) disposeRow(r); });
      rows = next;
      dropBatch();
    },
    dispose() {
      rows.forEach(disposeRow);
      rows = [];
      dropBatch();
    },
  };
}

/** Continuous batching over a Seq2SeqTransformer (greedy or sampled decoding; beam search is `toroid translate`'s). */
export class Seq2SeqBatch extends ContinuousBatch {
  constructor(model: Seq2SeqTransformer, options?: BatchOptions & { bos?: number; pad?: number }) {
    const { bos, pad, ...batch } = options ?? {};
    super(seq2seqBatchModel(model, { ...(bos === undefined ? {} : { bos }), ...(pad === undefined ? {} : { pad }) }), batch);
  }
}
