// Shape ops. reshape is a view over the same storage; permute copies into a contiguous layout.
import { needsGrad, record } from '../autograd/tape.js';
import { describeShape, describeValue, rangeError, typeError } from '../errors.js';
import { DTYPES, type DType } from '../tensor/dtype.js';
import { normalizeAxis, sizeOf } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { checkTensor } from './validate.js';

/** A view with a new shape; one entry may be -1 and is inferred. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor('reshape', 'x', x, DTYPES);
  if (!Array.isArray(shape) || !shape.every((s) => Number.isInteger(s) && s >= -1)) {
    throw typeError('reshape', 'shape', 'an array of integers (one may be -1)', describeValue(shape));
  }
  const known = sizeOf(shape.filter((s) => s !== -1));
  const inferred = shape.filter((s) => s === -1).length;
  const resolved = shape.map((s) => (s === -1 ? (known === 0 ? 0 : x.size / known) : s));
  if (inferred > 1 || sizeOf(resolved) !== x.size || !resolved.every(Number.isInteger)) {
    throw rangeError('reshape', 'shape', `a shape with ${x.size} elements like ${describeShape(x.shape)}`, describeShape(shape));
  }
  const y = x.alias(resolved);
  if (!needsGrad(x)) return y;
  const xShape = x.shape;
  return record('reshape', y, [x], [], (dy) => [dy.alias(xShape)]);
}

/** Reorder dims: y.shape[i] = x.shape[dims[i]]. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  checkTensor('permute', 'x', x, DTYPES);
  if (!Array.isArray(dims) || dims.length !== x.rank) {
    throw rangeError('permute', 'dims', `a permutation of ${x.rank} axes`, describeValue(dims));
  }
  const axes = dims.map((d) => normalizeAxis('permute', 'dims', d, x.rank));
  if (new Set(axes).size !== axes.length) throw rangeError('permute', 'dims', `a permutation of ${x.rank} axes`, `[${dims.join(',')}]`);
  const k = x.backend.kernels;
  const y = Tensor.fromKernel(x.backend, k.permute(x, axes));
  if (!needsGrad(x)) return y;
  const inverse = new Array<number>(axes.length);
  axes.forEach((a, i) => { inverse[a] = i; });
  const backend = x.backend;
  return record('permute', y, [x], [], (dy) => [Tensor.fromKernel(backend, k.permute(dy, inverse))]);
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  checkTensor('transpose', 'x', x, DTYPES);
  const a = normalizeAxis('transpose', 'dim0', dim0, x.rank);
  const b = normalizeAxis('transpose', 'dim1', dim1, x.rank);
  const dims = x.shape.map((_, i) => (i === a ? b : i === b ? a : i));
  return permute(x, dims);
}

/** Convert to another dtype (gradients flow between float dtypes only). */
export function cast(x: Tensor, dtype: DType): Tensor {
  checkTensor('cast', 'x', x, DTYPES);
  if (!DTYPES.includes(dtype)) throw typeError('cast', 'dtype', DTYPES.join(' or '), describeValue(dtype));
  if (!x.backend.supportsDType(dtype)) throw typeError('cast', 'dtype', `a dtype backend '${x.device}' supports`, dtype);
  const k = x.backend.kernels;
  const y = Tensor.fromKernel(x.backend, k.cast(x, dtype));
  if (!needsGrad(x) || (dtype !== 'float32' && dtype !== 'float64')) return y;
  const backend = x.backend, xDType = x.dtype;
  return record('cast', y, [x], [], (dy) => [Tensor.fromKernel(backend, k.cast(dy, xDType))]);
}
