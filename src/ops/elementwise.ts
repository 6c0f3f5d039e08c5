// Elementwise arithmetic with numpy broadcasting; gradients are summed back to each input's shape.
import type { BinaryOp } from '../backends/backend.js';
import { describeShape, rangeError, typeError, describeValue } from '../errors.js';
import { needsGrad, record } from '../autograd/tape.js';
import { broadcastShapes } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { sumToShape } from './grad-helpers.js';
import { checkCompatible, checkNumber, checkTensor } from './validate.js';

function scalarLike(t: Tensor, value: number): Tensor {
  return Tensor.fromKernel(t.backend, t.backend.kernels.fill([], t.dtype, value));
}

function binary(fn: BinaryOp, a: Tensor, b: Tensor | number): Tensor {
  checkTensor(fn, 'a', a);
  if (typeof b === 'number') {
    if (fn === 'add' || fn === 'sub') {
      const s = scalarLike(a, b);
      try { return binary(fn, a, s); } finally { s.dispose(); }
    }
    return scale(a, fn === 'mul' ? b : 1 / b);
  }
  if (!(b instanceof Tensor)) throw typeError(fn, 'b', 'a Tensor or a number', describeValue(b));
  checkTensor(fn, 'b', b);
  const backend = checkCompatible(fn, ['a', a], ['b', b]);
  if (broadcastShapes(a.shape, b.shape) === undefined) {
    throw rangeError(fn, 'b', `broadcastable with a ${describeShape(a.shape)}`, describeShape(b.shape));
  }
  const y = Tensor.fromKernel(backend, backend.kernels.binary(a, b, fn));
  if (!needsGrad(a, b)) return y;
  const k = backend.kernels;
  return record(fn, y, [a, b], fn === 'mul' || fn === 'div' ? [a, b] : [], (dy, saved) => {
    const [sa, sb] = saved as [Tensor, Tensor];
    switch (fn) {
      case 'add':
        return [sumToShape(dy.alias(), a.shape), sumToShape(dy.alias(), b.shape)];
      case 'sub':
        return [sumToShape(dy.alias(), a.shape), sumToShape(Tensor.fromKernel(backend, k.scale(dy, -1)), b.shape)];
      case 'mul':
        return [
          a.requiresGrad ? sumToShape(Tensor.fromKernel(backend, k.binary(dy, sb, 'mul')), a.shape) : null,
          b.requiresGrad ? sumToShape(Tensor.fromKernel(backend, k.binary(dy, sa, 'mul')), b.shape) : null,
        ];
      case 'div': {
        const da = Tensor.fromKernel(backend, k.binary(dy, sb, 'div'));
        let db: Tensor | null = null;
        if (b.requiresGrad) {
          // d(a/b)/db = -(dy/b) * (a/b)
          const q = Tensor.fromKernel(backend, k.binary(sa, sb, 'div'));
          const prod = Tensor.fromKernel(backend, k.binary(da, q, 'mul'));
          db = sumToShape(Tensor.fromKernel(backend, k.scale(prod, -1)), b.shape);
          q.dispose();
          prod.dispose();
        }
        return [a.requiresGrad ? sumToShape(da, a.shape) : (da.dispose(), null), db];
      }
    }
  });
}

export function add(a: Tensor, b: Tensor | number): Tensor { return binary('add', a, b); }
export function sub(a: Tensor, b: Tensor | number): Tensor { return binary('sub', a, b); }
export function mul(a: Tensor, b: Tensor | number): Tensor { return binary('mul', a, b); }
export function div(a: Tensor, b: Tensor | number): Tensor { return binary('div', a, b); }

/** x * factor. */
export function scale(x: Tensor, factor: number): Tensor {
  checkTensor('scale', 'x', x);
  checkNumber('scale', 'factor', factor, -Infinity, Infinity, 'a finite number');
  const backend = x.backend;
  const y = Tensor.fromKernel(backend, backend.kernels.scale(x, factor));
  if (!needsGrad(x)) return y;
  return record('scale', y, [x], [], (dy) => [Tensor.fromKernel(backend, backend.kernels.scale(dy, factor))]);
}
