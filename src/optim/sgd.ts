// optim.SGD, PyTorch's torch.optim.SGD (not maximize). Per parameter p with gradient g:
//   d <- g + weightDecay * p                                   (when weightDecay > 0)
//   with momentum > 0:  buf <- d at the first update, else momentum * buf + (1 - dampening) * d
//                       d <- d + momentum * buf (nesterov)  or  d <- buf
//   p <- p - lr * d
// Tensor ops on the parameter's backend; p is updated in place (same Tensor and Storage).
// State: momentum_buffer (only with momentum > 0).
import { rangeError, typeError } from '../errors.js';
import { scale } from '../ops/elementwise.js';
import { keep } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkBoolean, checkNonNegativeFinite } from '../validate/checks.js';
import { assignInPlace, Optimizer, type ParamGroup, type ParamGroupInput } from './optimizer.js';

export interface SGDHyper {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

export interface SGDOptions {
  /** Learning rate (required, as in PyTorch 1.13). */
  lr: number;
  /** Momentum factor (default 0). */
  momentum?: number;
  /** Dampening of the momentum (default 0). */
  dampening?: number;
  /** L2 added to the gradient (default 0). */
  weightDecay?: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  nesterov?: boolean;
}

export class SGD extends Optimizer<SGDHyper> {
  constructor(params: readonly Tensor[] | ReadonlyArray<ParamGroupInput<SGDHyper>>, options: SGDOptions) {
    if (options === undefined) throw typeError('SGD', 'options', 'an object with lr (SGD has no default learning rate)', 'undefined');
    super('SGD', params, options, { lr: undefined, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false },
      { lr: checkNonNegativeFinite, momentum: checkNonNegativeFinite, dampening: checkNonNegativeFinite, weightDecay: checkNonNegativeFinite, nesterov: checkBoolean });
  }

  protected override checkDefaults(h: SGDHyper, where: string): void {
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
      throw rangeError('SGD', `${where}.nesterov`, 'false unless momentum > 0 and dampening = 0', `true with momentum ${h.momentum} and dampening ${h.dampening}`);
    }
  }

  protected override stateTensorKeys(): readonly string[] {
    return ['momentum_buffer'];
  }

  protected override updateGroup(group: ParamGroup<SGDHyper>, params: Tensor[]): void {
    const { lr, momentum, dampening, weightDecay, nesterov } = group;
    for (const p of params) {
      const g = p.grad!;
      let d = weightDecay !== 0 ? g.add(scale(p, weightDecay)) : g;
      const owned: Tensor[] = d === g ? [] : [d];
      if (momentum !== 0) {
        const s = this.state.get(p) ?? {};
        const old = s.momentum_buffer as Tensor | undefined;
        let buf: Tensor;
        if (old === undefined) {
          // a copy of d (PyTorch's clone): scale by 1 makes new storage on every backend
          buf = keep(scale(d, 1));
        } else {
          const damped = dampening === 0 ? d : scale(d, 1 - dampening);
          const decayed = scale(old, momentum);
          buf = keep(decayed.add(damped));
          decayed.dispose();
          if (damped !== d) damped.dispose();
          old.dispose();
        }
        s.momentum_buffer = buf;
        this.state.set(p, s);
        if (nesterov) {
          const mb = scale(buf, momentum);
          d = d.add(mb);
          mb.dispose();
          owned.push(d);
        } else {
          d = buf;
        }
      }
      const delta = scale(d, -lr);
      const updated = p.add(delta);
      delta.dispose();
      assignInPlace(p, updated);
      for (const t of owned) t.dispose();
    }
  }
}
