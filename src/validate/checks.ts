// The one vocabulary of argument checks, used by every layer (ops, nn, data, optim,
// decode, tokenizer, train). A leaf: it imports only src/errors.ts, src/util/ and types, so any
// module may use it. Messages follow src/errors.ts:
//   toroid.<fn>: <arg> must be <expected>, got <actual>
// TypeError for a wrong type or dtype, RangeError for a wrong shape, size or value.
// A `fallback` argument, where a check has one, is returned for an undefined value.
import type { Backend } from '../backends/backend.js';
import { describeShape, describeValue, rangeError, typeError } from '../errors.js';
import { FLOAT_DTYPES, type DType } from '../util/dtype.js';
import type { Tensor } from '../tensor/tensor.js';

export { FLOAT_DTYPES };

/** A token-id sequence: a plain array of integers or an Int32Array. */
export type TokenIds = readonly number[] | Int32Array;

export const MAX_TOKEN_ID = 2147483647;

// ---------------------------------------------------------------- tensors

/** Whether a value is a toroid Tensor (by its marker, so this module needs no runtime import of Tensor). */
export function isTensor(value: unknown): value is Tensor {
  return typeof value === 'object' && value !== null && (value as { __isTensor?: unknown }).__isTensor === true;
}

export function describeTensor(t: Tensor): string {
  return `${t.dtype} ${describeShape(t.shape)}`;
}

/** 'a, b or c' */
export function listOr(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/** A live Tensor whose dtype is one of `dtypes`. */
export function checkTensor(fn: string, arg: string, t: unknown, dtypes: readonly DType[] = FLOAT_DTYPES): Tensor {
  if (!isTensor(t)) throw typeError(fn, arg, 'a Tensor', describeValue(t));
  if (t.isDisposed) throw typeError(fn, arg, 'a live Tensor', `a disposed ${describeTensor(t)}`);
  if (!dtypes.includes(t.dtype)) throw typeError(fn, arg, listOr(dtypes), describeTensor(t));
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
  return compatible(fn, first, others, false);
}

/** Like checkCompatible, except that float32 parameters may go with bfloat16 activations (norms in mixed precision). */
export function checkCompatibleMixed(fn: string, first: [string, Tensor], ...others: Array<[string, Tensor | null]>): Backend {
  return compatible(fn, first, others, true);
}

function compatible(fn: string, [firstName, a]: [string, Tensor], others: Array<[string, Tensor | null]>, mixed: boolean): Backend {
  const mixes = (x: DType, y: DType): boolean => mixed && ((x === 'bfloat16' && y === 'float32') || (x === 'float32' && y === 'bfloat16'));
  for (const [name, t] of others) {
    if (t === null) continue;
    if (t.backend !== a.backend) throw typeError(fn, name, `on backend '${a.device}' like ${firstName}`, `'${t.device}'`);
    if (t.dtype !== a.dtype && t.dtype !== 'int32' && t.dtype !== 'bool' && !mixes(a.dtype, t.dtype)) {
      throw typeError(fn, name, mixed && a.dtype === 'bfloat16' ? `bfloat16 or float32 like ${firstName}` : `${a.dtype} like ${firstName}`, t.dtype);
    }
  }
  return a.backend;
}

/** normalizedShape: a positive integer or a non-empty array of them -> a fresh array. */
export function checkNormalizedShape(fn: string, value: unknown): number[] {
  const expected = 'a positive integer or a non-empty array of them';
  const positive = (s: unknown): boolean => typeof s === 'number' && Number.isInteger(s) && s > 0;
  if (typeof value === 'number') {
    if (!positive(value)) throw rangeError(fn, 'normalizedShape', expected, String(value));
    return [value];
  }
  if (!Array.isArray(value)) throw typeError(fn, 'normalizedShape', expected, describeValue(value));
  if (value.length === 0 || !value.every(positive)) throw rangeError(fn, 'normalizedShape', expected, `[${value.map((s) => String(s)).join(',')}]`);
  return value.slice() as number[];
}

// ---------------------------------------------------------------- numbers, flags, names

export function checkNumber(fn: string, arg: string, value: unknown, min = -Infinity, max = Infinity, expected?: string): number {
  if (typeof value !== 'number') throw typeError(fn, arg, 'a number', describeValue(value));
  if (!(value >= min && value <= max)) throw rangeError(fn, arg, expected ?? `a number in [${min}, ${max}]`, String(value));
  return value;
}

/** A number that passes `ok`; both errors say `expected` ('a probability in [0, 1)'). */
export function checkNumberWhere(fn: string, arg: string, value: unknown, ok: (v: number) => boolean, expected: string, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number') throw typeError(fn, arg, expected, describeValue(value));
  if (!ok(value)) throw rangeError(fn, arg, expected, String(value));
  return value;
}

export function checkFinite(fn: string, arg: string, value: unknown, fallback?: number): number {
  return checkNumberWhere(fn, arg, value, Number.isFinite, 'a finite number', fallback);
}

/** A dropout-like probability in [0, 1). */
export function checkProbability(fn: string, arg: string, value: unknown, fallback?: number): number {
  return checkNumberWhere(fn, arg, value, (v) => v >= 0 && v < 1, 'a probability in [0, 1)', fallback);
}

/** An eps, a weight decay, a learning rate. */
export function checkNonNegativeFinite(fn: string, arg: string, value: unknown, fallback?: number): number {
  return checkNumberWhere(fn, arg, value, (v) => v >= 0 && Number.isFinite(v), 'a non-negative finite number', fallback);
}

export function checkPositiveFinite(fn: string, arg: string, value: unknown, fallback?: number): number {
  return checkNumberWhere(fn, arg, value, (v) => v > 0 && Number.isFinite(v), 'a positive finite number', fallback);
}

/** An integer in [min, max]. */
export function checkInteger(fn: string, arg: string, value: unknown, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number') throw typeError(fn, arg, 'an integer', describeValue(value));
  if (!Number.isInteger(value) || value < min || value > max) {
    const expected = max !== Number.MAX_SAFE_INTEGER ? `an integer in [${min}, ${max}]` : min !== Number.MIN_SAFE_INTEGER ? `an integer >= ${min}` : 'an integer';
    throw rangeError(fn, arg, expected, String(value));
  }
  return value;
}

/** A positive integer (a size, a count of layers or heads). */
export function checkPositiveInt(fn: string, arg: string, value: unknown, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number') throw typeError(fn, arg, 'a positive integer', describeValue(value));
  if (!Number.isInteger(value) || value < 1) throw rangeError(fn, arg, 'a positive integer', String(value));
  return value;
}

/** A non-negative integer (a step, a count that may be 0). */
export function checkNonNegativeInt(fn: string, arg: string, value: unknown, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number') throw typeError(fn, arg, 'a non-negative integer', describeValue(value));
  if (!Number.isInteger(value) || value < 0) throw rangeError(fn, arg, 'a non-negative integer', String(value));
  return value;
}

export function checkBoolean(fn: string, arg: string, value: unknown, fallback?: boolean): boolean {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'boolean') throw typeError(fn, arg, 'a boolean', describeValue(value));
  return value;
}

export function checkOneOf<T extends string>(fn: string, arg: string, value: unknown, allowed: readonly T[], fallback?: T): T {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw (typeof value === 'string' ? rangeError : typeError)(fn, arg, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, describeValue(value));
  }
  return value as T;
}

export function checkSignal(fn: string, arg: string, value: unknown): AbortSignal {
  if (!(value instanceof AbortSignal)) throw typeError(fn, arg, 'an AbortSignal', describeValue(value));
  return value;
}

export function checkFunction<F>(fn: string, arg: string, value: unknown): F {
  if (typeof value !== 'function') throw typeError(fn, arg, 'a function', describeValue(value));
  return value as F;
}

export function checkPath(fn: string, arg: string, value: unknown): string {
  if (typeof value !== 'string') throw typeError(fn, arg, 'a file path string', describeValue(value));
  if (value.length === 0) throw rangeError(fn, arg, 'a non-empty file path', '""');
  return value;
}

/** A seed for the data shufflers: a non-negative safe integer, given explicitly. */
export function checkSeed(fn: string, arg: string, value: unknown): number {
  if (typeof value !== 'number') throw typeError(fn, arg, 'a number (the shuffle seed must be given explicitly)', describeValue(value));
  if (!Number.isSafeInteger(value) || value < 0) throw rangeError(fn, arg, 'a non-negative safe integer', String(value));
  return value;
}

/** Token ids: number[] or Int32Array of integers in [0, 2^31). */
export function checkTokenIds(fn: string, arg: string, value: unknown): TokenIds {
  if (value instanceof Int32Array) {
    for (let i = 0; i < value.length; i++) {
      if (value[i]! < 0) throw rangeError(fn, `${arg}[${i}]`, 'a non-negative token id', String(value[i]));
    }
    return value;
  }
  if (!Array.isArray(value)) throw typeError(fn, arg, 'an array of token ids or an Int32Array', describeValue(value));
  for (let i = 0; i < value.length; i++) {
    const v: unknown = value[i];
    if (typeof v !== 'number') throw typeError(fn, `${arg}[${i}]`, 'a number (token id)', describeValue(v));
    if (!Number.isInteger(v) || v < 0 || v > MAX_TOKEN_ID) throw rangeError(fn, `${arg}[${i}]`, 'an integer token id in [0, 2^31)', String(v));
  }
  return value as readonly number[];
}

// ---------------------------------------------------------------- options objects

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

export function checkObject(fn: string, arg: string, value: unknown): Record<string, unknown> {
  if (!isPlainObject(value)) throw typeError(fn, arg, 'an object', describeValue(value));
  return value;
}

/** A key outside `known` (a misspelled option or config key) is a RangeError that names it. */
export function checkKnownKeys(fn: string, arg: string, value: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw rangeError(fn, arg, `an object with keys among { ${known.join(', ')} }`, `unknown key '${key}'`);
  }
}

/** An options object (undefined -> {}); with `known`, its keys are checked by checkKnownKeys. */
export function checkOptions(fn: string, options: unknown, known?: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  const o = checkObject(fn, 'options', options);
  if (known !== undefined) checkKnownKeys(fn, 'options', o, known);
  return o;
}
