// narrow (a slice along one axis) and cat (join along one axis): copies of
// contiguous runs. x viewed as [outer, axisLen, inner].
import type { KResult, KTensor } from '../backend.js';
import { allocArray, type TypedArray } from '../../util/dtype.js';
import { sizeOf } from '../../util/shape.js';

function split(shape: readonly number[], axis: number): { outer: number; inner: number } {
  return { outer: sizeOf(shape.slice(0, axis)), inner: sizeOf(shape.slice(axis + 1)) };
}

export function narrow(x: KTensor, axis: number, start: number, length: number): KResult {
  const { outer, inner } = split(x.shape, axis);
  const n = x.shape[axis]!;
  const shape = x.shape.slice();
  shape[axis] = length;
  const X = x.data as TypedArray;
  const Y = allocArray(x.dtype, sizeOf(shape));
  for (let o = 0; o < outer; o++) Y.set(X.subarray((o * n + start) * inner, (o * n + start + length) * inner), o * length * inner);
  return { data: Y, shape, dtype: x.dtype };
}

export function cat(xs: readonly KTensor[], axis: number): KResult {
  const first = xs[0]!;
  const { outer, inner } = split(first.shape, axis);
  const total = xs.reduce((s, x) => s + x.shape[axis]!, 0);
  const shape = first.shape.slice();
  shape[axis] = total;
  const Y = allocArray(first.dtype, sizeOf(shape));
  let at = 0;
  for (const x of xs) {
    const n = x.shape[axis]!, X = x.data as TypedArray;
    for (let o = 0; o < outer; o++) Y.set(X.subarray(o * n * inner, (o + 1) * n * inner), (o * total + at) * inner);
    at += n;
  }
  return { data: Y, shape, dtype: first.dtype };
}

/** In place: dst[..., start:start+n, ...] = src along axis (n = src's size there). */
export function writeNarrow(dst: KTensor, src: KTensor, axis: number, start: number): void {
  const { outer, inner } = split(dst.shape, axis);
  const total = dst.shape[axis]!, n = src.shape[axis]!;
  const D = dst.data as TypedArray, S = src.data as TypedArray;
  for (let o = 0; o < outer; o++) D.set(S.subarray(o * n * inner, (o + 1) * n * inner), (o * total + start) * inner);
}
