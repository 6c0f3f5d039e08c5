// Internal helpers of the nn layer (not re-exported by src/nn/index.ts):
//   - factory options ({ backend, dtype }) shared by every module constructor;
//   - turning a tensor into a parameter (a leaf that requires grad, kept out of tidy());
//   - writing new values into an existing tensor IN PLACE (same Tensor object, same
//     Storage object), which init.*_ and Module.loadStateDict need so that an optimizer
//     that holds the parameter keeps working;
//   - drawing init values from toroid's global generator on the host, so the same seed
//     gives bitwise-equal parameters on every backend.
import { getBackend, listBackends } from '../backends/registry.js';
import { describeValue, rangeError, typeError } from '../errors.js';
import { checkOptions } from '../validate/checks.js';
import { nextRng } from '../random/generator.js';
import { PhiloxStream } from '../random/philox.js';
import { tensor } from '../tensor/create.js';
import { arrayFromNumbers, dtypeOfArray, numbersOf, type DType, type TypedArray } from '../util/dtype.js';
import { keep } from '../tensor/scope.js';
import type { Storage } from '../tensor/storage.js';
import type { Tensor } from '../tensor/tensor.js';

/** `{ backend, dtype }` accepted by every module constructor (PyTorch's device/dtype factory kwargs). */
export interface FactoryOptions {
  /** Backend to create parameters on ('ts', 'cpu', ...); default: the current backend. */
  backend?: string;
  /** Parameter dtype; default 'float32'. float64 needs a backend that has it (ts). */
  dtype?: 'float32' | 'float64';
}

export interface ResolvedFactory {
  backend: string;
  dtype: 'float32' | 'float64';
}

/** Validate `options` (known keys = FactoryOptions plus `extra`) and resolve backend and dtype. */
export function factoryOptions(fn: string, options: unknown, extra: readonly string[] = []): { opts: Record<string, unknown>; factory: ResolvedFactory } {
  const opts = checkOptions(fn, options, [...extra, 'backend', 'dtype']);
  let backend: string;
  if (opts.backend === undefined) {
    backend = getBackend().name;
  } else {
    if (typeof opts.backend !== 'string') throw typeError(fn, 'options.backend', 'a backend name (string)', describeValue(opts.backend));
    const names = listBackends();
    if (!names.includes(opts.backend)) throw rangeError(fn, 'options.backend', `one of ${names.map((n) => `'${n}'`).join(', ')}`, describeValue(opts.backend));
    backend = opts.backend;
  }
  const dtype = opts.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float64') throw typeError(fn, 'options.dtype', "'float32' or 'float64'", describeValue(dtype));
  if (!getBackend(backend).supportsDType(dtype)) throw typeError(fn, 'options.dtype', `a dtype backend '${backend}' supports`, dtype);
  return { opts, factory: { backend, dtype } };
}

/** Create a parameter tensor from host values (float64 values round to the dtype). */
export function makeParameter(values: TypedArray, shape: readonly number[], factory: ResolvedFactory): Tensor {
  const t = tensor(values, { shape, dtype: factory.dtype, backend: factory.backend });
  t.requiresGrad = true;
  return keep(t);
}

/** Host values converted to `dtype`'s array type (no copy when it already is); a Uint16Array holds bf16 bits. */
export function toDTypeArray(values: TypedArray, dtype: DType): TypedArray {
  const from = dtypeOfArray(values)!;
  return from === dtype ? values : arrayFromNumbers(dtype, numbersOf(values, from));
}

/**
 * Replace the values of `t` in place with `values` (same length, any numeric array;
 * converted to t's dtype; with `copy`, never kept by reference). The Tensor object and its Storage object stay the same,
 * so every holder of `t` (an optimizer, a tied module, a view through reshape) sees
 * the new values. Storage is reallocated on t's backend and the old one freed.
 *
 * Caveat (as with an in-place op in PyTorch): a graph recorded earlier that saved
 * `t` for backward would now see the new values; do this between training steps.
 *
 * Implementation note: Tensor keeps its Storage in a TS-private field; the backend
 * interface has no "copy into" kernel, so the storage handle is swapped here. If
 * Tensor ever grows a public `copy_()`, this is the one place to switch to it.
 */
export function overwrite(t: Tensor, values: TypedArray, copy = false): void {
  const storage = (t as unknown as { storage: Storage | null }).storage;
  if (storage === null || storage === undefined || storage.released) {
    throw new Error(`toroid: a disposed tensor (${t.dtype} [${t.shape.join(',')}]) was used`);
  }
  if (values.length !== t.size) throw new Error(`toroid: internal error: overwrite of ${t.size} elements with ${values.length}`);
  if (t.size === 0) return;
  // copy: `values` is the caller's buffer, reused after this returns (a ts storage would alias it)
  const fresh = t.backend.upload(toDTypeArray(values, t.dtype), t.dtype, copy);
  const old = storage.data;
  storage.data = fresh;
  t.backend.free(old);
}

/** Copy the values of `source` (any backend, dtype converted) into `target` in place. */
export function copyInto(target: Tensor, source: Tensor): void {
  if (source === target) return;
  overwrite(target, source.toTypedArray());
}

/** `n` uniform values in [a, b) from the global generator (24-bit uniforms, as toroid.rand). */
export function uniformValues(n: number, a: number, b: number): Float64Array {
  const { seed, offset } = nextRng(n);
  const stream = new PhiloxStream(seed, offset);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = a + (b - a) * stream.uniform(i);
  return out;
}

/** `n` normal values; with mean 0 and std 1 these are exactly toroid.randn's draws. */
export function normalValues(n: number, mean: number, std: number): Float64Array {
  const { seed, offset } = nextRng(2 * n);
  const stream = new PhiloxStream(seed, offset);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // (0, 1] keeps log() finite; the same Box-Muller as toroid.randn
    const u1 = (stream.word(2 * i) + 1) / 4294967296;
    const u2 = stream.word(2 * i + 1) / 4294967296;
    out[i] = mean + std * (Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
  }
  return out;
}
