import { needsGrad, record } from '../autograd/tape.js';
import { normalizeAxis } from '../util/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { rangeError } from '../errors.js';
import { checkTensor } from '../validate/checks.js';

function softmaxOp(fn: string, x: Tensor, dim: number, log: boolean): Tensor {
  checkTensor(fn, 'x', x);
  if (x.rank === 0) throw rangeError(fn, 'x', 'at least 1-D', 'a scalar');
  const axis = normalizeAxis(fn, 'dim', dim, x.rank);
  const k = x.backend.kernels;
  const y = Tensor.fromKernel(x.backend, k.softmaxForward(x, axis, log));
  if (!needsGrad(x)) return y;
  const backend = x.backend;
  return record(fn, y, [x], [y], (dy, [sy]) => [Tensor.fromKernel(backend, k.softmaxBackward(dy, sy!, axis, log))]);
}

export function softmax(x: Tensor, dim = -1): Tensor {
  return softmaxOp('softmax', x, dim, false);
}

export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return softmaxOp('logSoftmax', x, dim, true);
}
