// Embedding gather and its scatter-add backward.
// weight [V,C], ids [...] int32, y [..., C]
import type { KResult, KTensor } from '../backend.js';
import { output, values } from './util.js';

export function embeddingForward(weight: KTensor, ids: KTensor): KResult {
  const [V, C] = weight.shape as [number, number];
  const W = values(weight), I = values<Int32Array>(ids);
  const { data: Y, result } = output([...ids.shape, C], weight.dtype);
  for (let n = 0; n < I.length; n++) {
    const id = I[n]!;
    if (id < 0 || id >= V) throw new RangeError(`toroid.embedding: ids must be in [0, ${V}), got ${id} at index ${n}`);
    Y.set(W.subarray(id * C, (id + 1) * C), n * C);
  }
  return result;
}

export function embeddingBackward(dy: KTensor, ids: KTensor, V: number, paddingIdx: number | null): KResult {
  const C = dy.shape[dy.shape.length - 1]!;
  const dY = values(dy), I = values<Int32Array>(ids);
  const acc = new Float64Array(V * C);
  for (let n = 0; n < I.length; n++) {
    const id = I[n]!;
    if (id === paddingIdx) continue;
    for (let c = 0; c < C; c++) acc[id * C + c] += dY[n * C + c]!;
  }
  const { data, result } = output([V, C], dy.dtype);
  data.set(acc);
  return result;
}
