import { needsGrad, record } from '../autograd/tape.js';
import { describeValue, typeError, rangeError } from '../errors.js';
import { normalizeAxis, sizeOf } from '../util/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { checkBoolean, checkTensor } from '../validate/checks.js';

function resolveAxes(fn: string, x: Tensor, dims: unknown): number[] {
  if (dims === undefined || dims === null) return x.shape.map((_, i) => i);
  const list = typeof dims === 'number' ? [dims] : dims;
  if (!Array.isArray(list)) throw typeError(fn, 'dims', 'an integer, an array of integers or undefined', describeValue(dims));
  // like PyTorch, a scalar accepts dim 0 or -1 and reduces over nothing
  const scalar = x.rank === 0;
  const axes = list.map((d) => normalizeAxis(fn, 'dims', d as number, scalar ? 1 : x.rank));
  if (new Set(axes).size !== axes.length) throw rangeError(fn, 'dims', 'distinct axes', `[${list.join(',')}]`);
  return scalar ? [] : axes.sort((p, q) => p - q);
}

/** Sum over dims (all when omitted). */
export function sum(x: Tensor, dims?: number | number[], keepDims = false): Tensor {
  checkTensor('sum', 'x', x);
  checkBoolean('sum', 'keepDims', keepDims);
  return reduce('sum', x, resolveAxes('sum', x, dims), keepDims, 1);
}

/** Mean over dims (all when omitted). */
export function mean(x: Tensor, dims?: number | number[], keepDims = false): Tensor {
  checkTensor('mean', 'x', x);
  checkBoolean('mean', 'keepDims', keepDims);
  const axes = resolveAxes('mean', x, dims);
  const count = sizeOf(axes.map((a) => x.shape[a]!));
  return reduce('mean', x, axes, keepDims, 1 / count);
}

function reduce(name: string, x: Tensor, axes: number[], keepDims: boolean, factor: number): Tensor {
  const k = x.backend.kernels;
  const summed = k.sum(x, axes, keepDims);
  let y = Tensor.fromKernel(x.backend, summed);
  if (factor !== 1) {
    const scaled = Tensor.fromKernel(x.backend, k.scale(y, factor));
    y.dispose();
    y = scaled;
  }
  if (!needsGrad(x)) return y;
  // the gradient of a reduction broadcasts back over the reduced axes
  const keptShape = x.shape.map((s, i) => (axes.includes(i) ? 1 : s));
  const backend = x.backend, xShape = x.shape;
  return record(name, y, [x], [], (dy) => {
    const g = dy.alias(keptShape, false);
    const expanded = Tensor.fromKernel(backend, k.broadcastTo(g, xShape));
    g.dispose();
    if (factor === 1) return [expanded];
    const scaled = Tensor.fromKernel(backend, k.scale(expanded, factor));
    expanded.dispose();
    return [scaled];
  });
}
