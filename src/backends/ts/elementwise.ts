// Broadcasting binary ops, scale, fill and cast.
import type { BinaryOp, KResult, KTensor } from '../backend.js';
import { allocArray, arrayFromNumbers, numbersOf, type DType, type TypedArray } from '../../util/dtype.js';
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
  data.fill(arrayFromNumbers(dtype, [value])[0]!);
  return { data, shape: shape.slice(), dtype };
}

// int32 truncates toward zero like a C cast; bool is "non-zero"; bfloat16 rounds to nearest even
export function cast(x: KTensor, dtype: DType): KResult {
  return { data: arrayFromNumbers(dtype, numbersOf(values<TypedArray>(x), x.dtype)), shape: x.shape.slice(), dtype };
}
