// What a training task gives the Trainer. The task module (an ES module the
// worker imports) exports `createTask(options)` returning a TrainTask; the model,
// optimizer and data live inside the worker that runs it.
import type { Precision } from './protocol.js';
import type { CheckpointParts } from './state.js';
import type { DistributedContext } from '../distributed/context.js';

export interface StepResult {
  /** The step's training loss. */
  loss: number;
  /** Tokens processed (for tokens/s). */
  tokens: number;
  /** Global gradient norm before clipping, when the task computes it. */
  gradNorm?: number;
  /** Learning rate used for this step. */
  lr?: number;
}

export interface TrainTask {
  /** What a checkpoint holds (model, optimizer, scheduler, data position). */
  parts: CheckpointParts;
  /** One optimizer step on the next batch; null when the data is exhausted. */
  trainStep(): StepResult | null | Promise<StepResult | null>;
  /** Mean validation loss (called every `validateEvery` steps). */
  validate?(): number | Promise<number>;
  dispose?(): void;
}

/** What the Trainer gives createTask besides its options. */
export interface TaskContext {
  /**
   * Set when the Trainer runs with `distributed`: the task trains on
   * `distributed.shard(globalBatch)` and calls `distributed.backward(loss, { weight })`
   * instead of `loss.backward()`. Its StepResult reports this rank's mean loss
   * and token count; the Trainer sums them over the ranks.
   */
  distributed: DistributedContext | null;
  /**
   * The Trainer's precision: with 'bf16' the task runs its forward passes (and the loss) inside
   * toroid.autocast({ dtype: 'bfloat16' }, ...); parameters, gradients and the optimizer stay float32.
   */
  precision: Precision;
}

export type CreateTask = (options: unknown, context: TaskContext) => TrainTask | Promise<TrainTask>;
