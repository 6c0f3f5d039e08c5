// What a training task sees of data-parallel training: its rank, its shard of each
// global batch, and a backward that leaves every rank holding the gradient of the
// whole global batch. The Trainer's worker builds it (src/train/worker.ts) and
// passes it to createTask(options, { distributed }).
//
//   trainStep() {
//     const global = sampler.next();                          // the same on every rank
//     const mine = ctx.shard(global);                         // this rank's examples
//     const loss = lossOf(batchOf(mine));                     // mean over my tokens
//     ctx.backward(loss, { weight: myTokens / globalTokens }); // grads of the global mean
//     optimizer.step();
//   }
import { describeValue, rangeError, typeError } from '../errors.js';
import { getRngState, setRngState } from '../random/generator.js';
import { noGrad } from '../autograd/tape.js';
import { scale } from '../ops/elementwise.js';
import { copyInto } from '../nn/parameter.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Collective } from './collective.js';
import { GradientReducer, type ReducerOptions } from './reducer.js';

interface ModelLike {
  stateDict(): Record<string, Tensor>;
  /** The trainable tensors (an nn.Module's); without it, the stateDict's tensors that require grad. */
  parameters?(): Tensor[];
}

export class DistributedContext {
  readonly rank: number;
  readonly worldSize: number;
  readonly localRank: number;
  private reducer: GradientReducer | null = null;
  /** Gradient buckets per backward (0 before attach). */
  get bucketCount(): number {
    return this.reducer?.bucketCount ?? 0;
  }
  /** All-reduce time not hidden by the backward in the last step (ms). */
  get lastReduceWaitMs(): number {
    return this.reducer?.lastWaitMs ?? 0;
  }

  constructor(readonly collective: Collective, private readonly reducerOptions: ReducerOptions = {}) {
    this.rank = collective.rank;
    this.worldSize = collective.worldSize;
    this.localRank = collective.localRank;
  }

  /** This rank's contiguous slice of a global batch (sizes differ by at most one; a slice may be empty). */
  shard<T>(items: readonly T[]): T[] {
    if (!Array.isArray(items)) throw typeError('DistributedContext.shard', 'items', 'an array', describeValue(items));
    const n = items.length, base = Math.floor(n / this.worldSize), extra = n % this.worldSize;
    const start = this.rank * base + Math.min(this.rank, extra);
    return items.slice(start, start + base + (this.rank < extra ? 1 : 0));
  }

  /**
   * Backward of this rank's part of the global loss, then the sum over ranks:
   * every rank ends with the gradients of sum_r weight_r * loss_r. With weight =
   * this rank's share of the global batch (tokens or examples), that is the
   * gradient of the global-batch mean, as one process would compute it. Default
   * weight: 1 / worldSize (the average, as DDP). `loss` null: this rank had no
   * examples; it still takes part (with zero gradients).
   */
  backward(loss: Tensor | null, options: { weight?: number } = {}): void {
    const weight = options.weight ?? 1 / this.worldSize;
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) throw rangeError('DistributedContext.backward', 'options.weight', 'a finite number >= 0', describeValue(weight));
    const reducer = this.reducer;
    if (reducer === null) throw new Error('toroid.distributed: backward() before the model was attached (the Trainer attaches task.parts.model after createTask)');
    if (this.worldSize === 1) {
      // alone: the sum over ranks is this rank's gradient
      if (loss !== null) weightedBackward(loss, weight);
      return;
    }
    reducer.prepare();
    try {
      if (loss !== null) weightedBackward(loss, weight);
    } finally {
      reducer.finish();
    }
  }

  /** Sums a few numbers over the ranks (float64). */
  allReduceNumbers(values: readonly number[]): number[] {
    return this.collective.allReduceNumbers(values);
  }

  /**
   * Makes every rank start from rank 0's parameters and buffers, gives each rank
   * its own dropout stream, and sets up the gradient buckets. Called by the
   * Trainer after createTask and any resume.
   */
  attach(model: ModelLike): void {
    const entries = Object.entries(model.stateDict()).filter(([, t]) => t.dtype === 'float32' && t.backend === this.collective.backend);
    if (this.worldSize > 1 && entries.length > 0) {
      const received = this.collective.broadcast(entries.map(([, t]) => t), 0);
      noGrad(() => entries.forEach(([, t], i) => {
        if (this.rank !== 0) copyInto(t, received[i]!);
        received[i]!.dispose();
      }));
    }
    // the same seed on every rank would give every rank the same dropout masks
    if (this.rank > 0) {
      const { seed, offset } = getRngState();
      setRngState({ seed: BigInt.asUintN(64, seed * 0x9e3779b97f4a7c15n + BigInt(this.rank)), offset });
    }
    this.reducer?.dispose();
    const parameters = model.parameters?.() ?? Object.values(model.stateDict()).filter((t) => t.requiresGrad);
    this.reducer = new GradientReducer(this.collective, parameters, this.reducerOptions);
  }

  /**
   * Throws when the ranks' parameters differ (debug mode: every N steps): each
   * rank hashes its parameters' bytes and the hashes are compared on every rank.
   */
  checkParameters(model: ModelLike, step: number): void {
    const slots = new Array<number>(2 * this.worldSize).fill(0);
    let h1 = 0x811c9dc5, h2 = 0x9747b28c;
    for (const [, t] of Object.entries(model.stateDict())) {
      const a = t.toTypedArray();
      const words = a.byteLength % 4 === 0 ? new Uint32Array(a.buffer, a.byteOffset, a.byteLength / 4) : new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      for (let i = 0; i < words.length; i++) {
        h1 = Math.imul(h1 ^ words[i]!, 0x01000193) >>> 0;
        h2 = Math.imul(h2 ^ words[i]!, 0x5bd1e995) >>> 0;
      }
    }
    slots[2 * this.rank] = h1;
    slots[2 * this.rank + 1] = h2;
    const all = this.collective.allReduceNumbers(slots);
    const differ: number[] = [];
    for (let r = 1; r < this.worldSize; r++) if (all[2 * r] !== all[0] || all[2 * r + 1] !== all[1]) differ.push(r);
    if (differ.length > 0) {
      throw new Error(`toroid.distributed: after step ${step} the parameters of rank(s) ${differ.join(', ')} differ from rank 0's (hash check): the ranks diverged (non-deterministic kernels, a different thread count, or a task that updates parameters outside the reduced gradients)`);
    }
  }

  dispose(): void {
    this.reducer?.dispose();
    this.reducer = null;
  }
}

function weightedBackward(loss: Tensor, weight: number): void {
  if (weight === 1) {
    loss.backward();
    return;
  }
  const weighted = scale(loss, weight);
  try {
    weighted.backward();
  } finally {
    weighted.dispose();
  }
}
