// Elementwise arithmetic with numpy broadcasting; gradients are summed back to each input's shape.
import type { BinaryOp } from '../backends/backend.js';
import { describeShape, rangeError, typeError, describeValue } from '../errors.js';
import { needsGrad, record } from '../autograd/tape.js';
import { isFloatDType, promoteFloat, type FloatDType } from '../util/dtype.js';
import { broadcastShapes } from '../util/shape.js';
import { cast } from './layout.js';
import { Tensor } from '../tensor/tensor.js';
import { sumToShape } from '../autograd/grad-helpers.js';
import { checkCompatible, checkNumber, checkTensor } from '../validate/checks.js';

function scalarLike(t: Tensor, value: number): Tensor {
  return Tensor.fromKernel(t.backend, t.backend.kernels.fill([], t.dtype, value));
}

function binary(fn: BinaryOp, a: Tensor, b: Tensor | number): Tensor {
  checkTensor(fn, 'a', a);
  if (typeof b === 'number') {
    const factor = fn === 'mul' ? b : 1 / b;
    // scale() takes finite factors only; x / 0, x * Infinity and NaN go through a scalar tensor
    if (fn === 'add' || fn === 'sub' || !Number.isFinite(factor)) {
      const s = scalarLike(a, b);
      try { return binary(fn, a, s); } finally { s.dispose(); }
    }
    return scale(a, factor);
  }
  if (!(b instanceof Tensor)) throw typeError(fn, 'b', 'a Tensor or a number', describeValue(b));
  checkTensor(fn, 'b', b);
  if (a.dtype !== b.dtype && isFloatDType(a.dtype) && isFloatDType(b.dtype)) return promoted(fn, a, b);
  const backend = checkCompatible(fn, ['a', a], ['b', b]);
  if (broadcastShapes(a.shape, b.shape) === undefined) {
    throw rangeError(fn, 'b', `broadcastable with a ${describeShape(a.shape)}`, describeShape(b.shape));
  }
  const y = Tensor.fromKernel(backend, backend.kernels.binary(a, b, fn));
  if (!needsGrad(a, b)) return y;
  const k = backend.kernels;
  // decided now: the user may dispose a or b before backward(), which unlinks their graph
  const needA = a.requiresGrad, needB = b.requiresGrad;
  const shapeA = a.shape, shapeB = b.shape;
  const save = fn === 'mul' ? [needB ? a : null, needA ? b : null] : fn === 'div' ? [needB ? a : null, b] : [];
  return record(fn, y, [a, b], save.filter((t): t is Tensor => t !== null), (dy, saved) => {
    switch (fn) {
      case 'add':
        return [needA ? sumToShape(dy.alias(), shapeA) : null, needB ? sumToShape(dy.alias(), shapeB) : null];
      case 'sub':
        return [needA ? sumToShape(dy.alias(), shapeA) : null, needB ? sumToShape(Tensor.fromKernel(backend, k.scale(dy, -1)), shapeB) : null];
      case 'mul': {
        // saved holds a when b needs a gradient, then b when a needs one
        let next = 0;
        const sa = needB ? saved[next++]! : null;
        const sb = needA ? saved[next++]! : null;
        return [
          sb !== null ? sumToShape(Tensor.fromKernel(backend, k.binary(dy, sb, 'mul')), shapeA) : null,
          sa !== null ? sumToShape(Tensor.fromKernel(backend, k.binary(dy, sa, 'mul')), shapeB) : null,
        ];
      }
      case 'div': {
        const sa = needB ? saved[0]! : null;
        const sb = saved[needB ? 1 : 0]!;
        const da = Tensor.fromKernel(backend, k.binary(dy, sb, 'div'));
        let db: Tensor | null = null;
        if (sa !== null) {
          // d(a/b)/db = -(dy/b) * (a/b)
          const q = Tensor.fromKernel(backend, k.binary(sa, sb, 'div'));
          const prod = Tensor.fromKernel(backend, k.binary(da, q, 'mul'));
          db = sumToShape(Tensor.fromKernel(backend, k.scale(prod, -1)), shapeB);
          q.dispose();
          prod.dispose();
        }
        return [needA ? sumToShape(da, shapeA) : (da.dispose(), null), db];
      }
    }
  });
}

/** Mixed float dtypes compute in the wider one, as PyTorch promotes (a bf16 sublayer output + a float32 residual is float32). */
function promoted(fn: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const to = promoteFloat(a.dtype as FloatDType, b.dtype as FloatDType);
  const ca = a.dtype === to ? a : cast(a, to), cb = b.dtype === to ? b : cast(b, to);
  try {
    return binary(fn, ca, cb);
  } finally {
    if (ca !== a) ca.dispose();
    if (cb !== b) cb.dispose();
  }
}

export function add(a: Tensor, b: Tensor | number): Tensor { return binary('add', a, b); }
export function sub(a: Tensor, b: Tensor | number): Tensor { return binary('sub', a, b); }
export function mul(a: Tensor, b: Tensor | number): Tensor { return binary('mul', a, b); }
export function div(a: Tensor, b: Tensor | number): Tensor { return binary('div', a, b); }

/** x * factor. */
export function scale(x: Tensor, factor: number): Tensor {
  checkTensor('scale', 'x', x);
  checkNumber('scale', 'factor', factor, -Number.MAX_VALUE, Number.MAX_VALUE, 'a finite number');
  const backend = x.backend;
  const y = Tensor.fromKernel(backend, backend.kernels.scale(x, factor));
  if (!needsGrad(x)) return y;
  return record('scale', y, [x], [], (dy) => [Tensor.fromKernel(backend, backend.kernels.scale(dy, factor))]);
}
