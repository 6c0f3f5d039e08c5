// Argument checks shared by the data utilities, in toroid's one error format
// (src/errors.ts): wrong types throw TypeError, wrong values RangeError.
import { describeValue, rangeError, typeError } from '../errors.js';

/** A token-id sequence: a plain array of integers or an Int32Array. */
export type TokenIds = readonly number[] | Int32Array;

export const MAX_TOKEN_ID = 2147483647;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

export function checkOptions(fn: string, options: unknown): Record<string, unknown> {
  if (options === undefined) return {};
  if (!isPlainObject(options)) throw typeError(fn, 'options', 'an object', describeValue(options));
  return options;
}

/** An integer >= min (and <= max); `undefined` returns the fallback. */
export function checkInt(fn: string, arg: string, value: unknown, min: number, fallback?: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number') throw typeError(fn, arg, 'a number', describeValue(value));
  if (!Number.isInteger(value) || value < min || value > max) {
    const expected = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
    throw rangeError(fn, arg, expected, String(value));
  }
  return value;
}

export function checkBool(fn: string, arg: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw typeError(fn, arg, 'a boolean', describeValue(value));
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
