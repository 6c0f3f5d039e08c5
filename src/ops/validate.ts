// Argument checks shared by every op. Messages follow src/errors.ts:
//   toroid.<fn>: <arg> must be <expected>, got <actual>
import type { Backend } from '../backends/backend.js';
import { describeShape, describeValue, rangeError, typeError } from '../errors.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';

export const FLOAT_DTYPES: readonly DType[] = ['float32', 'float64'];

export function describeTensor(t: Tensor): string {
  return `${t.dtype} ${describeShape(t.shape)}`;
}

/** A live Tensor whose dtype is one of `dtypes`. */
export function checkTensor(fn: string, arg: string, t: unknown, dtypes: readonly DType[] = FLOAT_DTYPES): Tensor {
  if (!(t instanceof Tensor)) throw typeError(fn, arg, 'a Tensor', describeValue(t));
  if (t.isDisposed) throw typeError(fn, arg, 'a live Tensor', `a disposed ${describeTensor(t)}`);
  if (!dtypes.includes(t.dtype)) throw typeError(fn, arg, `${dtypes.join(' or ')}`, describeTensor(t));
  return t;
}

/** Like checkTensor, and additionally of a given rank (expected names the dims, e.g. '[B,h,Tq,d]'). */
export function checkRank(fn: string, arg: string, t: unknown, rank: number, expected: string, dtypes: readonly DType[] = FLOAT_DTYPES): Tensor {
  const tensor = checkTensor(fn, arg, t, dtypes);
  if (tensor.rank !== rank) throw rangeError(fn, arg, `${tensor.dtype} ${expected}`, describeTensor(tensor));
  return tensor;
}

/** Float inputs of one op must share the backend and the dtype of the first. */
export function checkCompatible(fn: string, first: [string, Tensor], ...others: Array<[string, Tensor | null]>): Backend {
  const [firstName, a] = first;
  for (const [name, t] of others) {
    if (t === null) continue;
    if (t.backend !== a.backend) throw typeError(fn, name, `on backend '${a.device}' like ${firstName}`, `'${t.device}'`);
    if (t.dtype !== a.dtype && t.dtype !== 'int32' && t.dtype !== 'bool') {
      throw typeError(fn, name, `${a.dtype} like ${firstName}`, t.dtype);
    }
  }
  return a.backend;
}

export function checkNumber(fn: string, arg: string, value: unknown, min = -Infinity, max = Infinity, expected?: string): number {
  if (typeof value !== 'number') throw typeError(fn, arg, 'a number', describeValue(value));
  if (!(value >= min && value <= max)) throw rangeError(fn, arg, expected ?? `a number in [${min}, ${max}]`, String(value));
  return value;
}

export function checkInteger(fn: string, arg: string, value: unknown, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number') throw typeError(fn, arg, 'an integer', describeValue(value));
  if (!Number.isInteger(value) || value < min || value > max) throw rangeError(fn, arg, `an integer in [${min}, ${max}]`, String(value));
  return value;
}

export function checkBoolean(fn: string, arg: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw typeError(fn, arg, 'a boolean', describeValue(value));
  return value;
}

export function checkOptions(fn: string, options: unknown, known: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw typeError(fn, 'options', 'an object', describeValue(options));
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw rangeError(fn, 'options', `one of { ${known.join(', ')} }`, `unknown option '${key}'`);
  }
  return options as Record<string, unknown>;
}

export function checkOneOf<T extends string>(fn: string, arg: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw (typeof value === 'string' ? rangeError : typeError)(fn, arg, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, describeValue(value));
  }
  return value as T;
}
