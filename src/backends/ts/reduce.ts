// sum over axes, and its adjoint broadcastTo; permute copies into a new layout.
import type { KResult, KTensor } from '../backend.js';
import { sizeOf, stridesOf } from '../../util/shape.js';
import { broadcastIndex, output, stridedIndex, values } from './util.js';

export function sum(x: KTensor, axes: readonly number[], keepDims: boolean): KResult {
  const kept = x.shape.map((s, i) => (axes.includes(i) ? 1 : s));
  // each input element adds into the kept-shape slot it broadcasts from
  const target = broadcastIndex(x.shape, kept);
  const acc = new Float64Array(sizeOf(kept));
  const X = values(x);
  for (let e = 0; e < X.length; e++) acc[target[e]!] += X[e]!;
  const shape = keepDims ? kept : x.shape.filter((_, i) => !axes.includes(i));
  const { data, result } = output(shape, x.dtype);
  data.set(acc);
  return result;
}

export function broadcastTo(x: KTensor, shape: readonly number[]): KResult {
  const source = broadcastIndex(shape, x.shape);
  const X = values(x);
  const { data: Y, result } = output(shape, x.dtype);
  for (let e = 0; e < Y.length; e++) Y[e] = X[source[e]!]!;
  return result;
}

export function permute(x: KTensor, dims: readonly number[]): KResult {
  const shape = dims.map((d) => x.shape[d]!);
  const inStrides = stridesOf(x.shape);
  // out element's multi-index walks the permuted strides of x
  const source = stridedIndex(shape, dims.map((d) => inStrides[d]!));
  const X = values(x);
  const { data: Y, result } = output(shape, x.dtype);
  for (let e = 0; e < Y.length; e++) Y[e] = X[source[e]!]!;
  return result;
}
