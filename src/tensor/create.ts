// Tensor creation. Values are copied unless a typed array is handed over with
// { copy: false }, which aliases it where the backend allows (the ts backend does).
import { freemem } from 'node:os';
import type { Backend } from '../backends/backend.js';
import { getBackend } from '../backends/registry.js';
import { describeShape, describeValue, rangeError, typeError } from '../errors.js';
import { getRngState, nextRng, setRngState } from '../random/generator.js';
import { PhiloxStream } from '../random/philox.js';
import { arrayFromNumbers, isFloatDType, bytesPerElement, DTYPES, dtypeOfArray, MAX_HOST_ELEMENTS, numbersOf, type DType, type TypedArray } from '../util/dtype.js';
import { checkShapeArg, sizeOf } from '../util/shape.js';
import { Storage } from './storage.js';
import { Tensor, type NestedArray } from './tensor.js';

export interface TensorOptions {
  dtype?: DType;
  /** Name of the backend to create on; defaults to the current one. */
  backend?: string;
  /** Alias of `backend` ('cpu', 'cuda', 'ts'), as PyTorch users write it. */
  device?: string;
  requiresGrad?: boolean;
}

export interface FromArrayOptions extends TensorOptions {
  shape?: readonly number[];
  /** Alias a typed array instead of copying it (only when its type matches dtype). Default true = copy. */
  copy?: boolean;
}

function resolve(fn: string, options: TensorOptions | undefined, fallback: DType): { backend: Backend; dtype: DType } {
  const dtype = options?.dtype ?? fallback;
  if (!DTYPES.includes(dtype)) throw typeError(fn, 'dtype', DTYPES.map((d) => `'${d}'`).join(', '), describeValue(dtype));
  if (options?.backend !== undefined && options.device !== undefined && options.backend !== options.device) {
    throw typeError(fn, 'device', `the same backend as backend='${options.backend}'`, `'${options.device}'`);
  }
  const backend = getBackend(options?.backend ?? options?.device);
  if (!backend.supportsDType(dtype)) throw typeError(fn, 'dtype', `a dtype backend '${backend.name}' supports`, dtype);
  return { backend, dtype };
}

/**
 * The element count of a new tensor of shape `dims`, checked against the backend's largest
 * storage (and V8's longest typed array where the values are made on the host first) before
 * anything is allocated or drawn from the generator.
 */
function checkedSize(fn: string, dims: readonly number[], backend: Backend, dtype: DType, onHost: boolean): number {
  const n = sizeOf(dims);
  const max = Math.min(backend.maxElements(dtype), onHost ? MAX_HOST_ELEMENTS : Infinity);
  if (n > max) {
    throw rangeError(fn, 'shape', `a shape of at most 2^${Math.log2(max)} ${dtype} elements on backend '${backend.name}'${onHost ? ' (made on the host first)' : ''}`,
      `${describeShape(dims)} (${n} elements)`);
  }
  // host memory: the ts backend's storage and the float64 values drawn before upload. More than
  // the machine has free would swap for minutes before V8 gave up.
  const hostBytes = (backend.name === 'ts' ? n * bytesPerElement(dtype) : 0) + (onHost ? n * 8 : 0);
  if (hostBytes > freemem()) {
    throw rangeError(fn, 'shape', `a shape whose host memory fits in the ${freemem()} bytes free`, `${describeShape(dims)} (${n} elements, ${hostBytes} bytes)`);
  }
  return n;
}

/** Runs `make`, turning V8's failure to allocate a big host array into toroid's error format. */
function allocating<T>(fn: string, dims: readonly number[], dtype: DType, make: () => T): T {
  try {
    return make();
  } catch (e) {
    // V8's two messages, and the native backends' "toroid: out of cpu memory allocating ..."
    if (e instanceof RangeError && /Array buffer allocation failed|Invalid typed array length|^toroid: out of \w+ memory/.test(e.message)) {
      throw rangeError(fn, 'shape', 'small enough for the memory available', `${describeShape(dims)} (${sizeOf(dims) * bytesPerElement(dtype)} bytes of ${dtype}: ${e.message})`);
    }
    throw e;
  }
}

/** Draws random values without moving the generator when anything fails (a later draw is as if this one never ran). */
function drawing<T>(fn: string, dims: readonly number[], dtype: DType, make: () => T): T {
  const state = getRngState();
  try {
    return allocating(fn, dims, dtype, make);
  } catch (e) {
    setRngState(state);
    throw e;
  }
}

function finish(t: Tensor, options: TensorOptions | undefined): Tensor {
  if (options?.requiresGrad) t.requiresGrad = true;
  return t;
}

export function fromHost(backend: Backend, array: TypedArray, shape: readonly number[], dtype: DType, copy: boolean): Tensor {
  const data = backend.upload(array, dtype, copy);
  return new Tensor(new Storage(backend, data, sizeOf(shape) * bytesPerElement(dtype)), shape, dtype);
}

/** Infer the shape of nested arrays, checking they are rectangular. */
function nestedShape(data: unknown): number[] {
  const shape: number[] = [];
  let level: unknown = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  return shape;
}

function flatten(data: NestedArray, shape: number[], out: Float64Array): void {
  let n = 0;
  const walk = (value: unknown, dim: number): void => {
    if (dim === shape.length) {
      if (typeof value !== 'number' && typeof value !== 'boolean') throw typeError('tensor', 'data', 'numbers or nested arrays of numbers', describeValue(value));
      const v = Number(value);
      out[n++] = v;
      return;
    }
    if (!Array.isArray(value) || value.length !== shape[dim]) {
      throw rangeError('tensor', 'data', `a rectangular nested array of shape ${describeShape(shape)}`, `a ragged array at depth ${dim}`);
    }
    for (const item of value) walk(item, dim + 1);
  };
  walk(data, 0);
}

/** Create a tensor from a number, nested arrays or a typed array (with options.shape). */
export function tensor(data: NestedArray | TypedArray | boolean[], options?: FromArrayOptions): Tensor {
  if (ArrayBuffer.isView(data)) {
    const arrayDType = dtypeOfArray(data);
    if (arrayDType === undefined) throw typeError('tensor', 'data', 'a Float32Array, Float64Array, Uint16Array (bfloat16 bits), Int32Array or Uint8Array', describeValue(data));
    const { backend, dtype } = resolve('tensor', options, arrayDType);
    const shape = options?.shape === undefined ? [data.length] : checkShapeArg('tensor', 'options.shape', options.shape);
    if (sizeOf(shape) !== data.length) throw rangeError('tensor', 'options.shape', `a shape with ${data.length} elements like data`, describeShape(shape));
    if (dtype === arrayDType) return finish(fromHost(backend, data, shape, dtype, options?.copy !== false), options);
    // bool is "non-zero" (NaN included) and bfloat16 rounds to nearest even, like cast()
    const converted = arrayFromNumbers(dtype, numbersOf(data, arrayDType));
    return finish(fromHost(backend, converted, shape, dtype, false), options);
  }
  if (typeof data !== 'number' && typeof data !== 'boolean' && !Array.isArray(data)) {
    throw typeError('tensor', 'data', 'a number, nested arrays of numbers or a typed array', describeValue(data));
  }
  const { backend, dtype } = resolve('tensor', options, 'float32');
  const inferred = nestedShape(data);
  const shape = options?.shape === undefined ? inferred : checkShapeArg('tensor', 'options.shape', options.shape);
  const numbers = new Float64Array(sizeOf(inferred));
  flatten(data as NestedArray, inferred, numbers);
  const values = arrayFromNumbers(dtype, numbers);
  if (sizeOf(shape) !== values.length) throw rangeError('tensor', 'options.shape', `a shape with ${values.length} elements like data`, describeShape(shape));
  return finish(fromHost(backend, values, shape, dtype, false), options);
}

export function full(shape: readonly number[], value: number, options?: TensorOptions): Tensor {
  return fill('full', shape, value, options);
}

export function zeros(shape: readonly number[], options?: TensorOptions): Tensor {
  return fill('zeros', shape, 0, options);
}

export function ones(shape: readonly number[], options?: TensorOptions): Tensor {
  return fill('ones', shape, 1, options);
}

/** full/zeros/ones; fn is the public name their errors report. */
function fill(fn: string, shape: readonly number[], value: number, options: TensorOptions | undefined): Tensor {
  const dims = checkShapeArg(fn, 'shape', shape);
  if (typeof value !== 'number') throw typeError(fn, 'value', 'a number', describeValue(value));
  const { backend, dtype } = resolve(fn, options, 'float32');
  checkedSize(fn, dims, backend, dtype, false);
  // bool is "non-zero" (NaN included), like cast(x, 'bool')
  const v = dtype === 'bool' ? (value !== 0 ? 1 : 0) : value;
  return finish(allocating(fn, dims, dtype, () => Tensor.fromKernel(backend, backend.kernels.fill(dims, dtype, v))), options);
}

/** Uniform in [0, 1) from the global counter-based generator (see manualSeed). */
export function rand(shape: readonly number[], options?: TensorOptions): Tensor {
  const dims = checkShapeArg('rand', 'shape', shape);
  const { backend, dtype } = resolve('rand', options, 'float32');
  if (!isFloatDType(dtype)) throw typeError('rand', 'dtype', 'float32, float64 or bfloat16', dtype);
  const n = checkedSize('rand', dims, backend, dtype, true);
  return finish(drawing('rand', dims, dtype, () => {
    const values = new Float64Array(n);
    const stream = new PhiloxStream(...rngArgs(n));
    // bfloat16 keeps 8 bits: values that would round up to 1 stay below it
    const below1 = dtype === 'bfloat16' ? 1 - 2 ** -8 : 1;
    for (let i = 0; i < n; i++) values[i] = Math.min(stream.uniform(i), below1);
    return fromHost(backend, arrayFromNumbers(dtype, values), dims, dtype, false);
  }), options);
}

/** Standard normal (Box-Muller over the global counter-based generator). */
export function randn(shape: readonly number[], options?: TensorOptions): Tensor {
  const dims = checkShapeArg('randn', 'shape', shape);
  const { backend, dtype } = resolve('randn', options, 'float32');
  if (!isFloatDType(dtype)) throw typeError('randn', 'dtype', 'float32, float64 or bfloat16', dtype);
  const n = checkedSize('randn', dims, backend, dtype, true);
  return finish(drawing('randn', dims, dtype, () => {
    const values = new Float64Array(n);
    const stream = new PhiloxStream(...rngArgs(2 * n));
    for (let i = 0; i < n; i++) {
      // (0, 1] keeps log() finite
      const u1 = (stream.word(2 * i) + 1) / 4294967296;
      const u2 = stream.word(2 * i + 1) / 4294967296;
      values[i] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
    return fromHost(backend, arrayFromNumbers(dtype, values), dims, dtype, false);
  }), options);
}

function rngArgs(count: number): [bigint, number] {
  const { seed, offset } = nextRng(count);
  return [seed, offset];
}
