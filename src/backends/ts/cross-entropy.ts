// Softmax cross-entropy with label smoothing and ignore_index, fused with its gradient.
// logits [N,C], target [N] int32, loss [] or [N], lse [N]
//   loss_n = (1 - eps) * (lse_n - x_{n,t}) + eps * (lse_n - mean_c x_{n,c})   (0 for ignored rows)
import type { CrossEntropyAttrs, KResult, KTensor } from '../backend.js';
import { output, values } from './util.js';

function checkTarget(t: number, C: number, ignoreIndex: number, n: number): void {
  if (t !== ignoreIndex && (t < 0 || t >= C)) {
    throw new RangeError(`toroid.crossEntropy: target values must be in [0, ${C}) or ignoreIndex=${ignoreIndex}, got ${t} at index ${n}`);
  }
}

export function crossEntropyForward(logits: KTensor, target: KTensor, attrs: CrossEntropyAttrs): { loss: KResult; lse: KResult } {
  const [N, C] = logits.shape as [number, number];
  const X = values(logits), T = values<Int32Array>(target);
  const eps = attrs.labelSmoothing;
  const lse = output([N], logits.dtype);
  const perRow = new Float64Array(N);
  let total = 0, count = 0;
  for (let n = 0; n < N; n++) {
    const t = T[n]!;
    checkTarget(t, C, attrs.ignoreIndex, n);
    const off = n * C;
    let max = -Infinity, sumX = 0;
    for (let c = 0; c < C; c++) {
      max = Math.max(max, X[off + c]!);
      sumX += X[off + c]!;
    }
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(X[off + c]! - max);
    const rowLse = max + Math.log(sum);
    lse.data[n] = rowLse;
    if (t === attrs.ignoreIndex) continue;
    perRow[n] = (1 - eps) * (rowLse - X[off + t]!) + eps * (rowLse - sumX / C);
    total += perRow[n]!;
    count++;
  }
  if (attrs.reduction === 'none') {
    const loss = output([N], logits.dtype);
    loss.data.set(perRow);
    return { loss: loss.result, lse: lse.result };
  }
  const loss = output([], logits.dtype);
  // PyTorch divides by the rows that are not ignored (0/0 = NaN when none are)
  loss.data[0] = attrs.reduction === 'mean' ? total / count : total;
  return { loss: loss.result, lse: lse.result };
}

export function crossEntropyBackward(dloss: KTensor, logits: KTensor, target: KTensor, lse: KTensor, attrs: CrossEntropyAttrs): KResult {
  const [N, C] = logits.shape as [number, number];
  const X = values(logits), T = values<Int32Array>(target), L = values(lse), G = values(dloss);
  const eps = attrs.labelSmoothing;
  let count = 0;
  for (let n = 0; n < N; n++) if (T[n] !== attrs.ignoreIndex) count++;
  const { data: dX, result } = output(logits.shape, logits.dtype);
  for (let n = 0; n < N; n++) {
    const t = T[n]!;
    if (t === attrs.ignoreIndex) continue;
    const g = attrs.reduction === 'none' ? G[n]! : attrs.reduction === 'mean' ? G[0]! / count : G[0]!;
    const off = n * C;
    // d loss_n / d x_c = softmax_c - (1 - eps) [c = t] - eps / C
    for (let c = 0; c < C; c++) {
      const p = Math.exp(X[off + c]! - L[n]!);
      dX[off + c] = g * (p - (c === t ? 1 - eps : 0) - eps / C);
    }
  }
  return result;
}
