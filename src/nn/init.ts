// nn.init: PyTorch's torch.nn.init, IN PLACE. Every `*_` function overwrites the
// values of an existing float tensor (usually a parameter) and returns that same
// tensor: the Tensor object keeps its identity, so modules and optimizers that
// hold it see the new values (see overwrite() in parameter.ts for the caveat about
// graphs recorded earlier). No autograd is recorded.
//
// Random values come from toroid's global counter-based generator
// (toroid.manualSeed), drawn on the host in float64 and rounded to the tensor's
// dtype, so the same seed gives bitwise-equal values on every backend.
// normal_(t) with mean 0, std 1 gives exactly the values toroid.randn would.
//
// Names follow PyTorch with camelCase: xavier_uniform_ -> xavierUniform_,
// kaiming_uniform_ -> kaimingUniform_; string arguments keep PyTorch's spelling
// (mode 'fan_in' | 'fan_out', nonlinearity 'leaky_relu', ...).
import { describeShape, describeValue, rangeError, typeError } from '../errors.js';
import { checkFinite, checkNumber, checkOneOf, checkOptions, checkTensor } from '../validate/checks.js';
import type { Tensor } from '../tensor/tensor.js';
import { normalValues, overwrite, uniformValues } from './parameter.js';

export type Nonlinearity =
  | 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d'
  | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

const NONLINEARITIES: readonly Nonlinearity[] = [
  'linear', 'conv1d', 'conv2d', 'conv3d', 'conv_transpose1d', 'conv_transpose2d', 'conv_transpose3d',
  'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu',
];

export interface KaimingOptions {
  /** Negative slope of the leaky_relu that follows (only used with 'leaky_relu'). Default 0. */
  a?: number;
  /** 'fan_in' (default) preserves the forward pass's variance, 'fan_out' the backward's. */
  mode?: 'fan_in' | 'fan_out';
  /** Default 'leaky_relu' (PyTorch's default). */
  nonlinearity?: Nonlinearity;
}

/** torch.nn.init.calculate_gain: the recommended gain for a nonlinearity. */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  const fn = 'init.calculateGain';
  checkOneOf(fn, 'nonlinearity', nonlinearity, NONLINEARITIES);
  switch (nonlinearity) {
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param === undefined ? 0.01 : checkNumber(fn, 'param', param, -Infinity, Infinity, 'a finite number');
      if (!Number.isFinite(slope)) throw rangeError(fn, 'param', 'a finite number', String(slope));
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu': return 3 / 4;
    default: return 1;
  }
}

/** fanIn = shape[1] * receptive field, fanOut = shape[0] * receptive field (needs rank >= 2). */
export function calculateFanInAndFanOut(t: Tensor | readonly number[]): { fanIn: number; fanOut: number } {
  const fn = 'init.calculateFanInAndFanOut';
  const shape = Array.isArray(t) ? (t as readonly number[]) : checkTensor(fn, 'tensor', t).shape;
  if (shape.length < 2) throw rangeError(fn, 'tensor', 'at least 2-D to have a fan in and a fan out', describeShape(shape));
  let receptive = 1;
  for (const s of shape.slice(2)) receptive *= s;
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

/** Fill with U(a, b), a <= b. */
export function uniform_(t: Tensor, a = 0, b = 1): Tensor {
  const fn = 'init.uniform_';
  checkTensor(fn, 'tensor', t);
  checkFinite(fn, 'a', a);
  checkFinite(fn, 'b', b);
  if (a > b) throw rangeError(fn, 'b', `at least a=${a}`, String(b));
  overwrite(t, uniformValues(t.size, a, b));
  return t;
}

/** Fill with N(mean, std^2), std >= 0. */
export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  const fn = 'init.normal_';
  checkTensor(fn, 'tensor', t);
  checkFinite(fn, 'mean', mean);
  checkFinite(fn, 'std', std);
  if (std < 0) throw rangeError(fn, 'std', 'a non-negative number', String(std));
  overwrite(t, normalValues(t.size, mean, std));
  return t;
}

/** Fill with a constant. */
export function constant_(t: Tensor, value: number): Tensor {
  const fn = 'init.constant_';
  checkTensor(fn, 'tensor', t);
  if (typeof value !== 'number') throw typeError(fn, 'value', 'a number', describeValue(value));
  overwrite(t, new Float64Array(t.size).fill(value));
  return t;
}

export function zeros_(t: Tensor): Tensor {
  checkTensor('init.zeros_', 'tensor', t);
  return constant_(t, 0);
}

export function ones_(t: Tensor): Tensor {
  checkTensor('init.ones_', 'tensor', t);
  return constant_(t, 1);
}

/** Glorot: U(-g*sqrt(6/(fanIn+fanOut)), +...). Needs rank >= 2. */
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const fn = 'init.xavierUniform_';
  checkTensor(fn, 'tensor', t);
  checkFinite(fn, 'gain', gain);
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  if (t.size > 0) overwrite(t, uniformValues(t.size, -bound, bound));
  return t;
}

/** Glorot: N(0, g^2 * 2/(fanIn+fanOut)). Needs rank >= 2. */
export function xavierNormal_(t: Tensor, gain = 1): Tensor {
  const fn = 'init.xavierNormal_';
  checkTensor(fn, 'tensor', t);
  checkFinite(fn, 'gain', gain);
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  if (t.size > 0) overwrite(t, normalValues(t.size, 0, gain * Math.sqrt(2 / (fanIn + fanOut))));
  return t;
}

function kaimingStd(fn: string, t: Tensor, options: KaimingOptions | undefined): number {
  checkTensor(fn, 'tensor', t);
  const opts = checkOptions(fn, options, ['a', 'mode', 'nonlinearity']);
  const a = opts.a === undefined ? 0 : checkFinite(fn, 'options.a', opts.a);
  const mode = opts.mode === undefined ? 'fan_in' : checkOneOf(fn, 'options.mode', opts.mode, ['fan_in', 'fan_out'] as const);
  const nonlinearity = opts.nonlinearity === undefined ? 'leaky_relu' : checkOneOf(fn, 'options.nonlinearity', opts.nonlinearity, NONLINEARITIES);
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const fan = mode === 'fan_in' ? fanIn : fanOut;
  return calculateGain(nonlinearity, a) / Math.sqrt(fan);
}

/**
 * He: U(-bound, bound) with bound = gain * sqrt(3 / fan). PyTorch's Linear default,
 * kaimingUniform_(w, { a: Math.sqrt(5) }), reduces to U(-1/sqrt(in), 1/sqrt(in)).
 */
export function kaimingUniform_(t: Tensor, options?: KaimingOptions): Tensor {
  const bound = Math.sqrt(3) * kaimingStd('init.kaimingUniform_', t, options);
  if (t.size > 0) overwrite(t, uniformValues(t.size, -bound, bound));
  return t;
}

/** He: N(0, gain^2 / fan). */
export function kaimingNormal_(t: Tensor, options?: KaimingOptions): Tensor {
  const std = kaimingStd('init.kaimingNormal_', t, options);
  if (t.size > 0) overwrite(t, normalValues(t.size, 0, std));
  return t;
}
