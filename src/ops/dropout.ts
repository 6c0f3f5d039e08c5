import { needsGrad, record } from '../autograd/tape.js';
import { nextRng } from '../random/generator.js';
import { Tensor } from '../tensor/tensor.js';
import { checkBoolean, checkNumber, checkTensor } from '../validate/checks.js';

/**
 * Zero each element with probability p and scale the rest by 1/(1-p). The mask comes
 * from the counter-based generator, so it is regenerated in backward, never stored,
 * and identical on every backend and thread count for the same seed.
 */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  checkTensor('dropout', 'x', x);
  checkNumber('dropout', 'p', p, 0, 1);
  checkBoolean('dropout', 'training', training);
  // like PyTorch, the identity case hands back the input itself
  if (!training || p === 0) return x;
  const k = x.backend.kernels;
  const rng = nextRng(x.size);
  const y = Tensor.fromKernel(x.backend, k.dropoutForward(x, p, rng));
  if (!needsGrad(x)) return y;
  const backend = x.backend;
  return record('dropout', y, [x], [], (dy) => [Tensor.fromKernel(backend, k.dropoutBackward(dy, p, rng))]);
}
