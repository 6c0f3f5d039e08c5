// ReLU, GELU (erf and tanh), SiLU and SwiGLU, forward and backward.
import type { Activation, KResult, KTensor } from '../backend.js';
import { erf } from '../../math/erf.js';
import { output, values } from './util.js';

const SQRT_HALF = Math.SQRT1_2;
const INV_SQRT_2PI = 0.3989422804014327;
const SQRT_2_OVER_PI = 0.7978845608028654;
const GELU_CUBIC = 0.044715;

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function forward(x: number, kind: Activation): number {
  switch (kind) {
    case 'relu': return x > 0 ? x : 0;
    case 'gelu': return 0.5 * x * (1 + erf(x * SQRT_HALF));
    case 'gelu_tanh': return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x)));
    case 'silu': return x * sigmoid(x);
    case 'tanh': return Math.tanh(x);
  }
}

/** d activation / dx at x. */
function derivative(x: number, kind: Activation): number {
  switch (kind) {
    // PyTorch's convention: the gradient at exactly 0 is 0
    case 'relu': return x > 0 ? 1 : 0;
    case 'gelu': return 0.5 * (1 + erf(x * SQRT_HALF)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
    case 'gelu_tanh': {
      const t = Math.tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x));
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * GELU_CUBIC * x * x);
    }
    case 'silu': {
      const s = sigmoid(x);
      return s * (1 + x * (1 - s));
    }
    case 'tanh': {
      const t = Math.tanh(x);
      return 1 - t * t;
    }
  }
}

export function activationForward(x: KTensor, kind: Activation): KResult {
  const X = values(x);
  const { data: Y, result } = output(x.shape, x.dtype);
  for (let e = 0; e < X.length; e++) Y[e] = forward(X[e]!, kind);
  return result;
}

export function activationBackward(dy: KTensor, x: KTensor, kind: Activation): KResult {
  const X = values(x), dY = values(dy);
  const { data: dX, result } = output(x.shape, x.dtype);
  for (let e = 0; e < X.length; e++) dX[e] = dY[e]! * derivative(X[e]!, kind);
  return result;
}

// x [..., 2F]: gate a = x[..., :F], value b = x[..., F:]; y [..., F] = silu(a) * b
export function swigluForward(x: KTensor): KResult {
  const X = values(x);
  const F = x.shape[x.shape.length - 1]! / 2;
  const { data: Y, result } = output([...x.shape.slice(0, -1), F], x.dtype);
  for (let r = 0; r < Y.length / F; r++) {
    for (let f = 0; f < F; f++) Y[r * F + f] = forward(X[r * 2 * F + f]!, 'silu') * X[r * 2 * F + F + f]!;
  }
  return result;
}

export function swigluBackward(dy: KTensor, x: KTensor): KResult {
  const X = values(x), dY = values(dy);
  const F = x.shape[x.shape.length - 1]! / 2;
  const { data: dX, result } = output(x.shape, x.dtype);
  for (let r = 0; r < dY.length / F; r++) {
    for (let f = 0; f < F; f++) {
      const a = X[r * 2 * F + f]!, b = X[r * 2 * F + F + f]!, g = dY[r * F + f]!;
      dX[r * 2 * F + f] = g * b * derivative(a, 'silu');
      dX[r * 2 * F + F + f] = g * forward(a, 'silu');
    }
  }
  return result;
}
