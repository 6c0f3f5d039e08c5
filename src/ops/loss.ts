// F.crossEntropy: fused log-softmax + NLL with label smoothing and ignore_index.
import { underFloat32Cast } from './autocast.js';
import type { CrossEntropyAttrs, Reduction } from '../backends/backend.js';
import { needsGrad, record } from '../autograd/tape.js';
import { describeShape, rangeError } from '../errors.js';
import { sameShape, sizeOf } from '../util/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { checkCompatible, checkInteger, checkNumber, checkOneOf, checkOptions, checkTensor } from '../validate/checks.js';

export interface CrossEntropyOptions {
  /** Target value whose rows count in neither the loss nor the mean's divisor. Default -100. */
  ignoreIndex?: number;
  /** PyTorch's smoothing: epsilon spread uniformly over all C classes. Default 0. */
  labelSmoothing?: number;
  /** Default 'mean' over the rows that are not ignored (NaN when every row is, like PyTorch). */
  reduction?: Reduction;
}

const FN = 'crossEntropy';

/**
 * logits [..., C] (classes last), target int32 [...] -> loss [] (mean, sum) or [...] (none).
 * For PyTorch's [N, C] and [N] this is F.cross_entropy.
 */
export function crossEntropy(logits: Tensor, target: Tensor, options?: CrossEntropyOptions): Tensor {
  // autocast: the loss is computed in float32 from bf16 logits
  const wide = underFloat32Cast(logits, (w) => crossEntropy(w, target, options));
  if (wide !== null) return wide;
  const opts = checkOptions(FN, options, ['ignoreIndex', 'labelSmoothing', 'reduction']) as CrossEntropyOptions;
  checkTensor(FN, 'logits', logits);
  checkTensor(FN, 'target', target, ['int32']);
  if (logits.rank < 1) throw rangeError(FN, 'logits', `${logits.dtype} [N,C]`, 'a scalar');
  const lead = logits.shape.slice(0, -1);
  if (!sameShape(target.shape, lead)) {
    throw rangeError(FN, 'target', `int32 ${describeShape(lead)} like logits without its class dim`, `int32 ${describeShape(target.shape)}`);
  }
  const attrs: CrossEntropyAttrs = {
    ignoreIndex: opts.ignoreIndex === undefined ? -100 : checkInteger(FN, 'ignoreIndex', opts.ignoreIndex, -(2 ** 31), 2 ** 31 - 1),
    labelSmoothing: opts.labelSmoothing === undefined ? 0 : checkNumber(FN, 'labelSmoothing', opts.labelSmoothing, 0, 1),
    reduction: opts.reduction === undefined ? 'mean' : checkOneOf(FN, 'reduction', opts.reduction, ['mean', 'sum', 'none'] as const),
  };
  const backend = checkCompatible(FN, ['logits', logits], ['target', target]);
  const C = logits.shape[logits.rank - 1]!;
  const N = sizeOf(lead);
  const logits2 = logits.alias([N, C], false);
  const target1 = target.alias([N], false);
  const k = backend.kernels;
  let r;
  try {
    r = k.crossEntropyForward(logits2, target1, attrs);
  } finally {
    logits2.dispose();
    target1.dispose();
  }
  if (attrs.reduction === 'none') r.loss.shape = lead.slice();
  const loss = Tensor.fromKernel(backend, r.loss);
  const lse = Tensor.fromKernel(backend, r.lse);
  if (needsGrad(logits)) {
    const logitsShape = logits.shape;
    record(FN, loss, [logits, null], [logits, target, lse], (dloss, [sl, st, slse]) => {
      const l2 = sl!.alias([N, C], false);
      const t1 = st!.alias([N], false);
      const d1 = attrs.reduction === 'none' ? dloss.alias([N], false) : dloss.alias([], false);
      const dlogits = k.crossEntropyBackward(d1, l2, t1, slse!, attrs);
      [l2, t1, d1].forEach((t) => t.dispose());
      dlogits.shape = logitsShape.slice();
      return [Tensor.fromKernel(backend, dlogits), null];
    });
  }
  lse.dispose();
  return loss;
}
