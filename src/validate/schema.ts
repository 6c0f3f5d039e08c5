// A config described once, as a table of fields: GPT, BERT, Seq2Seq, the Trainer's
// options and the `toroid train` config file are each one Schema. resolveConfig
// checks the object, rejects unknown keys (a misspelled one is named), checks and
// defaults every field in table order, then checks the rules that tie fields
// together. Messages are toroid's one format (src/errors.ts):
//   toroid.GPT: config.nLayer must be a positive integer, got 0
//   toroid.GPT: config must be an object with keys among { vocabSize, ... }, got unknown key 'n_layer'
//   toroid.GPT: config.nHead must be a divisor of nEmbd=16, got 3
import { describeValue, rangeError, typeError } from '../errors.js';
import { checkKnownKeys, checkNumberWhere, checkOneOf, checkPositiveInt, isPlainObject } from './checks.js';

/** Checks one given value (a field's arg is `<arg>.<key>`) and returns it, or throws in the one format. */
export type Check<T> = (fn: string, arg: string, value: unknown) => T;

export interface Field<T, C> {
  check: Check<T>;
  /**
   * The value of a field that is left out: a constant, or computed from the fields
   * above it in the table. Without one the field is required (its check sees
   * undefined), unless it is `optional` (left out, it stays undefined).
   */
  default?: T | ((c: C) => T);
  optional?: true;
}

/** One field per key of the resolved config C, in the order they are checked. */
export type Schema<C> = { readonly [K in keyof C]-?: Field<C[K], C> };

/** A constraint between fields, checked after every field: `<arg>.<key> must be <expected>, got <value>`. */
export interface Rule<C> {
  key: keyof C & string;
  ok: (c: C) => boolean;
  expected: (c: C) => string;
}

export function resolveConfig<C>(fn: string, arg: string, value: unknown, schema: Schema<C>, rules: ReadonlyArray<Rule<C>> = []): C {
  const keys = Object.keys(schema) as Array<keyof C & string>;
  if (!isPlainObject(value)) {
    const required = keys.filter((k) => schema[k].default === undefined && schema[k].optional === undefined);
    throw typeError(fn, arg, required.length === 0 ? 'an object' : `an object { ${[...required, '...'].join(', ')} }`, describeValue(value));
  }
  checkKnownKeys(fn, arg, value, keys);
  const c = {} as C;
  for (const key of keys) {
    const field = schema[key];
    const given = value[key];
    if (given !== undefined) c[key] = field.check(fn, `${arg}.${key}`, given);
    else if (field.default !== undefined) c[key] = typeof field.default === 'function' ? (field.default as (c: C) => C[typeof key])(c) : field.default;
    else if (field.optional === undefined) c[key] = field.check(fn, `${arg}.${key}`, given);
  }
  for (const rule of rules) {
    if (!rule.ok(c)) throw rangeError(fn, `${arg}.${rule.key}`, rule.expected(c), String(c[rule.key]));
  }
  return c;
}

// Checks for fields, built from the vocabulary in checks.ts.

export function oneOf<T extends string>(allowed: readonly T[]): Check<T> {
  return (fn, arg, value) => checkOneOf(fn, arg, value, allowed);
}

/** A number that passes `ok`; both errors say `expected`. */
export function numberWhere(ok: (v: number) => boolean, expected: string): Check<number> {
  return (fn, arg, value) => checkNumberWhere(fn, arg, value, ok, expected);
}

export function nullable<T>(check: Check<T>): Check<T | null> {
  return (fn, arg, value) => (value === null ? null : check(fn, arg, value));
}

/** `<a> must be a divisor of <b>=<n>`: a rule on key `a`. */
export function divides<C>(a: keyof C & string, b: keyof C & string): Rule<C> {
  return { key: a, ok: (c) => (c[b] as number) % (c[a] as number) === 0, expected: (c) => `a divisor of ${b}=${String(c[b])}` };
}

/** Required positive integers (sizes, counts of layers and heads), one field per key. */
export function sizes<K extends string>(...keys: K[]): Record<K, Field<number, unknown>> {
  const fields = {} as Record<K, Field<number, unknown>>;
  for (const key of keys) fields[key] = { check: checkPositiveInt };
  return fields;
}

/** A field checked elsewhere (passed on as it is). */
export const unchecked: Check<unknown> = (_fn, _arg, value) => value;
