// The k largest along the last axis, best first (the reference for the native kernels):
// larger first, NaN above every number, ties by lower index. Small k (decoding) by insertion
// into a sorted list, larger k by sorting the row.
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
    const base = r * n, out = r * k;
    if (k <= 32) {
      // decoding's small k: a sorted list of k that most elements fail to enter with one comparison
      let held = 0;
      for (let j = 0; j < n; j++) {
        const v = X[base + j]!;
        if (held === k && !before(v, j, V[out + k - 1]!, I[out + k - 1]!)) continue;
        let at = held < k ? held++ : k - 1;
        while (at > 0 && before(v, j, V[out + at - 1]!, I[out + at - 1]!)) {
          V[out + at] = V[out + at - 1]!;
          I[out + at] = I[out + at - 1]!;
          at--;
        }
        V[out + at] = v;
        I[out + at] = j;
      }
      continue;
    }
    for (let j = 0; j < n; j++) order[j] = j;
    const sorted = Array.from(order).sort((a, b) => (before(X[base + a]!, a, X[base + b]!, b) ? -1 : before(X[base + b]!, b, X[base + a]!, a) ? 1 : 0));
    for (let i = 0; i < k; i++) {
      I[out + i] = sorted[i]!;
      V[out + i] = X[base + sorted[i]!]!;
    }
  }
  return { values: result, indices: { data: I, shape, dtype: 'int32' } };
}
