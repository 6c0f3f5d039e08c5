// y [...batch, M, N] = op(a) x op(b) (+ bias [N]); op transposes the last two dims.
import type { KTensor, KResult } from '../backend.js';
import { broadcastShapes, sizeOf } from '../../util/shape.js';
import { broadcastIndex, output, values } from './util.js';

export function matmul(a: KTensor, b: KTensor, transA: boolean, transB: boolean, bias: KTensor | null): KResult {
  const ra = a.shape.length, rb = b.shape.length;
  const M = transA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const K = transA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const N = transB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const batchShape = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2))!;
  const aBatch = broadcastIndex(batchShape, a.shape.slice(0, -2));
  const bBatch = broadcastIndex(batchShape, b.shape.slice(0, -2));
  const A = values(a), Bv = values(b), bv = bias === null ? null : values(bias);
  const { data: Y, result } = output([...batchShape, M, N], a.dtype);
  // element strides of op(a)[i, p] and op(b)[p, j]
  const sAi = transA ? 1 : K, sAp = transA ? M : 1;
  const sBp = transB ? 1 : N, sBj = transB ? K : 1;
  const acc = new Float64Array(N);
  for (let batch = 0; batch < sizeOf(batchShape); batch++) {
    const offA = aBatch[batch]! * M * K, offB = bBatch[batch]! * K * N, offY = batch * M * N;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) acc[j] = bv === null ? 0 : bv[j]!;
      for (let p = 0; p < K; p++) {
        const aip = A[offA + i * sAi + p * sAp]!;
        const rowB = offB + p * sBp;
        for (let j = 0; j < N; j++) acc[j] += aip * Bv[rowB + j * sBj]!;
      }
      Y.set(acc, offY + i * N);
    }
  }
  return result;
}
