// One fused AdamW update over many parameters (the kernel the optimizers build on).
import type { AdamWAttrs } from '../backends/backend.js';
import { describeShape, rangeError, typeError, describeValue } from '../errors.js';
import { sameShape } from '../util/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkInteger, checkNumber, checkTensor } from '../validate/checks.js';

export interface AdamWState {
  /** First moments, one per parameter, same shapes. */
  m: Tensor[];
  /** Second moments. */
  v: Tensor[];
}

const FN = 'adamwStep';

/** Update params in place from grads; m and v are updated in place too. */
export function adamwStep(params: readonly Tensor[], grads: readonly Tensor[], state: AdamWState, attrs: AdamWAttrs): void {
  if (!Array.isArray(params)) throw typeError(FN, 'params', 'an array of Tensors', describeValue(params));
  for (const [name, list] of [['grads', grads], ['state.m', state?.m], ['state.v', state?.v]] as const) {
    if (!Array.isArray(list)) throw typeError(FN, name, 'an array of Tensors', describeValue(list));
    if (list.length !== params.length) throw rangeError(FN, name, `${params.length} tensors like params`, String(list.length));
  }
  params.forEach((p, i) => {
    checkTensor(FN, `params[${i}]`, p);
    // one kernel call updates every parameter, so they must share a backend
    if (p.backend !== params[0]!.backend) throw typeError(FN, `params[${i}]`, `on backend '${params[0]!.device}' like params[0]`, `'${p.device}'`);
    for (const [name, t] of [['grads', grads[i]], ['state.m', state.m[i]], ['state.v', state.v[i]]] as const) {
      checkTensor(FN, `${name}[${i}]`, t);
      const like = `${p.dtype} ${describeShape(p.shape)} on '${p.device}' like params[${i}]`;
      const got = `${t!.dtype} ${describeShape(t!.shape)} on '${t!.device}'`;
      // wrong dtype or backend -> TypeError, wrong shape -> RangeError
      if (t!.dtype !== p.dtype || t!.backend !== p.backend) throw typeError(FN, `${name}[${i}]`, like, got);
      if (!sameShape(t!.shape, p.shape)) throw rangeError(FN, `${name}[${i}]`, like, got);
    }
  });
  if (attrs === null || typeof attrs !== 'object') throw typeError(FN, 'attrs', 'an object', describeValue(attrs));
  checkNumber(FN, 'lr', attrs.lr, 0, Number.MAX_VALUE, 'a finite non-negative number');
  checkNumber(FN, 'beta1', attrs.beta1, 0, 1, 'a number in [0, 1)');
  checkNumber(FN, 'beta2', attrs.beta2, 0, 1, 'a number in [0, 1)');
  if (attrs.beta1 === 1) throw rangeError(FN, 'beta1', 'a number in [0, 1)', String(attrs.beta1));
  if (attrs.beta2 === 1) throw rangeError(FN, 'beta2', 'a number in [0, 1)', String(attrs.beta2));
  checkNumber(FN, 'eps', attrs.eps, 0);
  checkNumber(FN, 'weightDecay', attrs.weightDecay, 0);
  checkInteger(FN, 'step', attrs.step, 1);
  if (params.length === 0) return;
  params[0]!.backend.kernels.adamwStep(params, grads, state.m, state.v, attrs);
}
