// Continuous batching over a GPT: sequences join the running batch at the next step and
// leave it when they finish, so one forward serves every active sequence.
//
// Each step():
//   1. drops cancelled sequences;
//   2. decodes one token for every active row (one cached forward over the batch, each row
//      at its own position, padding slots masked; serve/padded-cache.ts);
//   3. admits waiting sequences up to maxBatch, within a prefill budget: those with equal
//      prompt lengths are prefilled together, and each gets its first token from its prefill;
//   4. drops the rows that finished from the cache.
// A sequence's tokens equal generate()'s for the same prompt and options: the prefill is
// the same forward, and a padded row's attention sees only its own positions.
import { noGrad } from '../autograd/tape.js';
import { argmax, firstCandidate, type CandidatePicker, type TokenPicker } from '../decode/greedy.js';
import { applyRepetitionPenalty, samplingCandidatePicker, samplingPicker, uniformSource, type ResolvedSampling } from '../decode/sampling.js';
import { withEvalSemantics } from '../nn/module.js';
import type { GPT } from '../nn/gpt.js';
import { narrow, reshape } from '../ops/layout.js';
import { topk } from '../ops/topk.js';
import { tensor } from '../tensor/create.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { PaddedCache } from './padded-cache.js';

export interface SequenceRequest {
  /** Prompt token ids (at least one, each < vocabSize; prompt + maxNewTokens - 1 <= blockSize). */
  prompt: Int32Array;
  maxNewTokens: number;
  /** Ids that end the sequence (not emitted): one id, several, or null for none. */
  eos: number | readonly number[] | null;
  strategy: 'greedy' | 'sample';
  sampling: ResolvedSampling;
}

export type FinishReason = 'stop' | 'length' | 'cancelled';

/** One sequence's progress in a step: a new token, and/or its end. */
export interface SequenceEvent {
  id: number;
  token: number | null;
  finish: FinishReason | null;
}

export interface GPTBatchOptions {
  /** Most sequences decoded together (default 32). */
  maxBatch?: number;
  /** Most prompt tokens prefilled in one step (default 1024; a longer prompt is admitted alone). */
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

export class GPTBatch {
  readonly maxBatch: number;
  readonly prefillBudget: number;
  private readonly model: GPT;
  private readonly cache: PaddedCache;
  private readonly device: string;
  private rows: Row[] = [];
  private waiting: Array<{ id: number; req: SequenceRequest }> = [];
  private readonly cancelled = new Set<number>();
  private readonly row64: Float64Array;

  constructor(model: GPT, options: GPTBatchOptions = {}) {
    this.model = model;
    this.maxBatch = options.maxBatch ?? 32;
    this.prefillBudget = options.prefillBudget ?? 1024;
    this.device = model.lmHead.weight.device;
    this.cache = new PaddedCache(model.config.nLayer, this.device);
    this.row64 = new Float64Array(model.config.vocabSize);
  }

  /** Sequences being decoded. */
  get active(): number {
    return this.rows.length;
  }

  /** Sequences waiting to join. */
  get queued(): number {
    return this.waiting.length;
  }

  get idle(): boolean {
    return this.rows.length === 0 && this.waiting.length === 0;
  }

  /** Queue a sequence (checked by the caller); it joins at a coming step. */
  submit(id: number, req: SequenceRequest): void {
    this.waiting.push({ id, req });
  }

  /** Stop a sequence (waiting or active) at the next step; it ends with finish 'cancelled'. */
  cancel(id: number): void {
    this.cancelled.add(id);
  }

  /** One step of the batch (see the file comment); returns every sequence's progress. */
  step(): SequenceEvent[] {
    const events: SequenceEvent[] = [];
    if (this.cancelled.size > 0) this.dropCancelled(events);
    noGrad(() => withEvalSemantics(() => {
      if (this.rows.length > 0) this.decodeStep(events);
      this.admit(events);
    }));
    const live: number[] = [];
    this.rows.forEach((r, i) => { if (r.done === null) live.push(i); });
    if (live.length !== this.rows.length) {
      this.cache.keepRows(live);
      this.rows = live.map((i) => this.rows[i]!);
    }
    return events;
  }

  private dropCancelled(events: SequenceEvent[]): void {
    this.waiting = this.waiting.filter((w) => {
      if (!this.cancelled.has(w.id)) return true;
      events.push({ id: w.id, token: null, finish: 'cancelled' });
      return false;
    });
    const live: number[] = [];
    this.rows.forEach((r, i) => {
      if (this.cancelled.has(r.id)) events.push({ id: r.id, token: null, finish: 'cancelled' });
      else live.push(i);
    });
    this.cancelled.clear();
    if (live.length !== this.rows.length) {
      this.cache.keepRows(live);
      this.rows = live.map((i) => this.rows[i]!);
    }
  }

  private decodeStep(events: SequenceEvent[]): void {
    const R = this.rows.length;
    const offset = this.cache.length;
    const rowsOpts = tidy(() => {
      const mask = this.cache.paddingMask(1);
      return mask === null ? {} : { positions: this.cache.positions(), keyPaddingMask: mask };
    });
    let logits: Tensor;
    try {
      logits = tidy(() => {
        const ids = tensor(Int32Array.from(this.rows, (r) => r.last), { shape: [R, 1], dtype: 'int32', backend: this.device });
        const out = this.model.forwardCached(ids, { past: this.cache.layers, offset, ...rowsOpts });
        this.cache.update(out.kv, 1);
        return reshape(out.logits, [R, this.model.config.vocabSize]);
      });
    } finally {
      rowsOpts.keyPaddingMask?.dispose();
    }
    try {
      this.choose(this.rows, logits, events);
    } finally {
      logits.dispose();
    }
  }

  /** Admit waiting sequences (FIFO) while the batch has room and the step's prefill budget lasts. */
  private admit(events: SequenceEvent[]): void {
    let room = this.maxBatch - this.rows.filter((r) => r.done === null).length;
    let budget = this.prefillBudget;
    const taken: Array<{ id: number; req: SequenceRequest }> = [];
    while (room > 0 && this.waiting.length > 0) {
      const next = this.waiting[0]!;
      const P = next.req.prompt.length;
      if (taken.length > 0 && P > budget) break;
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
    for (const [P, group] of groups) this.prefill(P, group, events);
  }

  private prefill(P: number, group: Array<{ id: number; req: SequenceRequest }>, events: SequenceEvent[]): void {
    const G = group.length;
    const V = this.model.config.vocabSize;
    const data = new Int32Array(G * P);
    group.forEach((g, i) => data.set(g.req.prompt, i * P));
    const out = tidy(() => {
      const ids = tensor(data, { shape: [G, P], dtype: 'int32', backend: this.device });
      const r = this.model.forwardCached(ids, { past: [], offset: 0 });
      return { logits: reshape(P > 1 ? narrow(r.logits, 1, P - 1, 1) : r.logits, [G, V]), kv: r.kv };
    });
    const rows: Row[] = group.map(({ id, req }) => ({ id, generated: [], last: -1, maxNew: req.maxNewTokens, eos: new Set(req.eos === null ? [] : typeof req.eos === 'number' ? [req.eos] : req.eos), ...pickers(req), done: null }));
    try {
      this.choose(rows, out.logits, events);
    } catch (err) {
      for (const e of out.kv) { e.k.dispose(); e.v.dispose(); }
      throw err;
    } finally {
      out.logits.dispose();
    }
    this.cache.join(out.kv);
    this.rows.push(...rows);
  }

  /** Each row's next token from logits [R,V]: from the backend's top candidates when every row can, else from the full rows. */
  private choose(rows: Row[], logits: Tensor, events: SequenceEvent[]): void {
    const V = this.model.config.vocabSize;
    const tokens = new Int32Array(rows.length);
    if (rows.every((r) => r.top !== null)) {
      const kk = Math.min(V, Math.max(...rows.map((r) => r.top!.count)));
      const best = tidy(() => {
        const t = topk(logits, kk);
        return { values: t.values.toFloat32Array(), indices: t.indices.toTypedArray() as Int32Array };
      });
      rows.forEach((r, i) => {
        const values: number[] = [], ids: number[] = [];
        for (let j = 0; j < kk && ids.length < r.top!.count; j++) {
          const v = best.values[i * kk + j]!;
          if (!Number.isNaN(v)) { values.push(v); ids.push(best.indices[i * kk + j]!); }
        }
        tokens[i] = r.top!.pick(Float64Array.from(values), Int32Array.from(ids), r.generated, 0);
      });
    } else {
      const host = logits.toFloat32Array();
      rows.forEach((r, i) => {
        this.row64.set(host.subarray(i * V, (i + 1) * V));
        tokens[i] = r.pick(this.row64, r.generated, 0);
      });
    }
    rows.forEach((r, i) => {
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
    this.cache.dispose();
    this.rows = [];
    this.waiting = [];
  }
}
