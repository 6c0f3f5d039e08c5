// Learning-rate schedules: pure functions of the optimizer step s = 1, 2, ... (the step
// about to be taken), returning the ABSOLUTE learning rate, plus LRScheduler, which
// writes a schedule into an optimizer's groups.
//
//   const sched = new optim.LRScheduler(opt, optim.noam(512, 4000));
//   for (...) { loss.backward(); opt.step(); sched.step(); opt.zeroGrad(); }
//
// LRScheduler semantics (PyTorch's LambdaLR with lambda(e) = schedule(e + 1)):
//   - at construction it sets every group's lr for step 1; scheduler.step() after
//     each optimizer.step() moves to the next step, so optimizer step s uses schedule(s);
//   - by default every group's lr is schedule(s) (absolute: noam, warmupCosine and
//     linearDecay already carry the peak lr); with { relative: true } it is
//     initialLr(group) * schedule(s), exactly LambdaLR, for per-group learning rates;
//   - stateDict() is { step } (optimizer steps completed); loadStateDict() restores it
//     and sets the lrs for the next step.
// PyTorch's LambdaLR evaluates lambda(0) for the first step; the paper's rate(0) would
// be 0, so toroid counts from 1 (the Annotated Transformer's `if step == 0: step = 1`
// does the same).
import { describeValue, rangeError, typeError } from '../errors.js';
import { checkBoolean, checkNonNegativeFinite, checkNonNegativeInt, checkOptions, checkPositiveFinite, checkPositiveInt } from '../validate/checks.js';
import type { BaseHyper, Optimizer } from './optimizer.js';

/** lr for optimizer step s (1-based). */
export type Schedule = (step: number) => number;

function checkStep(fn: string, step: unknown): number {
  if (typeof step !== 'number') throw typeError(fn, 'step', 'a positive integer', describeValue(step));
  if (!Number.isInteger(step) || step < 1) throw rangeError(fn, 'step', 'a positive integer (steps count from 1)', String(step));
  return step;
}

/**
 * The paper's schedule (Vaswani et al. 2017, eq. 3):
 * factor * dModel^-0.5 * min(s^-0.5, s * warmup^-1.5); it peaks at s = warmup.
 */
export function noam(dModel: number, warmup: number, factor = 1): Schedule {
  const fn = 'noam';
  checkPositiveFinite(fn, 'dModel', dModel);
  checkPositiveInt(fn, 'warmup', warmup);
  checkNonNegativeFinite(fn, 'factor', factor);
  return (step: number) => {
    const s = checkStep(fn, step);
    return factor * dModel ** -0.5 * Math.min(s ** -0.5, s * warmup ** -1.5);
  };
}

export interface WarmupDecayOptions {
  /** Steps of linear warmup from maxLr / warmup to maxLr (0: none). */
  warmup: number;
  /** Step at which the decay reaches minLr (stays there after). */
  total: number;
  maxLr: number;
  /** Default 0. */
  minLr?: number;
}

function warmupDecay(fn: string, options: unknown, shape: (progress: number) => number): Schedule {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw typeError(fn, 'options', 'an object { warmup, total, maxLr, minLr? }', describeValue(options));
  const opts = checkOptions(fn, options, ['warmup', 'total', 'maxLr', 'minLr']);
  const warmup = checkNonNegativeInt(fn, 'options.warmup', opts.warmup);
  const total = checkNonNegativeInt(fn, 'options.total', opts.total);
  if (total < 1 || total < warmup) throw rangeError(fn, 'options.total', `a positive integer >= warmup (${warmup})`, String(total));
  const maxLr = checkNonNegativeFinite(fn, 'options.maxLr', opts.maxLr);
  const minLr = opts.minLr === undefined ? 0 : checkNonNegativeFinite(fn, 'options.minLr', opts.minLr);
  if (minLr > maxLr) throw rangeError(fn, 'options.minLr', `at most maxLr (${maxLr})`, String(minLr));
  return (step: number) => {
    const s = checkStep(fn, step);
    if (s <= warmup) return (maxLr * s) / warmup;
    const progress = total === warmup ? 1 : Math.min(1, (s - warmup) / (total - warmup));
    return minLr + (maxLr - minLr) * shape(progress);
  };
}

/**
 * Linear warmup to maxLr over `warmup` steps (s / warmup * maxLr), then half a cosine
 * from maxLr down to minLr at step `total`; minLr after.
 */
export function warmupCosine(options: WarmupDecayOptions): Schedule {
  return warmupDecay('warmupCosine', options, (t) => 0.5 * (1 + Math.cos(Math.PI * t)));
}

/** Linear warmup as warmupCosine, then a straight line from maxLr to minLr at step `total`; minLr after. */
export function linearDecay(options: WarmupDecayOptions): Schedule {
  return warmupDecay('linearDecay', options, (t) => 1 - t);
}

export interface LRSchedulerOptions {
  /** lr = initialLr(group) * schedule(s) (PyTorch's LambdaLR) instead of schedule(s). Default false. */
  relative?: boolean;
}

export interface LRSchedulerState {
  /** Optimizer steps completed. */
  step: number;
}

/** Writes schedule(s) into every param group's lr before optimizer step s (see the file comment). */
export class LRScheduler {
  private completed = 0;
  private readonly initialLrs: number[];
  readonly relative: boolean;

  constructor(readonly optimizer: Optimizer<BaseHyper>, readonly schedule: Schedule, options?: LRSchedulerOptions) {
    const fn = 'LRScheduler';
    if (optimizer === null || typeof optimizer !== 'object' || !Array.isArray((optimizer as { paramGroups?: unknown }).paramGroups)) {
      throw typeError(fn, 'optimizer', 'an optimizer (with paramGroups)', describeValue(optimizer));
    }
    if (typeof schedule !== 'function') throw typeError(fn, 'schedule', 'a function of the step', describeValue(schedule));
    const opts = checkOptions(fn, options, ['relative']);
    this.relative = checkBoolean(fn, 'options.relative', opts.relative, false);
    this.initialLrs = optimizer.paramGroups.map((g) => g.lr);
    this.apply();
  }

  /** Optimizer steps completed so far. */
  get lastStep(): number {
    return this.completed;
  }

  /** Call after optimizer.step(): sets the lrs for the next step. */
  step(): void {
    this.completed++;
    this.apply();
  }

  /** The lr of every group (what the next optimizer step uses). */
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  stateDict(): LRSchedulerState {
    return { step: this.completed };
  }

  loadStateDict(state: LRSchedulerState): void {
    const fn = 'LRScheduler.loadStateDict';
    if (state === null || typeof state !== 'object') throw typeError(fn, 'state', 'an object { step }', describeValue(state));
    this.completed = checkNonNegativeInt(fn, 'state.step', state.step);
    this.apply();
  }

  private apply(): void {
    const value = this.schedule(this.completed + 1);
    if (typeof value !== 'number' || !(value >= 0 && value <= Number.MAX_VALUE)) {
      throw rangeError('LRScheduler', 'schedule', 'a function returning a non-negative number', `${describeValue(value)} at step ${this.completed + 1}`);
    }
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = this.relative ? (this.initialLrs[i] ?? this.initialLrs[0]!) * value : value;
    });
  }
}
