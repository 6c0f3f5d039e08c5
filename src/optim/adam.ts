// optim.Adam and optim.AdamW, PyTorch's torch.optim.Adam / AdamW (amsgrad off, not maximize).
//
// Per parameter p with gradient g, at its own step t (1, 2, ...: PyTorch's per-parameter count):
//   Adam:  g <- g + weightDecay * p                      (L2 in the gradient, PyTorch's Adam)
//   AdamW: p <- p * (1 - lr * weightDecay)               (decoupled decay, PyTorch's AdamW)
//   m <- beta1 m + (1 - beta1) g;   v <- beta2 v + (1 - beta2) g^2
//   p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// Both run the fused in-place kernel toroid.adamwStep (one call per group, backend, dtype
// and step count); Adam with weightDecay > 0 first forms g + weightDecay * p with tensor
// ops and calls the kernel with weightDecay 0. State: exp_avg (m), exp_avg_sq (v), step.
import { adamwStep } from './adamw-step.js';
import { describeValue, rangeError, typeError } from '../errors.js';
import { scale } from '../ops/elementwise.js';
import { zeros } from '../tensor/create.js';
import { keep } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkNonNegativeFinite } from '../validate/checks.js';
import { Optimizer, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';

export interface AdamHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** Decay rates of the moment estimates, each in [0, 1) (default [0.9, 0.999]). */
  betas?: [number, number];
  /** Added to the denominator (default 1e-8). */
  eps?: number;
  /** Adam: L2 added to the gradient (default 0). AdamW: decoupled decay (default 0.01). */
  weightDecay?: number;
}

export type AdamParams = readonly Tensor[] | ReadonlyArray<ParamGroupInput<AdamHyper>>;

function checkBetas(fn: string, arg: string, value: unknown): [number, number] {
  const expected = 'two numbers in [0, 1)';
  if (!Array.isArray(value)) throw typeError(fn, arg, expected, describeValue(value));
  if (value.length !== 2) throw rangeError(fn, arg, expected, `an array of ${value.length}`);
  for (const b of value) {
    if (typeof b !== 'number') throw typeError(fn, arg, expected, `[${value.map((x) => describeValue(x)).join(', ')}]`);
    if (!(b >= 0 && b < 1)) throw rangeError(fn, arg, expected, `[${value.join(', ')}]`);
  }
  return [value[0] as number, value[1] as number];
}

const CHECKS = { lr: checkNonNegativeFinite, betas: checkBetas, eps: checkNonNegativeFinite, weightDecay: checkNonNegativeFinite };

abstract class AdamBase extends Optimizer<AdamHyper> {
  protected abstract readonly decoupled: boolean;

  protected override stateTensorKeys(): readonly string[] {
    return ['exp_avg', 'exp_avg_sq'];
  }

  protected override stateNumberKeys(): readonly string[] {
    return ['step'];
  }

  protected override updateGroup(group: ParamGroup<AdamHyper>, params: Tensor[]): void {
    // one fused call per (backend, dtype, step): normally the whole group at once
    const buckets = new Map<string, Array<{ p: Tensor; s: ParamState }>>();
    for (const p of params) {
      let s = this.state.get(p);
      if (s === undefined) {
        s = {
          step: 0,
          exp_avg: keep(zeros(p.shape, { dtype: p.dtype, backend: p.device })),
          exp_avg_sq: keep(zeros(p.shape, { dtype: p.dtype, backend: p.device })),
        };
        this.state.set(p, s);
      }
      const key = `${p.device}/${p.dtype}/${(s.step as number) + 1}`;
      let list = buckets.get(key);
      if (list === undefined) buckets.set(key, (list = []));
      list.push({ p, s });
    }
    const { lr, betas, eps, weightDecay } = group;
    const l2 = !this.decoupled && weightDecay !== 0;
    for (const list of buckets.values()) {
      const step = (list[0]!.s.step as number) + 1;
      const ps = list.map((e) => e.p);
      const grads = list.map((e) => (l2 ? e.p.grad!.add(scale(e.p, weightDecay)) : e.p.grad!));
      try {
        adamwStep(ps, grads, { m: list.map((e) => e.s.exp_avg as Tensor), v: list.map((e) => e.s.exp_avg_sq as Tensor) }, {
          lr, beta1: betas[0], beta2: betas[1], eps, weightDecay: this.decoupled ? weightDecay : 0, step,
        });
      } finally {
        if (l2) for (const g of grads) g.dispose();
      }
      for (const e of list) e.s.step = step;
    }
  }
}

/** torch.optim.Adam: weightDecay (default 0) is L2 added to the gradient. */
export class Adam extends AdamBase {
  protected readonly decoupled = false;
  constructor(params: AdamParams, options?: AdamOptions) {
    super('Adam', params, options, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 }, CHECKS);
  }
}

/** torch.optim.AdamW: decoupled weight decay p *= 1 - lr * weightDecay (default 0.01). */
export class AdamW extends AdamBase {
  protected readonly decoupled = true;
  constructor(params: AdamParams, options?: AdamOptions) {
    super('AdamW', params, options, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 }, CHECKS);
  }
}
