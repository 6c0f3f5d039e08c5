// Element types. float32 carries values, int32 token ids, bool masks;
// bfloat16 halves the bytes of activations and weights (host side: a Uint16Array
// of bf16 bits, the upper half of a float32); float64 exists on the ts backend so
// gradient checks have headroom.
import { bf16ToF32, f32ToBf16Bits } from './half.js';

export type DType = 'float32' | 'float64' | 'bfloat16' | 'int32' | 'bool';
export const DTYPES: readonly DType[] = ['float32', 'float64', 'bfloat16', 'int32', 'bool'];
/** The dtypes that carry gradients. */
export const FLOAT_DTYPES: readonly DType[] = ['float32', 'float64', 'bfloat16'];

export type TypedArray = Float32Array | Float64Array | Uint16Array | Int32Array | Uint8Array;
export type FloatArray = Float32Array | Float64Array;

export type FloatDType = 'float32' | 'float64' | 'bfloat16';

export function isFloatDType(dtype: DType): dtype is FloatDType {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'bfloat16';
}

/** The wider of two float dtypes (PyTorch's promotion: bfloat16 < float32 < float64). */
export function promoteFloat(a: FloatDType, b: FloatDType): FloatDType {
  const rank = { bfloat16: 0, float32: 1, float64: 2 } as const;
  return rank[a] >= rank[b] ? a : b;
}

export function bytesPerElement(dtype: DType): number {
  switch (dtype) {
    case 'float64': return 8;
    case 'float32': case 'int32': return 4;
    case 'bfloat16': return 2;
    case 'bool': return 1;
  }
}

/** V8's longest typed array (2^32 elements in Node 20): the ts backend's and every host copy's limit. */
export const MAX_HOST_ELEMENTS = 2 ** 32;

export function allocArray(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(size);
    case 'float64': return new Float64Array(size);
    case 'bfloat16': return new Uint16Array(size);
    case 'int32': return new Int32Array(size);
    case 'bool': return new Uint8Array(size);
  }
}

export function dtypeOfArray(array: ArrayBufferView): DType | undefined {
  if (array instanceof Float32Array) return 'float32';
  if (array instanceof Float64Array) return 'float64';
  if (array instanceof Uint16Array) return 'bfloat16';
  if (array instanceof Int32Array) return 'int32';
  if (array instanceof Uint8Array) return 'bool';
  return undefined;
}

/**
 * Numbers into a new array of `dtype`, as a cast would convert them: bfloat16
 * rounds to nearest even, int32 truncates toward zero, bool is "non-zero".
 */
export function arrayFromNumbers(dtype: DType, values: ArrayLike<number>): TypedArray {
  const out = allocArray(dtype, values.length);
  if (dtype === 'bfloat16') for (let i = 0; i < values.length; i++) out[i] = f32ToBf16Bits(values[i]!);
  else if (dtype === 'bool') for (let i = 0; i < values.length; i++) out[i] = values[i] !== 0 ? 1 : 0;
  else if (dtype === 'int32') for (let i = 0; i < values.length; i++) out[i] = Math.trunc(values[i]!);
  else out.set(values);
  return out;
}

/** The values of a host array of `dtype` as numbers (bfloat16 bits widen; other arrays as they are). */
export function numbersOf(array: TypedArray, dtype: DType): Float32Array | Float64Array | Int32Array | Uint8Array {
  return dtype === 'bfloat16' ? bf16ToF32(array as Uint16Array) : array as Float32Array | Float64Array | Int32Array | Uint8Array;
}
