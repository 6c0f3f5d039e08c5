// Small tensor utilities the tape and the backward functions share.
import { Tensor } from '../tensor/tensor.js';
import { sameShape } from '../util/shape.js';

/** a + b, consuming both. */
export function accumulate(a: Tensor, b: Tensor): Tensor {
  const sum = Tensor.fromKernel(a.backend, a.backend.kernels.binary(a, b, 'add'));
  a.dispose();
  b.dispose();
  return sum;
}

export function onesLike(t: Tensor): Tensor {
  return Tensor.fromKernel(t.backend, t.backend.kernels.fill(t.shape, t.dtype, 1));
}

/** Sum a broadcast gradient back down to `shape` (numpy rules), consuming g. */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const reduced = g.backend.kernels.sum(g, axes, false);
  g.dispose();
  // restore the size-1 dims of the target shape (same element order)
  reduced.shape = shape.slice();
  return Tensor.fromKernel(g.backend, reduced);
}
