// Pointwise activations. The backward takes the forward's input x.
import type { Activation } from '../backends/backend.js';
import { needsGrad, record } from '../autograd/tape.js';
import { describeShape, rangeError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { checkOneOf, checkOptions, checkTensor } from '../validate/checks.js';

function activation(fn: string, x: Tensor, kind: Activation): Tensor {
  checkTensor(fn, 'x', x);
  const k = x.backend.kernels;
  const y = Tensor.fromKernel(x.backend, k.activationForward(x, kind));
  if (!needsGrad(x)) return y;
  const backend = x.backend;
  return record(fn, y, [x], [x], (dy, [sx]) => [Tensor.fromKernel(backend, k.activationBackward(dy, sx!, kind))]);
}

export function relu(x: Tensor): Tensor {
  return activation('relu', x, 'relu');
}

/** GELU: exact with erf ('none', the default) or the tanh approximation. */
export function gelu(x: Tensor, options?: { approximate?: 'none' | 'tanh' }): Tensor {
  const opts = checkOptions('gelu', options, ['approximate']);
  const approximate = opts.approximate === undefined ? 'none' : checkOneOf('gelu', 'approximate', opts.approximate, ['none', 'tanh'] as const);
  return activation('gelu', x, approximate === 'tanh' ? 'gelu_tanh' : 'gelu');
}

export function silu(x: Tensor): Tensor {
  return activation('silu', x, 'silu');
}

/** Hyperbolic tangent (BERT's pooler). */
export function tanh(x: Tensor): Tensor {
  return activation('tanh', x, 'tanh');
}

/** SwiGLU: x [..., 2F] -> silu(x[..., :F]) * x[..., F:] (the first half gates). */
export function swiglu(x: Tensor): Tensor {
  checkTensor('swiglu', 'x', x);
  const last = x.shape[x.rank - 1];
  if (x.rank === 0 || last! % 2 !== 0) throw rangeError('swiglu', 'x', '[..., 2F] with an even last dim', describeShape(x.shape));
  const k = x.backend.kernels;
  const y = Tensor.fromKernel(x.backend, k.swigluForward(x));
  if (!needsGrad(x)) return y;
  const backend = x.backend;
  return record('swiglu', y, [x], [x], (dy, [sx]) => [Tensor.fromKernel(backend, k.swigluBackward(dy, sx!))]);
}
