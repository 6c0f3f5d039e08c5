// Helpers for the reference kernels: typed-array access and broadcast indexing.
import type { KResult, KTensor } from '../backend.js';
import { allocArray, type DType, type FloatArray, type TypedArray } from '../../util/dtype.js';
import { sizeOf, stridesOf } from '../../util/shape.js';

export function values<T extends TypedArray = FloatArray>(t: KTensor): T {
  return t.data as T;
}

export function output(shape: readonly number[], dtype: DType): { data: FloatArray; result: KResult } {
  const data = allocArray(dtype, sizeOf(shape)) as FloatArray;
  return { data, result: { data, shape: shape.slice(), dtype } };
}

/**
 * For every element of `outShape` (row-major), the flat index into a tensor of
 * `inShape` broadcast to it (numpy rules, inShape right-aligned).
 */
export function broadcastIndex(outShape: readonly number[], inShape: readonly number[]): Int32Array {
  const rank = outShape.length;
  const inStrides = stridesOf(inShape);
  return stridedIndex(outShape, outShape.map((_, i) => {
    const j = i - (rank - inShape.length);
    return j < 0 || inShape[j] === 1 ? 0 : inStrides[j]!;
  }));
}

/** For every element of `shape` (row-major), the flat index sum_k idx_k * strides[k] (native strided_copy's walk). */
export function stridedIndex(shape: readonly number[], strides: readonly number[]): Int32Array {
  const rank = shape.length;
  const n = sizeOf(shape);
  const index = new Int32Array(n);
  const counter = new Array<number>(rank).fill(0);
  let offset = 0;
  for (let e = 0; e < n; e++) {
    index[e] = offset;
    // advance the multi-index like an odometer
    for (let d = rank - 1; d >= 0; d--) {
      counter[d]!++;
      offset += strides[d]!;
      if (counter[d]! < shape[d]!) break;
      offset -= strides[d]! * shape[d]!;
      counter[d] = 0;
    }
  }
  return index;
}
