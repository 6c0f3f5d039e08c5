// optim.GradScaler: dynamic loss scaling for mixed-precision training, shaped like
// torch.cuda.amp.GradScaler (but backend-independent: ts, cpu and cuda alike).
//
//   const scaler = new optim.GradScaler();
//   scaler.scale(loss).backward();       // grads are scale * d(loss)
//   scaler.unscale(opt);                 // optional: before clipGradNorm
//   optim.clipGradNorm(params, 1);
//   scaler.step(opt);                    // skipped (returns false) on Inf/NaN grads
//   scaler.update();                     // back off on overflow, grow after a streak
//
// Semantics (PyTorch's):
//   - scale(loss) = loss * scale, recorded for autograd. Small fp16 gradients that
//     would underflow are lifted by the scale; unscale() divides it out again.
//   - unscale(opt) multiplies every .grad of opt's param groups by 1 / scale and
//     records whether any of them holds an Inf or a NaN. Once per optimizer between
//     two update()s; step() calls it when the user has not. As in clipGradNorm, each
//     .grad is REPLACED by a new tensor and the old one is disposed: read p.grad
//     after the call, do not hold the old handle across it.
//   - step(opt) runs opt.step() unless a non-finite gradient was found; returns
//     whether it stepped. A skipped step leaves parameters and optimizer state as
//     they were (the grads stay unscaled, with their Inf/NaN; zeroGrad() as usual).
//   - update() after the step(s) of an iteration: if any optimizer saw Inf/NaN,
//     scale *= backoffFactor and the streak of good steps restarts; after
//     growthInterval consecutive good iterations scale *= growthFactor (only while
//     the result stays a finite float32, like PyTorch's float32 scale tensor).
//     update(newScale) sets the scale instead.
//   - With the default powers of two (2^16, x2, x0.5) scaling and unscaling are exact
//     in floating point, so a run with the scaler and no overflow gives the same
//     parameters as one without it.
//   - Disabled ({ enabled: false }): scale(loss) returns `loss` itself (the same
//     object, no copy: dispose it once; Tensor.dispose() is idempotent anyway),
//     unscale() and update() do nothing, step(opt) is opt.step() (returns true) and
//     getScale() is 1.
// Inf/NaN detection runs on each gradient's backend: one reduction per gradient,
// sum(g / scale * 0), which is NaN exactly when some element is Inf or NaN (and cannot
// overflow); the sums are added up on the device and one number per backend and dtype
// is read to the host.
import { describeValue, rangeError, typeError } from '../errors.js';
import { noGrad } from '../autograd/tape.js';
import { checkBoolean, checkOptions, checkPositiveFinite, checkTensor, isTensor } from '../validate/checks.js';
import { scale as scaleBy } from '../ops/elementwise.js';
import { keep, tidy } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import type { BaseHyper, Optimizer } from './optimizer.js';

export interface GradScalerOptions {
  /** The first scale (default 2^16). */
  initScale?: number;
  /** Multiplies the scale after growthInterval good steps; > 1 (default 2). */
  growthFactor?: number;
  /** Multiplies the scale after a step with Inf/NaN gradients; in (0, 1) (default 0.5). */
  backoffFactor?: number;
  /** Consecutive good steps before the scale grows; a positive integer (default 2000). */
  growthInterval?: number;
  /** false makes every method a pass-through (default true). */
  enabled?: boolean;
}

/** What stateDict() returns: plain numbers, for a training checkpoint. */
export interface GradScalerState {
  scale: number;
  growthFactor: number;
  backoffFactor: number;
  growthInterval: number;
  /** Consecutive good steps since the scale last changed. */
  growthTracker: number;
}

/** The largest finite float32: the scale never grows past it. */
const FLOAT32_MAX = 3.4028234663852886e38;

interface OptimizerStage {
  stage: 'unscaled' | 'stepped';
  foundInf: boolean;
}

function checkGrowthFactor(fn: string, arg: string, value: unknown): number {
  if (typeof value !== 'number') throw typeError(fn, arg, 'a finite number > 1', describeValue(value));
  if (!(value > 1 && value <= Number.MAX_VALUE)) throw rangeError(fn, arg, 'a finite number > 1', String(value));
  return value;
}

function checkBackoffFactor(fn: string, arg: string, value: unknown): number {
  if (typeof value !== 'number') throw typeError(fn, arg, 'a number in (0, 1)', describeValue(value));
  if (!(value > 0 && value < 1)) throw rangeError(fn, arg, 'a number in (0, 1)', String(value));
  return value;
}

function checkInterval(fn: string, arg: string, value: unknown): number {
  if (typeof value !== 'number') throw typeError(fn, arg, 'a positive integer', describeValue(value));
  if (!Number.isSafeInteger(value) || value < 1) throw rangeError(fn, arg, 'a positive integer', String(value));
  return value;
}

function checkOptimizer(fn: string, optimizer: unknown): Optimizer<BaseHyper> {
  const o = optimizer as { paramGroups?: unknown; step?: unknown } | null;
  if (o === null || typeof o !== 'object' || !Array.isArray(o.paramGroups) || typeof o.step !== 'function') {
    throw typeError(fn, 'optimizer', 'an optimizer (with paramGroups and step())', describeValue(optimizer));
  }
  return optimizer as Optimizer<BaseHyper>;
}

export class GradScaler {
  private _scale: number;
  private growthFactor: number;
  private backoffFactor: number;
  private growthInterval: number;
  private growthTracker = 0;
  private readonly enabled: boolean;
  /** Per optimizer since the last update(): absent = ready, then unscaled, then stepped. */
  private readonly stages = new Map<object, OptimizerStage>();

  constructor(options?: GradScalerOptions) {
    const fn = 'GradScaler';
    const opts = checkOptions(fn, options, ['initScale', 'growthFactor', 'backoffFactor', 'growthInterval', 'enabled']);
    this._scale = checkPositiveFinite(fn, 'options.initScale', opts.initScale ?? 2 ** 16);
    this.growthFactor = checkGrowthFactor(fn, 'options.growthFactor', opts.growthFactor ?? 2);
    this.backoffFactor = checkBackoffFactor(fn, 'options.backoffFactor', opts.backoffFactor ?? 0.5);
    this.growthInterval = checkInterval(fn, 'options.growthInterval', opts.growthInterval ?? 2000);
    this.enabled = checkBoolean(fn, 'options.enabled', opts.enabled, true);
  }

  /** Whether scaling is on (the constructor's `enabled`). */
  isEnabled(): boolean {
    return this.enabled;
  }

  /** The current scale (1 when disabled). */
  getScale(): number {
    return this.enabled ? this._scale : 1;
  }

  /**
   * loss * scale, a new tensor recorded for autograd (call .backward() on it). When
   * disabled, `loss` itself (the same object).
   */
  scale(loss: Tensor): Tensor {
    const tensor = checkTensor('GradScaler.scale', 'loss', loss);
    if (!this.enabled) return tensor;
    return scaleBy(tensor, this._scale);
  }

  /**
   * Divide every gradient of `optimizer`'s param groups by the scale (each .grad is
   * replaced, the old one disposed) and record whether any holds Inf/NaN. At most once
   * per optimizer between update()s, and before step(). Nothing when disabled.
   */
  unscale(optimizer: Optimizer<BaseHyper>): void {
    const fn = 'GradScaler.unscale';
    checkOptimizer(fn, optimizer);
    if (!this.enabled) return;
    const stage = this.stages.get(optimizer)?.stage;
    if (stage === 'unscaled') {
      throw new Error(`toroid.${fn}: unscale() was already called on this optimizer since the last update(); call it at most once per step, before step()`);
    }
    if (stage === 'stepped') {
      throw new Error(`toroid.${fn}: unscale() was called after step(); call it before step() (step() unscales by itself), then update()`);
    }
    const foundInf = this.unscaleGrads(fn, optimizer);
    this.stages.set(optimizer, { stage: 'unscaled', foundInf });
  }

  /**
   * unscale(optimizer) if not done yet, then optimizer.step() unless a gradient holds
   * Inf/NaN. Returns whether the optimizer stepped. Once per optimizer between update()s.
   */
  step(optimizer: Optimizer<BaseHyper>): boolean {
    const fn = 'GradScaler.step';
    checkOptimizer(fn, optimizer);
    if (!this.enabled) {
      optimizer.step();
      return true;
    }
    let entry = this.stages.get(optimizer);
    if (entry?.stage === 'stepped') {
      throw new Error(`toroid.${fn}: step() was already called on this optimizer since the last update(); call update() once per iteration, after step()`);
    }
    if (entry === undefined) {
      entry = { stage: 'unscaled', foundInf: this.unscaleGrads(fn, optimizer) };
      this.stages.set(optimizer, entry);
    }
    if (entry.foundInf) {
      entry.stage = 'stepped';
      return false;
    }
    optimizer.step();
    entry.stage = 'stepped';
    return true;
  }

  /**
   * Adjust the scale after this iteration's step()s: backoffFactor if any optimizer
   * saw Inf/NaN, growthFactor after growthInterval good iterations in a row. With
   * `newScale`, set the scale to it instead. Nothing when disabled.
   */
  update(newScale?: number): void {
    const fn = 'GradScaler.update';
    if (!this.enabled) return;
    if (newScale !== undefined) {
      this._scale = checkPositiveFinite(fn, 'newScale', newScale);
      this.stages.clear();
      return;
    }
    if (this.stages.size === 0) {
      throw new Error(`toroid.${fn}: no gradients were checked since the last update(); call step(optimizer) (or unscale(optimizer)) before update()`);
    }
    let foundInf = false;
    for (const entry of this.stages.values()) foundInf = foundInf || entry.foundInf;
    this.stages.clear();
    if (foundInf) {
      this._scale *= this.backoffFactor;
      this.growthTracker = 0;
      return;
    }
    this.growthTracker++;
    if (this.growthTracker >= this.growthInterval) {
      const grown = this._scale * this.growthFactor;
      if (grown <= FLOAT32_MAX) this._scale = grown;
      this.growthTracker = 0;
    }
  }

  /** { scale, growthFactor, backoffFactor, growthInterval, growthTracker }: plain numbers. */
  stateDict(): GradScalerState {
    return {
      scale: this._scale,
      growthFactor: this.growthFactor,
      backoffFactor: this.backoffFactor,
      growthInterval: this.growthInterval,
      growthTracker: this.growthTracker,
    };
  }

  /** Restore a stateDict() (checked first; nothing changes unless every field is valid). */
  loadStateDict(state: GradScalerState): void {
    const fn = 'GradScaler.loadStateDict';
    if (state === null || typeof state !== 'object' || Array.isArray(state)) {
      throw typeError(fn, 'state', 'an object { scale, growthFactor, backoffFactor, growthInterval, growthTracker }', describeValue(state));
    }
    const scale = checkPositiveFinite(fn, 'state.scale', state.scale);
    const growthFactor = checkGrowthFactor(fn, 'state.growthFactor', state.growthFactor);
    const backoffFactor = checkBackoffFactor(fn, 'state.backoffFactor', state.backoffFactor);
    const growthInterval = checkInterval(fn, 'state.growthInterval', state.growthInterval);
    const tracker = state.growthTracker;
    if (typeof tracker !== 'number') throw typeError(fn, 'state.growthTracker', 'a non-negative integer', describeValue(tracker));
    if (!Number.isSafeInteger(tracker) || tracker < 0) throw rangeError(fn, 'state.growthTracker', 'a non-negative integer', String(tracker));
    this._scale = scale;
    this.growthFactor = growthFactor;
    this.backoffFactor = backoffFactor;
    this.growthInterval = growthInterval;
    this.growthTracker = tracker;
  }

  /** Multiply every grad by 1 / scale (replacing .grad); true when any holds Inf/NaN. */
  private unscaleGrads(fn: string, optimizer: Optimizer<BaseHyper>): boolean {
    const params: Tensor[] = [];
    optimizer.paramGroups.forEach((group, gi) => {
      const list = (group as { params?: unknown }).params;
      if (!Array.isArray(list)) throw typeError(fn, `optimizer.paramGroups[${gi}].params`, 'an array of Tensors', describeValue(list));
      list.forEach((p: unknown, j) => {
        const arg = `optimizer.paramGroups[${gi}].params[${j}]`;
        if (!isTensor(p)) throw typeError(fn, arg, 'a Tensor', describeValue(p));
        const g = p.grad;
        if (g === null) return;
        if (!isTensor(g) || g.isDisposed) throw typeError(fn, `${arg}.grad`, 'a live Tensor', g.isDisposed ? 'a disposed one' : describeValue(g));
        if (g.dtype !== 'float32' && g.dtype !== 'float64') throw typeError(fn, `${arg}.grad`, 'a float32 or float64 Tensor', g.dtype);
        params.push(p);
      });
    });
    if (params.length === 0) return false;
    const inv = 1 / this._scale;
    if (!(inv <= Number.MAX_VALUE)) {
      throw new Error(`toroid.${fn}: the scale has underflowed to ${this._scale} after repeated Inf/NaN gradients; the gradients are non-finite at every scale (check the model and the data)`);
    }
    const sums = noGrad(() => tidy(() => {
      // per backend and dtype: the sum over its grads of sum(g / scale * 0), on the device
      const acc = new Map<string, Tensor>();
      for (const p of params) {
        const g = p.grad!;
        const unscaled = keep(scaleBy(g, inv));
        p.grad = unscaled;
        g.dispose();
        const zeros = scaleBy(unscaled, 0); // 0 where finite, NaN where Inf or NaN
        const s = zeros.sum();
        zeros.dispose();
        const key = `${unscaled.device}/${unscaled.dtype}`;
        const prev = acc.get(key);
        if (prev === undefined) {
          acc.set(key, s);
        } else {
          acc.set(key, prev.add(s));
          prev.dispose();
          s.dispose();
        }
      }
      return [...acc.values()].map((t) => t.item());
    }));
    return sums.some((v) => !Number.isFinite(v));
  }
}
