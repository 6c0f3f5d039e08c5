// Continuous batching: sequences join the running batch at the next step and leave it when
// they finish, so one forward serves every active sequence. The engine is the same for every
// model family; a BatchModel (serve/gpt-batch.ts, serve/seq2seq-batch.ts) says how a family
// prefills a group of inputs and decodes one step over the cache's slots.
//
// Each step():
//   1. drops cancelled sequences;
//   2. decodes one token for every active row (one cached forward over the cache's slots,
//      each row at its own position, padding masked; serve/padded-cache.ts); finished rows
//      free their slots;
//   3. admits waiting sequences up to maxBatch, within a prefill budget of input tokens per
//      step: whole inputs that fit (equal lengths prefilled together), then, where the family
//      can (GPT), the next prompt in chunks over the coming steps; each gets its first token
//      from its prefill and is written into a free slot.
// A sequence's tokens equal generate()'s for the same input and options: the prefill is
// the same forward, and a padded row's attention sees only its own positions.
import { noGrad } from '../autograd/tape.js';
import { argmax, firstCandidate, type CandidatePicker, type TokenPicker } from '../decode/greedy.js';
import { applyRepetitionPenalty, samplingCandidatePicker, samplingPicker, uniformSource, type ResolvedSampling } from '../decode/sampling.js';
import type { AttentionKV } from '../nn/attention.js';
import { withEvalSemantics } from '../nn/module.js';
import { topk } from '../ops/topk.js';
import { tensor } from '../tensor/create.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { PaddedCache, releaseLayers } from './padded-cache.js';

export interface SequenceRequest {
  /** Input token ids: a GPT's prompt (prompt + maxNewTokens - 1 <= blockSize), a Seq2Seq model's source (<= maxLen). */
  prompt: Int32Array;
  /** Most tokens generated (a Seq2Seq model's maxLen counts the EOS too, as decode does). */
  maxNewTokens: number;
  /** Ids that end the sequence (not emitted): one id, several, or null for none. */
  eos: number | readonly number[] | null;
  strategy: 'greedy' | 'sample';
  sampling: ResolvedSampling;
}

/** What the engine needs of a model family. */
export interface BatchModel {
  readonly vocabSize: number;
  readonly numLayers: number;
  /** Positions a row's self-attention cache may reach (GPT blockSize, Seq2Seq maxLen). */
  readonly maxLength: number;
  readonly device: string;
  /** Ids never picked (Seq2Seq: PAD and BOS). */
  readonly banned: readonly number[];
  /**
   * Prefill inputs of equal length: logits [G,V] of each row's first token, and the rows' self-
   * attention caches (G rows, as many positions each); `extras[i]` is per-row state the family
   * keeps per slot (cross-attention keys/values), handed back through placed().
   */
  prefill(inputs: readonly Int32Array[]): { logits: Tensor; kv: AttentionKV[]; extras?: unknown[] };
  /**
   * A chunk of one long prompt (families that can, GPT): positions done..done+ids.length on
   * top of `past`; returns the extended cache and, for the last chunk, its last logits [1,V].
   */
  prefillChunk?(ids: Int32Array, done: number, past: AttentionKV[] | null, last: boolean): { logits: Tensor | null; kv: AttentionKV[] };
  /** One step over every slot: ids [S,1] at the cache's positions -> logits [S,V] and the extended caches. */
  decode(ids: Tensor, cache: PaddedCache): { logits: Tensor; kv: AttentionKV[] };
  /** Slot bookkeeping of per-slot state: rows were written into `slots` with their extras (`dropped`: those of rows that ended at their first token), a slot freed, slots moved by a rebuild. */
  placed?(slots: readonly number[], extras: readonly unknown[], dropped: readonly unknown[]): void;
  freed?(slot: number): void;
  remapped?(moved: ReadonlyMap<number, number>, slots: number): void;
  dispose?(): void;
}

export type FinishReason = 'stop' | 'length' | 'cancelled';

/** One sequence's progress in a step: a new token, and/or its end. */
export interface SequenceEvent {
  id: number;
  token: number | null;
  finish: FinishReason | null;
}

export interface BatchOptions {
  /** Most sequences decoded together (default 32). */
  maxBatch?: number;
  /** Most input tokens prefilled in one step (default 128; a longer GPT prompt is prefilled in chunks over several steps, a longer source alone). */
  prefillBudget?: number;
}

interface Row {
  id: number;
  generated: number[];
  last: number;
  maxNew: number;
  eos: ReadonlySet<number>;
  pick: TokenPicker;
  /** Picks from the backend's best `count` candidates (greedy, top-k sampling without a penalty). */
  top: { count: number; pick: CandidatePicker } | null;
  done: FinishReason | null;
}

function pickers(req: SequenceRequest): Pick<Row, 'pick' | 'top'> {
  const s = req.sampling;
  if (req.strategy === 'greedy') {
    const pick: TokenPicker = s.repetitionPenalty === 1 ? (l) => argmax(l) : (l, g) => argmax(applyRepetitionPenalty(l, g, s.repetitionPenalty));
    return { pick, top: s.repetitionPenalty === 1 ? { count: 1, pick: firstCandidate } : null };
  }
  // one uniform stream for both forms: a row may be picked either way from step to step
  const uniform = uniformSource(s.seed);
  return {
    pick: samplingPicker(s, uniform),
    top: s.topK > 0 && s.repetitionPenalty === 1 ? { count: s.topK, pick: samplingCandidatePicker(s, uniform) } : null,
  };
}

export class ContinuousBatch {
  readonly maxBatch: number;
  readonly prefillBudget: number;
  private readonly model: BatchModel;
  private readonly cache: PaddedCache;
  private readonly device: string;
  /** The row in each cache slot (null: free). */
  private slots: Array<Row | null> = [];
  private waiting: Array<{ id: number; req: SequenceRequest }> = [];
  private readonly cancelled = new Set<number>();
  /** The sequence whose prompt is being prefilled in chunks (its own cache), if any. */
  private partial: { id: number; req: SequenceRequest; kv: AttentionKV[] | null; done: number } | null = null;
  private readonly row64: Float64Array;

  constructor(model: BatchModel, options: BatchOptions = {}) {
    this.model = model;
    this.maxBatch = options.maxBatch ?? 32;
    this.prefillBudget = options.prefillBudget ?? 128;
    this.device = model.device;
    this.cache = new PaddedCache(model.numLayers, this.device, model.maxLength);
    this.row64 = new Float64Array(model.vocabSize);
  }

  /** Sequences being decoded. */
  get active(): number {
    return this.live().length;
  }

  /** Sequences waiting to join. */
  get queued(): number {
    return this.waiting.length + (this.partial === null ? 0 : 1);
  }

  get idle(): boolean {
    return this.active === 0 && this.waiting.length === 0 && this.partial === null;
  }

  /** Queue a sequence (checked by the caller); it joins at a coming step. */
  submit(id: number, req: SequenceRequest): void {
    this.waiting.push({ id, req });
  }

  /** Stop a sequence (waiting or active) at the next step; it ends with finish 'cancelled'. */
  cancel(id: number): void {
    this.cancelled.add(id);
  }

  /** The live rows and their slots. */
  private live(): Array<[Row, number]> {
    return this.slots.flatMap((r, s) => (r === null ? [] : [[r, s] as [Row, number]]));
  }

  /** One step of the batch (see the file comment); returns every sequence's progress. */
  step(): SequenceEvent[] {
    const events: SequenceEvent[] = [];
    if (this.cancelled.size > 0) this.dropCancelled(events);
    noGrad(() => withEvalSemantics(() => {
      const moved = this.cache.compact(this.queued);
      if (moved !== null) this.remap(moved);
      if (this.active > 0) this.decodeStep(events);
      this.admit(events);
      // the last row finished: give the buffers back now, not when the next one comes
      if (this.active === 0) {
        const moved = this.cache.compact();
        if (moved !== null) this.remap(moved);
      }
    }));
    return events;
  }

  /** The cache was rebuilt: live rows moved from slot `from` to `to`; every other slot is gone. */
  private remap(moved: Map<number, number>): void {
    const next: Array<Row | null> = [];
    for (const [from, to] of moved) next[to] = this.slots[from]!;
    this.slots = Array.from({ length: this.cache.slots }, (_, s) => next[s] ?? null);
    this.model.remapped?.(moved, this.cache.slots);
  }

  private finish(slot: number): void {
    this.slots[slot] = null;
    this.cache.free(slot);
    this.model.freed?.(slot);
  }

  private dropCancelled(events: SequenceEvent[]): void {
    this.waiting = this.waiting.filter((w) => {
      if (!this.cancelled.has(w.id)) return true;
      events.push({ id: w.id, token: null, finish: 'cancelled' });
      return false;
    });
    for (const [r, s] of this.live()) {
      if (!this.cancelled.has(r.id)) continue;
      events.push({ id: r.id, token: null, finish: 'cancelled' });
      this.finish(s);
    }
    if (this.partial !== null && this.cancelled.has(this.partial.id)) {
      events.push({ id: this.partial.id, token: null, finish: 'cancelled' });
      releaseLayers(this.partial.kv);
      this.partial = null;
    }
    this.cancelled.clear();
  }

  /** One token for every live row: a forward over every slot (free ones decode along, ignored). */
  private decodeStep(events: SequenceEvent[]): void {
    const S = this.cache.slots;
    const logits = tidy(() => {
      const ids = tensor(Int32Array.from(this.slots, (r) => (r === null ? 0 : r.last)), { shape: [S, 1], dtype: 'int32', backend: this.device });
      const out = this.model.decode(ids, this.cache);
      this.cache.update(out.kv, 1);
      return out.logits;
    });
    const live = this.live();
    try {
      this.choose(live, logits, events);
    } finally {
      logits.dispose();
    }
    for (const [r, s] of live) if (r.done !== null) this.finish(s);
  }

  /**
   * Admit waiting sequences (FIFO) while the batch has room and the step's prefill budget
   * lasts: whole prompts that fit (equal lengths prefilled as one batch), then the next one in
   * chunks of what is left of the budget, over as many steps as it takes, so that a long
   * prompt never stalls the running rows for longer than one budget's worth of prefill.
   */
  private admit(events: SequenceEvent[]): void {
    let room = this.maxBatch - this.active;
    let budget = this.prefillBudget;
    if (this.partial !== null) {
      budget -= this.prefillChunk(budget, events);
      room--;
      if (this.partial !== null) return;  // FIFO: nothing overtakes a prompt being prefilled
    }
    const taken: Array<{ id: number; req: SequenceRequest }> = [];
    while (room > 0 && budget > 0 && this.waiting.length > 0) {
      const next = this.waiting[0]!;
      const P = next.req.prompt.length;
      if (P > budget) {
        // a GPT prompt goes on in chunks; anything else longer than the budget runs alone
        if (this.model.prefillChunk !== undefined) this.partial = { ...this.waiting.shift()!, kv: null, done: 0 };
        else if (taken.length === 0) taken.push(this.waiting.shift()!);
        break;
      }
      taken.push(this.waiting.shift()!);
      budget -= P;
      room--;
    }
    // equal prompt lengths prefill as one batch
    const groups = new Map<number, Array<{ id: number; req: SequenceRequest }>>();
    for (const t of taken) {
      const g = groups.get(t.req.prompt.length);
      if (g === undefined) groups.set(t.req.prompt.length, [t]);
      else g.push(t);
    }
    for (const group of groups.values()) this.prefill(group, events);
    if (this.partial !== null && budget > 0) this.prefillChunk(budget, events);
  }

  /** The next chunk (at most `budget` tokens) of the prompt being prefilled in pieces; the last one joins it to the batch. Returns the tokens run. */
  private prefillChunk(budget: number, events: SequenceEvent[]): number {
    const p = this.partial!;
    const P = p.req.prompt.length;
    const n = Math.min(P - p.done, budget);
    const out = this.model.prefillChunk!(p.req.prompt.subarray(p.done, p.done + n), p.done, p.kv, p.done + n === P);
    releaseLayers(p.kv, out.kv);
    p.kv = out.kv;
    p.done += n;
    if (out.logits === null) return n;
    this.partial = null;
    this.joinPrefilled([p], out.logits, out.kv, undefined, events);
    return n;
  }

  private prefill(group: Array<{ id: number; req: SequenceRequest }>, events: SequenceEvent[]): void {
    const out = this.model.prefill(group.map((g) => g.req.prompt));
    this.joinPrefilled(group, out.logits, out.kv, out.extras, events);
  }

  /** Rows whose prompts were just prefilled: pick their first tokens from logits [G,V] and place the live ones in free slots. */
  private joinPrefilled(group: Array<{ id: number; req: SequenceRequest }>, logits: Tensor, kv: AttentionKV[], extras: unknown[] | undefined, events: SequenceEvent[]): void {
    const rows: Row[] = group.map(({ id, req }) => ({ id, generated: [], last: -1, maxNew: req.maxNewTokens, eos: new Set(req.eos === null ? [] : typeof req.eos === 'number' ? [req.eos] : req.eos), ...pickers(req), done: null }));
    try {
      this.choose(rows.map((r, i) => [r, i]), logits, events);
    } catch (err) {
      releaseLayers(kv);
      throw err;
    } finally {
      logits.dispose();
    }
    const keep = rows.flatMap((r, i) => (r.done === null ? [i] : []));
    // a rebuilt buffer keeps free slots for those still waiting (each rebuild copies the whole cache)
    const live = this.active + keep.length;
    // slots in multiples of 8 (so that rebuilt buffers come in a few sizes that freed blocks serve again)
    const spare = this.queued === 0 ? 0 : Math.max(0, Math.min(Math.ceil((live + this.queued) / 8) * 8, this.maxBatch) - live);
    const placed = this.cache.place(kv, keep, spare);
    if (placed.moved !== null) this.remap(placed.moved);
    const next: Array<Row | null> = Array.from({ length: this.cache.slots }, (_, s) => this.slots[s] ?? null);
    keep.forEach((i, j) => { next[placed.slots[j]!] = rows[i]!; });
    this.slots = next;
    if (extras !== undefined) this.model.placed?.(placed.slots, keep.map((i) => extras[i]), extras.filter((_, i) => !keep.includes(i)));
  }

  /** Each row's next token from logits [N,V] (row r reads line i of [r, i]): from the backend's top candidates when every row can, else from the full lines. */
  private choose(rows: ReadonlyArray<[Row, number]>, logits: Tensor, events: SequenceEvent[]): void {
    const V = this.model.vocabSize;
    const tokens = new Int32Array(rows.length);
    const banned = this.model.banned;
    if (rows.every(([r]) => r.top !== null)) {
      // as decode's token search: count + |banned| candidates, the banned ones skipped
      const kk = Math.min(V, Math.max(...rows.map(([r]) => r.top!.count)) + banned.length);
      const best = tidy(() => {
        const t = topk(logits, kk);
        return { values: t.values.toFloat32Array(), indices: t.indices.toTypedArray() as Int32Array };
      });
      rows.forEach(([r, line], i) => {
        const values: number[] = [], ids: number[] = [];
        for (let j = 0; j < kk && ids.length < r.top!.count; j++) {
          const v = best.values[line * kk + j]!, w = best.indices[line * kk + j]!;
          if (!Number.isNaN(v) && !banned.includes(w)) { values.push(v); ids.push(w); }
        }
        tokens[i] = r.top!.pick(Float64Array.from(values), Int32Array.from(ids), r.generated, 0);
      });
    } else {
      const host = logits.toFloat32Array();
      rows.forEach(([r, line], i) => {
        this.row64.set(host.subarray(line * V, (line + 1) * V));
        for (const id of banned) this.row64[id] = -Infinity;
        tokens[i] = r.pick(this.row64, r.generated, 0);
      });
    }
    rows.forEach(([r], i) => {
      const token = tokens[i]!;
      if (r.eos.has(token)) {
        r.done = 'stop';
        events.push({ id: r.id, token: null, finish: 'stop' });
        return;
      }
      r.generated.push(token);
      r.last = token;
      r.done = r.generated.length >= r.maxNew ? 'length' : null;
      events.push({ id: r.id, token, finish: r.done });
    });
  }

  /** Free the caches; waiting and active sequences are forgotten. */
  dispose(): void {
    releaseLayers(this.partial?.kv ?? null);
    this.partial = null;
    this.cache.dispose();
    this.model.dispose?.();
    this.slots = [];
    this.waiting = [];
  }
}
