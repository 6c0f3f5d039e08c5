// optim.clipGradNorm: torch.nn.utils.clip_grad_norm_.
//   total = (sum over params of ||g||_p^p)^(1/p)   (max |g| for p = Infinity)
//   coef = maxNorm / (total + 1e-6); when coef < 1 every grad is multiplied by coef
// Returns total (a number: the norm BEFORE clipping). Params whose .grad is null are
// skipped. "In place" means each param's .grad is replaced by the scaled tensor (the old
// one is disposed); hold p.grad, not a copy of the handle, across the call.
// normType 2 runs on each grad's backend (one scalar read per grad); other norms read
// the grads to the host.
import { numbersOf } from '../util/dtype.js';
import { describeValue, rangeError, typeError } from '../errors.js';
import { noGrad } from '../autograd/tape.js';
import { checkBoolean, checkOptions } from '../validate/checks.js';
import { scale } from '../ops/elementwise.js';
import { keep } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';

export interface ClipGradNormOptions {
  /** p of the p-norm: a positive number or Infinity (default 2). */
  normType?: number;
  /** Throw when the total norm is NaN or infinite (default false, as in PyTorch 1.13). */
  errorIfNonfinite?: boolean;
}

function isTensor(value: unknown): value is Tensor {
  return value instanceof Tensor || (typeof value === 'object' && value !== null && (value as { __isTensor?: unknown }).__isTensor === true);
}

export function clipGradNorm(parameters: Tensor | readonly Tensor[], maxNorm: number, options?: ClipGradNormOptions): number {
  const fn = 'clipGradNorm';
  const list = isTensor(parameters) ? [parameters] : parameters;
  if (!Array.isArray(list)) throw typeError(fn, 'parameters', 'a Tensor or an array of Tensors', describeValue(parameters));
  list.forEach((p, i) => {
    if (!isTensor(p)) throw typeError(fn, `parameters[${i}]`, 'a Tensor', describeValue(p));
  });
  if (typeof maxNorm !== 'number') throw typeError(fn, 'maxNorm', 'a non-negative number', describeValue(maxNorm));
  if (!(maxNorm >= 0)) throw rangeError(fn, 'maxNorm', 'a non-negative number', String(maxNorm));
  const opts = checkOptions(fn, options, ['normType', 'errorIfNonfinite']);
  const normType = opts.normType === undefined ? 2 : opts.normType;
  if (typeof normType !== 'number') throw typeError(fn, 'options.normType', 'a positive number or Infinity', describeValue(normType));
  if (!(normType > 0)) throw rangeError(fn, 'options.normType', 'a positive number or Infinity', String(normType));
  const errorIfNonfinite = checkBoolean(fn, 'options.errorIfNonfinite', opts.errorIfNonfinite, false);

  const grads: Tensor[] = [];
  list.forEach((p, i) => {
    const g = (p as Tensor).grad;
    if (g === null) return;
    if (g.isDisposed) throw typeError(fn, `parameters[${i}].grad`, 'a live Tensor', 'a disposed one');
    grads.push(g);
  });
  if (grads.length === 0) return 0;

  let total: number;
  if (normType === 2) {
    let sumSq = 0;
    noGrad(() => {
      for (const g of grads) {
        const sq = g.mul(g);
        const s = sq.sum();
        sumSq += s.item();
        sq.dispose();
        s.dispose();
      }
    });
    total = Math.sqrt(sumSq);
  } else if (normType === Infinity) {
    total = 0;
    for (const g of grads) {
      for (const v of numbersOf(g.toTypedArray(), g.dtype)) {
        const a = Math.abs(v);
        if (a > total || Number.isNaN(a)) total = a;
      }
    }
  } else {
    let acc = 0;
    for (const g of grads) for (const v of numbersOf(g.toTypedArray(), g.dtype)) acc += Math.abs(v) ** normType;
    total = acc ** (1 / normType);
  }
  if (errorIfNonfinite && !Number.isFinite(total)) {
    throw rangeError(fn, 'parameters', `gradients with a finite total ${normType}-norm (pass errorIfNonfinite: false to clip anyway)`, `a norm of ${total}`);
  }
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) {
    noGrad(() => {
      for (const p of list as Tensor[]) {
        const g = p.grad;
        if (g === null) continue;
        p.grad = keep(scale(g, coef));
        g.dispose();
      }
    });
  }
  return total;
}
