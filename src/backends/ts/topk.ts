// The k largest along the last axis, best first (the reference for the native kernels):
// larger first, NaN above every number, ties by lower index.
import type { KResult, KTensor } from '../backend.js';
import { sizeOf } from '../../util/shape.js';
import { output, values } from './util.js';

/** a (value, index) is before b in topk's order. */
function before(av: number, ai: number, bv: number, bi: number): boolean {
  const an = Number.isNaN(av), bn = Number.isNaN(bv);
  if (an !== bn) return an;
  if (an || av === bv) return ai < bi;
  return av > bv;
}

export function topk(x: KTensor, k: number): { values: KResult; indices: KResult } {
  const n = x.shape[x.shape.length - 1]!;
  const R = n === 0 ? 0 : sizeOf(x.shape) / n;
  const shape = [...x.shape.slice(0, -1), k];
  const X = values(x);
  const { data: V, result } = output(shape, x.dtype);
  const I = new Int32Array(R * k);
  const order = new Int32Array(n);
  for (let r = 0; r < R; r++) {
    const base = r * n;
    for (let j = 0; j < n; j++) order[j] = j;
    // a full sort of the row's indices: the reference favours plainness over speed
    const sorted = Array.from(order).sort((a, b) => (before(X[base + a]!, a, X[base + b]!, b) ? -1 : before(X[base + b]!, b, X[base + a]!, a) ? 1 : 0));
    for (let i = 0; i < k; i++) {
      I[r * k + i] = sorted[i]!;
      V[r * k + i] = X[base + sorted[i]!]!;
    }
  }
  return { values: result, indices: { data: I, shape, dtype: 'int32' } };
}
