// toroid.load / toroid.save: safetensors files <-> Tensors. Writes are atomic
// (temp file, fsync, rename, fsync the folder), so a crash never loses a file.
import { getBackend } from '../backends/registry.js';
import { describeValue, rangeError, typeError } from '../errors.js';
import { checkBoolean } from '../validate/checks.js';
import { fromHost } from '../tensor/create.js';
import type { DType, TypedArray } from '../util/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../util/half.js';
import { readSafetensorsFile, writeSafetensorsFile, type RawTensor } from './safetensors.js';

export interface LoadOptions {
  /** Backend to create the tensors on; defaults to the current one. */
  backend?: string;
  /** BF16 tensors stay bfloat16 (half the memory) instead of widening to float32. Default false. */
  keepDType?: boolean;
}

export interface Loaded {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

export interface SaveOptions {
  /** Storage type for float32 tensors. Default 'F32'. bfloat16 tensors are always written as BF16. */
  floatFormat?: 'F32' | 'F16' | 'BF16';
}

/**
 * Read a safetensors file. BF16 widens to float32 (or stays bfloat16 with keepDType); F16 widens
 * to float32 (toroid has no float16 dtype on the cpu); I64 narrows to int32 (range-checked).
 */
export async function load(path: string, options: LoadOptions = {}): Promise<Loaded> {
  if (typeof path !== 'string') throw typeError('load', 'path', 'a string', describeValue(path));
  const backend = getBackend(options.backend);
  const keepDType = checkBoolean('load', 'options.keepDType', options.keepDType, false);
  const contents = await readSafetensorsFile(path);
  const tensors: Record<string, Tensor> = {};
  try {
    for (const [name, raw] of contents.tensors) {
      const { array, dtype } = toHost(raw, name, backend.supportsDType('float64'), keepDType);
      // defineProperty: a tensor named "__proto__" is an entry, not the record's prototype
      Object.defineProperty(tensors, name, { value: fromHost(backend, array, raw.shape, dtype, false), enumerable: true, writable: true, configurable: true });
    }
  } catch (err) {
    for (const t of Object.values(tensors)) t.dispose();
    throw err;
  }
  return { tensors, metadata: contents.metadata };
}

function toHost(raw: RawTensor, name: string, float64: boolean, keepBf16: boolean): { array: TypedArray; dtype: DType } {
  switch (raw.dtype) {
    case 'F32': return { array: raw.data as Float32Array, dtype: 'float32' };
    case 'F16': return { array: f16ToF32(raw.data as Uint16Array), dtype: 'float32' };
    case 'BF16': return keepBf16 ? { array: raw.data as Uint16Array, dtype: 'bfloat16' } : { array: bf16ToF32(raw.data as Uint16Array), dtype: 'float32' };
    case 'F64': return float64
      ? { array: raw.data as Float64Array, dtype: 'float64' }
      : { array: Float32Array.from(raw.data as Float64Array), dtype: 'float32' };
    case 'I32': return { array: raw.data as Int32Array, dtype: 'int32' };
    case 'I64': {
      const wide = raw.data as BigInt64Array;
      const narrow = new Int32Array(wide.length);
      for (let i = 0; i < wide.length; i++) {
        const v = wide[i]!;
        if (v < -2147483648n || v > 2147483647n) throw rangeError('load', `tensor '${name}'`, 'I64 values within int32 range', `${v} at index ${i}`);
        narrow[i] = Number(v);
      }
      return { array: narrow, dtype: 'int32' };
    }
    case 'U8': case 'BOOL': return { array: raw.data as Uint8Array, dtype: 'bool' };
  }
}

/** Write tensors (and string metadata) to a safetensors file atomically. */
export async function save(path: string, tensors: Record<string, Tensor> | Map<string, Tensor>, metadata: Record<string, string> = {}, options: SaveOptions = {}): Promise<void> {
  if (typeof path !== 'string') throw typeError('save', 'path', 'a string', describeValue(path));
  const entries = tensors instanceof Map ? [...tensors] : tensors !== null && typeof tensors === 'object' ? Object.entries(tensors) : undefined;
  if (entries === undefined) throw typeError('save', 'tensors', 'an object or Map of name -> Tensor', describeValue(tensors));
  const format = options.floatFormat ?? 'F32';
  if (!['F32', 'F16', 'BF16'].includes(format)) throw rangeError('save', 'options.floatFormat', "'F32', 'F16' or 'BF16'", describeValue(format));
  const raw = new Map<string, RawTensor>();
  for (const [name, t] of entries) {
    if (!(t instanceof Tensor)) throw typeError('save', `tensors['${name}']`, 'a Tensor', describeValue(t));
    if (t.isDisposed) throw typeError('save', `tensors['${name}']`, 'a live Tensor', 'a disposed one');
    raw.set(name, toRaw(t, format));
  }
  await writeSafetensorsFile(path, raw, metadata);
}

function toRaw(t: Tensor, format: 'F32' | 'F16' | 'BF16'): RawTensor {
  const shape = t.shape.slice();
  const host = t.toTypedArray();
  switch (t.dtype) {
    case 'float32':
      if (format === 'F16') return { dtype: 'F16', shape, data: f32ToF16(host as Float32Array) };
      if (format === 'BF16') return { dtype: 'BF16', shape, data: f32ToBf16(host as Float32Array) };
      return { dtype: 'F32', shape, data: host as Float32Array };
    // bfloat16 is written as it is held (a float format of F16 would round it a second time)
    case 'bfloat16': return { dtype: 'BF16', shape, data: host as Uint16Array };
    case 'float64': return { dtype: 'F64', shape, data: host as Float64Array };
    case 'int32': return { dtype: 'I32', shape, data: host as Int32Array };
    case 'bool': return { dtype: 'BOOL', shape, data: host as Uint8Array };
  }
}
