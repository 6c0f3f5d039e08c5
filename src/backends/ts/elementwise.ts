// Broadcasting binary ops, scale, fill and cast.
import type { BinaryOp, KResult, KTensor } from '../backend.js';
import { allocArray, type DType, type TypedArray } from '../../util/dtype.js';
import { broadcastShapes, sizeOf } from '../../util/shape.js';
import { broadcastIndex, output, values } from './util.js';

export function binary(a: KTensor, b: KTensor, op: BinaryOp): KResult {
  const shape = broadcastShapes(a.shape, b.shape)!;
  const ia = broadcastIndex(shape, a.shape), ib = broadcastIndex(shape, b.shape);
  const A = values(a), B = values(b);
  const { data: Y, result } = output(shape, a.dtype);
  for (let e = 0; e < Y.length; e++) {
    const x = A[ia[e]!]!, y = B[ib[e]!]!;
    Y[e] = op === 'add' ? x + y : op === 'sub' ? x - y : op === 'mul' ? x * y : x / y;
  }
  return result;
}

export function scale(x: KTensor, factor: number): KResult {
  const X = values(x);
  const { data: Y, result } = output(x.shape, x.dtype);
  for (let e = 0; e < Y.length; e++) Y[e] = X[e]! * factor;
  return result;
}

export function fill(shape: readonly number[], dtype: DType, value: number): KResult {
  const data = allocArray(dtype, sizeOf(shape));
  data.fill(value);
  return { data, shape: shape.slice(), dtype };
}

export function cast(x: KTensor, dtype: DType): KResult {
  const X = values<TypedArray>(x);
  const data = allocArray(dtype, X.length);
  for (let e = 0; e < X.length; e++) {
    const v = X[e]!;
    // int32 truncates toward zero like a C cast; bool is "non-zero"
    data[e] = dtype === 'bool' ? (v !== 0 ? 1 : 0) : dtype === 'int32' ? Math.trunc(v) : v;
  }
  return { data, shape: x.shape.slice(), dtype };
}
