// Shape ops. reshape is a view over the same storage; permute copies into a contiguous layout.
import { needsGrad, record } from '../autograd/tape.js';
import { SliceGrad } from '../autograd/slice-grad.js';
import { describeShape, describeValue, rangeError, typeError } from '../errors.js';
import { DTYPES, isFloatDType, type DType } from '../util/dtype.js';
import { normalizeAxis, sizeOf } from '../util/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { checkTensor } from '../validate/checks.js';

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
  if (!needsGrad(x) || !isFloatDType(dtype)) return y;
  const backend = x.backend, xDType = x.dtype;
  return record('cast', y, [x], [], (dy) => [Tensor.fromKernel(backend, k.cast(dy, xDType))]);
}

/** x's elements start..start+length-1 along dim (a copy), like torch.narrow. */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  checkTensor('narrow', 'x', x, DTYPES);
  if (x.rank === 0) throw rangeError('narrow', 'x', 'at least 1-D', describeShape(x.shape));
  const axis = normalizeAxis('narrow', 'dim', dim, x.rank);
  const n = x.shape[axis]!;
  if (!Number.isInteger(start) || start < 0 || start > n) throw rangeError('narrow', 'start', `an integer in [0, ${n}]`, describeValue(start));
  if (!Number.isInteger(length) || length < 0 || start + length > n) {
    throw rangeError('narrow', 'length', `an integer in [0, ${n - start}] (dim ${axis} has ${n})`, describeValue(length));
  }
  const k = x.backend.kernels, backend = x.backend;
  const y = Tensor.fromKernel(backend, k.narrow(x, axis, start, length));
  if (!needsGrad(x)) return y;
  const xShape = x.shape;
  // the gradient is dy placed back between zeros, kept lazy (autograd/slice-grad.ts) so the
  // pieces of a split join with one cat
  return record('narrow', y, [x], [], (dy) => [new SliceGrad(xShape, axis, [{ start, grad: dy.alias(dy.shape) }])]);
}

/** Pieces along dim: `sizes` is one chunk size (the last may be smaller) or the list of sizes, like torch.split. */
export function split(x: Tensor, sizes: number | readonly number[], dim = 0): Tensor[] {
  checkTensor('split', 'x', x, DTYPES);
  if (x.rank === 0) throw rangeError('split', 'x', 'at least 1-D', describeShape(x.shape));
  const axis = normalizeAxis('split', 'dim', dim, x.rank);
  const n = x.shape[axis]!;
  let list: number[];
  if (typeof sizes === 'number') {
    if (!Number.isInteger(sizes) || sizes < 1) throw rangeError('split', 'sizes', 'a positive integer or an array of sizes', describeValue(sizes));
    list = [];
    for (let at = 0; at < n; at += sizes) list.push(Math.min(sizes, n - at));
  } else if (Array.isArray(sizes) && sizes.every((s) => Number.isInteger(s) && s >= 0)) {
    list = sizes.slice();
    const total = list.reduce((a, b) => a + b, 0);
    if (total !== n) throw rangeError('split', 'sizes', `sizes summing to ${n} (dim ${axis} of ${describeShape(x.shape)})`, `[${list.join(',')}]`);
  } else {
    throw typeError('split', 'sizes', 'a positive integer or an array of non-negative integers', describeValue(sizes));
  }
  let at = 0;
  return list.map((s) => {
    const piece = narrow(x, axis, at, s);
    at += s;
    return piece;
  });
}

/**
 * In place: dst[..., start:start+n, ...] = src along dim (n = src's size there; every other
 * dim equal). Outside autograd: dst must not require a gradient, and no gradient flows to
 * src. KV caches use it to append positions to a preallocated buffer instead of copying the
 * whole cache each step (F.cat). Views sharing dst's storage see the write. Returns dst.
 */
export function writeNarrow(dst: Tensor, src: Tensor, dim: number, start: number): Tensor {
  const fn = 'writeNarrow';
  checkTensor(fn, 'dst', dst, DTYPES);
  checkTensor(fn, 'src', src, DTYPES);
  if (dst.rank === 0) throw rangeError(fn, 'dst', 'at least 1-D', describeShape(dst.shape));
  const axis = normalizeAxis(fn, 'dim', dim, dst.rank);
  if (src.backend !== dst.backend) throw typeError(fn, 'src', `a tensor on backend '${dst.device}' like dst`, `'${src.device}'`);
  if (src.dtype !== dst.dtype) throw typeError(fn, 'src', `${dst.dtype} like dst`, src.dtype);
  if (src.rank !== dst.rank || src.shape.some((s: number, d: number) => d !== axis && s !== dst.shape[d])) {
    throw rangeError(fn, 'src', `the shape of dst ${describeShape(dst.shape)} except along dim ${axis}`, describeShape(src.shape));
  }
  const total = dst.shape[axis]!, n = src.shape[axis]!;
  if (n > total) throw rangeError(fn, 'src', `at most ${total} along dim ${axis}`, describeShape(src.shape));
  if (!Number.isInteger(start) || start < 0 || start + n > total) throw rangeError(fn, 'start', `an integer in [0, ${total - n}]`, describeValue(start));
  if (dst.requiresGrad) throw rangeError(fn, 'dst', 'a tensor that does not require a gradient (an in-place write is outside autograd)', 'requiresGrad = true');
  if (src.data === dst.data) throw rangeError(fn, 'src', "a tensor that does not share dst's storage", "dst's own storage");
  if (n > 0) dst.backend.kernels.writeNarrow(dst, src, axis, start);
  return dst;
}

/** Join tensors along dim; shapes must match elsewhere, like torch.cat. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw typeError('cat', 'tensors', 'a non-empty array of tensors', describeValue(tensors));
  tensors.forEach((t, i) => checkTensor('cat', `tensors[${i}]`, t, DTYPES));
  const first = tensors[0]!;
  if (first.rank === 0) throw rangeError('cat', 'tensors[0]', 'at least 1-D', describeShape(first.shape));
  const axis = normalizeAxis('cat', 'dim', dim, first.rank);
  tensors.forEach((t, i) => {
    if (t.backend !== first.backend) throw typeError('cat', `tensors[${i}]`, `a tensor on backend '${first.device}' like tensors[0]`, `'${t.device}'`);
    if (t.dtype !== first.dtype) throw typeError('cat', `tensors[${i}]`, `${first.dtype} like tensors[0]`, t.dtype);
    if (t.rank !== first.rank || t.shape.some((s: number, d: number) => d !== axis && s !== first.shape[d])) {
      throw rangeError('cat', `tensors[${i}]`, `the shape of tensors[0] ${describeShape(first.shape)} except along dim ${axis}`, describeShape(t.shape));
    }
  });
  const k = first.backend.kernels, backend = first.backend;
  const y = Tensor.fromKernel(backend, k.cat(tensors, axis));
  if (!needsGrad(...tensors)) return y;
  const lengths = tensors.map((t) => t.shape[axis]!);
  const need = tensors.map((t) => t.requiresGrad);
  return record('cat', y, tensors, [], (dy) => {
    let at = 0;
    return lengths.map((len, i) => {
      const start = at;
      at += len;
      return need[i] ? Tensor.fromKernel(backend, k.narrow(dy, axis, start, len)) : null;
    });
  });
}
